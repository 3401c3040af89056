"""Background work of the registry (Django tasks, database-backed queue)."""

from django.tasks import task


@task()
def link_new_persons(person_ids: list[int]) -> dict:
    """Link the persons a feed batch created against the registry (enqueued when the batch commits)."""
    from .linking import link_persons

    return link_persons(person_ids)

"""Background work of the registry (Django tasks, database-backed queue)."""

from django.tasks import task


@task()
def link_new_persons(person_ids: list[int]) -> dict:
    """Link the persons one chunk of a feed batch (or one report) created against the registry; enqueued when
    that chunk commits, so a long file is linked as it lands."""
    from .linking import link_persons

    return link_persons(person_ids)

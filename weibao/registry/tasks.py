"""Background work of the registry (Django tasks, database-backed queue)."""

from django.tasks import task


@task()
def link_new_persons(person_ids: list[int]) -> dict:
    """Link the persons one report or one fixed feed record created against the registry (a whole feed batch
    queues ``feeds.tasks.link_batch`` instead); enqueued when that transaction commits."""
    from .linking import link_persons

    return link_persons(person_ids)

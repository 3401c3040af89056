"""Background work of notifications (Django tasks, database-backed queue)."""

from django.tasks import task


@task()
def check_deadlines() -> dict:
    from .deadlines import check_all

    return check_all()

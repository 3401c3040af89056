"""Background work of the alerts app: incremental screening after each feed batch commits, and a full
re-screen asked for from the rules page."""

from django.tasks import task


@task()
def screen_batch(batch_id: int) -> dict:
    """Screen the persons a committed feed batch brought events about."""
    from weibao.feeds.models import Event

    from .engine import screen

    persons = Event.objects.filter(source_record__batch_id=batch_id).values_list("person_id", flat=True)
    return screen(list(set(persons))).as_dict()


@task()
def screen_all(actor_id: int) -> dict:
    """Screen everyone with every active rule; tell the person who asked how it went."""
    from django.urls import reverse
    from django.utils.translation import gettext as _

    from weibao.accounts.models import User
    from weibao.notifications.services import notify

    from .engine import screen

    actor = User.objects.get(pk=actor_id)
    try:
        result = screen(actor=actor)
    except Exception as exc:  # whoever asked is waiting for an answer
        notify(
            users=[actor],
            kind="alert_screen",
            subject=_("全量筛查失败：%(e)s") % {"e": exc.__class__.__name__},
            body=str(exc)[:500],
            url=reverse("alerts:rule_list"),
            email=False,
        )
        raise
    notify(
        users=[actor],
        kind="alert_screen",
        subject=_("全量筛查完成：%(p)s 人，%(r)s 条规则，新预警 %(n)s 条")
        % {"p": result.persons, "r": result.rules, "n": result.new_alerts},
        url=reverse("alerts:alert_list"),
        email=False,
    )
    return result.as_dict()


def full_screen_pending() -> bool:
    """A full re-screen already waits in the database queue or runs (asked less than an hour ago: a run whose
    worker died stays "running" in the queue and must not block the button for ever)."""
    import datetime

    from django.tasks import TaskResultStatus
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(
        task_path=screen_all.module_path,
        status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING],
        enqueued_at__gte=timezone.now() - datetime.timedelta(hours=1),
    ).exists()


def on_batch_committed(sender, batch, **kwargs) -> None:
    if batch.feed.event_type_id:
        screen_batch.enqueue(batch.pk)

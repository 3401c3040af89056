"""Background work of the alerts app: incremental screening after each feed batch commits."""

from django.tasks import task


@task()
def screen_batch(batch_id: int) -> dict:
    """Screen the persons a committed feed batch brought events about."""
    from weibao.feeds.models import Event

    from .engine import screen

    persons = Event.objects.filter(source_record__batch_id=batch_id).values_list("person_id", flat=True)
    return screen(list(set(persons))).as_dict()


def on_batch_committed(sender, batch, **kwargs) -> None:
    if batch.feed.event_type_id:
        screen_batch.enqueue(batch.pk)

"""Background work of the feeds app: files uploaded on the page are ingested by the task worker, so that a
large file never holds a page (and its browser) for minutes; a finished batch's new persons are linked."""

from pathlib import Path

from django.tasks import task


@task()
def ingest_upload(batch_id: int, path: str, actor_id: int) -> dict:
    """Ingest (or resume) the uploaded file of a batch; the clear-text upload is deleted once the batch is
    done or found unreadable (an interrupted batch keeps it, to be resumed)."""
    from weibao.accounts.models import User

    from . import services
    from .choices import BatchStatus
    from .models import Batch
    from .pipeline import BatchBusy

    batch = Batch.objects.select_related("feed").get(pk=batch_id)
    actor = User.objects.get(pk=actor_id)
    try:
        batch = services.ingest_file(
            batch.feed, path, actor=actor, key=batch.idempotency_key, filename=batch.filename
        )
    except BatchBusy:  # another worker has it
        return {"busy": True}
    if batch.status in (BatchStatus.DONE, BatchStatus.FAILED):
        Path(path).unlink(missing_ok=True)
    return batch.report()


@task()
def link_batch(batch_id: int) -> dict:
    """Probabilistic linkage of the persons a finished batch created, in one run (one engine call for the whole
    file rather than one per chunk). They are the batch's persons created since it started — found from the
    database, so chunks stored before an interruption are included when the resumed batch finishes."""
    from weibao.registry.linking import link_persons

    from .models import Batch, SourceRecord

    batch = Batch.objects.get(pk=batch_id)
    persons = (
        SourceRecord.objects.filter(batch=batch, person__created__gte=batch.started)
        .values_list("person_id", flat=True)
        .distinct()
    )
    ids = sorted(set(persons))
    return link_persons(ids) if ids else {"linked": 0, "review": 0, "new": 0}

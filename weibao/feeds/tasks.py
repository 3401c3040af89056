"""Background work of the feeds app: files uploaded on the page are ingested by the task worker, so that a
large file never holds a page (and its browser) for minutes; a finished batch's new persons are linked."""

from pathlib import Path

from django.tasks import task


@task()
def ingest_upload(batch_id: int, path: str, actor_id: int, mapping: dict) -> dict:
    """Ingest (or resume) a batch from an uploaded copy, with the column mapping confirmed with it (not one
    saved for the feed since). A failure before the batch is claimed leaves it *interrupted* with the reason
    (a new upload of the same file resumes it); once the batch is done or found unreadable, every uploaded
    copy of it is deleted (an interrupted one keeps them, to be resumed)."""
    from django.core.exceptions import PermissionDenied

    from weibao.accounts.models import User

    from . import services
    from .choices import BatchStatus
    from .models import Batch
    from .pipeline import BatchBusy

    batch = Batch.objects.select_related("feed").get(pk=batch_id)
    try:
        feed = batch.feed
        if not feed.is_active:
            raise PermissionDenied("该数据报送渠道已停用 (the feed is inactive)")
        batch = services.ingest_file(
            feed,
            path,
            actor=User.objects.get(pk=actor_id),
            key=batch.idempotency_key,
            filename=batch.filename,
            mapping=mapping,
        )
    except BatchBusy:  # another worker ingests it from its own copy; this one is not needed
        Path(path).unlink(missing_ok=True)
        return {"busy": True}
    except Exception as exc:
        Batch.objects.filter(pk=batch_id, status=BatchStatus.RECEIVING).update(
            status=BatchStatus.INTERRUPTED, message=f"{exc.__class__.__name__}: {exc}"[:500]
        )
        raise
    finally:
        if Batch.objects.filter(pk=batch_id, status__in=[BatchStatus.DONE, BatchStatus.FAILED]).exists():
            for copy in services.upload_copies(batch):
                copy.unlink(missing_ok=True)
    return batch.report()


@task()
def link_batch(batch_id: int) -> dict:
    """Probabilistic linkage of the persons a finished batch created, in one run (one engine call for the whole
    file rather than one per chunk). They are the batch's persons created since it started — found from the
    database, so chunks stored before an interruption are included when the resumed batch finishes."""
    from weibao.registry.linking import link_persons

    from .models import Batch, SourceRecord

    batch = Batch.objects.get(pk=batch_id)
    if batch.started is None:  # failed before any row was processed
        return {"linked": 0, "review": 0, "new": 0}
    persons = (
        SourceRecord.objects.filter(batch=batch, person__created__gte=batch.started)
        .values_list("person_id", flat=True)
        .distinct()
    )
    ids = sorted(set(persons))
    # within: the same child may come twice in one file without an ID number
    return link_persons(ids, within=True) if ids else {"linked": 0, "review": 0, "new": 0}

"""Background work of the feeds app: files uploaded on the page are ingested by the task worker, so that a
large file never holds a page (and its browser) for minutes."""

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

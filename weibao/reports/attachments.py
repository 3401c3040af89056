"""Attachments: type by content (magic bytes) and extension together, size limit, private storage.

Files live under ``MEDIA_ROOT/reports/`` — never under the static files, and no URL maps to MEDIA_ROOT —
and are read back only through the scoped, audited download view.
"""

import hashlib
import uuid
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError

from weibao.lib import uploads
from weibao.lib.uploads import check_upload

from . import conf
from .models import Attachment

KINDS = {"jpg", "png", "pdf", "docx"}


def root() -> Path:
    path = Path(settings.MEDIA_ROOT) / "reports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def check(upload) -> str:
    """The kind of an uploaded file, or ``ValidationError`` naming the file and the reason."""
    return check_upload(upload, kinds=KINDS, max_bytes=conf.get("ATTACHMENT_MAX_BYTES"), field="attachments")


def store(report, upload) -> Attachment:
    kind = check(upload)
    upload.seek(0)
    data = upload.read()
    relative = f"{report.uuid}/{uuid.uuid4().hex}.{kind}"
    target = root() / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    uploads.written(target.unlink)
    return Attachment.objects.create(
        report=report,
        filename=Path(upload.name).name[:200],
        kind=kind,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        path=relative,
    )


def path_of(attachment: Attachment) -> Path:
    path = (root() / attachment.path).resolve()
    if root().resolve() not in path.parents:
        raise ValidationError("bad attachment path")
    return path

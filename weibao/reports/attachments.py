"""Attachments: type by content (magic bytes) and extension together, size limit, private storage.

Files live under ``MEDIA_ROOT/reports/`` — never under the static files, and no URL maps to MEDIA_ROOT —
and are read back only through the scoped, audited download view.
"""

import hashlib
import io
import uuid
import zipfile
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from . import conf
from .models import Attachment

EXTENSIONS = {".jpg": "jpg", ".jpeg": "jpg", ".png": "png", ".pdf": "pdf", ".docx": "docx"}
CONTENT_TYPES = {
    "jpg": "image/jpeg",
    "png": "image/png",
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


def root() -> Path:
    path = Path(settings.MEDIA_ROOT) / "reports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def sniff(head: bytes, data_for_zip=None) -> str | None:
    """The real type of a file from its first bytes (a .docx is a zip holding word/document.xml)."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"PK\x03\x04") and data_for_zip is not None:
        try:
            with zipfile.ZipFile(io.BytesIO(data_for_zip)) as z:
                if "word/document.xml" in z.namelist():
                    return "docx"
        except zipfile.BadZipFile:
            return None
    return None


def check(upload) -> str:
    """The kind of an uploaded file, or ``ValidationError`` naming the file and the reason."""
    name = upload.name or ""
    limit = conf.get("ATTACHMENT_MAX_BYTES")
    if upload.size > limit:
        raise ValidationError(
            {
                "attachments": _("文件“%(f)s”超过 %(m)s (file too large)")
                % {"f": name, "m": filesizeformat(limit)}
            }
        )
    if upload.size == 0:
        raise ValidationError({"attachments": _("文件“%(f)s”为空 (empty file)") % {"f": name}})
    expected = EXTENSIONS.get(Path(name).suffix.lower())
    if expected is None:
        raise ValidationError(
            {
                "attachments": _("文件“%(f)s”类型不允许，只接受 jpg、png、pdf、docx (type not allowed)")
                % {"f": name}
            }
        )
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    actual = sniff(data[:16], data if data[:4] == b"PK\x03\x04" else None)
    if actual != expected:
        raise ValidationError(
            {
                "attachments": _("文件“%(f)s”的内容与扩展名不符 (content does not match the extension)")
                % {"f": name}
            }
        )
    return actual


def store(report, upload) -> Attachment:
    kind = check(upload)
    upload.seek(0)
    data = upload.read()
    relative = f"{report.uuid}/{uuid.uuid4().hex}.{kind}"
    target = root() / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
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

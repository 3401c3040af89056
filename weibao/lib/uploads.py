"""The one check of uploaded files (report attachments, case notes and referral documents).

A file is accepted when its extension is allowed, its size is within the limit, it is not empty, and its
content is what the extension says (magic bytes; a .docx/.xlsx is a zip holding the Word/Excel part; a .txt
must be UTF-8). Errors name the file and the reason, Chinese first.
"""

import functools
import io
import zipfile
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path

from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

EXTENSIONS = {
    ".jpg": "jpg",
    ".jpeg": "jpg",
    ".png": "png",
    ".pdf": "pdf",
    ".docx": "docx",
    ".xlsx": "xlsx",
    ".txt": "txt",
}
CONTENT_TYPES = {
    "jpg": "image/jpeg",
    "png": "image/png",
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "txt": "text/plain; charset=utf-8",
}
_ZIP_PART = {"docx": "word/document.xml", "xlsx": "xl/workbook.xml"}


def sniff(data: bytes, expected: str) -> bool:
    """Whether ``data`` really is a file of kind ``expected``."""
    if expected == "jpg":
        return data.startswith(b"\xff\xd8\xff")
    if expected == "png":
        return data.startswith(b"\x89PNG\r\n\x1a\n")
    if expected == "pdf":
        return data.startswith(b"%PDF-")
    if expected in _ZIP_PART:
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                return _ZIP_PART[expected] in z.namelist()
        except Exception:  # BadZipFile, NotImplementedError (a version it cannot read), UnicodeDecodeError …
            return False
    if expected == "txt":
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True
    return False


def check_upload(upload, *, kinds, max_bytes: int, field: str) -> str:
    """The kind of an acceptable ``upload`` (one of ``kinds``), or ``ValidationError`` on ``field``."""
    name = Path(upload.name or "").name
    kind = EXTENSIONS.get(Path(name).suffix.lower())
    if kind not in kinds:
        allowed = "、".join(sorted(kinds))
        raise ValidationError(
            {
                field: _("文件“%(f)s”类型不允许，只接受 %(k)s (file type not allowed)")
                % {"f": name, "k": allowed}
            }
        )
    if upload.size > max_bytes:
        raise ValidationError(
            {field: _("文件“%(f)s”超过 %(m)s (file too large)") % {"f": name, "m": filesizeformat(max_bytes)}}
        )
    if upload.size == 0:
        raise ValidationError({field: _("文件“%(f)s”为空 (empty file)") % {"f": name}})
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    if not sniff(data, kind):
        if kind == "txt":
            raise ValidationError(
                {field: _("文本文件“%(f)s”须为 UTF-8 编码 (text must be UTF-8)") % {"f": name}}
            )
        raise ValidationError(
            {field: _("文件“%(f)s”的内容与扩展名不符 (content does not match the extension)") % {"f": name}}
        )
    return kind


_removers: ContextVar[list | None] = ContextVar("upload_removers", default=None)


def written(remove: Callable[[], object]) -> None:
    """Register how to remove a file just written, if a ``removes_files_on_error`` call around it fails."""
    removers = _removers.get()
    if removers is not None:
        removers.append(remove)


def removes_files_on_error(func):
    """Decorate a service that stores files (outside its ``transaction.atomic``): when it fails, its
    transaction rolls back, and the files it wrote (``written``) are removed too, instead of staying on disk
    with no row pointing at them. (A rollback by a caller's own transaction later is not seen.)"""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        removers: list = []
        token = _removers.set(removers)
        try:
            return func(*args, **kwargs)
        except BaseException:
            for remove in removers:
                try:
                    remove()
                except OSError:
                    pass
            raise
        finally:
            _removers.reset(token)

    return wrapper

"""The one check of uploaded files (report attachments, case notes and referral documents).

A file is accepted when its extension is allowed, its size is within the limit, it is not empty, and its
content is what the extension says (magic bytes; a .docx/.xlsx is a zip holding the Word/Excel part; a .txt
must be UTF-8). Errors name the file and the reason, Chinese first.
"""

import io
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
        except zipfile.BadZipFile:
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
    if not sniff(data, kind) and kind == "txt":
        raise ValidationError({field: _("文本文件“%(f)s”须为 UTF-8 编码 (text must be UTF-8)") % {"f": name}})
    if not sniff(data, kind):
        raise ValidationError(
            {field: _("文件“%(f)s”的内容与扩展名不符 (content does not match the extension)") % {"f": name}}
        )
    return kind


@contextmanager
def removed_on_error() -> Iterator[Callable[[Callable[[], object]], None]]:
    """Undo file writes when the block fails: ``with removed_on_error() as written: …; written(remove)``.

    A failure inside the block rolls its database transaction back; the files it already wrote would stay
    on disk without a row pointing at them. Each ``remove`` registered runs if the block raises."""
    removers: list[Callable[[], object]] = []
    try:
        yield removers.append
    except BaseException:
        for remove in removers:
            try:
                remove()
            except OSError:
                pass
        raise

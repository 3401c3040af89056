"""What a search box query means: an ID/document number, pinyin (full or initials), or characters."""

import re

from django.db.models import Q

from weibao.lib.checksums import normalise_id_number
from weibao.lib.crypto import blind_index
from weibao.lib.masking import mask_id_number
from weibao.lib.pinyin import looks_like_pinyin

from .choices import DocumentType
from .models import IdentityDocument

_DOCUMENT = re.compile(r"^[0-9A-Za-z]{6,30}$")


def name_query(query: str) -> Q:
    query = query.strip()
    compact = "".join(query.split()).lower()
    if _DOCUMENT.match(compact) and any(c.isdigit() for c in compact):
        number = normalise_id_number(compact)
        indexes = [blind_index(number, t) for t in DocumentType.values]
        return Q(pk__in=IdentityDocument.objects.filter(number_index__in=indexes).values("person_id"))
    if looks_like_pinyin(query):
        return Q(name_initials__startswith=compact) | Q(name_pinyin__startswith=compact)
    return Q(name__contains=query)


def masked_filters(filters: dict) -> dict:
    """Search filters as the audit trail keeps them: a document number typed into the box is masked."""
    out = dict(filters)
    query = "".join(str(out.get("q", "")).split())
    if _DOCUMENT.match(query) and any(c.isdigit() for c in query):
        out["q"] = mask_id_number(query.upper())
    return out

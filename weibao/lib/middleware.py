"""Refuses request parameters no database could store, before any view sees them.

PostgreSQL refuses the NUL character in text and JSON; a NUL typed into a form, pasted into a query string or
sent in a filter would otherwise pass Django's form checks only where a form exists, and fail later as a 500
(in an audit record of the query, a draft, a reason). One check here covers every page and endpoint: a 400
that names the parameter. JSON bodies are checked by ``weibao.lib.api_defaults.StrictJSONParser``.
"""

from django.http import JsonResponse
from django.shortcuts import render

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def unstorable(text: str) -> bool:
    """Whether ``text`` holds a character no database text column can keep: NUL, or half of a UTF-16
    surrogate pair (what ``"\\ud800"`` in JSON decodes to)."""
    if "\x00" in text:
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return True
    return False


def message(field: str) -> str:
    return f"{field}: 含有无法保存的字符（空字符 NUL 或无效的 Unicode 代理项） (contains a NUL character or a lone surrogate)"


def first_unstorable(params) -> str | None:
    """The first parameter (a ``QueryDict``) whose name or a value cannot be stored, or None."""
    for key, values in params.lists():
        if unstorable(key) or any(isinstance(v, str) and unstorable(v) for v in values):
            return key.replace("\x00", "\\x00")
    return None


class RefuseUnstorableTextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        field = first_unstorable(request.GET)
        if field is None and request.method == "POST" and request.content_type in FORM_TYPES:
            field = first_unstorable(request.POST)
        if field is None:
            return self.get_response(request)
        text = message(field)
        if request.path.startswith("/api/"):
            return JsonResponse(
                {"detail": "输入有误 (invalid input)", "errors": {field: [text]}},
                status=400,
                json_dumps_params={"ensure_ascii": False},
            )
        return render(request, "400.html", {"reason": text}, status=400)

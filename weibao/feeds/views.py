"""Feed pages: list and detail, upload with preview and column mapping, batch report, "needs fixing"."""

import datetime
import tempfile
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from weibao.accounts import access
from weibao.accounts.access import SEND, may_register_feeds
from weibao.audit.models import AuditAction
from weibao.audit.services import record
from weibao.lib.views import ScopedDetailView, ScopedListView

from . import services
from .choices import BatchStatus, LandingStatus
from .models import Batch, Feed, LandingRecord
from .protect import received
from .readers import FileError, file_kind
from .validation import reason_label


class FeedListView(ScopedListView):
    model = Feed
    template_name = "feeds/feed_list.html"

    def get_queryset(self):
        return super().get_queryset().select_related("owner", "event_type")

    def get_context_data(self, **kwargs):
        return super().get_context_data(may_register=may_register_feeds(self.request.user), **kwargs)


class FeedDetailView(ScopedDetailView):
    model = Feed
    template_name = "feeds/feed_detail.html"

    def get_context_data(self, **kwargs):
        user, feed = self.request.user, self.object
        return super().get_context_data(
            batches=Batch.objects.visible_to(user).filter(feed=feed)[:50],
            may_send=Feed.objects.visible_to(user, SEND).filter(pk=feed.pk).exists(),
            needs_fixing=LandingRecord.objects.visible_to(user, SEND)
            .filter(batch__feed=feed, status=LandingStatus.REJECTED)
            .count(),
            **kwargs,
        )


class BatchDetailView(ScopedDetailView):
    model = Batch
    template_name = "feeds/batch_detail.html"

    def get_context_data(self, **kwargs):
        batch = self.object
        reasons = [(reason_label(k), v) for k, v in batch.rejected_by_reason.items()]
        waiting = batch.status == BatchStatus.RECEIVING
        stalled = batch.status == BatchStatus.PROCESSING and not services.is_running(batch)
        # The page refreshes itself while the batch waits or runs, but not for longer than the idle logout:
        # each refresh keeps the session alive, and an unattended screen must still log out.
        recent = timezone.now() - batch.created < datetime.timedelta(seconds=settings.SESSION_COOKIE_AGE)
        return super().get_context_data(
            reasons=reasons,
            waiting=waiting,
            stalled=stalled,
            polling=(waiting or services.is_running(batch)) and recent,
            **kwargs,
        )


PENDING = "feeds_uploads"  # session: token → the upload waiting for its preview to be confirmed
MAX_PENDING = 5  # per session: older ones are deleted


def _keep_pending(request, feed, upload) -> str | None:
    """Store an upload until its preview is confirmed; its token, or None (a message says why)."""
    try:
        kind = file_kind(upload.name)  # before anything is written: the suffix comes from the known kinds
    except FileError as exc:
        messages.error(request, str(exc))
        return None
    if upload.size > services.MAX_UPLOAD_BYTES:
        messages.error(
            request,
            _("文件过大：%(n)s MB，上限 %(m)s MB (file too large)")
            % {"n": upload.size // 1024**2, "m": services.MAX_UPLOAD_BYTES // 1024**2},
        )
        return None
    services.discard_stale_uploads()
    with tempfile.NamedTemporaryFile(
        dir=services.upload_dir(), prefix=services.PENDING_PREFIX, suffix=f".{kind}", delete=False
    ) as fh:
        for part in upload.chunks():
            fh.write(part)
    pending = dict(request.session.get(PENDING, {}))
    token = uuid.uuid4().hex
    pending[token] = {"path": fh.name, "name": upload.name, "feed": str(feed.uuid)}
    while len(pending) > MAX_PENDING:  # the oldest (dicts keep their order)
        Path(pending.pop(next(iter(pending)))["path"]).unlink(missing_ok=True)
    request.session[PENDING] = pending
    return token


def _drop_pending(request, token: str, *, delete: bool = False) -> None:
    pending = dict(request.session.get(PENDING, {}))
    entry = pending.pop(token, None)
    request.session[PENDING] = pending
    if delete and entry:
        Path(entry["path"]).unlink(missing_ok=True)


@login_required
def feed_upload(request, uuid):
    """Step 1: upload → preview of the first rows with their validation result and the column mapping.
    Step 2 (``confirm``): save the mapping and ingest the file. Each upload has its own token (a hidden
    field), so two previews open side by side each import their own file."""
    feed = get_object_or_404(Feed.objects.visible_to(request.user, SEND), uuid=uuid, is_active=True)
    context = {"feed": feed}
    token = request.POST.get("upload") or request.GET.get("upload") or ""
    if request.method == "POST" and "file" in request.FILES:
        token = _keep_pending(request, feed, request.FILES["file"])
        if token is None:
            return render(request, "feeds/feed_upload.html", context)
    entry = request.session.get(PENDING, {}).get(token)
    if entry is not None and entry.get("feed") != str(feed.uuid):
        entry = None
    if request.method == "POST" and "confirm" in request.POST:
        if entry is None:
            messages.error(request, _("上传的文件已失效，请重新上传"))
            return redirect("feeds:feed_upload", uuid=feed.uuid)
        mapping = {k[4:]: v for k, v in request.POST.items() if k.startswith("map_")}
        try:
            services.save_mapping(feed, mapping, actor=request.user)
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
            return redirect(f"{reverse('feeds:feed_upload', args=[feed.uuid])}?upload={token}")
        try:
            batch, queued = services.queue_file(
                feed, entry["path"], actor=request.user, filename=entry["name"]
            )
        except OSError:
            _drop_pending(request, token)
            messages.error(request, _("上传的文件已失效，请重新上传"))
            return redirect("feeds:feed_upload", uuid=feed.uuid)
        _drop_pending(request, token)
        if queued:
            messages.success(request, _("文件已提交，正在后台导入；本页自动更新。"))
        else:  # the same file was sent before: its batch stands (this copy was not kept)
            if batch.status in (BatchStatus.DONE, BatchStatus.FAILED):
                messages.info(request, _("该文件已导入过，以下是当时的批次报告。"))
            else:
                messages.info(request, _("该文件已在导入中，本页自动更新。"))
        return redirect("feeds:batch_detail", uuid=batch.uuid)
    if entry is not None:
        try:
            context["preview"] = services.preview(feed, entry["path"], entry["name"])
            context["filename"], context["upload"] = entry["name"], token
        except FileError as exc:
            messages.error(request, str(exc))
            _drop_pending(request, token, delete=True)  # unreadable: nothing can use it, nothing kept
        except OSError:
            _drop_pending(request, token)
            messages.error(request, _("上传的文件已失效，请重新上传"))
    return render(request, "feeds/feed_upload.html", context)


class LandingListView(ScopedListView):
    model = LandingRecord
    action = SEND
    template_name = "feeds/landing_list.html"

    def get_queryset(self):
        qs = super().get_queryset().filter(status=LandingStatus.REJECTED).select_related("batch__feed")
        if feed := self.request.GET.get("feed"):
            qs = qs.filter(batch__feed__code=feed)
        return qs.order_by("batch_id", "row_number")


@login_required
def landing_fix(request, pk):
    landing = get_object_or_404(
        LandingRecord.objects.visible_to(request.user, SEND)
        .filter(status=LandingStatus.REJECTED)
        .select_related("batch__feed__event_type"),
        pk=pk,
    )
    masked = not access.may_read_landing_in_clear(request.user, landing.batch.feed)
    values = services.canonical_values(landing, masked=masked)
    if request.method == "POST":
        changes = {
            k[4:]: v.strip()
            for k, v in request.POST.items()
            if k.startswith("fld_") and v.strip() != values.get(k[4:], "")
        }
        try:
            errors = services.fix_record(
                landing, changes, actor=request.user, reason=request.POST.get("reason", "")
            )
        except PermissionDenied:
            raise Http404 from None
        except ValidationError as exc:
            errors = exc.message_dict
            messages.error(request, "；".join(exc.messages))
        if not errors:
            messages.success(request, _("记录已修正并重新提交"))
            return redirect("feeds:landing_list")
        landing.refresh_from_db()
        values = services.canonical_values(landing, masked=masked)
        messages.error(request, _("仍有错误，请继续修正"))
    # Every render shows the record as received: audited each time (identifiers whole, or masked).
    record(
        request.user,
        AuditAction.VIEW if masked else AuditAction.VIEW_FULL_ID,
        landing,
        object_repr=f"{landing.batch.feed.code} #{landing.row_number}",
    )
    return render(
        request,
        "feeds/landing_fix.html",
        {
            "landing": landing,
            "raw": received(landing.raw, masked=masked),
            "values": values,
            "errors": landing.errors,
            "masked": masked,
        },
    )


@login_required
@require_POST
def landing_discard(request, pk):
    landing = get_object_or_404(LandingRecord.objects.visible_to(request.user, SEND), pk=pk)
    try:
        services.discard_record(landing, actor=request.user, reason=request.POST.get("reason", ""))
        messages.success(request, _("记录已作废"))
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
        return redirect("feeds:landing_fix", pk=landing.pk)
    except PermissionDenied:
        raise Http404 from None
    return redirect("feeds:landing_list")

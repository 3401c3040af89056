"""Cases on the person page's timeline, and the case's own timeline mixing everything that happened."""

from django.urls import reverse
from django.utils.translation import gettext as _

from weibao.registry.timeline import TimelineEntry

from .choices import State
from .models import Assessment, Case, CaseTransition, Intervention, Note, PlanItem, Referral


def cases_timeline(person, user):
    """Each case of the child the user may see: opened, and every state change."""
    cases = Case.objects.visible_to(user).filter(members__person=person).select_related("workstation")
    for case in cases:
        url = reverse("cases:case_detail", args=[case.uuid])
        yield TimelineEntry(
            when=case.opened_at,
            kind="case",
            title=_("立案 %(n)s") % {"n": case.number},
            source=case.workstation.name,
            detail=case.get_case_type_display(),
            url=url,
        )
        if case.state == State.CLOSED and case.closed_at:
            yield TimelineEntry(
                when=case.closed_at,
                kind="case",
                title=_("结案 %(n)s") % {"n": case.number},
                source=case.workstation.name,
                url=url,
            )


def case_timeline(case, user, whole: bool, visible_persons=None) -> list[dict]:
    """Everything on one case in date order (newest first). Department users (``whole`` False) see only
    the referrals to them. A child's name appears only when ``user`` may see the child (``visible_persons``,
    the pks of ``Person.objects.visible_to(user)`` on the case; computed when not given)."""
    if visible_persons is None:
        visible_persons = case.visible_children(user)
    entries = []
    referrals = (
        Referral.objects.visible_to(user).filter(case=case).select_related("to_organisation", "sent_by")
    )
    for r in referrals:
        entries.append(
            dict(
                when=r.sent_at,
                kind="referral",
                icon="arrow-forward",
                title=_("转介至 %(o)s") % {"o": r.to_organisation},
                detail=r.reason,
                actor=r.sent_by,
            )
        )
        if r.responded_at:
            entries.append(
                dict(
                    when=r.responded_at,
                    kind="referral",
                    icon="mail-opened",
                    title=f"{r.to_organisation} {r.get_status_display() if not r.reported_at else _('已接收')}",
                    detail=r.response_reason,
                    actor=r.responded_by,
                )
            )
        if r.reported_at:
            entries.append(
                dict(
                    when=r.reported_at,
                    kind="referral",
                    icon="report",
                    title=_("%(o)s 反馈办理情况") % {"o": r.to_organisation},
                    detail=r.report,
                    actor=r.responded_by,
                )
            )
    if not whole:
        return sorted(entries, key=lambda e: e["when"], reverse=True)
    for t in CaseTransition.objects.filter(case=case).select_related("actor"):
        title = (
            State(t.to_state).label
            if not t.from_state
            else f"{State(t.from_state).label} → {State(t.to_state).label}"
        )
        entries.append(
            dict(
                when=t.at, kind="transition", icon="arrows-right", title=title, detail=t.reason, actor=t.actor
            )
        )
    for a in Assessment.objects.filter(case=case).select_related("instrument", "person", "assessed_by"):
        name = a.person.name if a.person_id in visible_persons else _("（无权查看）")
        entries.append(
            dict(
                when=a.assessed_at,
                kind="assessment",
                icon="clipboard-check",
                title=f"{a.instrument.name}：{name} {a.total} 分 · {a.level}",
                detail=a.notes,
                actor=a.assessed_by,
            )
        )
    for p in PlanItem.objects.filter(case=case).select_related("created_by"):
        entries.append(
            dict(
                when=p.created,
                kind="plan",
                icon="target",
                title=f"{p.get_kind_display()}：{p.title}",
                detail=p.get_status_display(),
                actor=p.created_by,
            )
        )
    for i in Intervention.objects.filter(case=case).select_related("created_by"):
        entries.append(
            dict(
                when=i.created,
                kind="intervention",
                icon="heart-handshake",
                title=i.get_kind_display(),
                detail=i.outcome or i.description,
                actor=i.created_by,
            )
        )
    for n in Note.objects.filter(case=case).select_related("author").prefetch_related("attachments"):
        entries.append(
            dict(
                when=n.occurred_at,
                kind="note",
                icon="notes",
                title=n.get_kind_display() + (f" · {n.place}" if n.place else ""),
                detail=n.text,
                actor=n.author,
                attachments=list(n.attachments.all()),
            )
        )
    return sorted(entries, key=lambda e: e["when"], reverse=True)

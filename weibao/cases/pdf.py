"""The case summary as PDF (fpdf2): Noto Sans CJK SC embedded as a subset, a watermark with the user and
time on every page. The font comes from Debian's fonts-noto-cjk (installed by scripts/setup); a TrueType
or OpenType file elsewhere can be named with ``WEIBAO_PDF_FONT`` (``path`` or ``path#index`` for a .ttc)."""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from .choices import State
from .models import Assessment, CaseTransition, Intervention, Note, PlanItem, Referral

DEFAULT_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc#2"  # index 2: Simplified Chinese
NL = {"new_x": XPos.LMARGIN, "new_y": YPos.NEXT}


def font_file() -> tuple[str, int]:
    spec = os.environ.get("WEIBAO_PDF_FONT", DEFAULT_FONT)
    path, _, index = spec.partition("#")
    if not Path(path).is_file():
        raise ImproperlyConfigured(
            f"PDF font {path} not found: install fonts-noto-cjk (scripts/setup) or set WEIBAO_PDF_FONT"
        )
    return path, int(index or 0)


class SummaryPDF(FPDF):
    def __init__(self, watermark: str):
        super().__init__(format="A4")
        self.watermark = watermark
        path, index = font_file()
        self.add_font("cjk", fname=path, collection_font_number=index)
        self.set_auto_page_break(auto=True, margin=18)

    def header(self):
        # The watermark first, so the page's text lies over it: light grey, diagonal, three times per page.
        self.set_font("cjk", size=22)
        self.set_text_color(225, 225, 225)
        for y in (80, 160, 240):
            with self.rotation(30, x=105, y=y):
                self.text(30, y, self.watermark)
        self.set_text_color(0, 0, 0)

    def footer(self):
        self.set_y(-12)
        self.set_font("cjk", size=8)
        self.set_text_color(110, 110, 110)
        self.cell(0, 6, f"{self.watermark}　第 {self.page_no()}/{{nb}} 页", align="C")
        self.set_text_color(0, 0, 0)


def _section(pdf, title):
    pdf.ln(3)
    pdf.set_font("cjk", size=12)
    pdf.set_fill_color(240, 240, 240)
    pdf.cell(0, 8, title, fill=True, **NL)
    pdf.set_font("cjk", size=10)


def _line(pdf, text):
    pdf.multi_cell(0, 6, text, **NL)


def case_summary_pdf(case, user) -> bytes:
    now = timezone.localtime()
    watermark = f"{user.full_name or user.username}（{user.username}） {now:%Y-%m-%d %H:%M} 导出"
    pdf = SummaryPDF(watermark)
    pdf.set_title(f"案件摘要 {case.number}")
    pdf.add_page()
    pdf.set_font("cjk", size=16)
    pdf.cell(0, 10, f"未成年人保护个案摘要　{case.number}", **NL)
    pdf.set_font("cjk", size=10)
    rows = [
        ("负责工作站", f"{case.workstation.name}（{case.street.full_name}）"),
        ("案件类型", case.get_case_type_display()),
        ("风险等级 / 优先级", f"{case.get_risk_level_display()} / {case.get_priority_display()}"),
        ("来源", f"{case.get_origin_display()} {case.origin_reference}".strip()),
        (
            "当前状态",
            case.get_state_display()
            + (f"（时限 {timezone.localtime(case.state_due):%Y-%m-%d %H:%M}）" if case.state_due else ""),
        ),
        ("立案时间", f"{timezone.localtime(case.opened_at):%Y-%m-%d %H:%M}"),
        ("责任社工", "、".join(str(u) for u in case.workers.all()) or "—"),
    ]
    for label, value in rows:
        pdf.cell(40, 6, label)
        pdf.multi_cell(0, 6, value, **NL)

    _section(pdf, "未成年人")
    visible = case.visible_children(user)
    for member in case.members.select_related("person"):
        p = member.person
        if p.pk in visible:
            _line(pdf, f"{p.name}　{p.get_sex_display()}　出生 {p.birth_date or '—'}")
        else:
            _line(pdf, "（无权查看的人员）")
    if case.family_notes:
        _section(pdf, "家庭情况")
        _line(pdf, case.family_notes)

    _section(pdf, "评估")
    for a in Assessment.objects.filter(case=case).select_related("instrument", "person"):
        _line(
            pdf,
            f"{timezone.localtime(a.assessed_at):%Y-%m-%d}　{a.instrument.name}　"
            f"{a.person.name if a.person_id in visible else '（无权查看）'}　"
            f"总分 {a.total}/{a.instrument.max_total}　{a.level}",
        )
        names = dict(a.instrument.domains.values_list("code", "name"))
        _line(pdf, "　　" + "；".join(f"{names.get(k, k)} {v}" for k, v in a.domain_scores.items()))

    _section(pdf, "服务计划")
    for item in PlanItem.objects.filter(case=case).select_related(
        "responsible_user", "responsible_organisation"
    ):
        who = item.responsible_user or item.responsible_organisation or "—"
        indent = "　　" if item.goal_id else ""
        _line(
            pdf,
            f"{indent}[{item.get_kind_display()}] {item.title}　责任：{who}　期限：{item.due or '—'}　"
            f"{item.get_status_display()}",
        )

    _section(pdf, "干预措施")
    for i in Intervention.objects.filter(case=case).select_related("issuer").prefetch_related("reviews"):
        _line(pdf, f"{i.started_on}　{i.get_kind_display()}　{i.get_status_display()}　{i.description}")
        if i.issuer_id:
            _line(pdf, f"　　签发：{i.issuer}　{i.issued_on}　内容：{i.terms}")
            for r in i.reviews.all():
                _line(pdf, f"　　履行检查 {r.reviewed_on}：{'已履行' if r.complied else '未履行'} {r.note}")
        if i.outcome:
            _line(pdf, f"　　结果：{i.outcome}")

    _section(pdf, "转介")
    for r in Referral.objects.filter(case=case).select_related("to_organisation"):
        _line(
            pdf,
            f"{timezone.localtime(r.sent_at):%Y-%m-%d}　{r.to_organisation}　{r.get_status_display()}　"
            f"事由：{r.reason}" + (f"　反馈：{r.report}" if r.report else ""),
        )

    _section(pdf, "走访与记录（最近 20 条）")
    for n in Note.objects.filter(case=case)[:20]:
        _line(pdf, f"{timezone.localtime(n.occurred_at):%Y-%m-%d %H:%M}　{n.get_kind_display()}　{n.text}")

    _section(pdf, "流程记录")
    for t in CaseTransition.objects.filter(case=case).select_related("actor"):
        frm = State(t.from_state).label if t.from_state else "—"
        _line(
            pdf,
            f"{timezone.localtime(t.at):%Y-%m-%d %H:%M}　{frm} → {State(t.to_state).label}　{t.actor}　{t.reason}",
        )
    return bytes(pdf.output())

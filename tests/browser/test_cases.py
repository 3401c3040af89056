"""A case from intake to closure: the worker opens it, visits, assesses, plans, intervenes and asks to
close; the workstation lead approves; the lead exports the summary PDF, which is rendered and read back.

It starts where cases come from: a school files a mandatory report, and the street worker opens the case
from the report's page.
"""

import shutil
import subprocess

import pytest

from .conftest import SCREENSHOTS
from .login import open_page, shot

pytestmark = pytest.mark.browser


def _sign_in(browser, server, username):
    page = open_page(browser, server, username, accept_downloads=True)
    return page.context, page


def _pick(page, name, chosen=1):
    """The open-case form's children picker: search, tick the first match; it joins those chosen."""
    page.fill("#id_persons", name)
    page.locator("#id_persons-results input[name=persons]").first.check()
    assert page.locator("#id_persons-chosen input:checked").count() == chosen


def _choose_organisation(page, field, search, name):
    """An organisation picker: type part of the name, tick the match; it stays chosen under the box."""
    page.fill(f"#id_{field}", search)
    page.locator(f"#id_{field}-results label:has(span:text-is('{name}')) input").check()
    chosen = page.locator(f"#id_{field}-chosen")
    assert chosen.locator("input:checked").count() == 1 and name in chosen.inner_text()
    assert page.locator(f"#id_{field}-results label").count() == 0


def _tab(page, name):
    page.locator(f".card-header-tabs a[href='#{name}']").click()


def _submit(page, locator):
    """Click a button that posts a form, and wait for the page it leads to (not the old one)."""
    with page.expect_navigation():
        locator.click()


def _move(page, reason, button):
    page.fill("#transition-form input[name=reason]", reason)
    _submit(page, page.get_by_role("button", name=button))


def _file_report(browser, server) -> str:
    """The school in A1 reports a child left alone; returns the report number."""
    context, page = _sign_in(browser, server, "reporter")
    page.goto(f"{server}/reports/new/")
    page.select_option("#id_situation", "abandoned")
    page.fill("#id_description", "学生测试a1连续多日独自在家，无人做饭，上课常饿着肚子。")
    page.fill("#id_minor_name", "测试a1")
    page.select_option("#id_minor_sex", "F")
    page.select_option("#id_minor_street", label="黄浦区南京东路街道")
    page.select_option("#id_suspect_relation", "parent")
    page.get_by_role("button", name="提交报告").click()
    page.wait_for_url("**/reports/*-*-*-*-*/")
    number = page.locator("h2.page-title").inner_text().split()[0]
    context.close()
    return number


def test_case_from_intake_to_closure_with_the_leads_approval(server, browser):
    report_number = _file_report(browser, server)
    context, page = _sign_in(browser, server, "worker_a1")
    page.locator(".wb-nav").get_by_text("强制报告").click()
    page.get_by_role("link", name=report_number).click()
    page.get_by_role("link", name="由本报告立案").click()
    page.wait_for_url("**/cases/new/?report=*")
    assert page.input_value("#id_origin_reference") == report_number
    _pick(page, "测试a1")
    page.select_option("#id_case_type", "guardianship")
    page.select_option("#id_risk_level", "high")
    page.select_option("#id_priority", "urgent")
    page.fill("#id_family_notes", "父母在外务工，随年迈祖母生活。")
    page.fill("#id_reason", "社区网格员反映儿童长期无人照看")
    page.get_by_role("button", name="立案").click()
    page.wait_for_url("**/cases/*-*/")
    case_url = page.url
    number = page.locator(".page-title").inner_text().split()[0]
    assert number.startswith("AJ") and page.get_by_test_id("case-state").inner_text() == "受理"

    _tab(page, "notes")
    page.fill("#note-form textarea[name=text]", "入户走访：儿童独自在家，冰箱内食物不足。")
    page.fill("#note-form input[name=place]", "家中")
    page.get_by_role("button", name="保存记录").click()
    page.wait_for_url("**#notes")
    assert "儿童独自在家" in page.locator("#notes").inner_text()
    _move(page, "已完成首次走访", "转到评估")
    assert page.get_by_test_id("case-state").inner_text() == "评估"

    _tab(page, "assessments")
    page.get_by_role("link", name="家庭监护能力评估").click()
    page.eval_on_selector_all(
        "input[type=radio][name^=q_]",
        "els => els.filter(e => e.value === '1').forEach(e => e.checked = true)",
    )
    page.fill("textarea[name=notes]", "祖母照料能力有限，需要外部支持。")
    shot(page, "cases-assessment-form", full_page=False)
    page.get_by_role("button", name="计分并保存").click()
    page.wait_for_url("**#assessments")
    assert page.get_by_test_id("assessment-total").first.inner_text() == "18"
    _move(page, "评估完成，监护严重缺失", "转到制定计划")

    _tab(page, "plan")
    page.fill("#plan-form input[name=title]", "保障儿童日常照料")
    page.fill("#id_responsible_organisation", "民政")
    results = page.locator("#id_responsible_organisation-results label")
    results.first.wait_for()
    assert results.first.inner_text().startswith("上海市黄浦区民政局")  # the case's own district first
    assert page.locator("#plan-form option").count() < 20  # no list of every organisation
    page.locator("#id_responsible_organisation").scroll_into_view_if_needed()
    shot(page, "cases-organisation-picker", full_page=False)
    _choose_organisation(page, "responsible_organisation", "民政", "上海市黄浦区民政局")
    page.get_by_role("button", name="加入计划").click()
    page.wait_for_url("**#plan")
    assert "保障儿童日常照料" in page.locator("#plan").inner_text()
    assert "上海市黄浦区民政局" in page.locator("#plan").inner_text()
    _move(page, "计划已制定", "转到实施干预")

    _tab(page, "interventions")
    page.locator("#interventions summary").click()
    page.select_option("#intervention-form select[name=kind]", "family_education")
    page.fill("#intervention-form input[name=started_on]", "2026-11-20")
    page.fill("#intervention-form textarea[name=outcome]", "祖母参加了两次家庭教育指导")
    page.get_by_role("button", name="保存干预").click()
    page.wait_for_url("**#interventions")
    _move(page, "干预完成，进入回顾", "转到回顾评估")
    page.fill("#transition-form input[name=reason]", "儿童照料已落实，申请结案")
    _submit(page, page.get_by_test_id("request-approval"))
    assert "待站长审批" in page.get_by_test_id("pending-approval").inner_text()
    shot(page, "cases-worker-requests-closure")
    context.close()

    context, page = _sign_in(browser, server, "lead_a1")
    page.goto(f"{server}/cases/?tab=approvals")
    page.get_by_role("link", name=number).click()
    page.wait_for_url(case_url)
    page.fill("[data-testid=pending-approval] input[name=reason]", "同意结案，三个月后回访")
    _submit(page, page.get_by_role("button", name="批准"))
    assert page.get_by_test_id("case-state").inner_text() == "结案"
    timeline = page.locator("#case-timeline").inner_text()
    for text in ("回顾评估 → 结案", "站长批准", "家庭监护能力评估", "受理 → 评估"):
        assert text in timeline
    shot(page, "cases-closed-timeline")
    page.goto(f"{server}/cases/caseload/")
    assert page.get_by_test_id("open-count").inner_text() == "0"
    page.wait_for_timeout(500)  # let ECharts draw
    shot(page, "cases-caseload")
    page.goto(case_url)

    with page.expect_download() as download:
        page.get_by_test_id("case-pdf").click()
    pdf = SCREENSHOTS / "cases-summary.pdf"
    download.value.save_as(pdf)
    context.close()
    assert pdf.read_bytes().startswith(b"%PDF")
    missing = [tool for tool in ("pdftoppm", "pdftotext") if not shutil.which(tool)]
    assert not missing, (
        f"{', '.join(missing)} not found: install poppler-utils (scripts/setup) to read the PDF"
    )
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "70",
            "-png",
            "-f",
            "1",
            "-l",
            "1",
            str(pdf),
            str(SCREENSHOTS / "cases-summary"),
        ],
        check=True,
    )
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True).stdout.decode()
    assert number in text and "监护严重缺失" in text and "lead_a1" in text and "父母在外务工" in text


def test_referral_answered_by_the_member_unit_on_a_phone(server, browser, tmp_path):
    context, page = _sign_in(browser, server, "worker_a1")
    page.goto(f"{server}/cases/new/")
    _pick(page, "测试a1")
    page.select_option("#id_case_type", "left_behind")
    page.fill("#id_reason", "学校反映儿童长期缺课")
    page.get_by_role("button", name="立案").click()
    page.wait_for_url("**/cases/*-*/")
    number = page.locator(".page-title").inner_text().split()[0]
    _tab(page, "referrals")
    page.locator("#referrals summary").click()
    _choose_organisation(page, "to_organisation", "妇儿工委", "上海市妇女儿童工作委员会办公室")
    page.fill("#referral-form textarea[name=reason]", "请协调学校提供学业支持")
    letter = tmp_path / "转介函.pdf"
    letter.write_bytes(b"%PDF-1.4\n% referral letter\n")
    page.set_input_files("#referral-form input[name=files]", str(letter))
    page.get_by_role("button", name="转介", exact=True).click()
    page.wait_for_url("**#referrals")
    assert "待接收" in page.locator("#referrals").inner_text()
    context.close()

    page = open_page(browser, server, "edu_city", phone=True)
    context = page.context
    page.goto(f"{server}/cases/referrals/")
    page.get_by_role("link", name=number).click()
    page.wait_for_url("**/cases/*-*/")
    body = page.locator(".page-body").inner_text()
    assert "请协调学校提供学业支持" in body and "转介函.pdf" in body and "家庭情况" not in body
    _submit(page, page.get_by_role("button", name="接收"))
    page.fill("textarea[name=report]", "已与学校对接，安排每周两次课后辅导")
    _submit(page, page.get_by_role("button", name="反馈"))
    assert "已反馈" in page.get_by_test_id("referral").inner_text()
    shot(page, "cases-member-unit-phone")
    context.close()


def test_open_case_with_two_siblings_chosen_by_search(server, browser):
    """The children picker is the shared search picker: choices add up across searches, a child found again
    is not posted twice, Enter searches without posting, and a form shown again keeps the chosen children
    (masked)."""
    context, page = _sign_in(browser, server, "worker_a1")
    page.goto(f"{server}/cases/new/")
    _pick(page, "测试a1")
    _pick(page, "陈思", chosen=2)  # 陈思源 and 陈思远 match; the picker shows masked names (陈**)
    results = page.locator("#id_persons-results label")
    assert results.count() == 1  # the chosen one moved out of the results
    picked = page.locator("#id_persons-chosen input").nth(1).get_attribute("value")
    with page.expect_response(lambda r: "/cases/new/persons/" in r.url, timeout=5000):
        page.locator("#id_persons").press("Enter")  # searches at once; must not post the form
    page.wait_for_timeout(300)
    assert page.url == f"{server}/cases/new/" and results.count() == 2
    page.locator(f"#id_persons-results input[value='{picked}']").click()  # found again: not posted twice
    chosen = page.locator("#id_persons-chosen input:checked")
    assert chosen.count() == 2 and page.locator("#id_persons-chosen input").count() == 2
    assert results.count() == 1
    shot(page, "cases-open-two-children", full_page=False)

    page.select_option("#id_case_type", "left_behind")
    page.eval_on_selector("#id_reason", "e => e.removeAttribute('required')")  # the server's own check
    _submit(page, page.get_by_role("button", name="立案"))
    assert page.locator(".invalid-feedback").count() == 1
    labels = page.locator("#id_persons-chosen label")
    assert labels.count() == 2 and page.locator("#id_persons-chosen input:checked").count() == 2
    assert [labels.nth(i).locator("span").first.inner_text() for i in range(2)] == ["测试**", "陈**"]
    assert page.locator("#id_persons-chosen input").nth(1).get_attribute("value") == picked
    page.locator("#id_persons-chosen").scroll_into_view_if_needed()
    shot(page, "cases-open-shown-again", full_page=False)
    page.fill("#id_reason", "兄妹均无人照看")
    _submit(page, page.get_by_role("button", name="立案"))
    page.wait_for_url("**/cases/*-*/")
    people = page.locator(".page-body").inner_text()  # the case page names the children in full
    assert "测试a1" in people and ("陈思源" in people) != ("陈思远" in people)
    context.close()

"""Mandatory reporting end to end: a school teacher files (on a phone too), the police and the workstation
receive it, the police decide and tell the school; the public form works and is rate-limited."""

import pytest

from .login import open_page, shot

pytestmark = pytest.mark.browser

A1_LABEL = "黄浦区南京东路街道"


def test_school_files_police_decides_workstation_contacts_school_sees_feedback(server, browser, tmp_path):
    # 1. The teacher files on a phone; a validation error keeps what was typed; a draft is saved meanwhile.
    teacher = open_page(browser, server, "reporter", phone=True)
    teacher.goto(f"{server}/reports/")
    teacher.get_by_role("link", name="填写报告").click()
    teacher.wait_for_url("**/reports/new/")
    teacher.select_option("#id_situation", "abuse_injury")
    teacher.fill("#id_description", "学生王小明左臂和后背有多处淤青，自述昨晚被继父用皮带抽打。")
    teacher.fill("#id_minor_name", "王小明")
    teacher.select_option("#id_minor_sex", "M")
    teacher.fill("#id_minor_birth_date", "2015-06-01")
    teacher.fill("#id_minor_id_number", "12345")
    teacher.select_option("#id_suspect_relation", "step_parent")
    teacher.locator("[data-testid=draft-status]", has_text="草稿已保存").wait_for()
    shot(teacher, "50-report-form-phone")
    photo = tmp_path / "伤情.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    teacher.set_input_files("#id_attachments", str(photo))
    teacher.get_by_role("button", name="提交报告").click()
    assert "身份证号码应为18位" in teacher.content()
    assert teacher.input_value("#id_description").startswith("学生王小明")  # nothing lost
    shot(teacher, "51-report-form-error-phone")
    teacher.fill("#id_minor_id_number", "")
    teacher.select_option("#id_minor_street", label=A1_LABEL)
    teacher.check("#id_immediate_danger")
    teacher.set_input_files("#id_attachments", str(photo))
    teacher.get_by_role("button", name="提交报告").click()
    teacher.wait_for_url("**/reports/*-*-*-*-*/")
    number = teacher.locator("h2.page-title").inner_text().split()[0]
    assert number.startswith("BG")
    assert "尚未收到反馈" in teacher.locator("[data-testid=reporter-view]").inner_text()
    assert (
        "王小明" not in teacher.locator(".page-body").inner_text()
    )  # the school sees status and feedback only
    shot(teacher, "52-report-filed-school")

    # 2. It arrives at the police: notification, list, detail with the reporter; acceptance and decision.
    police = open_page(browser, server, "police_a")
    assert police.locator("[data-testid=unread-count]").is_visible()
    police.locator(".wb-nav").get_by_text("强制报告").click()
    police.get_by_role("link", name=number).click()
    police.wait_for_url("**/reports/*-*-*-*-*/")
    assert (
        "王小明" in police.content()
        and "reporter" in police.locator("[data-testid=reporter-identity]").inner_text()
    )
    assert police.locator(".page-title .badge", has_text="紧急").is_visible()
    police.get_by_role("button", name="确认受理").click()
    police.select_option("#id_decision", "opened")
    police.get_by_role("button", name="记录决定").click()
    assert "立案须填写案件编号" in police.content()
    police.select_option("#id_decision", "opened")
    police.fill("#id_case_number", "A3101012026110001")
    police.get_by_role("button", name="记录决定").click()
    assert police.locator("[data-testid=report-status]").inner_text() == "公安已作出决定"
    shot(police, "53-report-police-decided")

    # 3. It arrives at the workstation (without the reporter's identity); first contact with the family.
    worker = open_page(browser, server, "worker_a1")
    worker.goto(f"{server}/reports/")
    worker.get_by_role("link", name=number).click()
    worker.wait_for_url("**/reports/*-*-*-*-*/")
    assert "王小明" in worker.content()
    assert worker.locator("[data-testid=reporter-identity]").count() == 0
    worker.fill("#id_contact_note", "已与母亲电话联系，当日下午家访。")
    worker.get_by_role("button", name="登记联系").click()
    assert "已与母亲电话联系" in worker.locator("[data-testid=steps]").inner_text()
    shot(worker, "54-report-workstation")

    # 4. The police tell the school; the school sees the feedback; then it can close.
    police.fill("#id_feedback", "已立案侦查，孩子已由街镇工作站临时照护。感谢贵校及时报告。")
    police.get_by_role("button", name="发送反馈").click()
    police.get_by_role("button", name="办结").click()
    assert police.locator("[data-testid=report-status]").inner_text() == "已办结"
    teacher.reload()
    assert "已立案侦查" in teacher.locator("[data-testid=feedback]").inner_text()
    assert "A3101012026110001" not in teacher.content()  # no police case details beyond the feedback
    shot(teacher, "55-report-feedback-school-phone")

    # 5. The district office sees it on the figures page.
    office = open_page(browser, server, "district_a")
    office.goto(f"{server}/reports/figures/")
    assert "学校" in office.locator("[data-testid=figures-table]").inner_text()
    office.wait_for_timeout(500)
    shot(office, "56-report-figures")
    for p in (teacher, police, worker, office):
        p.context.close()


def test_anonymous_public_report_works_and_is_rate_limited(server, browser):
    page = open_page(browser, server, None, phone=True)

    def submit(text):
        page.goto(f"{server}/reports/public/")
        page.select_option("#id_situation", "abandoned")
        page.fill("#id_description", text)
        page.fill("#id_minor_name", "小宝")
        page.select_option("#id_minor_street", label=A1_LABEL)
        page.get_by_role("button", name="提交").click()

    submit("楼下的小孩连续三天一个人在家，没有大人照顾。")
    page.wait_for_url("**/reports/public/thanks/")
    assert page.locator("[data-testid=public-number]").inner_text().startswith("BG")
    shot(page, "57-public-thanks-phone")
    submit("https://spam.example.com")
    assert "只有链接" in page.locator("[data-testid=refused]").inner_text()
    assert page.input_value("#id_minor_name") == "小宝"
    for _ in range(8):  # the default limit is 10 submissions per address per hour
        submit("楼下的小孩连续三天一个人在家，没有大人照顾。")
    submit("楼下的小孩连续三天一个人在家，没有大人照顾。")
    assert "提交过于频繁" in page.locator("[data-testid=refused]").inner_text()
    shot(page, "58-public-rate-limited-phone")
    page.context.close()

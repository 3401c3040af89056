"""Early warning end to end: police send two call-outs; the city office writes a rule, dry-runs it, activates
it and screens; the alert reaches the A1 workstation worker, who acknowledges, visits and closes it."""

import pytest

from weibao.lib.checksums import id_check_char

from .login import second_factor, sign_in

pytestmark = pytest.mark.browser

RULE = "event_count:\n  event_type: police_dv_callout\n  within_days: 3650\n  min: 2\n"


def _id(seq):
    first17 = f"31010120160601{seq:03d}"
    return first17 + id_check_char(first17)


def _logout(page, server):
    page.context.clear_cookies()


def test_rule_to_alert_to_closed_visit(server, page, shoot, tmp_path):
    # 1. two domestic-violence call-outs at the same child's home, sent by the district police
    rows = [
        "编号,身份证,姓名,性别,出生日期,街镇代码,警情日期,警情编号",
        f"W1,{_id(41)},周小雨,女,2016-06-01,310101002,2026-10-01,JQ101",
        f"W2,{_id(41)},周小雨,女,2016-06-01,310101002,2026-11-01,JQ102",
    ]
    upload = tmp_path / "警情.csv"
    upload.write_bytes("\n".join(rows).encode("gbk"))
    sign_in(page, server, "police_a")
    second_factor(page, "police_a")
    page.wait_for_url(f"{server}/")
    page.goto(f"{server}/feeds/")
    page.get_by_role("link", name="huangpu_dv").click()
    page.get_by_role("link", name="上传文件").click()
    page.set_input_files("#id_file", str(upload))
    page.get_by_role("button", name="预览").click()
    for field, column in [
        ("source_id", "编号"), ("id_number", "身份证"), ("name", "姓名"), ("sex", "性别"),
        ("birth_date", "出生日期"), ("street", "街镇代码"), ("occurred_on", "警情日期"), ("case_number", "警情编号"),
    ]:  # fmt: skip
        page.select_option(f"select[name=map_{field}]", column)
    page.get_by_role("button", name="保存字段对应并导入").click()
    page.wait_for_url("**/feeds/batches/**")
    # the task worker ingests the file, then screens its persons: the starter rule "dv_repeated" (two
    # call-outs within a year) fires at once
    server.run_tasks()
    _logout(page, server)

    # 2. the city office writes the rule, dry-runs it, saves, activates it and screens
    sign_in(page, server, "city")
    second_factor(page, "city")
    page.wait_for_url(f"{server}/")
    page.locator(".wb-nav").get_by_text("预警规则").click()
    shoot("60-alerts-rule-list")
    page.locator("#rule-add").click()
    page.fill("#id_code", "dv_twice_ever")
    page.fill("#id_name", "两次及以上家暴警情")
    page.fill("#id_description", "儿童家中两次及以上家庭暴力警情")
    page.select_option("#id_level", label="高危")
    page.fill("#id_deadline_hours", "48")
    page.fill("#id_definition", "event_count: {event_type: nope, within_days: 3}")
    page.locator("#dry-run").click()
    assert "没有代码为“nope”的事件类型" in page.locator("#rule-form").inner_text()
    page.fill("#id_definition", RULE)
    page.locator("#dry-run").click()
    assert page.locator("#dry-run-count").inner_text() == "1"
    shoot("61-alerts-rule-dry-run")
    page.fill("#id_reason", "试点家暴预警")
    page.locator("#save-rule").click()
    page.wait_for_url("**/alerts/rules/*/")
    page.fill("input[name=reason]", "试运行结果合理，启用")
    page.locator("#rule-activate").click()
    assert page.locator("#rule-status").inner_text() == "启用"
    page.wait_for_load_state("load")  # htmx wires the button up on load: a click before then does nothing
    page.locator("#rule-dry-run").click()  # the dry run of the saved version, in place (HTMX)
    assert page.locator("#dry-run-count").inner_text() == "1"
    shoot("62-alerts-rule-active")
    page.goto(f"{server}/alerts/rules/")
    page.locator("#screen-now").click()
    assert "已开始全量筛查" in page.locator(".alert-success").inner_text()
    server.run_tasks()  # the task worker screens everyone; the city user is told
    page.goto(f"{server}/notifications/")
    # one new alert, the new rule's: the starter rule fired when the batch was screened
    assert "新预警 1 条" in page.locator(".page-body").inner_text()
    _logout(page, server)

    # 3. the A1 worker gets it, acknowledges, visits and closes it with the visit result
    sign_in(page, server, "worker_a1")
    second_factor(page, "worker_a1")
    page.wait_for_url(f"{server}/")
    page.locator(".wb-nav").get_by_text("预警").first.click()
    shoot("63-alerts-worker-list")
    page.get_by_role("link", name="两次及以上家暴警情").click()
    assert page.locator("#evidence .list-group-item").count() == 2
    page.fill("#id_reason", "已签收，安排走访")
    page.locator("#to-acknowledged").click()
    assert page.locator("#alert-state").inner_text() == "已签收"
    page.fill("#id_reason", "入户走访")
    page.locator("#to-visiting").click()
    page.fill("#id_reason", "走访结束")
    page.select_option("#id_outcome", "no_concern")
    page.locator("#to-closed").click()
    assert "关闭前必须记录走访情况" in page.locator("#transition-form").inner_text()
    page.fill("#id_reason", "走访结束")
    page.fill("#id_visit_result", "与监护人面谈，儿童状态良好，已告知求助渠道")
    page.select_option("#id_outcome", "no_concern")
    page.locator("#to-closed").click()
    assert page.locator("#alert-state").inner_text() == "已关闭"
    assert page.locator("#transitions .list-group-item").count() == 3
    shoot("64-alerts-closed")

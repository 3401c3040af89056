"""A department uploads a GBK file: preview with validation, column mapping, batch report, fixing a record."""

import pytest

from weibao.lib.checksums import id_check_char

from .login import second_factor, sign_in

pytestmark = pytest.mark.browser


def _id(seq):
    first17 = f"31010120150601{seq:03d}"
    return first17 + id_check_char(first17)


def test_police_upload_preview_map_report_and_fix(server, page, shoot, tmp_path):
    bad = _id(7)[:17] + ("0" if _id(7)[17] != "0" else "1")
    rows = [
        "编号,身份证,姓名,性别,出生日期,街镇代码,警情日期,警情编号",
        f"J1,{_id(1)},王小花,女,2015-06-01,310101002,2026-11-01,JQ001",
        f"J2,{_id(3)},李小军,男,2015-06-01,310101013,2026-11-02,JQ002",
        f"J3,{bad},赵小雨,女,2015-06-01,310101002,2026-11-03,JQ003",
    ]
    upload = tmp_path / "警情.csv"
    upload.write_bytes("\n".join(rows).encode("gbk"))
    sign_in(page, server, "police_a")
    second_factor(page, "police_a")
    page.wait_for_url(f"{server}/")
    page.locator(".wb-nav").get_by_text("数据报送").click()
    page.get_by_role("link", name="huangpu_dv").click()
    page.get_by_role("link", name="上传文件").click()
    page.set_input_files("#id_file", str(upload))
    page.get_by_role("button", name="预览").click()
    for field, column in [
        ("source_id", "编号"),
        ("id_number", "身份证"),
        ("name", "姓名"),
        ("sex", "性别"),
        ("birth_date", "出生日期"),
        ("street", "街镇代码"),
        ("occurred_on", "警情日期"),
        ("case_number", "警情编号"),
    ]:
        page.select_option(f"select[name=map_{field}]", column)
    shoot("30-police-upload-preview")
    page.get_by_role("button", name="保存字段对应并导入").click()
    page.wait_for_url("**/feeds/batches/**")
    assert page.locator("#batch-waiting").is_visible()  # queued for the task worker
    server.run_tasks()
    page.locator("#batch-waiting").wait_for(state="detached")  # the report refreshes itself (HTMX)
    shoot("31-police-batch-report")
    body = page.locator(".page-body").inner_text()
    assert "3" in body and "校验位" in body
    page.goto(f"{server}/feeds/needs-fixing/")
    page.get_by_role("link", name="修正", exact=True).first.click()
    shoot("32-police-fix-record")
    id_input = page.locator("input[name=fld_id_number]")
    id_input.fill(_id(7))
    page.fill("#reason", "核对原始警情记录，更正身份证号")
    page.get_by_role("button", name="修正并重新提交").click()
    assert page.locator(".alert-success").is_visible()

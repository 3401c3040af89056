"""Importing organisations: every row checked; errors name row, column and reason; nothing half-imported."""

import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from openpyxl import Workbook

from weibao.accounts.imports import import_organisations
from weibao.accounts.models import Organisation
from weibao.audit.models import AuditEvent
from weibao.lib.checksums import uscc_check_char
from weibao.lib.testing import verify_second_factor

pytestmark = pytest.mark.django_db

USCC = "12310101" + "425012345"
USCC += uscc_check_char(USCC)
HEADER = "名称,类型,区域,上级单位,统一社会信用代码,地址\n"


def _import(world, text, encoding="utf-8", actor="sysadmin", name="orgs.csv"):
    return import_organisations(name, text.encode(encoding), actor=world.users[actor])


def test_valid_gbk_csv_imports_every_row_and_audits(world):
    text = (
        HEADER
        + f"黄浦区第一中学,school,310101002,,{USCC},南京东路1号\n外滩幼儿园,幼儿园,外滩街道,黄浦区第一中学,,\n"
    )
    result = _import(world, text, "gbk")
    assert result.ok and (result.created, result.updated) == (2, 0)
    kindergarten = Organisation.objects.get(name="外滩幼儿园")
    assert kindergarten.parent.name == "黄浦区第一中学" and kindergarten.area.code == "310101013"
    assert AuditEvent.objects.filter(action="import", object_repr="orgs.csv").exists()
    assert AuditEvent.objects.filter(action="create", object_type="accounts.organisation").count() == 2


def test_reimport_updates_instead_of_duplicating(world):
    _import(world, HEADER + "黄浦区第一中学,school,310101002,,,旧址\n")
    result = _import(world, HEADER + "黄浦区第一中学,school,310101002,,,新址\n")
    assert (result.created, result.updated) == (0, 1)
    assert Organisation.objects.get(name="黄浦区第一中学").address == "新址"


def test_row_errors_name_row_column_and_reason_and_nothing_is_saved(world):
    bad_uscc = USCC[:-1] + ("0" if USCC[-1] != "0" else "1")
    text = HEADER + (
        "黄浦区第一中学,school,310101002,,,\n"  # row 2 fine
        ",school,310101002,,,\n"  # row 3 missing name
        "某医院,spaceship,310101002,,,\n"  # row 4 unknown type
        "某医院,hospital,火星,,,\n"  # row 5 unknown area
        f"某诊所,hospital,310101002,,{bad_uscc},\n"  # row 6 wrong check character
        "黄浦区第一中学,school,310101002,,,\n"  # row 7 duplicate of row 2
        "某小学,school,310101002,不存在的单位,,\n"  # row 8 unknown parent
    )
    before = Organisation.objects.count()
    result = _import(world, text)
    assert not result.ok
    errors = {(row, column) for row, column, _ in result.errors}
    assert errors == {
        (3, "名称"),
        (4, "类型"),
        (5, "区域"),
        (6, "统一社会信用代码"),
        (7, "名称"),
        (8, "上级单位"),
    }
    assert any("校验位" in m for r, _c, m in result.errors if r == 6)
    assert Organisation.objects.count() == before


def test_missing_required_column_is_reported(world):
    result = _import(world, "名称,地址\n甲,乙\n")
    assert [(r, c) for r, c, _ in result.errors] == [(1, "类型"), (1, "区域")]


def test_xlsx_import(world):
    wb = Workbook()
    wb.active.append(["名称", "类型", "区域"])
    wb.active.append(["豫园社区居委会", "residents_committee", "310101018"])
    buf = io.BytesIO()
    wb.save(buf)
    result = import_organisations("a.xlsx", buf.getvalue(), actor=world.users["sysadmin"])
    assert result.ok and Organisation.objects.filter(name="豫园社区居委会").exists()


def test_district_admin_cannot_import_into_another_district(world):
    result = _import(world, HEADER + "陆家嘴某中学,school,310115004,,,\n", actor="sysadmin_a")
    assert not Organisation.objects.filter(name="陆家嘴某中学").exists()
    assert [(r, c) for r, c, _ in result.errors] == [(2, "区域")]


def test_import_page_lists_row_errors(client, world):
    verify_second_factor(client, world.users["sysadmin"])
    upload = io.BytesIO((HEADER + ",school,310101002,,,\n").encode("gbk"))
    upload.name = "bad.csv"
    response = client.post(reverse("accounts:organisation_import"), {"file": upload})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="import-errors"' in body and "必填" in body


def test_import_command(tmp_path, world, capsys):
    path = tmp_path / "orgs.csv"
    path.write_bytes((HEADER + "黄浦区第二中学,school,310101002,,,\n").encode("gb18030"))
    call_command("import_organisations", str(path), "--as", "sysadmin")
    assert Organisation.objects.filter(name="黄浦区第二中学").exists()
    bad = tmp_path / "bad.csv"
    bad.write_bytes((HEADER + ",school,310101002,,,\n").encode())
    with pytest.raises(SystemExit) as exc:
        call_command("import_organisations", str(bad), "--as", "sysadmin")
    assert exc.value.code == 1 and "第 2 行" in capsys.readouterr().err


def test_a_credit_code_twice_is_a_row_error_not_a_crash(world):
    _import(world, HEADER + f"黄浦区第一中学,school,310101002,,{USCC},\n")
    again = _import(
        world, HEADER + f"外滩幼儿园,kindergarten,310101013,,{USCC},\n外滩小学,school,310101013,,{USCC},\n"
    )
    assert [(r, c) for r, c, _ in again.errors] == [(2, "统一社会信用代码"), (3, "统一社会信用代码")]
    assert not Organisation.objects.filter(name__in=["外滩幼儿园", "外滩小学"]).exists()


def test_a_huge_cell_is_a_row_error_not_a_crash(world):
    huge = "x" * 200_000
    result = _import(world, HEADER + f"{huge},school,310101002,,,\n")
    assert not result.ok and result.errors[0][0] == 2  # named row: too long for a name, or unreadable

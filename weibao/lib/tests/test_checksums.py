import datetime

import pytest

from weibao.lib.checksums import id_check_char, uscc_check_char, validate_id_number, validate_uscc
from weibao.lib.masking import mask_id_number, mask_name, mask_phone

VALID_ID = "11010519491231002X"  # the example of GB 11643-1999


def test_valid_id_number_passes_and_is_normalised():
    assert validate_id_number(" 11010519491231002x ") == VALID_ID


@pytest.mark.parametrize(
    "value,reason",
    [
        ("110105194912310021", "校验位错误"),
        ("11010519491231002", "应为18位"),
        ("1101051949123100AX", "只能包含数字"),
        ("110105194902300021", "出生日期无效"),
        ("990105194912310021", "行政区划代码无效"),
        ("110105289912310021", "超出范围"),
    ],
)
def test_invalid_id_numbers_name_the_reason(value, reason):
    with pytest.raises(ValueError, match=reason):
        validate_id_number(value, today=datetime.date(2026, 11, 29))


def test_check_character_of_a_shanghai_number():
    first17 = "31010420150601001"
    assert validate_id_number(first17 + id_check_char(first17))


def test_uscc_check_character():
    code = "91310000" + "MA1FL0000"  # 17 characters
    full = code + uscc_check_char(code)
    assert validate_uscc(full.lower()) == full
    wrong = full[:-1] + ("0" if full[-1] != "0" else "1")
    with pytest.raises(ValueError, match="校验位错误"):
        validate_uscc(wrong)


@pytest.mark.parametrize(
    "value,reason",
    [("9131000", "应为18位"), ("91310000MA1FL0000I", "不允许的字符"), ("9131ABCDMA1FL00001", "行政区划代码")],
)
def test_bad_uscc_is_explained(value, reason):
    with pytest.raises(ValueError, match=reason):
        validate_uscc(value)


def test_masking():
    assert mask_id_number("310104201506011234") == "310104********1234"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧阳**"
    assert mask_name("司马光") == "司马*"
    assert mask_phone("13812345678") == "138****5678"

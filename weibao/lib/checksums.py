"""Check characters of Chinese national identifiers.

* GB 11643-1999 citizen identity number: 17 digits + ISO 7064 MOD 11-2 check character (0-9 or X).
* GB 32100-2015 unified social credit code (统一社会信用代码): 18 characters over a 31-symbol alphabet,
  the last being a MOD 31 check character.

Each ``validate_*`` raises ``ValueError`` with a Chinese message naming the reason; callers attach the field.
"""

import datetime
from operator import mul

_ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_ID_CHECK = "10X98765432"


_ID_ZERO = 48 * sum(_ID_WEIGHTS)  # the weighted sum of seventeen "0" characters as bytes


def id_check_char(first17: str) -> str:
    """The check character of 17 digits (weighted sum over the ASCII codes, less that of "0" × 17: the
    per-digit ``int()`` calls cost more than the rest of validating a feed row)."""
    if len(first17) != 17 or not first17.isdigit() or not first17.isascii():
        raise ValueError("身份证号码前17位应为数字 (the first 17 characters must be digits)")
    return _ID_CHECK[(sum(map(mul, first17.encode(), _ID_WEIGHTS)) - _ID_ZERO) % 11]


def normalise_id_number(value: str) -> str:
    return (value or "").strip().replace(" ", "").upper()


def validate_id_number(value: str, *, today: datetime.date | None = None) -> str:
    """Return the normalised 18-character ID number or raise ``ValueError``."""
    number = normalise_id_number(value)
    if len(number) != 18:
        raise ValueError(f"身份证号码应为18位，实际为{len(number)}位 (must be 18 characters)")
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise ValueError("身份证号码只能包含数字，末位可为X (digits only, last may be X)")
    try:
        birth = datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValueError("身份证号码中的出生日期无效 (invalid birth date)") from None
    if birth.year < 1900 or birth > (today or datetime.date.today()):
        raise ValueError("身份证号码中的出生日期超出范围 (birth date out of range)")
    if number[:2] not in PROVINCE_CODES:
        raise ValueError("身份证号码中的行政区划代码无效 (invalid area code)")
    if id_check_char(number[:17]) != number[17]:
        raise ValueError("身份证号码校验位错误 (wrong check character)")
    return number


def id_birth_date(number: str) -> datetime.date:
    return datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


# GB/T 2260 province-level prefixes (mainland 11-65; 71 Taiwan, 81 Hong Kong, 82 Macau appear on some documents).
PROVINCE_CODES = {
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65",
    "71", "81", "82", "83", "91",
}  # fmt: skip

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def uscc_check_char(first17: str) -> str:
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def validate_uscc(value: str) -> str:
    """Return the normalised 统一社会信用代码 or raise ``ValueError``."""
    code = (value or "").strip().upper()
    if len(code) != 18:
        raise ValueError(f"统一社会信用代码应为18位，实际为{len(code)}位 (must be 18 characters)")
    bad = sorted({c for c in code if c not in _USCC_ALPHABET})
    if bad:
        raise ValueError(
            f"统一社会信用代码含有不允许的字符：{''.join(bad)} (characters not allowed; I, O, Z, S, V are never used)"
        )
    if not code[2:8].isdigit():
        raise ValueError("统一社会信用代码第3至8位应为行政区划代码 (positions 3-8 must be an area code)")
    if uscc_check_char(code[:17]) != code[17]:
        raise ValueError("统一社会信用代码校验位错误 (wrong check character)")
    return code

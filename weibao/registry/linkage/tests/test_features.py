"""Chinese (and Latin) name features: the comparisons read these columns."""

import pandas as pd
import pytest

from weibao.registry.linkage.features import FeatureError, build_features, name_features, parse_date


def _f(name):
    nm, sn, py, gpy, nsort, ini = name_features("", "", name)
    return {"nm": nm, "sn": sn, "py": py, "gpy": gpy, "nsort": nsort, "ini": ini}


def test_homophone_names_share_pinyin_but_not_characters():
    a, b = _f("王子轩"), _f("王子萱")
    assert a["nm"] != b["nm"] and a["py"] == b["py"] == "wangzixuan"


def test_traditional_characters_are_simplified_first():
    assert _f("張偉")["nm"] == "张伟"
    assert _f("陳國華")["py"] == _f("陈国华")["py"] == "chenguohua"


def test_swapped_given_name_characters_sort_alike():
    assert _f("李浩宇")["nsort"] == _f("李宇浩")["nsort"]
    assert _f("李浩宇")["py"] != _f("李宇浩")["py"]


def test_surname_only_record_has_surname_and_no_given_name():
    f = _f("曾")
    assert f["sn"] == "zeng" and f["gpy"] is None


def test_surname_readings_and_compound_surnames():
    assert _f("单小明")["sn"] == "shan"
    assert _f("欧阳娜娜")["sn"] == "ouyang" and _f("欧阳娜娜")["gpy"] == "nana"


def test_latin_names_use_family_name_as_surname():
    nm, sn, py, gpy, _nsort, ini = name_features("Müller", "Anna", "")
    assert (nm, sn, py, gpy, ini) == ("anna muller", "muller", "annamuller", "anna", "am")


@pytest.mark.parametrize("value", ["2015-03-07", "20150307", "2015/03/07", "2015/3/7"])
def test_birth_dates_in_three_formats(value):
    assert parse_date(value) == "2015-03-07"


@pytest.mark.parametrize("value", ["07.03.2015", "2015-02-30", "yesterday"])
def test_bad_birth_dates_raise(value):
    with pytest.raises(FeatureError):
        parse_date(value)


def test_invalid_id_numbers_are_not_exact_keys():
    df = pd.DataFrame(
        {
            "unique_id": ["1", "2"],
            "id_number": ["11010519491231002X", "110105194912310021"],
            "full_name": ["甲", "乙"],
        }
    )
    f = build_features(df)
    assert f.loc[0, "idk"] == "11010519491231002X"
    assert pd.isna(f.loc[1, "idk"]) and f.loc[1, "idr"] == "110105194912310021"


def test_vectorised_id_and_phone_keys_agree_with_the_per_value_rules():
    from weibao.registry.linkage.features import _phone, _valid_id

    ids = [
        "11010519491231002X", "11010519491231002x", " 110105194912310021", "11010519491231002", "",
        "110105 19491231002X", "990105194912310020", "11010518991231002X", "11010520150229001X",
        "11010520160229001X", "ABCDEFGHIJKLMNOPQR", "１１０１０５１９４９１２３１００２X", "31011320250119654X",
    ]  # fmt: skip
    phones = [
        "+86 138-0013-8000",
        "8613800138000",
        "12345",
        "123456",
        "１３８００１３８０００",
        "",
        "(021) 5555 1234 ext 9",
    ]
    df = pd.DataFrame({"unique_id": [str(i) for i in range(len(ids))], "id_number": ids})
    df["phone"] = (phones * 2)[: len(ids)]
    f = build_features(df)
    for i, value in enumerate(ids):
        norm = value.strip().replace(" ", "").upper()
        expected = _valid_id(norm) if norm else None
        assert (None if pd.isna(f.loc[i, "idk"]) else f.loc[i, "idk"]) == expected, value
        assert (None if pd.isna(f.loc[i, "idr"]) else f.loc[i, "idr"]) == (norm or None), value
        phone = df.loc[i, "phone"]
        assert (None if pd.isna(f.loc[i, "ph"]) else f.loc[i, "ph"]) == (_phone(phone) if phone else None), (
            phone
        )

"""manage.py link_files: both modes, Chinese and English data, and bad input without tracebacks."""

import csv

import pytest
from django.core.management import call_command

from .data import people

CN_MAP = ["name=full_name", "sex=sex", "dob=birth_date", "sfz=id_number", "street=locality", "guardian=guardian_name",
          "tel=phone"]  # fmt: skip


def _write(path, df, encoding="utf-8"):
    df = df.rename(columns={"unique_id": "rid", "full_name": "name", "birth_date": "dob", "id_number": "sfz",
                            "locality": "street", "guardian_name": "guardian", "phone": "tel"})  # fmt: skip
    df.to_csv(path, index=False, encoding=encoding)
    return str(path)


def _read(path):
    with open(path, encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _run(*args):
    call_command("link_files", *args)


def test_link_mode_on_chinese_files_in_utf8_and_gbk(tmp_path):
    left, right = people(150, seed=5)
    a = _write(tmp_path / "a.csv", left, "utf-8-sig")
    b = _write(tmp_path / "b.csv", right, "gbk")
    out = tmp_path / "out.csv"
    _run(a, b, "--id-column", "rid", *[x for m in CN_MAP for x in ("--map", m)], "--out", str(out))
    rows = _read(out)
    assert list(rows[0]) == ["left_id", "right_id", "match_probability", "cluster_id"]
    right_ids = {r["right_id"] for r in rows}
    correct = sum(r["left_id"][2:] == r["right_id"][2:] for r in rows)
    assert correct / len(rows) > 0.95 and correct > 0.85 * len(right)
    assert all(r["left_id"].startswith("L-") for r in rows) and all(x.startswith("R-") for x in right_ids)


def test_dedupe_mode_finds_duplicates_in_one_file(tmp_path):
    left, right = people(150, seed=6)
    import pandas as pd

    both = pd.concat([left, right], ignore_index=True)
    path = _write(tmp_path / "one.csv", both)
    out = tmp_path / "out.csv"
    _run(path, "--id-column", "rid", *[x for m in CN_MAP for x in ("--map", m)], "--out", str(out))
    rows = _read(out)
    correct = sum(r["left_id"][2:] == r["right_id"][2:] for r in rows)
    assert correct / len(rows) > 0.95 and correct > 0.85 * len(right)
    assert all(r["left_id"] < r["right_id"] for r in rows)


ENGLISH = [
    ("1", "John", "Smith", "2010-04-03", "SW1A 1AA", "M"), ("2", "Jon", "Smith", "20100403", "SW1A 1AA", "M"),
    ("3", "Mary", "Jones", "2011/07/09", "EC1A 1BB", "F"), ("4", "Mary", "Jones", "2011-07-09", "EC1A 1BB", "F"),
    ("5", "Peter", "Brown", "2009-01-15", "W1A 0AX", "M"), ("6", "Anna", "Müller", "2012-12-01", "N1 9GU", "F"),
    ("7", "Anna", "Muller", "2012-12-01", "N1 9GU", "F"), ("8", "Liam", "Taylor", "2013-02-02", "E1 6AN", "M"),
]  # fmt: skip


def test_english_data_with_given_and_family_names_and_postcodes(tmp_path):
    path = tmp_path / "en.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["ref", "first", "last", "born", "postcode", "gender"])
        w.writerows(ENGLISH)
    out = tmp_path / "out.csv"
    maps = ["first=given_name", "last=family_name", "born=birth_date", "postcode=postcode", "gender=sex"]
    _run(str(path), "--id-column", "ref", *[x for m in maps for x in ("--map", m)], "--out", str(out))
    pairs = {(r["left_id"], r["right_id"]) for r in _read(out)}
    assert pairs == {("1", "2"), ("3", "4"), ("6", "7")}


@pytest.fixture
def small(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("rid,name,dob\n1,张三,2015-01-02\n2,李四,2016-03-04\n", encoding="utf-8")
    return str(path)


def _fails(capsys, *args):
    with pytest.raises(SystemExit) as exc:
        _run(*args)
    assert exc.value.code == 2
    return capsys.readouterr().err


def test_missing_column_is_named(tmp_path, small, capsys):
    err = _fails(
        capsys, small, "--id-column", "rid", "--map", "姓名=full_name", "--out", str(tmp_path / "o.csv")
    )
    assert "“姓名” not found" in err and "Traceback" not in err


def test_unknown_role_is_named(tmp_path, small, capsys):
    err = _fails(
        capsys, small, "--id-column", "rid", "--map", "name=nickname", "--out", str(tmp_path / "o.csv")
    )
    assert "unknown role “nickname”" in err


def test_bad_birth_date_names_column_and_row(tmp_path, capsys):
    path = tmp_path / "d.csv"
    path.write_text("rid,name,dob\n1,张三,2015-01-02\n2,李四,03.04.2016\n", encoding="utf-8")
    err = _fails(capsys, str(path), "--id-column", "rid", "--map", "name=full_name", "--map", "dob=birth_date",
                 "--out", str(tmp_path / "o.csv"))  # fmt: skip
    assert "“dob”, row 3" in err


def test_empty_file_and_wrong_encoding(tmp_path, capsys):
    empty = tmp_path / "e.csv"
    empty.write_bytes(b"")
    err = _fails(
        capsys, str(empty), "--id-column", "rid", "--map", "name=full_name", "--out", str(tmp_path / "o.csv")
    )
    assert "empty" in err
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" + bytes(range(256)) * 8)
    err = _fails(
        capsys, str(binary), "--id-column", "rid", "--map", "name=full_name", "--out", str(tmp_path / "o.csv")
    )
    assert "UTF-8" in err and "Traceback" not in err


def test_duplicate_ids_are_refused(tmp_path, capsys):
    path = tmp_path / "dup.csv"
    path.write_text("rid,name\n1,张三\n1,李四\n", encoding="utf-8")
    err = _fails(
        capsys, str(path), "--id-column", "rid", "--map", "name=full_name", "--out", str(tmp_path / "o.csv")
    )
    assert "not unique" in err

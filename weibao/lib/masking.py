"""How identifiers and names look to someone not allowed to see them whole (DESIGN.md §5)."""


def mask_id_number(value: str | None) -> str:
    """First 6 and last 4 characters: ``310104********123X``; short numbers keep 2 and 2."""
    if not value:
        return ""
    if len(value) <= 10:
        if len(value) < 6:
            return "*" * len(value)
        return value[:2] + "*" * (len(value) - 4) + value[-2:]
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_name(value: str | None) -> str:
    """Family name and stars: 张三 → 张*, 欧阳娜娜 → 欧阳** (compound surnames kept whole)."""
    if not value:
        return ""
    keep = 2 if len(value) >= 4 or value[:2] in COMPOUND_SURNAMES else 1
    if len(value) <= keep:
        return value[:1] + "*" * (len(value) - 1)
    return value[:keep] + "*" * (len(value) - keep)


def mask_phone(value: str | None) -> str:
    if not value:
        return ""
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


COMPOUND_SURNAMES = {
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒", "夏侯",
    "轩辕", "令狐", "端木", "独孤", "南宫", "西门", "百里", "呼延", "澹台", "公冶", "宗政", "濮阳", "太叔",
}  # fmt: skip

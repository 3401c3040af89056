"""Assessment instruments are data: a JSON file per instrument, loaded by the data migration and by
``manage.py import_instrument FILE``. A new version is a new instrument row; old assessments keep theirs."""

import json
import re

from django.core.exceptions import ValidationError

SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")
MAX_SCORE = 1000  # per option; totals start at 0, so scores are not negative
MAX_TOTAL = 2**31 - 1  # band bounds are integer columns


def _where(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _text(errors, obj, key, path, *, max_length, slug=False) -> str | None:
    """``obj[key]`` if it is a non-empty text of at most ``max_length`` characters (a slug when ``slug``)."""
    where = _where(path, key)
    value = obj.get(key)
    if key not in obj:
        errors.append(f"{where}: 缺少 (missing)")
    elif not isinstance(value, str) or not value.strip():
        errors.append(f"{where}: 须为非空文字 (must be a non-empty string)")
    elif len(value) > max_length:
        errors.append(f"{where}: 超过 {max_length} 个字符 (longer than {max_length} characters)")
    elif slug and not SLUG.match(value):
        errors.append(f"{where}: 只能用字母、数字、下划线和连字符 (letters, digits, _ and - only)")
    else:
        return value
    return None


def _integer(errors, obj, key, path, *, high) -> int | None:
    """``obj[key]`` if it is an integer from 0 to ``high`` (true and false are not numbers here)."""
    where = _where(path, key)
    value = obj.get(key)
    if key not in obj:
        errors.append(f"{where}: 缺少 (missing)")
    elif isinstance(value, bool) or not isinstance(value, int):
        errors.append(f"{where}: 须为整数 (must be an integer)")
    elif not 0 <= value <= high:
        errors.append(f"{where}: 须在 0–{high} 之间 (between 0 and {high})")
    else:
        return value
    return None


def _objects(errors, obj, key, path) -> list[tuple[str, dict]]:
    """The elements of the non-empty list ``obj[key]`` that are objects, each with its path."""
    where = _where(path, key)
    value = obj.get(key)
    if key not in obj:
        errors.append(f"{where}: 缺少 (missing)")
        return []
    if not isinstance(value, list) or not value:
        errors.append(f"{where}: 须为非空列表 (must be a non-empty list)")
        return []
    found = []
    for i, element in enumerate(value):
        if isinstance(element, dict):
            found.append((f"{where}[{i}]", element))
        else:
            errors.append(f"{where}[{i}]: 须为对象 (must be an object)")
    return found


def validate(data) -> None:
    """Check an instrument's JSON before anything is written: every field present, of its type and within the
    column's length, codes unique, bands covering every possible total. Each error names its place in the
    file, e.g. ``domains[0].items[2].options[1].label: 缺少 (missing)``."""
    if not isinstance(data, dict):
        raise ValidationError(["文件须为一个 JSON 对象 (the file must hold one JSON object)"])
    errors = []
    _text(errors, data, "code", "", max_length=40, slug=True)
    _text(errors, data, "version", "", max_length=20)
    _text(errors, data, "name", "", max_length=100)
    if not isinstance(data.get("description", ""), str):
        errors.append("description: 须为文字 (must be a string)")
    domain_codes, item_codes, maximum = set(), set(), 0
    for d_path, domain in _objects(errors, data, "domains", ""):
        code = _text(errors, domain, "code", d_path, max_length=40, slug=True)
        if code is not None and code in domain_codes:
            errors.append(f"{d_path}.code: 维度代码重复 {code} (duplicate domain code)")
        domain_codes.add(code)
        _text(errors, domain, "name", d_path, max_length=100)
        for i_path, item in _objects(errors, domain, "items", d_path):
            code = _text(errors, item, "code", i_path, max_length=40, slug=True)
            if code is not None and code in item_codes:
                errors.append(f"{i_path}.code: 题目代码重复 {code} (duplicate item code)")
            item_codes.add(code)
            _text(errors, item, "question", i_path, max_length=300)
            scores = []
            for o_path, option in _objects(errors, item, "options", i_path):
                _text(errors, option, "label", o_path, max_length=100)
                scores.append(_integer(errors, option, "score", o_path, high=MAX_SCORE))
            maximum += max((s for s in scores if s is not None), default=0)
    ranges = []
    for b_path, band in _objects(errors, data, "bands", ""):
        _text(errors, band, "code", b_path, max_length=40, slug=True)
        _text(errors, band, "label", b_path, max_length=60)
        low = _integer(errors, band, "min", b_path, high=MAX_TOTAL)
        high = _integer(errors, band, "max", b_path, high=MAX_TOTAL)
        if low is not None and high is not None:
            if low > high:
                errors.append(f"{b_path}: 分数区间无效 {low}–{high} (min above max)")
            ranges.append((low, high))
    if not errors:
        covered = -1  # every total from 0 to ``covered`` has a band
        for low, high in sorted(ranges):
            if low > covered + 1:
                break
            covered = max(covered, high)
        if covered < maximum:
            errors.append(f"bands: 等级区间未覆盖 0–{maximum} 分 (bands must cover every total)")
    if errors:
        raise ValidationError(errors)


def load(data: dict, *, Instrument, Domain, Item, LevelBand):
    """Create one instrument version from ``data`` (models passed in, so migrations can use it)."""
    validate(data)
    if Instrument.objects.filter(code=data["code"], version=data["version"]).exists():
        raise ValidationError(f"量表 {data['code']} 版本 {data['version']} 已存在 (version exists)")
    Instrument.objects.filter(code=data["code"]).update(is_active=False)
    instrument = Instrument.objects.create(
        code=data["code"], version=data["version"], name=data["name"], description=data.get("description", "")
    )
    for d_order, d in enumerate(data["domains"]):
        domain = Domain.objects.create(instrument=instrument, code=d["code"], name=d["name"], order=d_order)
        for i_order, item in enumerate(d["items"]):
            Item.objects.create(
                domain=domain,
                code=item["code"],
                question=item["question"],
                options=item["options"],
                order=i_order,
            )
    for band in data["bands"]:
        LevelBand.objects.create(
            instrument=instrument,
            min_total=band["min"],
            max_total=band["max"],
            code=band["code"],
            label=band["label"],
        )
    return instrument


def load_file(path, **models):
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    return load(data, **models)

"""Assessment instruments are data: a JSON file per instrument, loaded by the data migration and by
``manage.py import_instrument FILE``. A new version is a new instrument row; old assessments keep theirs."""

import json

from django.core.exceptions import ValidationError


def validate(data: dict) -> None:
    errors = []
    for key in ("code", "version", "name", "domains", "bands"):
        if key not in data:
            errors.append(f"缺少字段 {key} (missing)")
    if errors:
        raise ValidationError(errors)
    seen = set()
    for d in data["domains"]:
        if not d.get("items"):
            errors.append(f"维度 {d.get('code')} 没有题目 (domain without items)")
        for item in d.get("items", []):
            if item["code"] in seen:
                errors.append(f"题目代码重复 {item['code']} (duplicate item code)")
            seen.add(item["code"])
            if not item.get("options") or any(not isinstance(o.get("score"), int) for o in item["options"]):
                errors.append(f"题目 {item['code']} 的选项须有整数分值 (options need integer scores)")
    maximum = sum(
        max(o["score"] for o in i["options"])
        for d in data["domains"]
        for i in d.get("items", [])
        if i.get("options")
    )
    covered = set()
    for band in data["bands"]:
        if band["min"] > band["max"]:
            errors.append(f"等级 {band['code']} 的分数区间无效 (invalid range)")
        covered.update(range(band["min"], band["max"] + 1))
    if not errors and not set(range(0, maximum + 1)) <= covered:
        errors.append(f"等级区间未覆盖 0–{maximum} 分 (bands must cover every total)")
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

"""Loading the event catalogue from ``data/event_types.csv`` (used by the data migration, idempotent).

The ``fields`` column is ``name|type|required|label|choice/choice;…`` — compact enough to edit by hand.
"""

import csv
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "event_types.csv"


def parse_fields(spec: str) -> dict:
    fields = {}
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        name, type_, required, label, choices = (part.split("|") + ["", "", "", ""])[:5]
        field = {"type": type_ or "string", "required": required == "1", "label": label or name}
        if choices:
            field["choices"] = choices.split("/")
        fields[name] = field
    return fields


def load_catalogue(EventType, OrganisationType, Organisation) -> int:
    count = 0
    with DATA.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            event_type, _ = EventType.objects.update_or_create(
                code=row["code"],
                defaults={
                    "name": row["name"],
                    "name_en": row["name_en"],
                    "domain": row["domain"],
                    "fields": parse_fields(row["fields"]),
                    "sort_order": int(row["sort_order"]),
                    "is_sensitive": row["is_sensitive"] == "1",
                },
            )
            types = [t for t in row["department_types"].split(";") if t]
            event_type.department_types.set(OrganisationType.objects.filter(code__in=types))
            names = [n for n in row["organisations"].split(";") if n]
            event_type.organisations.set(Organisation.objects.filter(name__in=names))
            count += 1
    return count


def format_fields(fields: dict) -> str:
    """The editable text form of a field schema: one ``name|type|required|label|choice/choice`` per line."""
    lines = []
    for name, spec in (fields or {}).items():
        choices = "/".join(spec.get("choices", []))
        lines.append(
            f"{name}|{spec.get('type', 'string')}|{1 if spec.get('required') else 0}|{spec.get('label', name)}|{choices}"
        )
    return "\n".join(lines)


def check_fields(text: str) -> dict:
    """Parse the text form, naming the line and the reason of anything wrong (``ValueError``)."""
    import re

    from .choices import FieldType

    reserved = {
        "source_id",
        "id_number",
        "document_type",
        "name",
        "sex",
        "birth_date",
        "street",
        "address",
        "phone",
        "occurred_on",
        "guardian_name",
    }
    fields = {}
    for number, line in enumerate(text.replace(";", "\n").splitlines(), start=1):
        if not line.strip():
            continue
        parsed = parse_fields(line)
        ((name, spec),) = parsed.items()
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", name):
            raise ValueError(f"第 {number} 行：字段名“{name}”只能用小写字母、数字和下划线，以字母开头")
        if name in reserved:
            raise ValueError(f"第 {number} 行：“{name}”是通用字段，无需在事件中定义")
        if spec["type"] not in FieldType.values:
            raise ValueError(
                f"第 {number} 行：未知的字段类型“{spec['type']}”（可用：{'、'.join(FieldType.values)}）"
            )
        if spec["type"] == FieldType.CHOICE and not spec.get("choices"):
            raise ValueError(f"第 {number} 行：选项类字段须列出选项，用 / 分隔")
        if name in fields:
            raise ValueError(f"第 {number} 行：字段“{name}”重复")
        fields[name] = spec
    return fields

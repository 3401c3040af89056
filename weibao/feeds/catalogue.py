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

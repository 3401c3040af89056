"""The starter list of person categories; administrators edit it afterwards (it is data, not code)."""

import csv
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data" / "categories.csv"


def load(apps, schema_editor):
    Category = apps.get_model("registry", "Category")
    with DATA.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            Category.objects.update_or_create(
                code=row["code"],
                defaults={
                    "name": row["name"], "name_en": row["name_en"], "description": row["description"],
                    "is_sensitive": row["is_sensitive"] == "1", "sort_order": int(row["sort_order"]),
                },
            )


class Migration(migrations.Migration):
    dependencies = [("registry", "0002_registry_identity")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]

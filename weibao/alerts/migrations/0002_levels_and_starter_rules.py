"""Alert levels, the school-enrolment event type the starter rules need, and the starter rules."""

from pathlib import Path

import yaml
from django.db import migrations

LEVELS = [
    ("critical", "极危", "red", 40, 1),
    ("high", "高危", "orange", 20, 2),
    ("medium", "中危", "yellow", 10, 3),
    ("low", "低危", "blue", 5, 4),
]
ENROLMENT = {
    "code": "edu_enrolment",
    "name": "学籍登记（在读）",
    "name_en": "School enrolment record",
    "domain": "education",
    "fields": {
        "school": {"type": "string", "required": False, "label": "学校"},
        "grade": {"type": "string", "required": False, "label": "年级"},
    },
    "sort_order": 5,
}


def load(apps, schema_editor):
    AlertLevel = apps.get_model("alerts", "AlertLevel")
    Rule = apps.get_model("alerts", "Rule")
    RuleVersion = apps.get_model("alerts", "RuleVersion")
    EventType = apps.get_model("feeds", "EventType")
    OrganisationType = apps.get_model("accounts", "OrganisationType")
    levels = {}
    for code, name, colour, weight, order in LEVELS:
        levels[code], _ = AlertLevel.objects.get_or_create(
            code=code, defaults={"name": name, "colour": colour, "weight": weight, "order": order}
        )
    enrolment, created = EventType.objects.get_or_create(code=ENROLMENT["code"], defaults=ENROLMENT)
    if created:
        enrolment.department_types.set(OrganisationType.objects.filter(code__in=["school", "kindergarten"]))
    doc = yaml.safe_load((Path(__file__).resolve().parent.parent / "data" / "starter_rules.yaml").read_text())
    for item in doc["rules"]:
        if Rule.objects.filter(code=item["code"]).exists():
            continue
        rule = Rule.objects.create(code=item["code"], status=item["status"])
        version = RuleVersion.objects.create(
            rule=rule,
            number=1,
            name=item["name"],
            description=item["description"],
            definition=item["definition"],
            level=levels[item["level"]],
            recipient=item["recipient"],
            deadline_hours=item["deadline_hours"],
        )
        rule.current = version
        rule.save(update_fields=["current"])


class Migration(migrations.Migration):
    dependencies = [("alerts", "0001_initial"), ("feeds", "0002_event_catalogue"), ("accounts", "0002_reference_data")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]

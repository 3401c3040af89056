"""Reference data: the time limits per step and the two shipped instruments (from weibao/cases/data/)."""

from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data"

# step, priority ("" = both), hours, label
TIME_LIMITS = [
    ("intake", "urgent", 24, "紧急案件 24 小时内首次走访"),
    ("intake", "normal", 72, "一般案件 72 小时内首次走访"),
    ("assessment", "", 15 * 24, "15 日内完成评估"),
    ("plan", "", 7 * 24, "7 日内制定服务计划"),
    ("implementation", "", 90 * 24, "90 日内进入回顾评估"),
    ("review", "", 14 * 24, "14 日内完成回顾"),
    ("referral_response", "", 5 * 24, "接收单位 5 日内答复"),
    ("referral_report", "", 30 * 24, "接收后 30 日内反馈"),
]


def load(apps, schema_editor):
    from weibao.cases.instruments import load_file

    TimeLimit = apps.get_model("cases", "TimeLimit")
    for step, priority, hours, label in TIME_LIMITS:
        TimeLimit.objects.get_or_create(step=step, priority=priority, defaults={"hours": hours, "label": label})
    models = {name: apps.get_model("cases", name) for name in ("Instrument", "Domain", "Item", "LevelBand")}
    for name in ("guardianship_capacity.json", "risk_screen.json"):
        load_file(DATA / name, **models)


def unload(apps, schema_editor):
    apps.get_model("cases", "Instrument").objects.all().delete()
    apps.get_model("cases", "TimeLimit").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]

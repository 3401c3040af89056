"""The three partner channels of issue 5 (no token yet: ``manage.py partner_token CODE`` issues one)."""

from django.db import migrations

CHANNELS = [
    ("suishenban", "随申办未成年人专区"),
    ("12355", "12355 青少年服务台"),
    ("12309", "12309 检察服务中心未成年人专区"),
]


def add(apps, schema_editor):
    PartnerChannel = apps.get_model("reports", "PartnerChannel")
    for code, name in CHANNELS:
        PartnerChannel.objects.get_or_create(code=code, defaults={"name": name})


def remove(apps, schema_editor):
    apps.get_model("reports", "PartnerChannel").objects.filter(code__in=[c for c, _ in CHANNELS]).delete()


class Migration(migrations.Migration):
    dependencies = [("reports", "0001_initial")]
    operations = [migrations.RunPython(add, remove)]

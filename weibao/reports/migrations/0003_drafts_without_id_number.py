"""Drafts no longer keep the minor's ID number (stored in clear): remove it from the drafts already saved."""

from django.db import migrations


def forget_id_numbers(apps, schema_editor):
    Draft = apps.get_model("reports", "Draft")
    for draft in Draft.objects.filter(data__has_key="minor_id_number").iterator():
        draft.data.pop("minor_id_number", None)
        draft.save(update_fields=["data"])


class Migration(migrations.Migration):
    dependencies = [("reports", "0002_partner_channels")]
    operations = [migrations.RunPython(forget_id_numbers, migrations.RunPython.noop)]

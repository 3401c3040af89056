"""Shanghai reference data (areas, organisation types, offices, member units, workstations) for every database."""

from django.db import migrations


def load(apps, schema_editor):
    from weibao.accounts.reference import load_reference_data

    load_reference_data(apps, using=schema_editor.connection.alias)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
    ]

    operations = [
        migrations.RunPython(load, migrations.RunPython.noop),
    ]

"""The starter event catalogue (issue 3 §3); administrators edit it afterwards — it is data, not code."""

from django.db import migrations


def load(apps, schema_editor):
    from weibao.feeds.catalogue import load_catalogue

    load_catalogue(
        apps.get_model("feeds", "EventType"),
        apps.get_model("accounts", "OrganisationType"),
        apps.get_model("accounts", "Organisation"),
    )


class Migration(migrations.Migration):
    dependencies = [("feeds", "0001_initial"), ("accounts", "0002_reference_data")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]

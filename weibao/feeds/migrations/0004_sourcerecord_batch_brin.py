"""Incremental screening (``alerts.tasks.screen_batch``) and a batch's linkage (``feeds.tasks.link_batch``) start
from "which persons did this batch bring" (the batch's source records). ``feeds_sourcerecord.batch_id`` has no index (ingest
speed), so that was a scan of every source record (≈ 0.6 s at 10 M). A BRIN index on it costs next to nothing
to keep up (batch ids grow with insertion; a few pages per million rows) and finds a batch's rows at once.
PostgreSQL only (SQLite has no BRIN); not part of the model state, so migrations stay in step on both."""

from django.db import migrations

NAME = "feeds_sourcerecord_batch_brin"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {NAME} ON feeds_sourcerecord USING brin (batch_id)")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {NAME}")


class Migration(migrations.Migration):
    dependencies = [("feeds", "0003_landing_resolved_by_partial_index")]

    operations = [migrations.RunPython(forwards, backwards)]

"""References kept without a database constraint, and the check that none of them points nowhere.

The tables a feed batch writes a million rows into (persons, identity documents, department links,
landing rows, source records, events) keep their foreign keys in Django (``on_delete`` still protects and
cascades) but without the database constraint: PostgreSQL checks each such key with one trigger call per
inserted row, which cost bulk ingest more than all its inserts (docs/decisions.md, docs/PERFORMANCE.md).
The pipeline only writes ids it has just created or looked up in the same transaction; ``dangling()`` is
the independent check — one anti-join per such key — run by ``manage.py check_references`` (and the tests).
"""

from django.apps import apps
from django.db import models
from django.db.models import Exists, OuterRef


def unconstrained():
    """``(model, field)`` for every foreign key without a database constraint whose target must exist
    (``DO_NOTHING`` keys, such as the audit trail's actor, may outlive their target by design)."""
    for model in apps.get_models():
        for field in model._meta.local_concrete_fields:
            if (
                (field.many_to_one or field.one_to_one)
                and not field.db_constraint
                and field.remote_field.on_delete is not models.DO_NOTHING
            ):
                yield model, field


def dangling() -> dict[str, int]:
    """``{"app_label.Model.field": rows}`` for each such key with rows pointing at a missing row."""
    found = {}
    for model, field in unconstrained():
        target = field.related_model._base_manager.filter(
            **{field.target_field.attname: OuterRef(field.attname)}
        )
        rows = (
            model._base_manager.filter(**{f"{field.attname}__isnull": False}).filter(~Exists(target)).count()
        )
        if rows:
            found[f"{model._meta.label}.{field.name}"] = rows
    return found

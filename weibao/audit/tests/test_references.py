import pytest
from django.core.management import call_command
from django.db import connection

from weibao.audit.references import dangling, unconstrained
from weibao.feeds.tests.helpers import edu_feed, record
from weibao.registry.models import Person


def test_the_bulk_written_keys_are_the_ones_kept_without_a_database_constraint():
    keys = {f"{model._meta.label}.{field.name}" for model, field in unconstrained()}
    assert {
        "feeds.Event.person",
        "feeds.Event.source_record",
        "feeds.SourceRecord.person",
        "feeds.SourceRecord.batch",
        "feeds.LandingRecord.batch",
        "registry.IdentityDocument.person",
        "registry.DepartmentLink.person",
        "registry.Person.street",
    } <= keys
    assert "audit.AuditEvent.actor" not in keys  # DO_NOTHING: may outlive the user by design


def test_a_row_pointing_nowhere_is_found_and_the_command_fails(world):
    from weibao.feeds import services

    services.ingest_records(edu_feed(world), "k", [record(1)], actor=world.users["edu_city"])
    assert dangling() == {}
    call_command("check_references")
    person = Person.objects.get(source_records__isnull=False)
    with connection.cursor() as cursor:  # what only raw SQL behind the application's back can do
        cursor.execute(f"DELETE FROM {Person._meta.db_table} WHERE id = %s", [person.pk])  # noqa: S608
    assert dangling() == {
        "feeds.Event.person": 1,
        "feeds.SourceRecord.person": 1,
        "registry.IdentityDocument.person": 1,
        "registry.DepartmentLink.person": 1,
    }
    with pytest.raises(SystemExit) as exit_:
        call_command("check_references")
    assert exit_.value.code == 1

"""The audit trail: events chain by hash, the database refuses changes, ``audit_verify`` finds tampering."""

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from weibao.audit.chain import GENESIS, verify
from weibao.audit.models import AuditEvent
from weibao.audit.services import diff, record, record_many

pytestmark = pytest.mark.django_db


def _events(n=5):
    return [
        record(
            None, "view", object_type="registry.person", object_id=str(i), object_repr=f"p{i}", username="t"
        )
        for i in range(n)
    ]


def _drop_triggers():
    """What an attacker with DDL rights on the database would do first."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP TRIGGER audit_event_append_only ON audit_auditevent")
        else:
            cursor.execute("DROP TRIGGER audit_event_no_update")
            cursor.execute("DROP TRIGGER audit_event_no_delete")


def _run_verify(capsys):
    with pytest.raises(SystemExit) as exit_info:
        call_command("audit_verify")
    return exit_info.value.code, capsys.readouterr().err


def test_events_chain_each_to_the_one_before():
    events = _events(3)
    assert events[1].seq == events[0].seq + 1 and events[2].seq == events[1].seq + 1
    assert events[1].prev_hash == events[0].hash and events[2].prev_hash == events[1].hash
    assert verify() == (AuditEvent.objects.count(), None)


def test_intact_chain_verifies(capsys):
    _events()
    call_command("audit_verify")
    assert "intact" in capsys.readouterr().out


def test_database_refuses_update_and_delete():
    event = _events(1)[0]
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(reason="changed")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()


def test_verify_names_an_altered_event(capsys):
    events = _events()
    _drop_triggers()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET object_repr = %s WHERE seq = %s", ["someone else", events[2].seq]
        )
    code, err = _run_verify(capsys)
    assert code == 1
    assert f"event #{events[2].seq}" in err and "altered" in err


def test_verify_names_a_deleted_event(capsys):
    events = _events()
    _drop_triggers()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE seq = %s", [events[1].seq])
    code, err = _run_verify(capsys)
    assert code == 1
    assert f"event #{events[1].seq}" in err and "deleted" in err


def test_verify_finds_events_deleted_from_the_end(capsys):
    events = _events()
    _drop_triggers()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE seq = %s", [events[-1].seq])
    code, err = _run_verify(capsys)
    assert code == 1 and "head" in err


def test_verify_finds_reordered_events(capsys):
    events = _events()
    _drop_triggers()
    a, b = events[1], events[3]
    with connection.cursor() as cursor:  # swap two events' content by swapping their sequence numbers
        cursor.execute("UPDATE audit_auditevent SET seq = -1 WHERE seq = %s", [a.seq])
        cursor.execute("UPDATE audit_auditevent SET seq = %s WHERE seq = %s", [a.seq, b.seq])
        cursor.execute("UPDATE audit_auditevent SET seq = %s WHERE seq = -1", [b.seq])
    code, err = _run_verify(capsys)
    assert code == 1 and f"event #{a.seq}" in err


def test_first_event_links_to_genesis():
    _events(1)
    assert AuditEvent.objects.order_by("seq").first().prev_hash == GENESIS


def test_diff_keeps_changed_fields_only_and_masks_identifiers():
    changes = diff(
        {"name": "张三", "id_number": "310101201506010011", "sex": "M"},
        {"name": "张三丰", "id_number": "310101201506010029", "sex": "M"},
    )
    assert changes == {"name": ["张三", "张三丰"], "id_number": ["310101********0011", "310101********0029"]}


def test_record_stores_actor_address_and_request(rf, django_user_model):
    from weibao.audit.context import audit_context

    user = django_user_model.objects.create_user("alice", password="x")
    with audit_context(ip="10.1.2.3", request_id="req-1"):
        event = record(user, "export", object_type="registry.person", reason="季度统计")
    event.refresh_from_db()
    assert (event.actor_id, event.actor_username, event.ip, event.request_id, event.reason) == (
        user.pk,
        "alice",
        "10.1.2.3",
        "req-1",
        "季度统计",
    )


def test_record_many_appends_a_chain_in_one_step(capsys):
    _events(2)
    actor_events = [
        (None, "merge", None, {"object_type": "registry.person", "object_id": str(i), "username": "t",
                               "reason": "bulk", "extra": {"n": i}})
        for i in range(4)
    ]  # fmt: skip
    events = record_many(actor_events)
    assert [e.seq for e in events] == [3, 4, 5, 6]
    stored = list(AuditEvent.objects.order_by("seq"))
    assert [e.prev_hash for e in stored[1:]] == [e.hash for e in stored[:-1]]
    assert stored[-1].extra == {"n": 3} and stored[-1].reason == "bulk"
    assert verify() == (6, None)
    assert record_many([]) == [] and verify() == (6, None)
    record(None, "view", object_type="registry.person", object_id="x", username="t")  # continues the chain
    call_command("audit_verify")
    assert "7 events verified" in capsys.readouterr().out

import datetime

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from weibao.accounts.choices import Role
from weibao.audit.models import AuditEvent
from weibao.lib.testing import A1, A2, B1, area, org
from weibao.notifications import sms
from weibao.notifications.deadlines import check_all
from weibao.notifications.models import Notification
from weibao.registry import services as registry
from weibao.registry.models import DepartmentLink, IdentityDocument, Person
from weibao.registry.timeline import timeline
from weibao.reports import services
from weibao.reports.choices import Decision, Situation, Status, Step, Urgency
from weibao.reports.models import Report, ReportSequence
from weibao.reports.testing import id_number, make_report

NOON = datetime.datetime(2027, 3, 2, 4, 0, tzinfo=datetime.UTC)  # 12:00 in Shanghai, after the roles start


def test_numbers_are_sequential_per_year(db):
    with time_machine.travel(datetime.datetime(2026, 12, 31, 15, 0, tzinfo=datetime.UTC)):  # 23:00 local
        assert services.next_number() == "BG2026-000001"
        assert services.next_number() == "BG2026-000002"
    with time_machine.travel(datetime.datetime(2026, 12, 31, 16, 30, tzinfo=datetime.UTC)):  # 00:30 local
        assert services.next_number() == "BG2027-000001"
    assert ReportSequence.objects.get(year=2026).last == 2


def test_staff_report_is_routed_to_police_workstation_and_district(world, django_capture_on_commit_callbacks):
    world.users["police_a"].email = "police@example.org"
    world.users["police_a"].save()
    with django_capture_on_commit_callbacks(execute=True):
        report = make_report(world)
    assert report.number.startswith("BG")
    assert report.police == org("police", "310101")
    assert report.workstation == org("workstation", A1)
    assert report.district == area("310101")
    assert report.urgency == Urgency.NORMAL and report.status == Status.RECEIVED
    assert report.ack_due == report.created + datetime.timedelta(hours=24)
    assert report.contact_due == report.created + datetime.timedelta(hours=72)
    police_users = Notification.objects.filter(kind="report_routed").values_list(
        "recipient__username", flat=True
    )
    assert {"police_a", "worker_a1", "lead_a1", "district_a"} <= set(police_users)
    assert "reporter" not in police_users and "worker_b1" not in police_users
    assert mail.outbox and all(report.number in m.subject for m in mail.outbox)
    assert all("王小明" not in m.body and "王小明" not in m.subject for m in mail.outbox)  # no person data


def test_other_situation_goes_to_the_workstation_only_and_danger_is_urgent_with_sms(
    world, django_capture_on_commit_callbacks
):
    sms.outbox.clear()
    world.users["worker_b1"].phone = "13800000000"
    world.users["worker_b1"].save()
    with django_capture_on_commit_callbacks(execute=True):
        report = make_report(world, street=B1, situation=Situation.OTHER, immediate_danger=True)
    assert report.police is None and report.workstation == org("workstation", B1)
    assert report.urgency == Urgency.URGENT
    assert report.ack_due is None and report.contact_due == report.created + datetime.timedelta(hours=24)
    assert any(report.number in text for _numbers, text in sms.outbox)


def test_place_of_occurrence_routes_when_the_residence_is_unknown(world):
    report = make_report(world, street=None, occurred_street=area(B1))
    assert report.workstation == org("workstation", B1) and report.district == area("310115")
    assert report.police == org("police", "310115")


def test_id_number_links_to_the_registry_person_and_gives_the_police_a_referral(world):
    person = world.persons["a1"]
    registry.add_document(person, "mainland_id", id_number(1), actor=world.users["city"])
    report = make_report(world, id_number=id_number(1))
    assert report.person == person
    assert DepartmentLink.objects.filter(person=person, organisation=report.police, basis="referred").exists()
    assert Person.objects.visible_to(world.users["police_a"]).filter(pk=person.pk).exists()
    assert report.minor_id_masked.startswith("310101") and id_number(1) not in report.minor_id_masked


def test_a_new_id_number_creates_a_registry_person(world):
    report = make_report(world, id_number=id_number(9))
    assert report.person is not None and report.person.street == area(A1)
    assert IdentityDocument.objects.filter(person=report.person).count() == 1


def test_reports_move_with_a_person_merge_and_come_back_on_split(world):
    a, b = world.persons["a1"], world.persons["a2"]
    report = make_report(world)
    Report.objects.filter(pk=report.pk).update(person=b)
    merge = registry.merge_persons(a, b, actor=world.users["city"], reason="同一人")
    assert Report.objects.get(pk=report.pk).person == a
    registry.split_merge(merge, actor=world.users["city"], reason="不是同一人")
    assert Report.objects.get(pk=report.pk).person == b


def test_police_steps_feedback_and_close(world):
    police, worker, district = world.users["police_a"], world.users["worker_a1"], world.users["district_a"]
    report = make_report(world)
    with pytest.raises(PermissionDenied):
        services.acknowledge(report, actor=worker)
    services.acknowledge(report, actor=police)
    with pytest.raises(ValidationError) as err:
        services.decide(report, actor=police, decision=Decision.OPENED)
    assert "case_number" in err.value.message_dict
    with pytest.raises(ValidationError):
        services.record_feedback(report, actor=police, text="已经立案侦查")  # decision first
    services.decide(report, actor=police, decision=Decision.OPENED, case_number="A310101-2026-01")
    with pytest.raises(ValidationError) as err:
        services.close(report, actor=police)
    assert "feedback" in err.value.message_dict  # no close without feedback
    services.record_contact(report, actor=worker, note="已电话联系母亲，约定家访")
    with pytest.raises(PermissionDenied):
        services.record_feedback(report, actor=worker, text="已立案")
    services.record_feedback(report, actor=police, text="已立案侦查，孩子已得到安置。")
    assert Notification.objects.filter(recipient=world.users["reporter"], kind="report_feedback").exists()
    services.close(report, actor=district)
    report.refresh_from_db()
    assert report.status == Status.CLOSED and report.decision == Decision.OPENED
    assert report.feedback_due == report.decided_at + datetime.timedelta(hours=72)
    with pytest.raises(ValidationError):
        services.record_contact(report, actor=worker, note="again")
    assert AuditEvent.objects.filter(object_id=str(report.uuid)).count() >= 5


def test_police_of_another_district_cannot_act(world):
    from weibao.lib.testing import make_user

    other = make_user("police_b", Role.POLICE_OFFICER, org("police", "310115"))
    report = make_report(world)
    with pytest.raises(PermissionDenied):
        services.acknowledge(report, actor=other)


def test_overdue_steps_escalate_once_to_the_district_office(world):
    with time_machine.travel(NOON, tick=False):
        report = make_report(world, immediate_danger=True)  # urgent: 1 h to acknowledge, 24 h to contact
    with time_machine.travel(NOON + datetime.timedelta(minutes=59), tick=False):
        assert check_all()["reports"] == 0
    with time_machine.travel(NOON + datetime.timedelta(hours=1, minutes=1), tick=False):
        assert check_all()["reports"] == 1
        assert check_all()["reports"] == 0  # idempotent
    escalations = Notification.objects.filter(kind="report_overdue", escalation=True)
    assert set(escalations.values_list("recipient__username", flat=True)) == {"district_a"}
    with time_machine.travel(NOON + datetime.timedelta(hours=3), tick=False):
        services.acknowledge(report, actor=world.users["police_a"])
    with time_machine.travel(NOON + datetime.timedelta(hours=25), tick=False):
        assert check_all()["reports"] == 1  # the workstation's first contact
    report.refresh_from_db()
    assert set(report.escalated) == {Step.ACKNOWLEDGE, Step.CONTACT}
    with time_machine.travel(NOON + datetime.timedelta(hours=3 + 72, minutes=1), tick=False):
        assert check_all()["reports"] == 1  # the decision, 72 h after acceptance
    assert escalations.count() == 3


def test_duplicates_are_flagged_and_merged_with_both_reporters_told(world):
    from weibao.lib.testing import make_user

    teacher2 = make_user("teacher2", Role.MANDATED_REPORTER, org("hospital", A2))
    world.users["teacher2"] = teacher2
    with time_machine.travel(NOON, tick=False):
        first = make_report(world)
    with time_machine.travel(NOON + datetime.timedelta(hours=30), tick=False):
        second = make_report(world, by="teacher2")
    with time_machine.travel(NOON + datetime.timedelta(hours=80), tick=False):
        third = make_report(
            world, by="teacher2"
        )  # outside the 72 h window of the first... but not of the second
    assert second.duplicate_of == first and third.duplicate_of == second
    with pytest.raises(PermissionDenied):
        services.merge(second, first, actor=world.users["police_a"], reason="同一事件")
    with pytest.raises(ValidationError):
        services.merge(second, first, actor=world.users["district_a"], reason=" ")
    services.merge(second, first, actor=world.users["district_a"], reason="同一事件，同一孩子")
    second.refresh_from_db()
    assert second.status == Status.MERGED and second.merged_into == first
    told = dict(
        Notification.objects.filter(kind="report_merged").values_list("recipient__username", "subject")
    )
    assert set(told) == {"reporter", "teacher2"}
    # each reporter hears of its own report, never the other's number
    assert first.number in told["reporter"] and second.number not in told["reporter"]
    assert second.number in told["teacher2"] and first.number not in told["teacher2"]
    different = make_report(world, minor_name="李小红")
    assert different.duplicate_of is None


def test_timeline_shows_reports_to_those_who_see_them(world):
    person = world.persons["a1"]
    report = make_report(world)
    Report.objects.filter(pk=report.pk).update(person=person)
    lead = [e for e in timeline(person, world.users["lead_a1"]) if e.kind == "report"]
    assert len(lead) == 1
    assert lead[0].source == "责任单位填报"  # the workstation does not learn who reported
    district = [e for e in timeline(person, world.users["city"]) if e.kind == "report"]
    assert district[0].source == world.users["reporter"].active_assignments()[0].organisation.name
    assert not [e for e in timeline(person, world.users["worker_b1"]) if e.kind == "report"]


def test_report_for_case_reads_the_change_scope(world):
    report = make_report(world)
    assert services.report_for_case(report.uuid, actor=world.users["police_a"]) == report
    with pytest.raises(PermissionDenied):
        services.report_for_case(report.uuid, actor=world.users["reporter"])


def test_created_time_is_now(world):
    with time_machine.travel(NOON, tick=False):
        assert make_report(world).created == timezone.now()


def test_a_handler_links_a_report_without_id_to_the_registry_person(world):
    from django.test import Client

    from weibao.lib.testing import verify_second_factor

    person = world.persons["a1"]
    report = make_report(world, minor_name=person.name, minor_birth_date=person.birth_date)
    assert report.person is None
    worker = world.users["worker_a1"]
    assert services.person_candidates(report, worker) == [person]
    assert services.person_candidates(report, world.users["worker_b1"]) == []
    with pytest.raises(ValidationError):
        services.link_to_person(
            report, world.persons["b1"], actor=world.users["district_a"]
        )  # outside district A
    with pytest.raises(PermissionDenied):
        services.link_to_person(report, person, actor=world.users["police_a"])
    client = Client()
    verify_second_factor(client, worker)
    page = client.get(f"/reports/{report.uuid}/").content.decode()
    assert "关联登记人员" in page and str(person.uuid) in page
    assert client.post(f"/reports/{report.uuid}/person/", {"person": str(person.uuid)}).status_code == 302
    report.refresh_from_db()
    assert report.person == person
    assert DepartmentLink.objects.filter(person=person, organisation=report.police, basis="referred").exists()
    assert [e.kind for e in timeline(person, worker)].count("report") == 1
    person_page = client.get(f"/registry/persons/{person.uuid}/").content.decode()
    assert report.number in person_page and f"/reports/{report.uuid}/" in person_page


def test_sexual_abuse_reports_make_the_linked_person_sensitive(world):
    report = make_report(world, id_number=id_number(5), situation=Situation.UNDER14_SEXUAL, minor_sex="F")
    assert Person.objects.get(pk=report.person_id).sensitivity == "sensitive"
    person = world.persons["a2"]
    other = make_report(world, street="310101013", minor_name=person.name, situation=Situation.GENITAL_INJURY)
    officer = world.users["district_a"]
    with pytest.raises(PermissionDenied):  # sexual-abuse reports need the sensitive flag
        services.link_to_person(other, person, actor=officer)
    officer.role_assignments.update(may_read_sensitive=True)
    officer = type(officer).objects.get(pk=officer.pk)  # fresh: assignments are cached per user object
    services.link_to_person(other, person, actor=officer)
    person.refresh_from_db()
    assert person.sensitivity == "sensitive"
    plain = make_report(world, id_number=id_number(6))
    assert Person.objects.get(pk=plain.person_id).sensitivity == "normal"


def test_a_report_not_for_the_police_is_answered_and_closed_by_the_workstation(world):
    report = make_report(world, situation=Situation.OTHER)
    assert report.police is None
    assert report.feedback_due == report.contact_due + datetime.timedelta(hours=72)
    worker = world.users["worker_a1"]
    services.record_contact(report, actor=worker, note="已家访，家长已接受指导")
    services.record_feedback(report, actor=worker, text="已家访核实，孩子由祖母照看，已转介社工跟进。")
    services.close(report, actor=worker)
    assert Report.objects.get(pk=report.pk).status == Status.CLOSED
    police_report = make_report(world, minor_name="另一个孩子")
    with pytest.raises(PermissionDenied):
        services.record_feedback(police_report, actor=worker, text="工作站不能代替公安反馈")


def _person_events(person, action):
    return AuditEvent.objects.filter(object_type="registry.person", object_id=str(person.uuid), action=action)


def test_making_a_person_sensitive_is_audited_on_the_person(world):
    person = world.persons["a2"]
    assert person.sensitivity == "normal"
    report = make_report(
        world, street="310101013", minor_name=person.name, situation=Situation.GENITAL_INJURY
    )
    officer = world.users["district_a"]
    officer.role_assignments.update(may_read_sensitive=True)
    officer = type(officer).objects.get(pk=officer.pk)
    services.link_to_person(report, person, actor=officer)
    event = _person_events(person, "update").get()
    assert event.changes == {"sensitivity": ["normal", "sensitive"]} and report.number in event.reason
    assert event.actor_id == officer.pk
    again = make_report(world, street="310101013", minor_name="另一名", situation=Situation.GENITAL_INJURY)
    services.link_to_person(again, person, actor=officer)
    assert _person_events(person, "update").count() == 1  # already sensitive: nothing changes, nothing logged


def test_the_staff_auto_link_audits_a_new_person_and_a_person_made_sensitive(world):
    reporter = world.users["reporter"]
    report = make_report(world, id_number=id_number(11))
    created = _person_events(report.person, "create").get()
    assert created.actor_id == reporter.pk and report.number in created.reason
    person = world.persons["a1"]
    registry.add_document(person, "mainland_id", id_number(12), actor=world.users["city"])
    make_report(world, id_number=id_number(12), situation=Situation.UNDER14_SEXUAL, minor_sex="F")
    person.refresh_from_db()
    assert person.sensitivity == "sensitive"
    event = _person_events(person, "update").get()
    assert event.changes == {"sensitivity": ["normal", "sensitive"]} and event.actor_id == reporter.pk


def test_only_staff_reports_are_linked_to_the_registry_automatically(world):
    from weibao.reports.choices import Channel

    person = world.persons["a1"]
    registry.add_document(person, "mainland_id", id_number(13), actor=world.users["city"])
    persons = Person.all_objects.count()
    for channel in (Channel.PUBLIC, Channel.PARTNER):
        report = make_report(
            world, by=None, id_number=id_number(13), channel=channel, situation=Situation.UNDER14_SEXUAL
        )
        assert report.person is None
        report = make_report(world, by=None, id_number=id_number(14), channel=channel)
        assert report.person is None
    person.refresh_from_db()
    assert person.sensitivity == "normal" and Person.all_objects.count() == persons
    assert not DepartmentLink.objects.filter(person=person, basis="referred").exists()


def test_birth_date_check_works_on_29_february(world):
    from weibao.reports.forms import ReportForm

    def form(born):
        data = {"situation": "other", "description": "x" * 20, "minor_sex": "U", "suspect_relation": "unknown",
                "minor_name": "小明", "minor_street": str(area(A1).pk), "minor_birth_date": born}  # fmt: skip
        return ReportForm(data)

    with time_machine.travel(datetime.datetime(2028, 2, 29, 4, 0, tzinfo=datetime.UTC)):  # noon in Shanghai
        assert form("2010-02-28").is_valid()  # 18 years back from 29 February is 28 February
        late = form("2010-02-27")
        assert not late.is_valid() and "minor_birth_date" in late.errors
        assert not form("2028-03-01").is_valid()  # the future

"""Review findings: reads audited (API list, link candidates), notifications and duplicates that say no more
than their reader may see, and bad input (times before 1900, a malformed person id) answered with a field
error instead of a 500 or a lost report."""

import pytest
from django.core import mail
from django.test import Client

from weibao.audit.models import AuditEvent
from weibao.lib.testing import A1, B1, area, signed_in
from weibao.notifications.models import Notification
from weibao.registry.models import Person
from weibao.reports.choices import SENSITIVE_SITUATIONS, Refusal, Situation
from weibao.reports.models import Report, Submission
from weibao.reports.testing import make_report, partner_with_token

BEFORE_1900 = "0001-01-01T00:00"
REFUSED = "发现时间不能早于1900年 (occurred_at before 1900)"


def test_the_api_report_list_is_audited(world):
    report = make_report(world)
    district = world.users["district_a"]
    response = signed_in(district).get("/api/reports/reports/")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["uuid"] for r in rows] == [str(report.uuid)]
    event = AuditEvent.objects.get(action="search", object_type="reports.report", actor_id=district.pk)
    assert event.extra["ids"] == [str(report.uuid)]


def test_new_report_notifications_carry_no_situation(world, django_capture_on_commit_callbacks):
    for user in world.users.values():
        user.email = f"{user.username}@example.org"
        user.save(update_fields=["email"])
    with django_capture_on_commit_callbacks(execute=True):
        report = make_report(world, situation=Situation.UNDER14_SEXUAL, minor_sex="F")
    assert report.situation in SENSITIVE_SITUATIONS
    label = report.get_situation_display()
    sent = Notification.objects.filter(kind="report_routed")
    assert {"police_a", "worker_a1", "district_a"} <= set(sent.values_list("recipient__username", flat=True))
    for note in sent:
        assert label not in note.subject and label not in note.body
        assert report.number in note.subject and note.url == f"/reports/{report.uuid}/"
    assert mail.outbox
    for message in mail.outbox:
        assert label not in message.subject and label not in message.body and "性侵" not in message.body


def test_a_duplicate_is_named_only_to_those_who_may_see_it(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        hidden = make_report(world, situation=Situation.UNDER14_SEXUAL, minor_sex="F")
        later = make_report(world)  # same minor, same hours: flagged as a duplicate of the sensitive one
    assert later.duplicate_of == hidden
    district = world.users["district_a"]  # no may_read_sensitive: cannot open the first report
    assert not Report.objects.visible_to(district).filter(pk=hidden.pk).exists()
    response = signed_in(district).get(f"/reports/{later.uuid}/")
    page = response.content.decode()
    assert response.status_code == 200
    assert hidden.number not in page and str(hidden.uuid) not in page
    assert response.context["merge_form"].initial["primary"] == ""
    told = Notification.objects.get(kind="report_duplicate", recipient=district)
    assert later.number in told.subject and hidden.number not in told.subject + told.body
    # the city office may read sensitive reports: it is shown the duplicate and offered the merge
    response = signed_in(world.users["city"]).get(f"/reports/{later.uuid}/")
    assert hidden.number in response.content.decode()
    assert response.context["merge_form"].initial["primary"] == hidden.number


def test_the_report_merged_into_is_named_only_to_those_who_may_see_it(world):
    from weibao.reports import services

    primary = make_report(world, situation=Situation.UNDER14_SEXUAL, minor_sex="F")
    later = make_report(world)
    services.merge(later, primary, actor=world.users["city"], reason="同一事件")
    district = world.users["district_a"]
    page = signed_in(district).get(f"/reports/{later.uuid}/").content.decode()
    assert primary.number not in page and str(primary.uuid) not in page and "另一份报告" in page
    page = signed_in(world.users["city"]).get(f"/reports/{later.uuid}/").content.decode()
    assert primary.number in page


def test_link_candidates_are_from_the_change_scope_and_audited(world):
    person = world.persons["a1"]
    Person.objects.create(name=person.name, sex="F", birth_date=person.birth_date, street=area(B1))
    report = make_report(world, minor_name=person.name, minor_birth_date=person.birth_date)
    worker = world.users["worker_a1"]
    response = signed_in(worker).get(f"/reports/{report.uuid}/")
    assert response.context["candidates"] == [person]  # not the namesake on another street
    event = AuditEvent.objects.get(action="search", object_type="registry.person", actor_id=worker.pk)
    assert event.extra["ids"] == [str(person.uuid)] and event.extra["report"] == report.number


def test_a_malformed_person_id_is_a_field_error(world):
    report = make_report(world)
    client = signed_in(world.users["worker_a1"])
    response = client.post(f"/reports/{report.uuid}/person/", {"person": "not-a-uuid"}, follow=True)
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    assert shown == ["登记人员编号无效 (person: not a valid id)"]
    response = client.post(f"/reports/{report.uuid}/person/", {}, follow=True)
    assert [str(m) for m in response.context["messages"]] == ["请选择登记人员 (choose a person)"]
    report.refresh_from_db()
    assert report.person is None


PUBLIC = {
    "situation": "abandoned",
    "description": "楼下的小孩连续三天一个人在家，没有大人照顾，晚上一直哭。",
    "minor_name": "小宝",
    "minor_sex": "U",
    "suspect_relation": "parent",
}


@pytest.mark.parametrize(
    "value, message",
    [
        (BEFORE_1900, REFUSED),
        ("1899-12-31T23:59", REFUSED),
        ("2999-01-01T00:00", "发现时间不能晚于现在 (cannot be in the future)"),
    ],
)
def test_the_public_form_refuses_times_before_1900_and_keeps_the_refusal(world, value, message):
    data = PUBLIC | {"minor_street": str(area(A1).pk), "occurred_at": value}
    response = Client().post("/reports/public/", data)
    assert response.status_code == 200
    assert response.context["form"].errors["occurred_at"] == [message]
    assert PUBLIC["description"] in response.content.decode()  # what was typed is still there
    assert Report.objects.count() == 0
    assert Submission.objects.get().refusal == Refusal.INVALID


def test_the_staff_form_refuses_times_before_1900(world):
    client = signed_in(world.users["reporter"])
    data = PUBLIC | {"minor_street": str(area(A1).pk), "occurred_at": BEFORE_1900}
    response = client.post("/reports/new/", data)
    assert response.status_code == 200 and response.context["form"].errors["occurred_at"] == [REFUSED]
    assert Report.objects.count() == 0


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"occurred_at": BEFORE_1900}, "occurred_at", REFUSED),
        ({"occurred_at": "0001-01-02T00:00:00+08:00"}, "occurred_at", REFUSED),
        ({"occurred_at": "1899-12-31T23:59"}, "occurred_at", REFUSED),
        ({"minor_birth_date": "0001-01-01"}, "minor_birth_date", "出生日期应在最近 18 年内"),
        ({"minor_birth_date": "2999-01-01"}, "minor_birth_date", "出生日期应在最近 18 年内"),
    ],
)
def test_the_partner_api_refuses_old_times_with_a_400_and_keeps_the_refusal(world, overrides, field, message):
    _channel, token = partner_with_token("12355")
    payload = {
        "external_id": "QX-1900",
        "situation": "abuse_injury",
        "description": "来电反映邻居家孩子经常被打，身上有伤。",
        "minor_name": "李小军",
        "minor_street": B1,
    } | overrides
    response = Client().post(
        "/api/reports/partner/reports/",
        payload,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 400, response.content
    assert message in response.json()["errors"][field][0]
    assert Report.objects.count() == 0
    assert not Submission.objects.get().accepted

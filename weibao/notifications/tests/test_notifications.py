import datetime

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from weibao.accounts.choices import Role
from weibao.lib import testing as t
from weibao.notifications import deadlines, services, sms
from weibao.notifications.models import Notification

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def world():
    return t.build_world()


def test_notify_organisation_reaches_its_users_by_app_mail_and_sms(world, django_capture_on_commit_callbacks):
    police = world.users["police_a"]
    police.email, police.phone = "police@example.org", "13800000000"
    police.save()
    sms.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        created = services.notify(
            subject="新强制报告 R-1",
            body="请登录查看",
            url="/reports/1/",
            kind="report_routed",
            organisations=[world.orgs["police_a"]],
            text_message=True,
        )
    assert [n.recipient for n in created] == [police]
    assert mail.outbox[-1].to == ["police@example.org"]
    assert "http://localhost:8000/reports/1/" in mail.outbox[-1].body
    assert sms.outbox == [("13800000000", "新强制报告 R-1 http://localhost:8000/reports/1/")]


def test_notify_by_role_and_user(world):
    ws = t.org("workstation", t.A1)
    created = services.notify(subject="s", organisations=[ws], roles=[Role.WORKSTATION_LEAD], email=False)
    assert {n.recipient.username for n in created} == {"lead_a1"}
    created = services.notify(subject="s", users=[world.users["city"]], email=False)
    assert [n.recipient.username for n in created] == ["city"]


def test_place_helpers(world):
    street = t.area(t.A1)
    assert services.workstation(street).area == street
    assert services.district_office(street).area == street.parent
    assert services.district_police(street) == world.orgs["police_a"]
    assert services.workstation(street.parent) is None
    assert services.district_office(None) is None


def test_only_recipient_sees_and_marks(world, client):
    services.notify(subject="给黄浦公安", users=[world.users["police_a"]], email=False)
    other = world.users["worker_a1"]
    t.verify_second_factor(client, other)
    page = client.get(reverse("notifications:list"))
    assert "给黄浦公安" not in page.content.decode()
    assert client.get("/api/notifications/notifications/").json()["count"] == 0
    assert client.post(
        "/api/notifications/notifications/mark-read/", {}, content_type="application/json"
    ).json() == {"marked": 0}
    police = world.users["police_a"]
    t.verify_second_factor(client, police)
    page = client.get(reverse("notifications:list"))
    assert "给黄浦公安" in page.content.decode()
    one = Notification.objects.get()
    assert client.get(f"/api/notifications/notifications/{one.pk}/").json()["subject"] == "给黄浦公安"
    assert 'data-testid="unread-count">1<' in page.content.decode()
    response = client.post(reverse("notifications:mark_read"), {"next": "https://evil.example/"})
    assert response.url == reverse("notifications:list")
    assert Notification.objects.get().read_at is not None
    t.verify_second_factor(client, other)
    assert client.get(f"/api/notifications/notifications/{one.pk}/").status_code == 404


def test_api_rejects_bad_ids(world, client):
    t.verify_second_factor(client, world.users["police_a"])
    response = client.post(
        "/api/notifications/notifications/mark-read/", {"ids": ["x"]}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "ids" in response.json()["errors"]


@pytest.mark.parametrize("ids", [[100000000000000000000], [2**63], [0]])
def test_api_rejects_ids_out_of_range(world, client, ids):
    t.verify_second_factor(client, world.users["police_a"])
    response = client.post(
        "/api/notifications/notifications/mark-read/", {"ids": ids}, content_type="application/json"
    )
    assert response.status_code == 400 and "ids" in response.json()["errors"]


def test_deadline_registry_runs_checkers_with_the_controlled_clock(monkeypatch):
    seen = []
    monkeypatch.setattr(deadlines, "_checkers", {})

    @deadlines.register("demo")
    def checker(now):
        seen.append(now)
        return 2

    with time_machine.travel(datetime.datetime(2026, 1, 2, 3, 4, tzinfo=datetime.UTC), tick=False):
        assert deadlines.check_all() == {"demo": 2}
    assert seen == [datetime.datetime(2026, 1, 2, 3, 4, tzinfo=datetime.UTC)]


def test_check_deadlines_command(monkeypatch):
    from io import StringIO

    from django.core.management import call_command

    monkeypatch.setattr(deadlines, "_checkers", {"cases": lambda now: 3})
    out = StringIO()
    call_command("check_deadlines", stdout=out)
    assert out.getvalue() == "cases: 3 escalated\n"


def test_role_and_organisation_are_one_assignment(world):
    """A lead elsewhere who is only a worker here is not reached as a lead of this workstation."""
    import datetime

    from weibao.accounts.models import RoleAssignment

    ws_a1, ws_b1 = t.org("workstation", t.A1), t.org("workstation", t.B1)
    worker = world.users["worker_a1"]
    RoleAssignment.objects.create(
        user=worker, role=Role.WORKSTATION_LEAD, organisation=ws_b1, area=t.area(t.B1)
    )
    created = services.notify(subject="s", organisations=[ws_a1], roles=[Role.WORKSTATION_LEAD], email=False)
    assert {n.recipient.username for n in created} == {"lead_a1"}
    RoleAssignment.objects.filter(user=world.users["lead_a1"]).update(
        valid_until=datetime.date.today() - datetime.timedelta(days=1)
    )
    assert not services.notify(subject="s", organisations=[ws_a1], roles=[Role.WORKSTATION_LEAD], email=False)


def test_mark_read_ignores_ids_that_are_not_numbers(world, client):
    services.notify(subject="x", users=[world.users["police_a"]], email=False)
    t.verify_second_factor(client, world.users["police_a"])
    response = client.post(reverse("notifications:mark_read"), {"id": ["²", "9" * 40, "9" * 5000, "abc"]})
    assert response.status_code == 302 and Notification.objects.unread().count() == 1


@pytest.mark.django_db
def test_notify_organisations_reaches_whom_notify_reaches(world):
    """Many organisations at once, each its own subject: the same recipients as one ``notify`` each."""
    from weibao.notifications.models import Notification
    from weibao.notifications.services import district_offices, notify, notify_organisations, workstations

    streets = [world.persons[key].street for key in ("a1", "b1") if world.persons[key].street_id]
    found = workstations(streets)
    offices = district_offices(streets)
    assert found and offices
    for street in streets:
        assert found.get(street.pk) == services.workstation(street)
        assert offices.get(street.pk) == services.district_office(street)
    orgs = list({*found.values(), *offices.values()})
    for org in orgs:
        notify(subject=f"one {org.pk}", kind="t1", organisations=[org])
    notify_organisations({org: f"one {org.pk}" for org in orgs}, kind="t2")
    one = sorted(Notification.objects.filter(kind="t1").values_list("recipient_id", "subject"))
    many = sorted(Notification.objects.filter(kind="t2").values_list("recipient_id", "subject"))
    assert one == many and one

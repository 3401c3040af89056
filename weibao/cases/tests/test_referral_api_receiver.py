"""The referral respond/report API asks "is this the receiver?" before it reads the input: anyone else who
may see the referral gets a 403 whatever they send; the receiver's bad input is a 400 naming the field."""

import pytest

from weibao.cases.models import Referral
from weibao.lib.testing import signed_in

# who may see the referral to the education unit but is not its receiver
VIEWERS = ("worker_a1", "lead_a1", "district_a", "city")
BAD = {"respond": {"reason": "缺少 accept"}, "report": {"report": ""}}
BAD_FIELD = {"respond": "accept", "report": "report"}


@pytest.fixture
def referral(world):
    return world.cases["a1_referred"].referrals.get()


def _url(referral, step):
    return f"/api/cases/referrals/{referral.uuid}/{step}/"


@pytest.mark.parametrize("step", ["respond", "report"])
@pytest.mark.parametrize("persona", VIEWERS)
def test_non_receiver_with_bad_input_is_refused_before_validation(world, referral, persona, step):
    client = signed_in(world.users[persona])
    assert client.get(f"/api/cases/referrals/{referral.uuid}/").status_code == 200  # may see it
    for body in (BAD[step], {}):
        response = client.post(_url(referral, step), body, content_type="application/json")
        assert response.status_code == 403, (persona, step, body, response.content)
        assert response.json()["errors"] == {}  # nothing about the fields
    referral.refresh_from_db()
    assert referral.status == "sent"


@pytest.mark.parametrize("step", ["respond", "report"])
def test_non_receiver_with_good_input_is_refused(world, referral, step):
    good = {"respond": {"accept": True}, "report": {"report": "已安排复学"}}[step]
    response = signed_in(world.users["worker_a1"]).post(
        _url(referral, step), good, content_type="application/json"
    )
    assert response.status_code == 403
    referral.refresh_from_db()
    assert referral.status == "sent"


def test_outsider_still_gets_404(world, referral):
    response = signed_in(world.users["worker_b1"]).post(
        _url(referral, "respond"), BAD["respond"], content_type="application/json"
    )
    assert response.status_code == 404


@pytest.mark.parametrize("step", ["respond", "report"])
def test_receiver_with_bad_input_gets_400_naming_the_field(world, referral, step):
    client = signed_in(world.users["edu_city"])
    if step == "report":
        assert client.post(_url(referral, "respond"), {"accept": True}).status_code == 200
    response = client.post(_url(referral, step), BAD[step], content_type="application/json")
    assert response.status_code == 400
    assert BAD_FIELD[step] in response.json()["errors"]


def test_receiver_with_good_input_accepts_then_reports(world, referral):
    client = signed_in(world.users["edu_city"])
    response = client.post(_url(referral, "respond"), {"accept": True}, content_type="application/json")
    assert response.status_code == 200 and response.json()["status"] == "accepted"
    response = client.post(
        _url(referral, "report"), {"report": "已安排复学辅导"}, content_type="application/json"
    )
    assert response.status_code == 200 and response.json()["status"] == "reported"
    referral = Referral.objects.get(pk=referral.pk)
    assert referral.status == "reported" and referral.report == "已安排复学辅导"

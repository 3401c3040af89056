"""Two submits at once: the second request for the lead's approval is a field error, never an IntegrityError.

The race is simulated deterministically: the check for a pending request is made to answer "none" while the
first request is already in the table, as when two transactions both pass the check before either inserts.
"""

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from weibao.cases import services
from weibao.cases.models import Approval
from weibao.lib.testing import signed_in, verify_second_factor


@pytest.fixture
def raced(world, monkeypatch):
    """A case with a pending request whose check for pending requests has not seen it yet."""
    case = world.cases["a1"]
    services.request_approval(case, world.users["worker_a1"], reason="无保护需求")
    monkeypatch.setattr(services, "_pending_approval", lambda case: False)
    return case


def test_a_second_request_passing_the_check_is_a_field_error(world, raced):
    with pytest.raises(ValidationError) as e:
        services.request_approval(raced, world.users["worker_a1"], reason="再次申请")
    assert "(a request is already pending)" in e.value.message_dict["kind"][0]
    assert Approval.objects.filter(case=raced).count() == 1


def test_a_double_submitted_form_is_a_message_not_a_500(world, raced):
    client = signed_in(world.users["worker_a1"])
    response = client.post(reverse("cases:case_request_approval", args=[raced.uuid]), {"reason": "再次申请"})
    assert response.status_code == 302
    errors = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("已有待审批的申请" in m for m in errors), errors


def test_a_double_submitted_api_call_is_a_400_naming_the_field(world, raced):
    client = Client()
    verify_second_factor(client, world.users["worker_a1"])
    response = client.post(f"/api/cases/cases/{raced.uuid}/request-approval/", {"reason": "再次申请"})
    assert response.status_code == 400
    assert "kind" in response.json()["errors"]

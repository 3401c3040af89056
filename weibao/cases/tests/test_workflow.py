import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from weibao.audit.models import AuditEvent
from weibao.cases import services
from weibao.cases.models import Case, CaseTransition
from weibao.cases.testing import open_test_case
from weibao.cases.workflow import TRANSITIONS
from weibao.lib.testing import A1, org
from weibao.registry.models import Person


def test_numbers_are_per_year_and_sequential(world):
    numbers = [c.number for c in Case.objects.order_by("pk")]
    year = numbers[0][2:6]
    assert numbers == [f"AJ{year}-{i:06d}" for i in range(1, 5)]
    with __import__("time_machine").travel(datetime.datetime(2031, 1, 1, 10, tzinfo=datetime.UTC)):
        case = open_test_case(world.users["worker_a1"], [world.persons["a1"]])
    assert case.number == "AJ2031-000001"


def test_open_case_records_transition_audit_and_due(world):
    case = world.cases["a1"]
    assert case.state == "intake"
    assert case.street.code == A1
    assert list(case.workers.all()) == [world.users["worker_a1"]]
    assert (case.state_due - case.opened_at) == datetime.timedelta(hours=72)
    urgent = open_test_case(world.users["worker_a1"], [world.persons["a1"]], priority="urgent")
    assert (urgent.state_due - urgent.opened_at) == datetime.timedelta(hours=24)
    assert CaseTransition.objects.filter(case=case, from_state="", to_state="intake").exists()
    assert AuditEvent.objects.filter(object_id=str(case.uuid), action="create").exists()


def test_open_case_rejects_bad_input(world):
    u = world.users["worker_a1"]
    with pytest.raises(ValidationError) as e:
        open_test_case(u, [])
    assert "persons" in e.value.message_dict
    with pytest.raises(ValidationError) as e:
        open_test_case(u, [world.persons["a1"]], case_type="nonsense", reason=" ")
    assert "reason" in e.value.message_dict
    with pytest.raises(ValidationError) as e:
        open_test_case(u, [world.persons["a1"]], workstation=org("police", "310101"))
    assert "workstation" in e.value.message_dict
    with pytest.raises(PermissionDenied):  # another street's workstation
        open_test_case(u, [world.persons["a1"]], street="310115004")
    with pytest.raises(ValidationError) as e:  # a child outside the worker's street
        open_test_case(u, [world.persons["b1"]])
    assert "persons" in e.value.message_dict


def test_full_workflow_with_going_back_and_lead_approval(world):
    worker, lead = world.users["worker_a1"], world.users["lead_a1"]
    case = world.cases["a1"]
    with pytest.raises(ValidationError):  # first visit first
        services.transition(case, "assessment", worker, reason="开始评估")
    services.add_note(case, worker, kind="visit", text="入户走访，见到儿童和祖母", place="家中")
    for state in ("assessment", "plan", "implementation", "review", "implementation", "review"):
        case = services.transition(case, state, worker, reason=f"进入{state}")
    with pytest.raises(ValidationError):  # closing needs approval
        services.transition(case, "closed", worker, reason="结案")
    with pytest.raises(ValidationError):  # not in the table
        services.transition(case, "intake", worker, reason="回到受理")
    approval = services.request_approval(case, worker, reason="目标达成")
    with pytest.raises(ValidationError):
        services.request_approval(case, worker, reason="再次申请")
    with pytest.raises(ValidationError):  # no moves while the lead has not decided
        services.transition(case, "implementation", worker, reason="继续干预")
    with pytest.raises(PermissionDenied):  # a worker cannot approve
        services.decide_approval(approval, worker, approve=True, reason="同意")
    services.decide_approval(approval, lead, approve=False, reason="还需跟进一个月")
    case.refresh_from_db()
    assert case.state == "review"
    approval = services.request_approval(case, worker, reason="跟进完毕")
    services.decide_approval(approval, lead, approve=True, reason="同意结案")
    case.refresh_from_db()
    assert case.state == "closed" and case.closed_at and case.state_due is None
    reopen = services.request_approval(case, worker, reason="再次发现问题")
    assert reopen.kind == "reopen"
    services.decide_approval(reopen, lead, approve=True, reason="同意重新开案")
    case.refresh_from_db()
    assert case.state == "assessment"
    steps = list(CaseTransition.objects.filter(case=case).values_list("from_state", "to_state"))
    assert steps[-2:] == [("review", "closed"), ("closed", "assessment")]
    assert all(t.reason for t in CaseTransition.objects.filter(case=case))


def test_lead_of_another_workstation_cannot_approve(world):
    from weibao.lib.testing import make_user

    other_lead = make_user("lead_a2", "workstation_lead", org("workstation", "310101013"))
    case = world.cases["a1"]
    services.add_note(case, world.users["worker_a1"], kind="visit", text="走访")
    approval = services.request_approval(case, world.users["worker_a1"], reason="无保护需求")
    with pytest.raises(PermissionDenied):
        services.decide_approval(approval, other_lead, approve=True, reason="同意")


def test_transition_table_reaches_every_state():
    reached = {to for (_f, to) in TRANSITIONS}
    assert reached == {"assessment", "plan", "implementation", "review", "closed", "intake"}


def test_merge_moves_case_membership_and_split_restores(world):
    from weibao.registry.services import merge_persons, split_merge

    lead = world.users["lead_a1"]
    a1, a2 = world.persons["a1"], world.persons["a2"]
    case = open_test_case(world.users["district_a"], [a2], reason="区办立案")
    last_seq = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    merge = merge_persons(a1, a2, actor=world.users["district_a"], reason="同一人")
    assert case.members.get().person_id == a1.pk
    # the lead of the case's workstation sees the merged child (living on A1) on the case...
    assert list(Person.objects.visible_to(lead).filter(cases=case)) == [a1]
    split_merge(merge, actor=world.users["district_a"], reason="误合并")
    assert case.members.get().person_id == a2.pk
    # ...and after the split no longer does: a2 lives on A2, outside the lead's person scope
    assert not Person.objects.visible_to(lead).filter(cases=case).exists()
    assert Case.objects.visible_to(lead).filter(pk=case.pk).exists()
    # the lead of A1 took no part
    assert not AuditEvent.objects.filter(actor_id=lead.pk, seq__gt=last_seq).exists()

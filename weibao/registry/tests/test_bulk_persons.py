from types import SimpleNamespace

import pytest

from weibao.lib.testing import A1, area
from weibao.registry import bulk
from weibao.registry.models import DepartmentLink, IdentityDocument, Person
from weibao.registry.services import document_fields


def _entry(number: str, name: str) -> bulk.Entry:
    doc = document_fields("mainland_id", number)
    return bulk.Entry(
        doc["number_index"], "mainland_id", doc["number_encrypted"], doc["number_masked"], name, "minor", "M",
        None, area(A1).pk, "", "",
    )  # fmt: skip


@pytest.mark.django_db
def test_persons_for_matches_known_children_creates_the_others_once_and_queues_only_the_new(
    world, monkeypatch, django_capture_on_commit_callbacks
):
    """The path reports take: known by blind index → that person; a number twice in one call → one new
    person; every person linked to the sender once; only the new persons queued for linkage."""
    queued = []
    monkeypatch.setattr(bulk, "link_new_persons", SimpleNamespace(enqueue=queued.append))
    known = Person.objects.create(name="张三", sex="M", street=area(A1))
    IdentityDocument.objects.create(person=known, **document_fields("mainland_id", "110101201501010011"))
    organisation = world.orgs["edu"].pk
    entries = [_entry("110101201501010011", "张三"), _entry("310101201601010016", "李四")]
    entries.append(_entry("310101201601010016", "李四"))
    with django_capture_on_commit_callbacks(execute=True):
        persons = bulk.persons_for(entries, organisation_id=organisation)
    assert persons[0] == known.pk and persons[1] == persons[2] != known.pk
    assert Person.objects.get(pk=persons[1]).name_initials == "ls"
    assert IdentityDocument.objects.filter(person_id=persons[1]).count() == 1
    links = DepartmentLink.objects.filter(organisation_id=organisation, person_id__in=persons)
    assert sorted(links.values_list("person_id", flat=True)) == sorted({*persons})
    assert queued == [[persons[1]]]
    with django_capture_on_commit_callbacks(execute=True):  # again: nothing new, no link twice
        assert bulk.persons_for(entries, organisation_id=organisation) == persons
    assert links.count() == 2 and len(queued) == 1


@pytest.mark.django_db
def test_a_department_link_written_between_plan_and_write_is_kept_and_the_write_goes_on(world):
    """A feed plans chunk N+1 while chunk N is being stored; a report about the same child, or a second feed
    of the same department, may link the child to the department in between: the plan's write leaves that
    link as it is instead of failing on the links' unique key."""
    known = Person.objects.create(name="张三", sex="M", street=area(A1))
    IdentityDocument.objects.create(person=known, **document_fields("mainland_id", "110101201501010011"))
    organisation = world.orgs["edu"].pk
    entries = [_entry("110101201501010011", "张三"), _entry("310101201601010016", "李四")]
    plan = bulk.plan_persons(entries, organisation_id=organisation)
    meanwhile = DepartmentLink.objects.create(person=known, organisation_id=organisation, basis="sent")
    plan.write()
    links = DepartmentLink.objects.filter(organisation_id=organisation, person_id__in=plan.persons)
    assert sorted(links.values_list("person_id", flat=True)) == sorted(plan.persons)  # one each
    assert links.get(person=known).pk == meanwhile.pk

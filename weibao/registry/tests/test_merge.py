"""Merge and split (reversible, audited, with a reason) and the review queue."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from weibao.audit.models import AuditEvent
from weibao.lib.checksums import id_check_char
from weibao.lib.testing import A1, B1, area, verify_second_factor
from weibao.registry import services
from weibao.registry.models import (
    Category,
    DepartmentLink,
    Guardianship,
    IdentityDocument,
    MatchCandidate,
    MergeRecord,
    Person,
    PersonCategory,
)

pytestmark = pytest.mark.django_db


def _id(seq):
    first17 = f"31010120150601{seq:03d}"
    return first17 + id_check_char(first17)


def _pair(world, street=A1):
    actor = world.users["lead_a1"] if street == A1 else world.users["city"]
    a = services.save_person(
        Person(name="王小明", sex="M", birth_date="2015-06-01", street=area(street)), actor=actor
    )
    b = services.save_person(
        Person(name="王晓明", sex="M", birth_date="2015-06-01", street=area(street)), actor=actor
    )
    return a, b


def test_merge_moves_everything_and_split_restores_it(world):
    lead = world.users["lead_a1"]
    a, b = _pair(world)
    services.add_document(b, "mainland_id", _id(1), actor=lead)
    father = services.save_person(Person(name="王大明", kind="adult", street=area(A1)), actor=lead)
    services.add_guardianship(Guardianship(minor=b, guardian=father, relation="father"), actor=lead)
    services.add_category(
        PersonCategory(person=b, category=Category.objects.get(code="left_behind")), actor=lead
    )
    link = DepartmentLink.objects.create(person=b, organisation=world.orgs["police_a"], basis="sent")

    merge = services.merge_persons(a, b, actor=lead, reason="同一儿童，姓名笔误")
    assert not Person.objects.filter(pk=b.pk).exists() and Person.all_objects.get(pk=b.pk).merged_into == a
    assert IdentityDocument.objects.get().person == a and Guardianship.objects.get().minor == a
    assert PersonCategory.objects.get().person == a and DepartmentLink.objects.get(pk=link.pk).person == a
    assert AuditEvent.objects.filter(action="merge", reason="同一儿童，姓名笔误").exists()

    with pytest.raises(ValidationError):
        services.split_merge(merge, actor=lead, reason="")
    restored = services.split_merge(merge, actor=lead, reason="复核发现并非同一人")
    assert restored == b and Person.objects.filter(pk=b.pk).exists()
    assert IdentityDocument.objects.get().person == b and Guardianship.objects.get().minor == b
    assert PersonCategory.objects.get().person == b and DepartmentLink.objects.get(pk=link.pk).person == b
    assert AuditEvent.objects.filter(action="split", reason="复核发现并非同一人").exists()
    with pytest.raises(ValidationError, match="已被拆分"):
        services.split_merge(merge, actor=lead, reason="again")


def test_twins_with_valid_different_ids_never_merge(world):
    lead = world.users["lead_a1"]
    a, b = _pair(world)
    services.add_document(a, "mainland_id", _id(1), actor=lead)
    services.add_document(b, "mainland_id", _id(3), actor=lead)
    with pytest.raises(ValidationError, match="双胞胎"):
        services.merge_persons(a, b, actor=lead, reason="x")


def test_sensitive_record_makes_the_survivor_sensitive_until_split(world):
    lead = world.users["lead_a1"]
    a, b = _pair(world)
    Person.objects.filter(pk=b.pk).update(sensitivity="sensitive")
    b.refresh_from_db()
    merge = services.merge_persons(a, b, actor=lead, reason="同一人")
    assert Person.objects.get(pk=a.pk).sensitivity == "sensitive"
    services.split_merge(merge, actor=lead, reason="拆分")
    assert Person.objects.get(pk=a.pk).sensitivity == "normal"


def test_merge_needs_change_rights_on_both(world):
    a, _ = _pair(world)
    c = services.save_person(Person(name="王小明", sex="M", street=area(B1)), actor=world.users["city"])
    with pytest.raises(PermissionDenied):
        services.merge_persons(a, c, actor=world.users["lead_a1"], reason="x")


def test_review_queue_page_decides_with_labels(client, world):
    a, b = _pair(world)
    candidate = MatchCandidate.objects.create(
        person=a,
        other=b,
        match_probability=0.82,
        match_weights={"姓名": 2.1, "出生日期": 3.4},
        model_version="v1",
    )
    verify_second_factor(client, world.users["lead_a1"])
    page = client.get(reverse("registry:review_queue")).content.decode()
    assert (
        "王小明" in page
        and "王晓明" in page
        and "0.820" in page
        and "不一致" in page
        and 'data-key="s"' in page
    )
    client.post(reverse("registry:review_queue"), {"candidate": candidate.uuid, "decision": "same"})
    candidate.refresh_from_db()
    assert candidate.status == "same" and candidate.decided_by == world.users["lead_a1"]
    assert Person.all_objects.get(pk=a.pk).merged_into_id == b.pk  # the newer record joins the registry's
    assert services.review_precision() == {"decided": 1, "same": 1, "precision": 1.0}
    assert "没有待复核的匹配" in client.get(reverse("registry:review_queue")).content.decode()
    viewed = set(
        AuditEvent.objects.filter(action="view", reason="匹配复核").values_list("object_id", flat=True)
    )
    assert viewed == {str(a.uuid), str(b.uuid)}  # showing the pair is a read of both records
    bad = client.post(
        reverse("registry:review_queue"), {"candidate": "not-a-uuid", "decision": "same"}, follow=True
    )
    assert bad.status_code == 200 and "复核对象无效" in bad.content.decode()


def test_review_queue_hides_pairs_out_of_scope(client, world):
    a, b = _pair(world)
    MatchCandidate.objects.create(person=a, other=b, match_probability=0.8)
    verify_second_factor(client, world.users["worker_b1"])
    assert "没有待复核的匹配" in client.get(reverse("registry:review_queue")).content.decode()
    other = client.__class__()
    verify_second_factor(other, world.users["police_a"])
    assert other.get(reverse("registry:review_queue")).status_code == 403


def test_split_from_the_person_page(client, world):
    a, b = _pair(world)
    merge = services.merge_persons(a, b, actor=world.users["lead_a1"], reason="同一人")
    verify_second_factor(client, world.users["lead_a1"])
    page = client.get(reverse("registry:person_detail", args=[a.uuid])).content.decode()
    assert "已合并的记录" in page and "王晓明" in page
    client.post(reverse("registry:person_split", args=[a.uuid, merge.uuid]), {"reason": "不是同一人"})
    assert Person.objects.filter(pk=b.pk).exists()


def test_api_review_merge_and_split(client, world):
    a, b = _pair(world)
    c, d = _pair(world)
    candidate = MatchCandidate.objects.create(person=a, other=b, match_probability=0.7)
    verify_second_factor(client, world.users["lead_a1"])
    assert [
        r["uuid"] for r in client.get("/api/registry/match-candidates/?status=pending").json()["results"]
    ] == [str(candidate.uuid)]
    bad = client.post(
        f"/api/registry/match-candidates/{candidate.uuid}/decide/",
        {"decision": "maybe"},
        content_type="application/json",
    )
    assert bad.status_code == 400 and "decision" in bad.json()["errors"]
    ok = client.post(
        f"/api/registry/match-candidates/{candidate.uuid}/decide/",
        {"decision": "different"},
        content_type="application/json",
    )
    assert ok.json()["status"] == "different"
    no_reason = client.post(
        f"/api/registry/persons/{c.uuid}/merge/", {"other": str(d.uuid)}, content_type="application/json"
    )
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["errors"]
    merged = client.post(
        f"/api/registry/persons/{c.uuid}/merge/",
        {"other": str(d.uuid), "reason": "同一人"},
        content_type="application/json",
    )
    assert merged.status_code == 201
    assert (
        client.get(f"/api/registry/persons/{d.uuid}/").status_code == 404
    )  # merged persons are gone from view
    split = client.post(
        f"/api/registry/merges/{merged.json()['uuid']}/split/",
        {"reason": "误合并"},
        content_type="application/json",
    )
    assert split.status_code == 200 and split.json()["split_reason"] == "误合并"
    assert client.get(f"/api/registry/persons/{d.uuid}/").status_code == 200
    outsider = client.__class__()
    verify_second_factor(outsider, world.users["worker_b1"])
    assert (
        outsider.post(
            f"/api/registry/merges/{merged.json()['uuid']}/split/",
            {"reason": "x"},
            content_type="application/json",
        ).status_code
        == 404
    )


def test_merge_moves_feed_events_and_source_records_and_split_brings_them_back(client, world):
    """Every row that points at a person moves: here the events and source records a feed brought."""
    from weibao.feeds.models import Event, SourceRecord
    from weibao.feeds.tests.helpers import police_feed, record

    feed = police_feed(world)
    verify_second_factor(client, world.users["police_a"])
    response = client.post(
        f"/api/feeds/{feed.code}/batches/",
        {"idempotency_key": "k", "records": [record(1, street=A1)]},
        content_type="application/json",
    )
    assert response.status_code == 201
    fed = Person.objects.get(name="张三")
    assert Event.objects.filter(person=fed).count() == SourceRecord.objects.filter(person=fed).count() == 1
    lead = world.users["lead_a1"]
    survivor = services.save_person(
        Person(name="张叁", sex="F", birth_date="2015-06-01", street=area(A1)), actor=lead
    )
    merge = services.merge_persons(survivor, fed, actor=lead, reason="同一儿童")
    assert (
        Event.objects.filter(person=survivor).count()
        == SourceRecord.objects.filter(person=survivor).count()
        == 1
    )
    assert merge.moved["feeds.event.person"] and merge.moved["feeds.sourcerecord.person"]
    services.split_merge(merge, actor=lead, reason="不是同一人")
    assert Event.objects.filter(person=fed).count() == SourceRecord.objects.filter(person=fed).count() == 1
    assert not Event.objects.filter(person=survivor).exists()


def test_review_queue_shows_only_the_guardians_the_reviewer_may_see(client, world):
    a, b = _pair(world)
    far = Person.objects.create(name="远方监护人", kind="adult", street=area(B1))
    near = Person.objects.create(name="本街监护人", kind="adult", street=area(A1))
    hidden = Person.objects.create(name="敏感监护人", kind="adult", street=area(A1), sensitivity="sensitive")
    Guardianship.objects.create(minor=a, guardian=far, relation="father")
    Guardianship.objects.create(minor=a, guardian=near, relation="mother")
    Guardianship.objects.create(minor=b, guardian=hidden, relation="father")
    MatchCandidate.objects.create(person=a, other=b, match_probability=0.8)
    verify_second_factor(client, world.users["district_a"])  # district A, no sensitive records
    page = client.get(reverse("registry:review_queue")).content.decode()
    assert "王小明" in page and "本街监护人" in page
    assert "远方监护人" not in page and "敏感监护人" not in page


def test_review_decision_and_split_refuse_a_reason_over_500_characters(client, world):
    a, b = _pair(world)
    candidate = MatchCandidate.objects.create(person=a, other=b, match_probability=0.8)
    verify_second_factor(client, world.users["lead_a1"])
    long = "长" * 501
    response = client.post(
        reverse("registry:review_queue"),
        {"candidate": candidate.uuid, "decision": "same", "reason": long},
        follow=True,
    )
    assert response.status_code == 200 and "事由：不能超过 500 个字符" in response.content.decode()
    candidate.refresh_from_db()
    assert candidate.status == "pending" and Person.all_objects.get(pk=a.pk).merged_into_id is None
    client.post(
        reverse("registry:review_queue"),
        {"candidate": candidate.uuid, "decision": "same", "reason": "同" * 500},
    )
    merge = MergeRecord.objects.get()
    assert merge.reason == "同" * 500  # kept whole
    response = client.post(
        reverse("registry:person_split", args=[b.uuid, merge.uuid]), {"reason": long}, follow=True
    )
    assert "事由：不能超过 500 个字符" in response.content.decode()
    merge.refresh_from_db()
    assert merge.split_at is None and merge.split_reason == ""
    client.post(reverse("registry:person_split", args=[b.uuid, merge.uuid]), {"reason": "拆" * 500})
    merge.refresh_from_db()
    assert merge.split_at is not None and merge.split_reason == "拆" * 500

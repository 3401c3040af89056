"""Identity documents (encrypted, indexed, masked, audited reveal), search by pinyin and ID, guardians, categories."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from weibao.audit.models import AuditEvent
from weibao.lib.checksums import id_check_char
from weibao.lib.testing import A1, area, verify_second_factor
from weibao.registry import services
from weibao.registry.models import Category, IdentityDocument, Person, PersonCategory

pytestmark = pytest.mark.django_db


def _id(area_code="310101", birth="20150601", seq="002"):
    first17 = f"{area_code}{birth}{seq}"
    return first17 + id_check_char(first17)


def _person(world, name="张三", actor="worker_a1"):
    return services.save_person(
        Person(name=name, sex="F", birth_date="2015-06-01", street=area(A1)), actor=world.users[actor]
    )


def test_person_gets_pinyin_keys(world):
    person = _person(world, "曾小明")
    assert (person.name_pinyin, person.name_initials) == ("zengxiaoming", "zxm")


def test_document_is_encrypted_indexed_masked_and_audited(world):
    person = _person(world)
    number = _id()
    document = services.add_document(person, "mainland_id", number, actor=world.users["worker_a1"])
    stored = IdentityDocument.objects.get(pk=document.pk)
    assert number.encode() not in bytes(stored.number_encrypted) and number not in stored.number_index
    assert stored.number_masked == number[:6] + "********" + number[-4:]
    assert services.find_by_document("mainland_id", number.lower()).get() == stored
    event = AuditEvent.objects.filter(object_type="registry.identitydocument").latest("seq")
    assert number not in str(event.changes) and event.changes["document_number"][1] == stored.number_masked


@pytest.mark.parametrize(
    "number,message",
    [
        ("310101201506010021", "校验位"),
        ("31010120150601002", "18位"),
        ("310101201513010024", "出生日期"),
    ],
)
def test_bad_id_numbers_are_refused_with_the_reason(world, number, message):
    person = _person(world)
    with pytest.raises(ValidationError) as exc:
        services.add_document(person, "mainland_id", number, actor=world.users["worker_a1"])
    assert message in exc.value.message_dict["number"][0]


def test_id_must_match_the_birth_date_and_not_repeat(world):
    person = _person(world)
    with pytest.raises(ValidationError, match="出生日期"):
        services.add_document(person, "mainland_id", _id(birth="20140601"), actor=world.users["worker_a1"])
    services.add_document(person, "mainland_id", _id(), actor=world.users["worker_a1"])
    with pytest.raises(ValidationError, match="已登记"):
        services.add_document(person, "mainland_id", _id(), actor=world.users["worker_a1"])


def test_other_documents_keep_their_type(world):
    person = _person(world)
    document = services.add_document(person, "passport", "e 1234 5678", actor=world.users["worker_a1"])
    assert document.get_type_display() == "护照" and document.number_masked == "E1*****78"
    assert services.find_by_document("passport", "E12345678").exists()
    assert not services.find_by_document("hk_macau_permit", "E12345678").exists()


def test_full_number_only_for_allowed_roles_and_audited(world):
    person = _person(world)
    document = services.add_document(person, "mainland_id", _id(), actor=world.users["worker_a1"])
    with pytest.raises(PermissionDenied):
        services.reveal_document(document, actor=world.users["worker_a1"])  # no may_see_full_id
    assert services.reveal_document(document, actor=world.users["city"], reason="核实身份") == _id()
    event = AuditEvent.objects.filter(action="view_full_id").get()
    assert event.actor_username == "city" and event.reason == "核实身份"


def test_reveal_through_page_and_api(client, world):
    person = _person(world)
    document = services.add_document(person, "mainland_id", _id(), actor=world.users["worker_a1"])
    verify_second_factor(client, world.users["city"])
    page = client.get(reverse("registry:person_detail", args=[person.uuid])).content.decode()
    assert document.number_masked in page and _id() not in page and "显示完整号码" in page
    assert _id() in client.post(reverse("registry:document_reveal", args=[document.pk])).content.decode()
    assert client.post(f"/api/registry/documents/{document.pk}/reveal/").json() == {"number": _id()}
    other = client.__class__()
    verify_second_factor(other, world.users["worker_a1"])
    assert other.post(reverse("registry:document_reveal", args=[document.pk])).status_code == 403
    assert other.post(f"/api/registry/documents/{document.pk}/reveal/").status_code == 403
    outsider = client.__class__()
    verify_second_factor(outsider, world.users["worker_b1"])
    assert outsider.post(reverse("registry:document_reveal", args=[document.pk])).status_code == 404


@pytest.mark.parametrize("query", ["张三", "zhangsan", "zs", "ZS", "zhang"])
def test_search_by_characters_and_pinyin(client, world, query):
    person = _person(world, "张三")
    _person(world, "李四")
    verify_second_factor(client, world.users["worker_a1"])
    found = client.get("/api/registry/persons/", {"q": query}).json()["results"]
    assert [r["uuid"] for r in found] == [str(person.uuid)]


def test_search_by_id_number_and_scope(client, world):
    person = _person(world)
    services.add_document(person, "mainland_id", _id(), actor=world.users["worker_a1"])
    verify_second_factor(client, world.users["worker_a1"])
    assert [r["uuid"] for r in client.get("/api/registry/persons/", {"q": _id()}).json()["results"]] == [
        str(person.uuid)
    ]
    page = client.get(reverse("registry:person_list"), {"q": _id()}).content.decode()
    assert str(person.uuid) in page
    outsider = client.__class__()
    verify_second_factor(outsider, world.users["worker_b1"])
    assert outsider.get("/api/registry/persons/", {"q": _id()}).json()["results"] == []


def test_guardian_and_category_from_the_person_page(client, world):
    person = _person(world)
    verify_second_factor(client, world.users["worker_a1"])
    url = reverse("registry:person_detail", args=[person.uuid])
    client.post(
        reverse("registry:person_add_guardian", args=[person.uuid]),
        {"name": "张大山", "relation": "father", "since": "2015-06-01"},
    )
    guardian = Person.objects.get(name="张大山")
    assert guardian.kind == "adult" and person.guardianships.get().guardian == guardian
    bad = client.post(
        reverse("registry:person_add_guardian", args=[person.uuid]), {"relation": "father"}, follow=True
    )
    assert "请填写监护人姓名" in bad.content.decode()
    victim = Category.objects.get(code="victim")
    client.post(
        reverse("registry:person_add_category", args=[person.uuid]),
        {"category": victim.pk, "since": "2026-01-01"},
    )
    person.refresh_from_db()
    assert person.sensitivity == "sensitive"  # a sensitive category makes the record sensitive
    assert PersonCategory.objects.filter(person=person, category=victim).exists()
    page = client.get(url)
    assert page.status_code == 404  # the worker may not read sensitive records
    lead = client.__class__()
    verify_second_factor(lead, world.users["lead_a1"])
    body = lead.get(url).content.decode()
    assert "张大山" in body and "被侵害未成年人" in body


def test_documents_follow_the_person_rule(world):
    person = _person(world)
    services.add_document(person, "mainland_id", _id(), actor=world.users["worker_a1"])
    assert IdentityDocument.objects.visible_to(world.users["worker_a1"]).count() == 1
    assert IdentityDocument.objects.visible_to(world.users["worker_b1"]).count() == 0
    assert IdentityDocument.objects.visible_to(world.users["sysadmin"]).count() == 0


def test_api_adds_documents_with_field_errors(client, world):
    person = _person(world)
    verify_second_factor(client, world.users["worker_a1"])
    url = f"/api/registry/persons/{person.uuid}/documents/"
    bad = client.post(
        url, {"type": "mainland_id", "number": "310101201506010021"}, content_type="application/json"
    )
    assert bad.status_code == 400 and "校验位" in bad.json()["errors"]["number"][0]
    ok = client.post(url, {"type": "mainland_id", "number": _id()}, content_type="application/json")
    assert ok.status_code == 201 and ok.json()["number_masked"].startswith("310101")
    detail = client.get(f"/api/registry/persons/{person.uuid}/").json()
    assert detail["documents"][0]["number_masked"] == ok.json()["number_masked"] and _id() not in str(detail)


def test_categories_are_data_edited_by_city_roles(client, world):
    verify_second_factor(client, world.users["city"])
    assert client.get(reverse("registry:category_list")).status_code == 200
    response = client.post(
        reverse("registry:category_add"),
        {
            "code": "school_refusal",
            "name": "厌学拒学",
            "name_en": "School refusal",
            "sort_order": 200,
            "is_active": "on",
        },
    )
    assert response.status_code == 302 and Category.objects.filter(code="school_refusal").exists()
    assert AuditEvent.objects.filter(object_type="registry.category", action="create").exists()
    duplicate = client.post(
        reverse("registry:category_add"), {"code": "orphan", "name": "x", "sort_order": 1}
    )
    assert duplicate.status_code == 200 and "invalid-feedback" in duplicate.content.decode()
    worker = client.__class__()
    verify_second_factor(worker, world.users["worker_a1"])
    assert worker.get(reverse("registry:category_list")).status_code == 403
    assert (
        worker.post(reverse("registry:category_add"), {"code": "x", "name": "x", "sort_order": 1}).status_code
        == 403
    )


def test_export_refuses_bad_filters_and_masks_searched_ids(client, world):
    person = _person(world)
    Person.objects.create(name="无街镇", sex="M")  # a person without a street: exported, not a crash
    verify_second_factor(client, world.users["city"])
    bad = client.get(reverse("registry:person_export"), {"birth_date": "2015-13-45"})
    assert bad.status_code == 400 and "出生日期" in bad.content.decode()
    ok = client.get(reverse("registry:person_export"))
    body = b"".join(ok.streaming_content).decode("utf-8-sig")
    assert str(person.uuid) in body and "无街镇" in body
    client.get(reverse("registry:person_list"), {"q": _id()})
    event = AuditEvent.objects.filter(action="search").latest("seq")
    assert _id() not in str(event.extra) and event.extra["q"] == _id()[:6] + "********" + _id()[-4:]


def test_api_list_masks_phone_and_detail_hides_guardians_out_of_scope(client, world):
    from weibao.lib.testing import B1
    from weibao.registry.models import Guardianship

    person = services.save_person(
        Person(
            name="张三",
            sex="F",
            birth_date="2015-06-01",
            street=area(A1),
            phone="13912345678",
            address="南京东路1号",
        ),
        actor=world.users["city"],
    )
    far = Person.objects.create(name="远方监护人", kind="adult", street=area(B1))
    near = Person.objects.create(name="本街监护人", kind="adult", street=area(A1))
    Guardianship.objects.create(minor=person, guardian=far, relation="father")
    Guardianship.objects.create(minor=person, guardian=near, relation="mother")
    verify_second_factor(client, world.users["worker_a1"])
    row = next(
        r for r in client.get("/api/registry/persons/").json()["results"] if r["uuid"] == str(person.uuid)
    )
    assert row["phone"] == "139****5678" and "address" not in row
    detail = client.get(f"/api/registry/persons/{person.uuid}/").json()
    assert [g["guardian_name"] for g in detail["guardianships"]] == ["本街监护人"]


def test_api_person_search_is_audited_with_the_id_number_masked(client, world):
    person = _person(world)
    services.add_document(person, "mainland_id", _id(), actor=world.users["worker_a1"])
    verify_second_factor(client, world.users["worker_a1"])
    found = client.get("/api/registry/persons/", {"q": _id()}).json()["results"]
    assert [r["uuid"] for r in found] == [str(person.uuid)]
    event = AuditEvent.objects.filter(action="search", object_type="registry.person").latest("seq")
    assert event.actor_username == "worker_a1" and event.extra["ids"] == [str(person.uuid)]
    assert event.extra["query"]["q"] == [_id()[:6] + "********" + _id()[-4:]]
    assert _id() not in str(event.extra)
    client.get("/api/registry/persons/", {"q": "zs"})
    event = AuditEvent.objects.filter(action="search", object_type="registry.person").latest("seq")
    assert event.extra["query"] == {"q": ["zs"]}  # a name is kept as typed


@pytest.mark.parametrize(
    "body,field",
    [([], "non_field_errors"), ({"reason": None}, "reason"), ({"reason": "长" * 501}, "reason")],
)
def test_reveal_api_refuses_a_bad_body_naming_the_field(client, world, body, field):
    person = _person(world)
    document = services.add_document(person, "mainland_id", _id(), actor=world.users["worker_a1"])
    verify_second_factor(client, world.users["city"])
    url = f"/api/registry/documents/{document.pk}/reveal/"
    response = client.post(url, body, content_type="application/json")
    assert response.status_code == 400 and field in response.json()["errors"]
    assert not AuditEvent.objects.filter(action="view_full_id").exists()
    ok = client.post(url, {"reason": "核" * 500}, content_type="application/json")
    assert ok.status_code == 200 and ok.json() == {"number": _id()}
    assert AuditEvent.objects.get(action="view_full_id").reason == "核" * 500


def test_reveal_page_refuses_a_reason_over_500_characters(client, world):
    person = _person(world)
    document = services.add_document(person, "mainland_id", _id(), actor=world.users["worker_a1"])
    verify_second_factor(client, world.users["city"])
    url = reverse("registry:document_reveal", args=[document.pk])
    response = client.post(url, {"reason": "长" * 501})
    assert response.status_code == 400 and "事由" in response.content.decode()
    assert _id() not in response.content.decode()
    assert not AuditEvent.objects.filter(action="view_full_id").exists()


def test_a_document_added_twice_at_once_is_a_field_error(world):
    """Two submits both pass the "already registered" check; the second insert meets the constraint."""
    from unittest import mock

    person = _person(world)
    real_create = IdentityDocument.objects.create

    def create_after_a_concurrent_one(**kwargs):
        IdentityDocument(**kwargs).save()  # the other request's row, committed between check and insert
        return real_create(**kwargs)

    with mock.patch.object(IdentityDocument.objects, "create", side_effect=create_after_a_concurrent_one):
        with pytest.raises(ValidationError) as exc:
            services.add_document(person, "mainland_id", _id(), actor=world.users["worker_a1"])
    assert "已登记" in exc.value.message_dict["number"][0]
    # the service's transaction rolled back (the "other" row with it, here); the caller's is still usable
    assert not IdentityDocument.objects.filter(person=person).exists()


def test_the_minors_list_shows_minors_unless_asked_for_guardians(world):
    from weibao.lib.testing import signed_in

    guardian = Person.objects.create(name="张监护", kind="adult", sex="F", street=area(A1))
    client = signed_in(world.users["city"])
    listed = lambda **params: {p.pk for p in client.get("/registry/persons/", params).context["object_list"]}  # noqa: E731
    assert guardian.pk not in listed() and world.persons["a1"].pk in listed()
    assert listed(kind="adult") == {guardian.pk}
    assert {guardian.pk, world.persons["a1"].pk} <= listed(kind="all")
    home = client.get("/").context["cards"]
    minors = Person.objects.filter(kind="minor").count()
    assert ("未成年人（辖区内）", minors, "registry:person_list") in home


def test_the_person_page_costs_the_same_queries_however_many_departments_sent_about_the_child(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from weibao.lib.testing import org, signed_in
    from weibao.registry.models import DepartmentLink

    person, client = world.persons["a1"], signed_in(world.users["city"])

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("registry:person_detail", args=[person.uuid])).status_code == 200
        return len(captured)

    DepartmentLink.objects.create(person=person, organisation=org("police", "310101"), basis="sent")
    one = queries()
    for code in ("310104", "310105", "310106"):
        DepartmentLink.objects.create(person=person, organisation=org("police", code), basis="sent")
    assert queries() == one

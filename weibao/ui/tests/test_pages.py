"""Every page renders for a persona allowed to use it; errors sit beside their fields; languages switch."""

import pytest
from django.urls import reverse

from weibao.lib.testing import A1, verify_second_factor

pytestmark = pytest.mark.django_db


def _as(client, world, persona):
    verify_second_factor(client, world.users[persona])
    return client


PAGES = [
    ("city", "ui:home", []),
    ("worker_a1", "ui:home", []),
    ("reporter", "ui:home", []),
    ("auditor", "ui:home", []),
    ("sysadmin", "ui:home", []),
    ("secadmin", "ui:home", []),
    ("norole", "ui:home", []),
    ("city", "registry:person_list", []),
    ("worker_a1", "registry:person_add", []),
    ("city", "accounts:organisation_list", []),
    ("sysadmin", "accounts:organisation_add", []),
    ("sysadmin", "accounts:organisation_import", []),
    ("sysadmin", "accounts:user_list", []),
    ("sysadmin", "accounts:user_add", []),
    ("city", "accounts:tokens", []),
    ("auditor", "audit:event_list", []),
]


@pytest.mark.parametrize("persona,name,args", PAGES)
def test_page_renders(client, world, persona, name, args):
    response = _as(client, world, persona).get(reverse(name, args=args))
    assert response.status_code == 200
    assert "上海市未成年人保护信息管理系统" in response.content.decode()


def test_detail_pages_render(client, world):
    c = _as(client, world, "city")
    person = world.persons["a1"]
    assert "测试a1" in c.get(reverse("registry:person_detail", args=[person.uuid])).content.decode()
    c = _as(client, world, "secadmin")
    body = c.get(reverse("accounts:user_detail", args=[world.users["worker_a1"].uuid])).content.decode()
    assert "授予角色" in body and "街镇工作站社工" in body


def test_person_list_masks_names_and_detail_view_is_audited(client, world):
    from weibao.audit.models import AuditEvent

    c = _as(client, world, "worker_a1")
    listing = c.get(reverse("registry:person_list")).content.decode()
    from weibao.lib.masking import mask_name

    assert mask_name("测试a1") in listing and "测试a1<" not in listing
    c.get(reverse("registry:person_detail", args=[world.persons["a1"].uuid]))
    assert AuditEvent.objects.filter(
        action="view", object_id=str(world.persons["a1"].uuid), actor_id=world.users["worker_a1"].pk
    ).exists()


def test_person_form_shows_errors_beside_fields(client, world):
    c = _as(client, world, "worker_a1")
    response = c.post(
        reverse("registry:person_add"),
        {"name": "", "sex": "F", "birth_date": "2015-02-30", "sensitivity": "normal"},
    )
    body = response.content.decode()
    assert response.status_code == 200 and body.count("invalid-feedback") >= 3  # name, birth date, street


def test_worker_cannot_register_a_person_outside_their_street(client, world):
    from weibao.accounts.models import Area
    from weibao.registry.models import Person

    c = _as(client, world, "worker_a1")
    other = Area.objects.get(code="310115004")
    response = c.post(
        reverse("registry:person_add"),
        {"kind": "minor", "name": "越界", "sex": "F", "street": other.pk, "sensitivity": "normal"},
    )
    assert response.status_code == 200 and "不在您的管辖范围内" in response.content.decode()
    assert not Person.objects.filter(name="越界").exists()
    ok = c.post(
        reverse("registry:person_add"),
        {
            "kind": "minor",
            "name": "本街",
            "sex": "F",
            "street": Area.objects.get(code=A1).pk,
            "sensitivity": "normal",
        },
    )
    assert ok.status_code == 302 and Person.objects.filter(name="本街").exists()


def test_organisation_form_rejects_a_wrong_credit_code(client, world):
    from weibao.accounts.models import Area, OrganisationType

    c = _as(client, world, "sysadmin")
    response = c.post(
        reverse("accounts:organisation_add"),
        {
            "name": "测试学校",
            "type": OrganisationType.objects.get(code="school").pk,
            "area": Area.objects.get(code=A1).pk,
            "uscc": "12310101425012345X",
            "is_active": "on",
        },
    )
    assert response.status_code == 200 and "校验位错误" in response.content.decode()


def test_api_errors_name_the_field(client, world):
    c = _as(client, world, "sysadmin")
    response = c.post(
        "/api/accounts/organisations/",
        {"name": "测试学校", "type": "school", "area": A1, "uscc": "12310101425012345X"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "uscc" in response.json()["errors"] and "校验位" in response.json()["errors"]["uscc"][0]
    response = c.post(
        "/api/accounts/organisations/",
        {"name": "测试学校", "type": "nope", "area": A1},
        content_type="application/json",
    )
    assert response.status_code == 400 and "type" in response.json()["errors"]


def test_api_creates_organisation_through_the_service(client, world):
    from weibao.audit.models import AuditEvent

    c = _as(client, world, "sysadmin")
    response = c.post(
        "/api/accounts/organisations/",
        {"name": "API学校", "type": "school", "area": A1},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert AuditEvent.objects.filter(action="create", object_id=response.json()["uuid"]).exists()


def test_unknown_page_gets_the_404_page(client, world):
    response = _as(client, world, "city").get("/no/such/page/")
    assert response.status_code == 404 and "未找到" in response.content.decode()


def test_english_is_switchable(client, world):
    c = _as(client, world, "city")
    c.post(reverse("set_language"), {"language": "en", "next": "/"})
    body = c.get(reverse("ui:home")).content.decode()
    assert 'lang="en"' in body and "Minor Protection" in body


def test_openapi_document_is_served(client, world):
    response = _as(client, world, "city").get("/api/schema/")
    assert response.status_code == 200 and b"/api/registry/persons/" in response.content


def test_static_assets_are_self_hosted(client, world):
    body = _as(client, world, "city").get(reverse("ui:home")).content.decode()
    assert "/static/vendor/tabler/" in body and "/static/vendor/htmx/" in body
    assert "cdn" not in body.lower() and "https://" not in body


def test_api_reference_page_is_self_hosted(client, world):
    from django.contrib.staticfiles import finders

    body = _as(client, world, "city").get(reverse("api-docs")).content.decode()
    assert "cdn" not in body.lower() and "https://" not in body and "http://" not in body
    for asset in (
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
        "swagger-ui.css",
        "favicon-32x32.png",
    ):
        assert f"/static/vendor/swagger-ui/{asset}" in body
        assert finders.find(f"vendor/swagger-ui/{asset}"), asset  # installed from npm by scripts/setup
    assert '"validatorUrl": null' in body  # no call to the public schema validator


def test_select_placeholders_are_chinese(client, world):
    body = _as(client, world, "worker_a1").get(reverse("registry:person_add")).content.decode()
    assert "Select an option" not in body and "（请选择" in body


def test_department_home_shows_its_batches_and_records_to_fix(client, world):
    from weibao.feeds.tests.helpers import bad_check, id_number, police_feed, record

    feed = police_feed(world)
    c = _as(client, world, "police_a")
    records = [record(1), record(2, id_number=bad_check(id_number(2)))]
    response = c.post(
        f"/api/feeds/{feed.code}/batches/",
        {"idempotency_key": "k1", "records": records},
        content_type="application/json",
    )
    assert response.status_code == 201
    body = c.get(reverse("ui:home")).content.decode()
    assert "本月报送批次" in body and "待修正记录" in body


def test_workstation_home_counts_pairs_to_review(client, world):
    body = _as(client, world, "worker_a1").get(reverse("ui:home")).content.decode()
    assert "待复核匹配" in body


def test_an_audit_event_reads_as_text_not_as_python(client, world):
    from weibao.audit.models import AuditEvent
    from weibao.audit.services import record

    record(
        world.users["city"], "search", object_type="registry.person", extra={"query": {"q": ["张"]}, "n": 3}
    )
    event = AuditEvent.objects.order_by("seq").last()
    page = _as(client, world, "auditor").get(reverse("audit:event_detail", args=[event.seq])).content.decode()
    assert "{&#x27;" not in page and "&#x27;q&#x27;" not in page  # no Python dict repr
    assert "&quot;q&quot;: [" in page and "张" in page  # the details as JSON, Chinese as written
    assert "人员" in page or "未成年人" in page  # the object type by its name, not "registry.person"
    listing = _as(client, world, "auditor").get(reverse("audit:event_list")).content.decode()
    assert ">registry.person<" not in listing


def test_vocabularies_kept_as_data_read_in_english_when_english_is_chosen(client, world):
    from django.utils import translation

    from weibao.alerts.models import AlertLevel
    from weibao.feeds.models import EventType
    from weibao.lib.i18n import localized_name

    level, event_type = AlertLevel.objects.get(code="critical"), EventType.objects.get(code="edu_absence")
    with translation.override("en"):
        assert (str(level), str(event_type)) == ("Critical", event_type.name_en)
    with translation.override("zh-hans"):
        assert (str(level), localized_name(event_type)) == ("极危", "无故缺课")


def test_a_mandated_reporter_files_a_report_from_the_home_page(client, world):
    new = reverse("reports:new")
    assert new in _as(client, world, "reporter").get(reverse("ui:home")).content.decode()
    client.logout()
    assert new not in _as(client, world, "auditor").get(reverse("ui:home")).content.decode()

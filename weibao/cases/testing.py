"""Case fixtures on top of ``build_world``: one case per street, one referred to the city education unit."""

from weibao.lib.testing import A1, B1, build_world, org

from . import services


def open_test_case(actor, persons, street=A1, **kw):
    values = dict(
        workstation=org("workstation", street),
        case_type="guardianship",
        risk_level="high",
        priority="normal",
        origin="manual",
        reason="测试立案",
    )
    values.update(kw)
    return services.open_case(actor, persons=persons, **values)


def build_case_world():
    """``build_world`` plus: case_a1 (worker_a1's), case_a1_sensitive, case_b1 (worker_b1's), and
    case_a1_referred (referred to the city education member unit ``edu``)."""
    world = build_world()
    u, p = world.users, world.persons
    world.cases = {
        "a1": open_test_case(u["worker_a1"], [p["a1"]]),
        "a1_sensitive": open_test_case(u["lead_a1"], [p["a1_sensitive"]]),
        "b1": open_test_case(u["worker_b1"], [p["b1"]], street=B1),
        "a1_referred": open_test_case(u["worker_a1"], [p["a1"]], case_type="victim"),
    }
    services.send_referral(
        world.cases["a1_referred"], u["worker_a1"], to_organisation=world.orgs["edu"], reason="需要学业支持"
    )
    return world


def supervision_order(issuer) -> dict:
    """The form data of a supervision order issued by ``issuer`` (a court or police organisation)."""
    return {
        "kind": "supervision_order",
        "started_on": "2026-01-05",
        "status": "ongoing",
        "issuer": issuer.pk,
        "issued_on": "2026-01-04",
        "terms": "监护人每月报告",
    }

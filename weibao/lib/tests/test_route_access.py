"""Every named URL route against the one scoping rule (NetBox-style generic access test).

``ROUTES`` declares, for each route that names an object in its URL, the methods to try, the kind of object
to build, the URL arguments for it and the *oracle*: the ``visible_to(user, action)`` question the view must
ask (or, for catalogues and one's own rows, the ``access`` predicate or ownership the view applies). For
every persona (and an anonymous visitor) the oracle says may not reach the object, each method must be
refused — 404, 403, 401 (API) or a redirect to sign-in / second factor (pages) — never 200, 201, 204, 400 (a
400 means the view already let the user in to validate the input) or a redirect elsewhere. Then one persona
the oracle lets in must not get a 404/405 (so a wrong URL cannot make the test pass silently).

``EXEMPT`` names every other route with its reason; a route added later fails
``test_every_route_is_declared_or_exempt`` until it is declared in one or the other.
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from urllib.parse import urlparse

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from weibao.accounts import access
from weibao.accounts import services as account_services
from weibao.accounts.access import CHANGE, EXPORT, SEND, VIEW
from weibao.accounts.models import Organisation, OrganisationType, RoleAssignment, User
from weibao.alerts.models import Alert, Rule
from weibao.alerts.testing import dv_alerts
from weibao.audit.models import AuditAction, AuditEvent
from weibao.audit.services import record as audit_record
from weibao.cases import services as case_services
from weibao.cases.models import (
    Assessment,
    Attachment,
    Case,
    CaseTransition,
    Instrument,
    Intervention,
    Note,
    PlanItem,
    Referral,
)
from weibao.cases.testing import open_test_case
from weibao.feeds import services as feed_services
from weibao.feeds.choices import LandingStatus
from weibao.feeds.models import Batch, EventType, Feed, LandingRecord
from weibao.feeds.tests.helpers import bad_check, police_feed
from weibao.feeds.tests.helpers import id_number as feed_id_number
from weibao.feeds.tests.helpers import record as feed_record
from weibao.lib.testing import B1, area, org, signed_in
from weibao.notifications.models import Notification
from weibao.registry import services as registry_services
from weibao.registry.choices import DocumentType
from weibao.registry.models import Category, IdentityDocument, MatchCandidate, Person
from weibao.reports import attachments as report_attachments
from weibao.reports.choices import Situation
from weibao.reports.models import Draft, Report
from weibao.reports.testing import id_number as report_id_number
from weibao.reports.testing import make_report

PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 64
ANONYMOUS = "anonymous"

# --- oracles: may ``user`` reach ``obj`` through this route? ---------------------------------------------


def scoped(model, action=VIEW, via=None):
    """``model.objects.visible_to(user, action)`` holds the object (or the object at path ``via``)."""

    def oracle(user, obj):
        target = attrgetter(via)(obj) if via else obj
        return model.objects.visible_to(user, action).filter(pk=target.pk).exists()

    oracle.label = f"{model.__name__}.visible_to({action}){f' of .{via}' if via else ''}"
    return oracle


def both(first, second):
    def oracle(user, obj):
        return first(user, obj) and second(user, obj)

    oracle.label = f"{first.label} and {second.label}"
    return oracle


def allowed(predicate):
    """An ``access`` predicate about the user alone (shared catalogues, not scoped rows)."""

    def oracle(user, obj):
        return predicate(user)

    oracle.label = predicate.__name__
    return oracle


def about(predicate, via=None):
    """An ``access`` predicate about the user and the object (e.g. ``may_see_report_details``)."""

    def oracle(user, obj):
        return predicate(user, attrgetter(via)(obj) if via else obj)

    oracle.label = predicate.__name__
    return oracle


def owned(field):
    def oracle(user, obj):
        return getattr(obj, f"{field}_id") == user.pk

    oracle.label = f"own ({field})"
    return oracle


def signed_in_user(user, obj):
    return user.is_authenticated


signed_in_user.label = "signed in (reference data)"


# --- objects of each kind, about the A1 street child (and a sensitive one where records can be) ----------


def _dup(world, key):
    """A second record of the same child: same street and sensitivity."""
    p = world.persons[key]
    return Person.objects.create(
        name=p.name, sex=p.sex, birth_date=p.birth_date, street=p.street, sensitivity=p.sensitivity
    )


CHILDREN = ("a1", "a1_sensitive")


def persons(world):
    return [world.persons[k] for k in CHILDREN]


def documents(world):
    return [
        registry_services.add_document(
            world.persons[k], DocumentType.MAINLAND_ID, report_id_number(i), actor=world.users["city"]
        )
        for i, k in enumerate(CHILDREN, 1)
    ]


def merges(world):
    return [
        registry_services.merge_persons(
            world.persons[k], _dup(world, k), actor=world.users["city"], reason="测试合并"
        )
        for k in CHILDREN
    ]


def candidates(world):
    return [
        MatchCandidate.objects.create(
            person=world.persons[k], other=_dup(world, k), match_probability=0.8, model_version="t"
        )
        for k in CHILDREN
    ]


def _batch(world):
    records = [feed_record(1), feed_record(2, id_number=bad_check(feed_id_number(2)))]
    batch, _ = feed_services.ingest_records(police_feed(world), "k", records, actor=world.users["police_a"])
    return batch


def landing_records(world):
    return [LandingRecord.objects.get(batch=_batch(world), status=LandingStatus.REJECTED)]


def reports(world):
    return [
        make_report(world),
        make_report(world, situation=Situation.UNDER14_SEXUAL, minor_name="李小红", minor_sex="F"),
    ]


def report_files(world):
    return [
        report_attachments.store(report, SimpleUploadedFile("伤情.png", PNG)) for report in reports(world)
    ]


def cases(world):
    """The A1 child's case referred to the city education unit, and the sensitive child's case."""
    u, p = world.users, world.persons
    referred = open_test_case(u["worker_a1"], [p["a1"]])
    case_services.send_referral(
        referred, u["worker_a1"], to_organisation=world.orgs["edu"], reason="需要学业支持"
    )
    return [referred, open_test_case(u["lead_a1"], [p["a1_sensitive"]])]


def _case(world):
    return cases(world)[0]


def _lead(world):
    """Workstation lead of A1 (may read sensitive records): may change both cases."""
    return world.users["lead_a1"]


def approvals(world):
    return [case_services.request_approval(c, _lead(world), reason="无保护需求") for c in cases(world)]


def plan_items(world):
    return [case_services.add_plan_item(c, _lead(world), kind="goal", title="恢复上学") for c in cases(world)]


def interventions(world):
    started = datetime.date.today()
    return [
        case_services.add_intervention(c, _lead(world), kind="counselling", started_on=started)
        for c in cases(world)
    ]


def referrals(world):
    return [_case(world).referrals.get()]


def notes(world):
    return [case_services.add_note(c, _lead(world), kind="visit", text="入户走访") for c in cases(world)]


def assessments(world):
    instrument = Instrument.objects.get(code="risk_screen", is_active=True)
    answers = {item.code: 0 for d in instrument.domains.all() for item in d.items.all()}
    return [
        case_services.record_assessment(
            c, _lead(world), person=c.persons.get(), instrument=instrument, answers=answers
        )
        for c in cases(world)
    ]


def transitions(world):
    return [CaseTransition.objects.get(case=c) for c in cases(world)]  # opening: "— → intake"


def case_attachments(world):
    """One shared with the referral's receiver, one internal (a visit note's photo)."""
    case, worker = _case(world), _lead(world)
    shared = case_services.add_attachment(
        case, worker, SimpleUploadedFile("转介材料.pdf", b"%PDF-1.4 x"), referral=case.referrals.get()
    )
    note = case_services.add_note(
        case, worker, kind="note", text="内部", files=[SimpleUploadedFile("内部.png", PNG)]
    )
    return [shared, Attachment.objects.get(note=note)]


def alerts(world):
    fired = dv_alerts(world, CHILDREN)
    return [fired[world.persons[k].pk] for k in CHILDREN]


KINDS: dict[str, Callable] = {
    "organisation": lambda w: [org("workstation", B1)],
    "user": lambda w: [w.users["worker_b1"]],
    "role": lambda w: [w.users["worker_b1"].role_assignments.get()],
    "token": lambda w: [account_services.create_token(actor=w.users["worker_b1"], name="t", days=30)[0]],
    "audit_event": lambda w: [audit_record(w.users["worker_b1"], AuditAction.LOGIN, w.users["worker_b1"])],
    "notification": lambda w: [
        Notification.objects.create(recipient=w.users["worker_b1"], kind="t", subject="t")
    ],
    "area": lambda w: [area(B1)],
    "organisation_type": lambda w: [OrganisationType.objects.get(code="workstation")],
    "category": lambda w: [Category.objects.order_by("pk").first()],
    "event_type": lambda w: [EventType.objects.get(code="police_dv_callout")],
    "person": persons,
    "document": documents,
    "merge": merges,
    "candidate": candidates,
    "feed": lambda w: [police_feed(w)],
    "batch": lambda w: [_batch(w)],
    "landing": landing_records,
    "report": reports,
    "report_attachment": report_files,
    "draft": lambda w: [Draft.objects.create(owner=w.users["reporter"], data={})],
    "case": cases,
    "approval": approvals,
    "plan_item": plan_items,
    "intervention": interventions,
    "referral": referrals,
    "note": notes,
    "assessment": assessments,
    "transition": transitions,
    "case_attachment": case_attachments,
    "alert": alerts,
    "rule": lambda w: [Rule.objects.get(code="dv_repeated")],
}

# --- the table ---------------------------------------------------------------------------------------------

GET, POST, GET_POST = ("GET",), ("POST",), ("GET", "POST")


def uuid_(o):
    return {"uuid": o.uuid}


def pk(o):
    return {"pk": o.pk}


def code(o):
    return {"code": o.code}


def in_case(name):
    """A row addressed under its case: ``/cases/<case>/…/<row>/``."""
    return lambda o: {"uuid": o.case.uuid, name: o.uuid}


@dataclass(frozen=True)
class Route:
    name: str
    methods: tuple[str, ...]
    kind: str
    kwargs: Callable
    oracle: Callable
    query: str = ""

    @property
    def id(self) -> str:
        return f"{self.name}-{'+'.join(self.methods)}"

    @property
    def api(self) -> bool:
        return self.name.startswith("api:")


R = Route
CASE_CHANGE = scoped(Case, CHANGE, via="case")
REFERRAL_RECEIVER = both(scoped(Referral), about(access.may_respond_to_referral))
CANDIDATE = both(scoped(MatchCandidate, CHANGE), scoped(Person, CHANGE, via="other"))
MERGE = scoped(Person, CHANGE, via="survivor")
CATALOGUE = allowed(access.can_configure_catalogues)
REPORT_DETAILS = both(scoped(Report, via="report"), about(access.may_see_report_details, "report"))
ROUTES = [
    # accounts
    R("accounts:organisation_detail", GET, "organisation", uuid_, scoped(Organisation)),
    R("accounts:organisation_edit", GET_POST, "organisation", uuid_, scoped(Organisation, CHANGE)),
    R("accounts:user_detail", GET_POST, "user", uuid_, scoped(User)),
    R("accounts:user_edit", GET_POST, "user", uuid_, scoped(User, CHANGE)),
    R("accounts:user_unlock", GET_POST, "user", uuid_, scoped(User)),
    R("accounts:user_reset_second_factor", GET_POST, "user", uuid_, scoped(User)),
    R("accounts:role_revoke", POST, "role", pk, scoped(RoleAssignment, CHANGE)),
    R("accounts:token_revoke", GET_POST, "token", uuid_, owned("user")),
    R("api:area-detail", GET, "area", code, signed_in_user),
    R("api:organisationtype-detail", GET, "organisation_type", code, signed_in_user),
    R("api:organisation-detail", GET, "organisation", uuid_, scoped(Organisation)),
    R("api:organisation-detail", ("PATCH",), "organisation", uuid_, scoped(Organisation, CHANGE)),
    R("api:user-detail", GET, "user", uuid_, scoped(User)),
    R("api:token-revoke", POST, "token", uuid_, owned("user")),
    # audit
    R("audit:event_detail", GET, "audit_event", lambda o: {"seq": o.seq}, scoped(AuditEvent)),
    R("api:auditevent-detail", GET, "audit_event", lambda o: {"seq": o.seq}, scoped(AuditEvent)),
    # registry
    R("registry:person_detail", GET, "person", uuid_, scoped(Person)),
    R("registry:person_edit", GET_POST, "person", uuid_, scoped(Person, CHANGE)),
    R("registry:person_add_document", GET_POST, "person", uuid_, scoped(Person, CHANGE)),
    R("registry:person_add_guardian", GET_POST, "person", uuid_, scoped(Person, CHANGE)),
    R("registry:person_add_category", GET_POST, "person", uuid_, scoped(Person, CHANGE)),
    R(
        "registry:person_split",
        GET_POST,
        "merge",
        lambda o: {"uuid": o.survivor.uuid, "merge": o.uuid},
        MERGE,
    ),
    R("registry:document_reveal", POST, "document", pk, scoped(IdentityDocument)),
    R("registry:category_edit", GET_POST, "category", pk, CATALOGUE),
    R("api:person-detail", GET, "person", uuid_, scoped(Person)),
    R("api:person-detail", ("PATCH",), "person", uuid_, scoped(Person, CHANGE)),
    R("api:person-documents", POST, "person", uuid_, scoped(Person, CHANGE)),
    R("api:person-merge", POST, "person", uuid_, scoped(Person, CHANGE)),
    R("api:document-reveal", POST, "document", pk, scoped(IdentityDocument)),
    R("api:merge-detail", GET, "merge", uuid_, MERGE),
    R("api:merge-split", POST, "merge", uuid_, MERGE),
    R("api:matchcandidate-detail", GET, "candidate", uuid_, CANDIDATE),
    R("api:matchcandidate-decide", POST, "candidate", uuid_, CANDIDATE),
    # feeds
    R("feeds:feed_detail", GET, "feed", uuid_, scoped(Feed)),
    R("feeds:feed_edit", GET_POST, "feed", uuid_, scoped(Feed, CHANGE)),
    R("feeds:feed_upload", GET_POST, "feed", uuid_, scoped(Feed, SEND)),
    R("feeds:batch_detail", GET, "batch", uuid_, scoped(Batch)),
    R("feeds:landing_fix", GET_POST, "landing", pk, scoped(LandingRecord, SEND)),
    R("feeds:landing_discard", POST, "landing", pk, scoped(LandingRecord, SEND)),
    R("feeds:eventtype_edit", GET_POST, "event_type", pk, CATALOGUE),
    R("api:event-type-detail", GET, "event_type", code, signed_in_user),
    R("api:feed-detail", GET, "feed", code, scoped(Feed)),
    R("api:feed-batches", GET, "feed", code, scoped(Feed)),
    R("api:feed-batches", POST, "feed", code, scoped(Feed, SEND)),
    R("api:batch-detail", GET, "batch", uuid_, scoped(Batch)),
    R("api:landing-record-detail", GET, "landing", pk, scoped(LandingRecord, SEND)),
    R("api:landing-record-fix", POST, "landing", pk, scoped(LandingRecord, SEND)),
    R("api:landing-record-discard", POST, "landing", pk, scoped(LandingRecord, SEND)),
    # notifications
    R("api:notification-detail", GET, "notification", pk, scoped(Notification)),
    # reports
    R("reports:detail", GET, "report", uuid_, scoped(Report)),
    *(
        R(f"reports:{step}", POST, "report", uuid_, scoped(Report, CHANGE))
        for step in ("acknowledge", "decide", "contact", "feedback", "close", "merge", "link_person")
    ),
    R("reports:attachment", GET, "report_attachment", uuid_, REPORT_DETAILS),
    R("reports:draft_delete", POST, "draft", uuid_, owned("owner")),
    R("api:report-detail", GET, "report", uuid_, scoped(Report)),
    # cases
    R("cases:case_detail", GET, "case", uuid_, scoped(Case)),
    R("cases:case_pdf", GET, "case", uuid_, scoped(Case, EXPORT)),
    *(
        R(f"cases:{name}", POST, "case", uuid_, scoped(Case, CHANGE))
        for name in (
            "case_transition",
            "case_request_approval",
            "case_update",
            "note_add",
            "plan_add",
            "intervention_add",
            "referral_send",
        )
    ),
    R("cases:assessment_new", GET_POST, "case", uuid_, scoped(Case, CHANGE), "?instrument=risk_screen"),
    R(
        "cases:organisation_picker",
        GET,
        "case",
        uuid_,
        scoped(Case, CHANGE),
        "?field=to_organisation&q=%E6%95%99%E8%82%B2",  # q=教育
    ),
    R("cases:approval_decide", POST, "approval", in_case("approval_uuid"), CASE_CHANGE),
    R("cases:plan_status", POST, "plan_item", in_case("item_uuid"), CASE_CHANGE),
    R("cases:intervention_update", POST, "intervention", in_case("intervention_uuid"), CASE_CHANGE),
    R("cases:compliance_add", POST, "intervention", in_case("intervention_uuid"), CASE_CHANGE),
    R("cases:referral_withdraw", POST, "referral", in_case("referral_uuid"), CASE_CHANGE),
    R("cases:referral_detail", GET, "referral", uuid_, scoped(Referral)),
    R("cases:referral_respond", POST, "referral", uuid_, REFERRAL_RECEIVER),
    R("cases:referral_report", POST, "referral", uuid_, REFERRAL_RECEIVER),
    R("cases:attachment", GET, "case_attachment", uuid_, scoped(Attachment)),
    R("api:case-detail", GET, "case", uuid_, scoped(Case)),
    *(
        R(f"api:case-{name}", POST, "case", uuid_, scoped(Case, CHANGE))
        for name in ("transition", "request-approval", "decide")
    ),
    R("api:casetransition-detail", GET, "transition", pk, scoped(CaseTransition)),
    R("api:assessment-detail", GET, "assessment", uuid_, scoped(Assessment)),
    R("api:planitem-detail", GET, "plan_item", uuid_, scoped(PlanItem)),
    R("api:planitem-detail", ("PATCH",), "plan_item", uuid_, scoped(PlanItem, CHANGE)),
    R("api:intervention-detail", GET, "intervention", uuid_, scoped(Intervention)),
    R("api:referral-detail", GET, "referral", uuid_, scoped(Referral)),
    R("api:referral-respond", POST, "referral", uuid_, REFERRAL_RECEIVER),
    R("api:referral-report", POST, "referral", uuid_, REFERRAL_RECEIVER),
    R("api:referral-withdraw", POST, "referral", uuid_, scoped(Referral, CHANGE)),
    R("api:note-detail", GET, "note", uuid_, scoped(Note)),
    # alerts
    R("alerts:alert_detail", GET, "alert", uuid_, scoped(Alert)),
    R("alerts:alert_transition", POST, "alert", uuid_, scoped(Alert, CHANGE)),
    R("alerts:rule_detail", GET, "rule", uuid_, scoped(Rule)),
    R("alerts:rule_edit", GET_POST, "rule", uuid_, scoped(Rule, CHANGE)),
    R("alerts:rule_dry_run", POST, "rule", uuid_, scoped(Rule, CHANGE)),
    R(
        "alerts:rule_status",
        POST,
        "rule",
        lambda o: {"uuid": o.uuid, "status": "retired"},
        scoped(Rule, CHANGE),
    ),
    R("api:alert-detail", GET, "alert", uuid_, scoped(Alert)),
    R("api:alert-transition", POST, "alert", uuid_, scoped(Alert, CHANGE)),
    R("api:rule-detail", GET, "rule", uuid_, scoped(Rule)),
    R("api:rule-detail", ("PUT",), "rule", uuid_, scoped(Rule, CHANGE)),
    *(
        R(f"api:rule-{name}", POST, "rule", uuid_, scoped(Rule, CHANGE))
        for name in ("activate", "retire", "dry-run")
    ),
]

# Routes this test finds refusing wrongly: route id → reason. Each is a strict xfail until the view is fixed
# (then the xfail fails: remove the entry). "LEAK:" someone reached an object outside the scope; "SHAPE:" no
# object was reached, but the refusal looks like a success.
KNOWN: dict[str, str] = {}

# --- routes without an object in their URL, and why ---------------------------------------------------------

SIGN_IN = "signing in and out, second factor: before any scope applies"
LIST = "list page without an object argument: its rows come from visible_to (per-app access tests)"
FORM = "create/import form or page without an object argument: role-gated (RoleRequiredMixin / access.*)"
API_LIST = "API list (and create) without an object in the URL: rows from visible_to, per-app matrix"
OWN = "acts on the caller's own rows only (no object in the URL)"
EXEMPT: dict[str, str] = {
    "set_language": "language switch: no data",
    "accounts:login": SIGN_IN,
    "accounts:logout": SIGN_IN,
    "accounts:otp_setup": SIGN_IN,
    "accounts:otp_verify": SIGN_IN,
    "accounts:organisation_list": LIST,
    "accounts:organisation_add": FORM,
    "accounts:organisation_import": FORM,
    "accounts:organisation_export": "CSV of visible_to(export) rows, role-gated; accounts/tests/test_access",
    "accounts:user_list": LIST,
    "accounts:user_add": FORM,
    "accounts:tokens": OWN,
    "audit:event_list": LIST,
    "registry:person_list": LIST,
    "registry:person_add": FORM,
    "registry:person_export": "CSV of visible_to(export) rows; accounts/tests/test_access",
    "registry:review_queue": "pair named in the POST body; registry/tests/test_review_access.py",
    "registry:category_list": FORM,
    "registry:category_add": FORM,
    "feeds:feed_list": LIST,
    "feeds:feed_add": FORM,
    "feeds:eventtype_list": FORM,
    "feeds:eventtype_add": FORM,
    "feeds:landing_list": LIST,
    "notifications:list": OWN,
    "notifications:mark_read": OWN,
    "reports:list": LIST,
    "reports:new": FORM,
    "reports:draft_save": OWN,
    "reports:export": "CSV of visible_to(export) rows; reports/tests/test_access",
    "reports:figures": "aggregate figures (visible_to(count)), role-gated; reports/tests/test_figures",
    "reports:public": "public report form: no login by design",
    "reports:public_thanks": "public report form's receipt (the session's own number)",
    "cases:case_list": LIST,
    "cases:case_open": "open-case form: ?person/?report/?alert prefills come from visible_to(change)",
    "cases:person_picker": "HTMX search of visible_to(change) persons, role-gated",
    "cases:caseload": "aggregate counts of visible_to cases, role-gated",
    "cases:time_limits": "time-limit catalogue, role-gated",
    "cases:referral_list": LIST,
    "alerts:alert_list": LIST,
    "alerts:rule_list": LIST,
    "alerts:rule_add": FORM,
    "alerts:screen_now": FORM,
    "alerts:rules_export": "rules YAML (no person data), city office only; alerts/tests/test_access",
    "alerts:rules_import": FORM,
    "api:area-list": "reference data (areas), open to every signed-in user",
    "api:organisationtype-list": "reference data (organisation types), open to every signed-in user",
    "api:organisation-list": API_LIST,
    "api:user-list": API_LIST,
    "api:user-me": OWN,
    "api:token-list": OWN,
    "api:api-root": "DRF router roots: links only",
    "api:auditevent-list": API_LIST,
    "api:person-list": API_LIST,
    "api:merge-list": API_LIST,
    "api:matchcandidate-list": API_LIST,
    "api:event-type-list": "reference data (event catalogue), open to every signed-in user",
    "api:batch-list": API_LIST,
    "api:landing-record-list": API_LIST,
    "api:feed-list": API_LIST,
    "api:notification-list": OWN,
    "api:notification-mark-read": OWN,
    "api:partner-report-create": "partner channels (token per channel, no persona); reports/tests/test_intake",
    "api:partner-report-status": "NOT A PERSONA ROUTE: a partner channel's token reads its own external ids "
    "only; reports/tests/test_intake",
    "api:report-list": API_LIST,
    "api:case-list": API_LIST,
    "api:casetransition-list": API_LIST,
    "api:assessment-list": API_LIST,
    "api:planitem-list": API_LIST,
    "api:intervention-list": API_LIST,
    "api:referral-list": API_LIST,
    "api:note-list": API_LIST,
    "api:rule-list": API_LIST,
    "api:alert-list": API_LIST,
    "api-schema": "OpenAPI document: no data",
    "api-docs": "OpenAPI reference page: no data",
    "ui:home": "home page: counts of the caller's own scope, no object argument",
    "ui:statistics": "index of the statistics pages, each offered by its own view's predicate; no data; "
    "ui/tests/test_statistics",
}


def collected_routes() -> dict[str, set[str]]:
    """Every named route of the project (``namespace:name``) → the names of its URL arguments."""
    found: dict[str, set[str]] = {}

    def walk(resolver, namespace, inherited):
        for entry in resolver.url_patterns:
            kwargs = inherited | set(entry.pattern.regex.groupindex)
            if isinstance(entry, URLResolver):
                inner = entry.namespace and (
                    f"{namespace}:{entry.namespace}" if namespace else entry.namespace
                )
                walk(entry, inner or namespace, kwargs)
            elif isinstance(entry, URLPattern) and entry.name:
                name = f"{namespace}:{entry.name}" if namespace else entry.name
                found.setdefault(name, set()).update(kwargs - {"format"})

    walk(get_resolver(), "", set())
    return found


def test_every_route_is_declared_or_exempt():
    routes = collected_routes()
    declared = {r.name for r in ROUTES}
    assert not declared & set(EXEMPT), "declared and exempt at once"
    assert sorted(set(routes) - declared - set(EXEMPT)) == [], "new routes: declare them in ROUTES or EXEMPT"
    assert sorted((declared | set(EXEMPT)) - set(routes)) == [], "stale entries: these routes no longer exist"
    object_exempt = {n for n in EXEMPT if routes[n] and not EXEMPT[n].startswith(("TODO:", "NOT A PERSONA"))}
    assert object_exempt == set(), "routes with an object in the URL belong in ROUTES"
    assert all(routes[r.name] for r in ROUTES), "ROUTES holds only routes with an object in the URL"
    assert len({r.id for r in ROUTES}) == len(ROUTES) and {r.kind for r in ROUTES} <= set(KINDS)


# --- the check ---------------------------------------------------------------------------------------------

SIGN_IN_PATHS = {reverse("accounts:login"), reverse("accounts:otp_verify"), reverse("accounts:otp_setup")}


def send(client, method, url, api):
    if method == "GET":
        return client.get(url)
    if api:
        return client.generic(method, url, "{}", content_type="application/json")
    return client.post(url, {})


def refused(response, api) -> bool:
    if response.status_code in (403, 404) or (api and response.status_code == 401):
        return True
    return not api and response.status_code == 302 and urlparse(response["Location"]).path in SIGN_IN_PATHS


def describe(response) -> str:
    where = f" → {response['Location']}" if response.has_header("Location") else ""
    return f"{response.status_code}{where}"


def _param(route):
    known = KNOWN.get(route.id)
    return pytest.param(
        route, id=route.id, marks=[pytest.mark.xfail(strict=True, reason=known)] if known else []
    )


@pytest.mark.parametrize("route", [_param(r) for r in ROUTES])
def test_route_refuses_whom_the_scope_hides(world, route, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    objects = KINDS[route.kind](world)
    users = {**world.users, ANONYMOUS: AnonymousUser()}
    clients: dict[str, Client] = {}

    def client(name):
        if name not in clients:
            clients[name] = Client() if name == ANONYMOUS else signed_in(users[name])
        return clients[name]

    leaks, insiders = [], []
    for obj in objects:
        url = reverse(route.name, kwargs=route.kwargs(obj)) + route.query
        inside = [name for name, user in users.items() if route.oracle(user, obj)]
        assert inside, f"vacuous: {route.oracle.label} lets no persona reach {obj!r}"
        for name in [n for n in users if n not in inside]:
            for method in route.methods:
                response = send(client(name), method, url, route.api)
                if not refused(response, route.api):
                    leaks.append(f"{name} {method} {url} ({obj!r}) → {describe(response)}")
        insiders.append((url, inside[0]))
    assert not leaks, f"LEAK past {route.oracle.label}:\n" + "\n".join(sorted(leaks))
    for url, name in insiders:  # last: a write may change the object
        response = send(client(name), route.methods[0], url, route.api)
        assert response.status_code not in (404, 405), (
            f"{name} {route.methods[0]} {url} → {describe(response)}"
        )

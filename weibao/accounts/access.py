"""THE access rule: role × jurisdiction × sensitivity × relationship (DESIGN.md §5).

Nothing else in weibao decides who may see or do what. Querysets call the ``*_scope`` functions
through their ``visible_to(user, action)`` method; views, the API and exports only ever start from
those querysets, and a record outside the scope is answered with the same 404 as a missing one.

Actions: ``view`` (list and detail), ``change`` (create, edit), ``export`` (files leaving the system).
"""

import functools
import operator

from django.db.models import Q

from .choices import AreaLevel, Role

VIEW, CHANGE, EXPORT = "view", "change", "export"
COUNT = "count"  # aggregate figures only: no record is shown, so sensitivity does not narrow them
SEND = "send"  # submitting batches to a feed, and reading/fixing what it sent (landing rows hold person data)
ACTIONS = (VIEW, CHANGE, EXPORT, SEND)

# Roles that see persons by where the person lives (their jurisdiction).
AREA_ROLES = {Role.CITY_OFFICE, Role.DISTRICT_OFFICE, Role.WORKSTATION_WORKER, Role.WORKSTATION_LEAD}
# Roles that see persons because their organisation sent data about them or received a referral.
RELATION_ROLES = {Role.MEMBER_UNIT_OFFICER, Role.POLICE_OFFICER, Role.PROSECUTOR, Role.COURT_STAFF}
PERSON_ROLES = AREA_ROLES | RELATION_ROLES
# Which roles may do what to person-level records, beyond viewing them.
PERSON_ACTIONS = {
    VIEW: PERSON_ROLES,
    CHANGE: {Role.CITY_OFFICE, Role.DISTRICT_OFFICE, Role.WORKSTATION_WORKER, Role.WORKSTATION_LEAD},
    EXPORT: {Role.CITY_OFFICE, Role.DISTRICT_OFFICE, Role.WORKSTATION_LEAD},
}
# 三员分立: no user ever holds two of these.
SEPARATED_ADMIN_ROLES = {Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN}
# Roles that must pass a TOTP second factor: everyone who reads person-level data or runs the system.
SECOND_FACTOR_ROLES = PERSON_ROLES | SEPARATED_ADMIN_ROLES
# Roles whose holders only ever see their own organisation in the directory.
OWN_ORGANISATION_ROLES = {Role.MANDATED_REPORTER, Role.EMPLOYER_HR}

# The area level each role's jurisdiction must have (None: any level).
ROLE_JURISDICTION_LEVEL = {
    Role.CITY_OFFICE: AreaLevel.CITY,
    Role.DISTRICT_OFFICE: AreaLevel.DISTRICT,
    Role.WORKSTATION_WORKER: AreaLevel.STREET,
    Role.WORKSTATION_LEAD: AreaLevel.STREET,
}


def _assignments(user):
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    cached = getattr(user, "_assignments_cache", None)
    if cached is None:
        cached = list(user.active_assignments())
        user._assignments_cache = cached
    return cached


def has_role(user, *roles) -> bool:
    return any(a.role in roles for a in _assignments(user))


def requires_second_factor(user) -> bool:
    return any(a.role in SECOND_FACTOR_ROLES for a in _assignments(user))


def _area_q(area, street_field: str) -> Q:
    """Persons whose street lies inside ``area``."""
    if area.level == AreaLevel.CITY:
        return Q()
    if area.level == AreaLevel.DISTRICT:
        return Q(**{f"{street_field}__parent_id": area.pk})
    return Q(**{f"{street_field}_id": area.pk})


def _any(clauses) -> Q | None:
    """The OR of ``clauses``; ``None`` (nothing at all) when there are none."""
    return functools.reduce(operator.or_, clauses) if clauses else None


def _filter_any(queryset, clauses):
    """Rows matching any of ``clauses``; no rows when there are none."""
    return queryset.filter(_any(clauses)) if clauses else queryset.none()


def person_q(user, action: str = VIEW, *, prefix: str = ""):
    """The filter for person-level rows ``user`` may ``action``, or ``None`` for nothing at all.

    ``prefix`` is the path from the queried model to its person (``"person"`` for documents and
    events, ``"minor"`` for guardianships); empty for ``Person`` itself.
    """
    p = f"{prefix}__" if prefix else ""
    allowed_roles = PERSON_ACTIONS[action]
    clauses = []
    for a in _assignments(user):
        if a.role not in allowed_roles:
            continue
        if a.role in RELATION_ROLES:  # what their organisation sent or received, wherever the child lives
            clause = Q(**{f"{p}department_links__organisation_id": a.organisation_id})
        else:
            clause = _area_q(a.area, f"{p}street")
        if not a.may_read_sensitive:
            clause &= Q(**{f"{p}sensitivity": "normal"})
        clauses.append(clause)
    return _any(clauses)


def person_scope(queryset, user, action: str = VIEW, *, prefix: str = ""):
    q = person_q(user, action, prefix=prefix)
    if q is None:
        return queryset.none()
    queryset = queryset.filter(q)
    if any(a.role in RELATION_ROLES for a in _assignments(user)):
        queryset = queryset.distinct()  # the relation join can repeat a row
    return queryset


def may_see_full_id(user, person) -> bool:
    """Whole ID numbers are shown only to assignments flagged for it whose scope holds the person."""
    return any(
        a.may_see_full_id and a.role in PERSON_ROLES and a.area.contains(person.street)
        for a in _assignments(user)
    )


def organisation_scope(queryset, user, action: str = VIEW):
    assignments = _assignments(user)
    if action == VIEW:
        if any(a.role not in OWN_ORGANISATION_ROLES for a in assignments):
            return queryset  # the directory is open to staff: referrals and routing need it
        own = {a.organisation_id for a in assignments}
        return queryset.filter(pk__in=own)
    if action in (CHANGE, EXPORT):
        areas = [a.area for a in assignments if a.role == Role.SYSTEM_ADMIN]
        return _filter_by_areas(queryset, areas, "area")
    return queryset.none()


def _filter_by_areas(queryset, areas, field: str):
    if not areas:
        return queryset.none()
    if any(a.level == AreaLevel.CITY for a in areas):
        return queryset
    q = Q()
    for area in areas:
        q |= Q(**{f"{field}_id": area.pk}) | Q(**{f"{field}__parent_id": area.pk})
    return queryset.filter(q)


def user_scope(queryset, user, action: str = VIEW):
    """System administrators manage accounts and security administrators grant roles, each in their area."""
    assignments = _assignments(user)
    if not getattr(user, "is_authenticated", False):
        return queryset.none()
    roles = {Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN} if action == VIEW else {Role.SYSTEM_ADMIN}
    areas = [a.area for a in assignments if a.role in roles]
    if not areas:
        return queryset.filter(pk=user.pk) if action == VIEW else queryset.none()
    if any(a.level == AreaLevel.CITY for a in areas):
        return queryset
    from .models import RoleAssignment

    managed = _filter_by_areas(RoleAssignment.objects.all(), areas, "area").values("user_id")
    # A new account without any role yet is visible to the administrators who may give it one.
    return queryset.filter(Q(pk__in=managed) | Q(role_assignments__isnull=True) | Q(pk=user.pk)).distinct()


def role_assignment_scope(queryset, user, action: str = VIEW):
    """Security administrators see and grant roles within their jurisdiction; users see their own."""
    areas = [a.area for a in _assignments(user) if a.role == Role.SECURITY_ADMIN]
    if areas:
        scoped = _filter_by_areas(queryset, areas, "area")
        if action == VIEW:
            scoped = scoped | queryset.filter(user_id=user.pk)
        return scoped
    if action == VIEW and getattr(user, "is_authenticated", False):
        return queryset.filter(user_id=user.pk)
    return queryset.none()


def may_grant(user, area, role) -> bool:
    """Whether ``user`` may give ``role`` over ``area``; a district security admin cannot create city roles."""
    return any(a.role == Role.SECURITY_ADMIN and a.area.contains(area) for a in _assignments(user)) and (
        role not in SEPARATED_ADMIN_ROLES
        or any(a.role == Role.SECURITY_ADMIN and a.area.level == AreaLevel.CITY for a in _assignments(user))
    )


def audit_scope(queryset, user, action: str = VIEW):
    """Only audit administrators read the trail; a district audit administrator reads its district's actors."""
    if action != VIEW:
        return queryset.none()
    areas = [a.area for a in _assignments(user) if a.role == Role.AUDIT_ADMIN]
    if not areas:
        return queryset.none()
    if any(a.level == AreaLevel.CITY for a in areas):
        return queryset
    from .models import RoleAssignment

    actors = _filter_by_areas(RoleAssignment.objects.all(), areas, "area").values("user_id")
    return queryset.filter(actor_id__in=actors)


def may_manage_tokens(user) -> bool:
    return bool(_assignments(user))


def can_manage_organisations(user) -> bool:
    return has_role(user, Role.SYSTEM_ADMIN)


def can_manage_users(user) -> bool:
    return has_role(user, Role.SYSTEM_ADMIN)


def can_list_users(user) -> bool:
    return has_role(user, Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN)


def can_grant_roles(user) -> bool:
    return has_role(user, Role.SECURITY_ADMIN)


def can_read_audit(user) -> bool:
    return has_role(user, Role.AUDIT_ADMIN)


def can_view_persons(user) -> bool:
    return has_role(user, *PERSON_ROLES)


def can_create_persons(user) -> bool:
    return has_role(user, *PERSON_ACTIONS[CHANGE])


def may_manage_organisations_in(user, area) -> bool:
    """Whether a new organisation in ``area`` would be inside the user's administrative scope."""
    return any(a.role == Role.SYSTEM_ADMIN and a.area.contains(area) for a in _assignments(user))


def can_configure_catalogues(user) -> bool:
    """Editing shared vocabularies (person categories, the event catalogue): city office and system admins."""
    return any(
        a.role in (Role.CITY_OFFICE, Role.SYSTEM_ADMIN) and a.area.level == AreaLevel.CITY
        for a in _assignments(user)
    )


# --- feeds ---------------------------------------------------------------------------------------


def feed_scope(queryset, user, action: str = VIEW, *, prefix: str = ""):
    """Feeds ``user`` may ``action`` (view, change = register/edit, send = submit and fix records).

    * city office: every feed, every action;
    * department roles (member unit, police, prosecutor, court): their own organisation's feeds, view and send;
    * system administrator: view and change (register) feeds of organisations inside its area, never send
      (landing rows are person-level data);
    * the system actor (commands and tasks): view and send;
    * anyone else: nothing.
    ``prefix`` is the path from the queried model to the feed (``"feed"`` for batches).
    """
    p = f"{prefix}__" if prefix else ""
    if getattr(user, "is_system_actor", False) and user.is_active and action in (VIEW, SEND):
        return queryset  # ``manage.py ingest`` without --as: the named system actor of commands and tasks
    clauses = []
    for a in _assignments(user):
        if a.role == Role.CITY_OFFICE:
            return queryset
        if a.role in RELATION_ROLES and action in (VIEW, SEND):
            clauses.append(Q(**{f"{p}owner_id": a.organisation_id}))
        if a.role == Role.SYSTEM_ADMIN and action in (VIEW, CHANGE):
            if a.area.level == AreaLevel.CITY:
                return queryset
            clauses.append(
                Q(**{f"{p}owner__area_id": a.area_id}) | Q(**{f"{p}owner__area__parent_id": a.area_id})
            )
    return _filter_any(queryset, clauses)


def may_read_landing_in_clear(user, feed) -> bool:
    """Whether ``user`` sees the identifiers of ``feed``'s landing rows (needs-fixing list) as sent, or masked:
    the sending organisation's own staff (they sent them) and the system actor; at the city office, an
    assignment flagged to see whole ID numbers — and for a sensitive event feed, to read sensitive records."""
    if getattr(user, "is_system_actor", False) and user.is_active:
        return True
    sensitive = bool(feed.event_type_id and feed.event_type.is_sensitive)
    return any(
        (a.role in RELATION_ROLES and a.organisation_id == feed.owner_id)
        or (a.role == Role.CITY_OFFICE and a.may_see_full_id and (a.may_read_sensitive or not sensitive))
        for a in _assignments(user)
    )


def may_register_feeds(user) -> bool:
    return has_role(user, Role.CITY_OFFICE, Role.SYSTEM_ADMIN)


# --- reports -------------------------------------------------------------------------------------


def report_scope(queryset, user, action: str = VIEW, *, prefix: str = ""):
    """Mandatory reports ``user`` may ``action`` (view; change = record a step; export = CSV; count =
    aggregate figures).

    * city office: every report (view, change, export, count);
    * district office: reports of its district (view, change, export, count);
    * police officer: reports routed to its police organisation (view, change);
    * workstation worker or lead: reports routed to its workstation (view, change; the lead exports);
    * mandated reporter: the reports its own organisation filed (view only; pages show status and feedback);
    * anyone else, administrators included: nothing.
    """
    from weibao.reports.choices import SENSITIVE_SITUATIONS

    p = f"{prefix}__" if prefix else ""
    not_sensitive = ~Q(**{f"{p}situation__in": SENSITIVE_SITUATIONS})
    clauses = []
    for a in _assignments(user):
        clause = None
        if a.role == Role.CITY_OFFICE and a.area.level == AreaLevel.CITY:
            clause = Q()
        elif a.role == Role.DISTRICT_OFFICE:
            clause = Q(**{f"{p}district_id": a.area_id})
        elif a.role == Role.POLICE_OFFICER and action in (VIEW, CHANGE):
            clauses.append(Q(**{f"{p}police_id": a.organisation_id}))  # the handling police read it whole
        elif a.role in (Role.WORKSTATION_WORKER, Role.WORKSTATION_LEAD) and (
            action in (VIEW, CHANGE) or (action == EXPORT and a.role == Role.WORKSTATION_LEAD)
        ):
            clause = Q(**{f"{p}workstation_id": a.organisation_id})
        elif a.role == Role.MANDATED_REPORTER and action == VIEW:
            clauses.append(Q(**{f"{p}reporter_org_id": a.organisation_id}))  # status and feedback only
        if clause is not None:  # office and workstation staff: sexual-abuse reports need the sensitive flag
            clauses.append(clause if a.may_read_sensitive or action == COUNT else clause & not_sensitive)
    return _filter_any(queryset, clauses)


def may_file_reports(user) -> bool:
    return has_role(user, Role.MANDATED_REPORTER)


def may_list_reports(user) -> bool:
    return has_role(
        user,
        Role.CITY_OFFICE,
        Role.DISTRICT_OFFICE,
        Role.POLICE_OFFICER,
        Role.WORKSTATION_WORKER,
        Role.WORKSTATION_LEAD,
        Role.MANDATED_REPORTER,
    )


def _handles(user, report, roles, field: str) -> bool:
    return any(a.role in roles and a.organisation_id == getattr(report, field) for a in _assignments(user))


def _oversees(user, report) -> bool:
    """District office of the report's district, or the city office."""
    return any(
        (a.role == Role.CITY_OFFICE and a.area.level == AreaLevel.CITY)
        or (a.role == Role.DISTRICT_OFFICE and a.area_id == report.district_id)
        for a in _assignments(user)
    )


def may_act_as_police(user, report) -> bool:
    """Record acceptance, decision and case number: officers of the police organisation it was routed to."""
    return _handles(user, report, {Role.POLICE_OFFICER}, "police_id")


def may_record_contact(user, report) -> bool:
    return _handles(user, report, {Role.WORKSTATION_WORKER, Role.WORKSTATION_LEAD}, "workstation_id")


def may_record_feedback(user, report) -> bool:
    """The police handling it tell the reporter (the offices may too); a report not for the police is
    answered by its workstation."""
    return (
        may_act_as_police(user, report)
        or _oversees(user, report)
        or (report.police_id is None and may_record_contact(user, report))
    )


def may_close_report(user, report) -> bool:
    """Who may tell the reporter may close the report (closing needs that feedback)."""
    return may_record_feedback(user, report)


def may_link_report_person(user, report) -> bool:
    """Link a report to a registry person: the workstation and the offices (who may change persons)."""
    return may_record_contact(user, report) or _oversees(user, report)


def may_merge_reports(user, report) -> bool:
    return _oversees(user, report)


def may_see_report_details(user, report) -> bool:
    """Everything but the reporter's identity: handlers and offices (not the reporting organisation)."""
    return may_act_as_police(user, report) or may_record_contact(user, report) or _oversees(user, report)


def may_see_reporter_identity(user, report) -> bool:
    """Who reported: the police handling it and the offices; not the workstation (it meets the family)."""
    return may_act_as_police(user, report) or _oversees(user, report)


def may_view_report_figures(user) -> bool:
    return has_role(user, Role.CITY_OFFICE, Role.DISTRICT_OFFICE)


# --- cases ---------------------------------------------------------------------------------------

# Which roles may do what to cases, by the case's street (the owning workstation's street).
CASE_ACTIONS = {
    VIEW: AREA_ROLES,
    CHANGE: {Role.DISTRICT_OFFICE, Role.WORKSTATION_WORKER, Role.WORKSTATION_LEAD},
    EXPORT: {Role.CITY_OFFICE, Role.DISTRICT_OFFICE, Role.WORKSTATION_LEAD},
}
ACTIVE_REFERRAL_STATUSES = ("sent", "accepted", "reported")


def case_scope(queryset, user, action: str = VIEW, *, prefix: str = ""):
    """Cases (and rows of cases) ``user`` may ``action``.

    * city office: every case (view, export); district office: its district's cases (view, change, export);
    * workstation worker and lead: every case of their street's workstation, assigned or not (view, change;
      export: lead only) — workers cover for each other, "my cases" is a filter, not a wall;
    * member units, police, procuratorate, court: view only, and only cases with an active referral to
      their organisation — and of those only the referral and its documents (``RELATION_PATH`` of the
      model; models without one are closed to them);
    * a case with a sensitive child needs ``may_read_sensitive`` (as the person rule);
    * administrators and everyone else: nothing.
    ``prefix`` is the path from the queried model to its case ("" for Case itself).
    """
    from weibao.cases.models import CaseMember

    p = f"{prefix}__" if prefix else ""
    relation_path = getattr(queryset.model, "RELATION_PATH", None)
    clauses = []
    for a in _assignments(user):
        if a.role in RELATION_ROLES:
            if action != VIEW or relation_path is None:
                continue
            r = f"{relation_path}__" if relation_path else ""
            clause = Q(
                **{f"{r}to_organisation_id": a.organisation_id, f"{r}status__in": ACTIVE_REFERRAL_STATUSES}
            )
        elif a.role in CASE_ACTIONS.get(action, ()):
            clause = _area_q(a.area, f"{p}street")
        else:
            continue
        if not a.may_read_sensitive:
            sensitive = CaseMember.objects.filter(person__sensitivity="sensitive").values("case_id")
            clause &= ~Q(**{f"{p}pk__in" if p else "pk__in": sensitive})
        clauses.append(clause)
    queryset = _filter_any(queryset, clauses)
    if relation_path and any(a.role in RELATION_ROLES for a in _assignments(user)):
        queryset = queryset.distinct()
    return queryset


def sees_whole_case(user, case) -> bool:
    """Area roles see the whole record; department roles only what their referral needs."""
    return any(a.role in AREA_ROLES and a.area.contains(case.street) for a in _assignments(user))


def can_open_cases(user) -> bool:
    """Workstation staff: they carry cases of their own ("my cases"); district offices open cases too."""
    return has_role(user, Role.WORKSTATION_WORKER, Role.WORKSTATION_LEAD)


def may_open_cases(user) -> bool:
    """The open-case form: workstation workers and leads, district offices."""
    return has_role(user, Role.WORKSTATION_WORKER, Role.WORKSTATION_LEAD, Role.DISTRICT_OFFICE)


def may_open_case_at(user, workstation) -> bool:
    """Opening a case for a workstation: its street's workers and lead, its district office, the system actor."""
    if getattr(user, "is_system_actor", False) and user.is_active:
        return True
    return any(
        a.role in CASE_ACTIONS[CHANGE] and a.area.contains(workstation.area) for a in _assignments(user)
    )


def organisation_ids(user) -> set:
    """The organisations the user currently holds a role in."""
    return {a.organisation_id for a in _assignments(user)}


def can_view_cases(user) -> bool:
    return has_role(user, *AREA_ROLES, *RELATION_ROLES)


def may_decide_approvals(user, case) -> bool:
    """Closing and reopening are approved by the lead of the case's own workstation."""
    return any(
        a.role == Role.WORKSTATION_LEAD and a.organisation_id == case.workstation_id
        for a in _assignments(user)
    )


def may_respond_to_referral(user, referral) -> bool:
    """The receiving organisation's department users accept, decline and report back."""
    return any(
        a.role in RELATION_ROLES and a.organisation_id == referral.to_organisation_id
        for a in _assignments(user)
    )


# --- alerts ----------------------------------------------------------------------------------------------

# Early-warning alerts go to the child's area: workstation (street), district office (district), city office
# (all). Relation roles (police, procuratorate, courts, member units) see no alerts: an alert is a protection
# worker's lead, not a record their organisation sent. Sensitive persons' alerts need ``may_read_sensitive``.
ALERT_ACTIONS = {
    VIEW: AREA_ROLES,
    CHANGE: {Role.DISTRICT_OFFICE, Role.WORKSTATION_WORKER, Role.WORKSTATION_LEAD},
}


def alert_scope(queryset, user, action: str = VIEW, *, prefix: str = "person"):
    """Alerts (and risk summaries) by where the child lives; ``change`` = move an alert through its states.
    ``prefix`` is the path to the person (empty: ``Person`` itself)."""
    p = f"{prefix}__" if prefix else ""
    allowed = ALERT_ACTIONS.get(action, set())
    clauses = []
    for a in _assignments(user):
        if a.role not in allowed:
            continue
        clause = _area_q(a.area, f"{p}street")
        if not a.may_read_sensitive:
            clause &= Q(**{f"{p}sensitivity": "normal"})
        clauses.append(clause)
    return _filter_any(queryset, clauses)


def can_manage_rules(user) -> bool:
    """Creating, editing, dry-running, activating and retiring rules: city-office staff."""
    return any(a.role == Role.CITY_OFFICE and a.area.level == AreaLevel.CITY for a in _assignments(user))


def can_read_rules(user) -> bool:
    """Rules are read by the city and district offices (to understand alerts)."""
    return can_manage_rules(user) or has_role(user, Role.DISTRICT_OFFICE)


def rule_scope(queryset, user, action: str = VIEW):
    """Rules are read by the city and district offices (``can_read_rules``); changed by the city office."""
    if action == VIEW and can_read_rules(user):
        return queryset
    if action == CHANGE and can_manage_rules(user):
        return queryset
    return queryset.none()


def can_view_alerts(user) -> bool:
    return has_role(user, *ALERT_ACTIONS[VIEW])


# --- notifications -------------------------------------------------------------------------------


def notification_scope(queryset, user, action: str = VIEW):
    """A notification is its recipient's alone: no one else reads it, administrators included."""
    if not getattr(user, "is_authenticated", False):
        return queryset.none()
    return queryset.filter(recipient=user)

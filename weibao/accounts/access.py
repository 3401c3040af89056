"""THE access rule: role × jurisdiction × sensitivity × relationship (DESIGN.md §5).

Nothing else in weibao decides who may see or do what. Querysets call the ``*_scope`` functions
through their ``visible_to(user, action)`` method; views, the API and exports only ever start from
those querysets, and a record outside the scope is answered with the same 404 as a missing one.

Actions: ``view`` (list and detail), ``change`` (create, edit), ``export`` (files leaving the system).
"""

from django.db.models import Q

from .choices import AreaLevel, Role

VIEW, CHANGE, EXPORT = "view", "change", "export"
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
    if not clauses:
        return None
    combined = clauses[0]
    for clause in clauses[1:]:
        combined |= clause
    return combined


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
    if not clauses:
        return queryset.none()
    combined = clauses[0]
    for clause in clauses[1:]:
        combined |= clause
    return queryset.filter(combined)


def may_register_feeds(user) -> bool:
    return has_role(user, Role.CITY_OFFICE, Role.SYSTEM_ADMIN)


# --- alerts ----------------------------------------------------------------------------------------------

# Early-warning alerts go to the child's area: workstation (street), district office (district), city office
# (all). Relation roles (police, procuratorate, courts, member units) see no alerts: an alert is a protection
# worker's lead, not a record their organisation sent. Sensitive persons' alerts need ``may_read_sensitive``.
ALERT_ACTIONS = {
    VIEW: AREA_ROLES,
    CHANGE: {Role.DISTRICT_OFFICE, Role.WORKSTATION_WORKER, Role.WORKSTATION_LEAD},
}


def alert_scope(queryset, user, action: str = VIEW, *, prefix: str = "person"):
    """Alerts (and risk summaries) by where the child lives; ``change`` = move an alert through its states."""
    p = f"{prefix}__"
    allowed = ALERT_ACTIONS.get(action, set())
    clauses = []
    for a in _assignments(user):
        if a.role not in allowed:
            continue
        clause = _area_q(a.area, f"{p}street")
        if not a.may_read_sensitive:
            clause &= Q(**{f"{p}sensitivity": "normal"})
        clauses.append(clause)
    if not clauses:
        return queryset.none()
    combined = clauses[0]
    for clause in clauses[1:]:
        combined |= clause
    return queryset.filter(combined)


def can_manage_rules(user) -> bool:
    """Creating, editing, dry-running, activating and retiring rules: city-office staff."""
    return any(a.role == Role.CITY_OFFICE and a.area.level == AreaLevel.CITY for a in _assignments(user))


def rule_scope(queryset, user, action: str = VIEW):
    """Rules are read by the city and district offices (to understand alerts); changed by the city office."""
    if action == VIEW and (can_manage_rules(user) or has_role(user, Role.DISTRICT_OFFICE)):
        return queryset
    if action == CHANGE and can_manage_rules(user):
        return queryset
    return queryset.none()


def can_view_alerts(user) -> bool:
    return has_role(user, *ALERT_ACTIONS[VIEW])

"""Scoped querysets of the feeds app.

``feed_scope`` is the access rule for feeds, written here until it moves into
``weibao/accounts/access.py`` (STYLE.md convention 2: the rule lives in one module). Nothing else in
feeds decides who sees a feed, a batch or a landing record.
"""

from django.db import models
from django.db.models import Q

from weibao.accounts import access
from weibao.accounts.choices import AreaLevel, Role
from weibao.registry.querysets import PersonRelatedQuerySet

# Submitting batches to a feed, and reading/fixing what it sent (landing rows hold person data).
SEND = "send"


# --- BEGIN feed_scope: to be moved into weibao/accounts/access.py -----------------------------------
def feed_scope(queryset, user, action: str = access.VIEW, *, prefix: str = ""):
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
    if getattr(user, "is_system_actor", False) and user.is_active and action in (access.VIEW, SEND):
        return queryset  # ``manage.py ingest`` without --as: the named system actor of commands and tasks
    clauses = []
    for a in access._assignments(user):
        if a.role == Role.CITY_OFFICE:
            return queryset
        if a.role in access.RELATION_ROLES and action in (access.VIEW, SEND):
            clauses.append(Q(**{f"{p}owner_id": a.organisation_id}))
        if a.role == Role.SYSTEM_ADMIN and action in (access.VIEW, access.CHANGE):
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
    return access.has_role(user, Role.CITY_OFFICE, Role.SYSTEM_ADMIN)


# --- END feed_scope ------------------------------------------------------------------------------------


class FeedQuerySet(models.QuerySet):
    def visible_to(self, user, action=access.VIEW):
        return feed_scope(self, user, action)


class FeedRelatedQuerySet(models.QuerySet):
    """Batches and landing records: scoped through their feed (path in ``FEED_FIELD``)."""

    def visible_to(self, user, action=access.VIEW):
        return feed_scope(self, user, action, prefix=getattr(self.model, "FEED_FIELD", "feed"))


class EventQuerySet(PersonRelatedQuerySet):
    """Events follow the person rule: whoever may see the person sees its events."""

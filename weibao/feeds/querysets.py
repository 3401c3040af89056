"""Scoped querysets of the feeds app.

Who sees a feed, a batch or a landing record is decided by ``access.feed_scope``; nothing here.
"""

from django.db import models

from weibao.accounts import access
from weibao.accounts.access import feed_scope
from weibao.registry.querysets import PersonRelatedQuerySet


class FeedQuerySet(models.QuerySet):
    def visible_to(self, user, action=access.VIEW):
        return feed_scope(self, user, action)


class FeedRelatedQuerySet(models.QuerySet):
    """Batches and landing records: scoped through their feed (path in ``FEED_FIELD``)."""

    def visible_to(self, user, action=access.VIEW):
        return feed_scope(self, user, action, prefix=getattr(self.model, "FEED_FIELD", "feed"))


class LandingQuerySet(FeedRelatedQuerySet):
    """Landing rows. An accepted row is not rewritten (that would double the cost of landing a million
    rows): it stays stored as *pending*, and any pending row at or before its batch's
    ``processed_through`` is accepted. ``with_status`` filters by the status as shown."""

    def with_status(self, status: str):
        pending, accepted = "pending", "accepted"
        done = models.Q(row_number__lte=models.F("batch__processed_through"))
        if status == accepted:
            return self.filter(done, status=pending)
        if status == pending:
            return self.filter(status=pending).exclude(done)
        return self.filter(status=status)


class EventQuerySet(PersonRelatedQuerySet):
    """Events follow the person rule: whoever may see the person sees its events."""

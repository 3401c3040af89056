from django.db import models


class PersonQuerySet(models.QuerySet):
    def visible_to(self, user, action="view"):
        """The only way to read persons: scoped by ``weibao.accounts.access``."""
        from weibao.accounts.access import person_scope

        return person_scope(self, user, action)


class PersonManager(models.Manager.from_queryset(PersonQuerySet)):
    def get_queryset(self):
        return super().get_queryset().filter(merged_into__isnull=True)


class PersonRelatedQuerySet(models.QuerySet):
    """Rows that belong to one person (documents, guardianships, categories, events), scoped through it.

    The model names the path to its person in ``PERSON_FIELD`` (default ``person``).
    """

    def visible_to(self, user, action="view"):
        from weibao.accounts.access import person_scope

        return person_scope(self, user, action, prefix=getattr(self.model, "PERSON_FIELD", "person"))

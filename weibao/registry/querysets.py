from django.db import models


class PersonQuerySet(models.QuerySet):
    def visible_to(self, user, action="view"):
        """The only way to read persons: scoped by ``weibao.accounts.access``."""
        from weibao.accounts.access import person_scope

        return person_scope(self, user, action)

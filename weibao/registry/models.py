"""The person registry. This first version holds identity basics; the registry issue extends it."""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from weibao.accounts.models import Area, Organisation

from .choices import LinkBasis, Sensitivity, Sex
from .querysets import PersonQuerySet


class Person(models.Model):
    """A minor (or guardian) known to the system, living in one street."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("姓名"), max_length=50, db_index=True)
    sex = models.CharField(_("性别"), max_length=1, choices=Sex.choices, default=Sex.UNKNOWN)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True, db_index=True)
    street = models.ForeignKey(Area, models.PROTECT, verbose_name=_("街镇"), related_name="persons")
    sensitivity = models.CharField(
        _("敏感级别"), max_length=10, choices=Sensitivity.choices, default=Sensitivity.NORMAL
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = PersonQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("人员")
        verbose_name_plural = _("人员")

    def __str__(self):
        return self.name


class DepartmentLink(models.Model):
    """Why an organisation may see a person: it sent data about them, or the person was referred to it."""

    person = models.ForeignKey(Person, models.CASCADE, related_name="department_links")
    organisation = models.ForeignKey(Organisation, models.PROTECT, related_name="person_links")
    basis = models.CharField(max_length=10, choices=LinkBasis.choices)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["person", "organisation", "basis"], name="department_link_unique")
        ]
        indexes = [models.Index(fields=["organisation", "person"])]

    def __str__(self):
        return f"{self.organisation} → {self.person}"

"""Load (or refresh) the Shanghai reference data: areas, organisation types, offices, member units, workstations."""

from django.core.management.base import BaseCommand
from django.db import transaction

from weibao.accounts.reference import load_reference_data
from weibao.audit.models import AuditAction
from weibao.audit.services import record


class Command(BaseCommand):
    help = "Load the reference data of weibao/accounts/data/ (idempotent: creates what is missing, updates what differs)."

    def add_arguments(self, parser):
        parser.add_argument("--database", default="default", help="database alias (default: default)")

    def handle(self, *args, database="default", **options):
        with transaction.atomic(using=database):
            counts = load_reference_data(using=database)
            changed = sum(v for k, v in counts.items() if k.endswith(("_created", "_updated")))
            if changed and database == "default":
                record(
                    None,
                    AuditAction.IMPORT,
                    object_type="accounts.reference_data",
                    object_repr="reference data",
                    reason="load_reference_data command",
                    extra=counts,
                )
        for key in ("areas", "organisation_types", "organisations"):
            self.stdout.write(
                f"{key}: {counts[key]} ({counts[key + '_created']} created, "
                f"{counts[key + '_updated']} updated)"
            )
        self.stdout.write(
            f"streets: {counts['streets']} (zones {counts['zones']}), workstations: {counts['workstations']}"
        )

"""Check that no foreign key kept without a database constraint points at a missing row (exit 1 if any)."""

import sys

from django.core.management.base import BaseCommand

from weibao.audit.references import dangling, unconstrained


class Command(BaseCommand):
    help = "Check the foreign keys kept without a database constraint (exit status 1 naming any that dangle)."

    def handle(self, *args, **options):
        broken = dangling()
        for key, rows in broken.items():
            self.stderr.write(
                self.style.ERROR(f"{key}: {rows} 行指向不存在的记录 (rows point at a missing row)")
            )
        if broken:
            sys.exit(1)
        checked = sum(1 for _ in unconstrained())
        self.stdout.write(self.style.SUCCESS(f"references intact: {checked} keys checked"))

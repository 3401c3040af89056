"""Walk the audit hash chain; exit 1 naming the first broken link, 0 when the whole chain holds."""

import sys

from django.core.management.base import BaseCommand

from weibao.audit.chain import verify


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain (exit status 1 and the first broken link if tampered with)."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=5000)

    def handle(self, *args, batch_size, **options):
        checked, broken = verify(batch_size=batch_size)
        if broken:
            self.stderr.write(
                self.style.ERROR(f"audit chain BROKEN at {broken} ({checked} events verified before it)")
            )
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS(f"audit chain intact: {checked} events verified"))

import time

from django.core.management.base import BaseCommand

from weibao.notifications.deadlines import check_all


class Command(BaseCommand):
    help = (
        "Escalate every overdue step (reports, alerts, cases, referrals). Run it from cron every few "
        "minutes, or keep it running with --every SECONDS."
    )

    def add_arguments(self, parser):
        parser.add_argument("--every", type=int, default=0, help="repeat every SECONDS (0: once)")

    def handle(self, *args, every=0, **options):
        if every < 0:
            self.stderr.write("--every 必须为正数 (--every must be positive)")
            raise SystemExit(2)
        while True:
            for name, count in check_all().items():
                if count or options["verbosity"] > 1 or not every:
                    self.stdout.write(f"{name}: {count} escalated")
            if not every:
                return
            time.sleep(every)

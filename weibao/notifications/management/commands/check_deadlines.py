from django.core.management.base import BaseCommand

from weibao.notifications.deadlines import check_all


class Command(BaseCommand):
    help = "Escalate every overdue step (reports, alerts, cases, referrals); run it every few minutes (cron)."

    def handle(self, *args, **options):
        for name, count in check_all().items():
            self.stdout.write(f"{name}: {count} escalated")

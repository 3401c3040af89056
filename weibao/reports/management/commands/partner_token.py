"""Issue (or replace) the token of a partner channel: ``manage.py partner_token 12355 --name "12355 青少年服务台"``.

The token is printed once; only its hash is kept. A new token replaces the old one at once.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from weibao.accounts.services import system_actor
from weibao.audit.models import AuditAction
from weibao.audit.services import record
from weibao.reports.models import PartnerChannel


class Command(BaseCommand):
    help = "Issue a token for a partner channel (created if --name is given and the code is new)."

    def add_arguments(self, parser):
        parser.add_argument("code")
        parser.add_argument("--name", default="")
        parser.add_argument("--deactivate", action="store_true", help="switch the channel off instead")

    @transaction.atomic
    def handle(self, code, name, deactivate, **options):
        channel = PartnerChannel.objects.filter(code=code).first()
        if channel is None:
            if not name:
                known = ", ".join(PartnerChannel.objects.values_list("code", flat=True)) or "—"
                raise CommandError(f"unknown channel {code!r} (known: {known}); give --name to create it")
            channel = PartnerChannel.objects.create(code=code, name=name)
        if deactivate:
            channel.is_active = False
            channel.save(update_fields=["is_active"])
            record(system_actor(), AuditAction.TOKEN_REVOKE, channel, reason="partner channel deactivated")
            self.stdout.write(f"{code}: deactivated")
            return
        token = PartnerChannel.new_token()
        channel.token_hash, channel.token_prefix = PartnerChannel.hash_token(token), token[:10]
        channel.token_issued, channel.is_active = timezone.now(), True
        if name:
            channel.name = name
        channel.save()
        record(system_actor(), AuditAction.TOKEN_CREATE, channel, extra={"prefix": channel.token_prefix})
        self.stdout.write(f"{code} ({channel.name}): {token}")
        self.stderr.write("Store this token now: it is shown only once.")

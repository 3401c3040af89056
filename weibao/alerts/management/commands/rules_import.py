from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from weibao.accounts.models import User
from weibao.alerts.services import import_yaml


class Command(BaseCommand):
    help = "从 YAML 导入预警规则，每条有变化的规则生成新版本 (import rules from YAML; changed rules get a new version)"

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--as", dest="username", required=True, help="记入审计的用户名 (audited user)")
        parser.add_argument("--reason", default="YAML import")

    def handle(self, *args, path, username, reason, **options):
        actor = User.objects.filter(username=username).first()
        if actor is None:
            raise CommandError(f"没有用户 {username} (no such user)")
        try:
            with open(path, encoding="utf-8") as f:
                rules = import_yaml(f.read(), actor=actor, reason=reason)
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"无法读取文件 (cannot read file): {exc}") from exc
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from exc
        self.stdout.write(f"{len(rules)} rules imported")

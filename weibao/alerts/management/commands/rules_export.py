from django.core.management.base import BaseCommand

from weibao.alerts.models import Rule
from weibao.alerts.services import export_yaml


class Command(BaseCommand):
    help = "把预警规则导出为 YAML (export the early-warning rules as YAML)"

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", help="输出文件；省略则写到标准输出 (file; default stdout)")

    def handle(self, *args, path=None, **options):
        text = export_yaml(Rule.objects.filter(current__isnull=False).select_related("current__level"))
        if path:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        else:
            self.stdout.write(text)

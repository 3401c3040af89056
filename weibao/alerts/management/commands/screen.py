"""Run the early-warning rules: ``--full`` re-screens everyone, ``--persons`` / ``--batch`` only some."""

import json

from django.core.management.base import BaseCommand, CommandError

from weibao.alerts.engine import screen
from weibao.feeds.models import Event


class Command(BaseCommand):
    help = "运行预警规则筛查 (run the early-warning screening)"

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--full", action="store_true", help="全量筛查 (screen everyone)")
        group.add_argument("--persons", nargs="+", type=int, help="人员内部编号 (person ids)")
        group.add_argument("--batch", type=int, help="报送批次编号：筛查该批次涉及的人员 (feed batch id)")
        parser.add_argument("--threads", type=int, default=None)

    def handle(self, *args, full=False, persons=None, batch=None, threads=None, **options):
        if batch is not None:
            persons = list(
                set(Event.objects.filter(source_record__batch_id=batch).values_list("person_id", flat=True))
            )
            if not persons:
                raise CommandError(f"批次 {batch} 没有事件 (batch {batch} has no events)")
        result = screen(None if full else persons, threads=threads)
        self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False))

"""``manage.py ingest --feed CODE FILE [--as USERNAME] [--key KEY]``: land, validate and normalise a file.

Prints the batch report. Running it again on the same file resumes an interrupted batch, or prints the
earlier report if it finished. Exit status 1 if the file cannot be read, 2 on bad arguments.
"""

import argparse
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from weibao.accounts.models import User
from weibao.feeds import services
from weibao.feeds.choices import BatchStatus
from weibao.feeds.models import Feed
from weibao.feeds.validation import reason_label


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 100_000:
        raise argparse.ArgumentTypeError(f"--chunk-size 应为 1 到 100000 的整数：{text} (must be 1–100000)")
    return value


class Command(BaseCommand):
    help = "Ingest a CSV/XLSX/JSONL file into a feed and print the batch report."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--feed", required=True, help="feed code")
        parser.add_argument("--as", dest="username", help="act as this user (default: the system actor)")
        parser.add_argument("--key", default="", help="idempotency key (default: the file's SHA-256)")
        parser.add_argument("--chunk-size", type=positive_int, default=5000, help="rows per chunk (1–100000)")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, file, feed, username, key, chunk_size, json: bool, **options):
        if not Path(file).is_file():
            raise CommandError(f"找不到文件“{file}” (no such file)")
        actor = self._actor(username)
        try:
            feed_obj = services.sendable_feed(feed, actor)
        except Feed.DoesNotExist:
            raise CommandError(f"没有可报送的渠道“{feed}” (no such feed, or not yours)") from None
        batch = services.ingest_file(feed_obj, file, actor=actor, key=key, chunk_size=chunk_size)
        self._print(batch, as_json=json)
        if batch.status == BatchStatus.FAILED:
            raise CommandError(batch.message, returncode=1)

    def _actor(self, username):
        if username:
            user = User.objects.filter(username=username, is_active=True).first()
            if user is None:
                raise CommandError(f"没有用户“{username}” (no such user)")
            return user
        return services.feeds_actor()

    def _print(self, batch, *, as_json):
        report = batch.report()
        if as_json:
            self.stdout.write(json_dumps(report))
            return
        self.stdout.write(f"批次 batch {report['batch']} · {batch.filename} · {batch.get_status_display()}")
        if batch.message:
            self.stdout.write(f"  {batch.message}")
        self.stdout.write(
            f"  收到 received {batch.received} · 接收 accepted {batch.accepted} · "
            f"重复 duplicates {batch.duplicates} · 待修正 rejected {batch.rejected} · 耗时 {batch.seconds:.2f} s"
        )
        for key, count in batch.rejected_by_reason.items():
            self.stdout.write(f"    {count:>8}  {reason_label(key)}")


def json_dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)

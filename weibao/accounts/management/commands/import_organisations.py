"""Import organisations from a CSV (UTF-8/GBK) or XLSX file, as a named system administrator."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from weibao.accounts.imports import import_organisations
from weibao.accounts.models import User


class Command(BaseCommand):
    help = "Import organisations (名称, 类型, 区域, 上级单位, 统一社会信用代码, 地址, 联系电话) from CSV or XLSX."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--as", dest="username", required=True, help="the system administrator acting")
        parser.add_argument("--dry-run", action="store_true", help="check every row, write nothing")

    def handle(self, *args, file, username, dry_run, **options):
        actor = User.objects.filter(username=username, is_active=True).first()
        if actor is None:
            raise CommandError(f"用户 {username} 不存在或已停用 (no such active user)")
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"文件不存在：{file} (no such file)")
        result = import_organisations(path.name, path.read_bytes(), actor=actor, dry_run=dry_run)
        if not result.ok:
            for row, column, message in result.errors:
                self.stderr.write(f"第 {row} 行 {column}: {message}" if row else message)
            self.stderr.write(f"{len(result.errors)} 处错误，未导入任何数据 (nothing imported)")
            sys.exit(1)
        verb = "检查通过" if dry_run else "导入完成"
        self.stdout.write(f"{verb}：{result.rows} 行，新增 {result.created}，更新 {result.updated}")

"""Load an assessment instrument (a new version if the code exists) from a JSON file."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from weibao.cases.instruments import load_file
from weibao.cases.models import Domain, Instrument, Item, LevelBand


class Command(BaseCommand):
    help = "Import an assessment instrument from JSON (format: weibao/cases/data/guardianship_capacity.json)"

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, file, **options):
        try:
            with transaction.atomic():
                instrument = load_file(
                    file, Instrument=Instrument, Domain=Domain, Item=Item, LevelBand=LevelBand
                )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CommandError(f"无法读取 {file}: {exc}") from exc
        except ValidationError as exc:
            raise CommandError("；".join(exc.messages)) from exc
        self.stdout.write(
            f"{instrument.code} {instrument.version}: {instrument.name}, {instrument.max_total} 分满分"
        )

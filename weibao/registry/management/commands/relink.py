"""Re-link the whole registry (batch job), optionally training a new model version first."""

import json

from django.core.management.base import BaseCommand

from weibao.registry.linking import relink_registry, train_model


class Command(BaseCommand):
    help = "De-duplicate the registry with the linkage model; --train first trains a new version (no labels)."

    def add_arguments(self, parser):
        parser.add_argument("--train", action="store_true", help="train and store a new model version first")

    def handle(self, *args, train, **options):
        if train:
            model = train_model()
            self.stdout.write(f"trained {model.version} on {model.records} persons")
        self.stdout.write(json.dumps(relink_registry(), ensure_ascii=False))

"""Re-link the whole registry (batch job), optionally training a new model version first."""

import json

from django.core.management.base import BaseCommand

from weibao.registry.feature_cache import refresh
from weibao.registry.linking import relink_registry, train_model


class Command(BaseCommand):
    help = "De-duplicate the registry with the linkage model; --train first trains a new version (no labels)."

    def add_arguments(self, parser):
        parser.add_argument("--train", action="store_true", help="train and store a new model version first")
        parser.add_argument(
            "--rebuild-features",
            action="store_true",
            help="rebuild the cached features of every person first (e.g. after renaming streets)",
        )

    def handle(self, *args, train, rebuild_features, **options):
        if rebuild_features:
            _, done = refresh(rebuild=True)
            self.stdout.write(f"features rebuilt for {done['read']} persons")
        if train:
            model = train_model()
            self.stdout.write(f"trained {model.version} on {model.records} persons")
        self.stdout.write(json.dumps(relink_registry(), ensure_ascii=False))

"""Link two CSV files, or de-duplicate one, without touching the database.

    manage.py link_files LEFT.csv [RIGHT.csv] --id-column COL --map COLUMN=ROLE ... --out OUT.csv [--threshold P]

Writes left_id, right_id, match_probability, cluster_id: the pairs judged to be the same entity at the
threshold (default: the engine's upper threshold). Records with the same valid mainland ID number link
exactly; others through a model trained on the files themselves (no labels). Bad input exits with
status 2 and a message naming the column and the reason.
"""

import sys

from django.core.management.base import BaseCommand, CommandError

from weibao.registry.linkage import engine
from weibao.registry.linkage.features import ROLES
from weibao.registry.linkage.files import InputError, parse_mappings, read_csv


class Command(BaseCommand):
    help = "Link two CSV files (or de-duplicate one) and write the matching pairs with cluster ids."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE", help="LEFT.csv [RIGHT.csv]")
        parser.add_argument("--id-column", required=True, help="column holding each row's unique id")
        parser.add_argument(
            "--map", action="append", default=[], metavar="COLUMN=ROLE", help=f"roles: {', '.join(ROLES)}"
        )
        parser.add_argument("--out", required=True, help="output CSV")
        parser.add_argument("--threshold", type=float, default=engine.UPPER_THRESHOLD)
        parser.add_argument("--save-model", metavar="PATH", help="also write the trained Splink model (JSON)")

    def handle(self, *args, **opts):
        files = opts["files"]
        if len(files) > 2:
            self._fail("give one file (de-duplicate) or two (link)")
        if not 0 < opts["threshold"] <= 1:
            self._fail("--threshold must be in (0, 1]")
        try:
            mappings = parse_mappings(opts["map"])
            tables = [read_csv(f, opts["id_column"], mappings) for f in files]
        except InputError as exc:
            self._fail(str(exc))
        left = tables[0]
        right = tables[1] if len(tables) == 2 else None
        try:
            result = engine.link(
                left, right, upper=opts["threshold"], lower=min(opts["threshold"], engine.LOWER_THRESHOLD)
            )
        except Exception as exc:  # noqa: BLE001 — a clear message, never a traceback
            raise CommandError(f"linkage failed: {type(exc).__name__}: {exc}") from None
        links = result.links()
        cl = result.clusters
        left_clusters = cl[cl["side"] == "left"].set_index("record_id")["cluster_id"]
        out = links[["left_id", "right_id", "match_probability"]].copy()
        out["match_probability"] = out["match_probability"].round(6)
        out["cluster_id"] = out["left_id"].map(left_clusters).astype(int)
        out = out.sort_values(["cluster_id", "left_id", "right_id"])
        try:
            out.to_csv(opts["out"], index=False, encoding="utf-8")
        except OSError as exc:
            self._fail(f"{opts['out']}: cannot write ({exc.strerror})")
        if opts.get("save_model"):
            result.model.save(opts["save_model"])
        n = len(left) + (len(right) if right is not None else 0)
        self.stdout.write(
            f"{n} records, {len(out)} pairs at ≥ {opts['threshold']}, "
            f"{out['cluster_id'].nunique()} clusters with more than one record → {opts['out']}"
        )

    def _fail(self, message):
        self.stderr.write(f"link_files: {message}")
        sys.exit(2)

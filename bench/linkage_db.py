"""Record linkage through the database (issue 4 §6): the registry's feature cache, a daily batch, a re-link.

Usage:  DATABASE_URL=postgres://postgres@127.0.0.1:5432/weibao_bench_linkage \\
          .venv/bin/python bench/linkage_db.py [--registry 300000] [--daily 5000]

The database named in DATABASE_URL is dropped and re-created (it must be a throwaway one whose name starts
with ``weibao_bench``). Records are made as in ``bench/linkage.py speed`` (noise model in
``bench/linkage_data.py``): a clean view of ``--registry`` persons becomes the registry (street by name, valid
mainland IDs as encrypted documents with their blind index; guardians are left out), loaded with COPY,
stamped two days old and analysed (statistics as in production; not timed); then a noisy view of
``--daily`` persons, 90 % of them registry persons, arrives as new persons. Timed, with peak RSS:

1. the registry's features as every call built them before the cache (``person_features`` of all persons);
2. the cache's cold build, and a refresh with nothing changed;
3. training a model version (``train_model``, on the cached features);
4. the daily batch: the steps of ``link_persons`` for the new persons — cache refresh, engine, applying the
   decisions (the batch's auto-merges applied together, ``services.AutoMergeBatch``: set-based row moves,
   merge records and chained audit events in bulk; review pairs in bulk);
   then (not in the total) the next call's refresh, after the batch's merges;
5. a re-link of the whole registry (``relink_registry``).

``--reuse DIR`` keeps the loaded registry after step 3 (a template database ``<name>_registry_<N>``, the cache
file and the daily records in DIR) and, when they exist, starts from them: only the daily batch runs (the
first refresh then reads the cache file, as a new process would). ``--profile-dir DIR`` writes a cProfile and
the slowest SQL statements of each daily-batch step.
"""

import argparse
import datetime
import os
import resource
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def _peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def timed(label, fn, rows=None):
    t = time.perf_counter()
    out = fn()
    s = time.perf_counter() - t
    rate = f"{rows / s:12,.0f} rows/s" if rows else " " * 19
    print(f"  {label:<52} {s:8.1f} s {rate}  peak RSS {_peak():.2f} GiB", flush=True)
    return out, s


def load_persons(records, stamp, streets):
    """Persons (and their valid mainland IDs) by COPY; returns the new ids."""
    from weibao.lib.bulk import insert_rows
    from weibao.lib.pinyin import name_keys
    from weibao.registry import bulk, services
    from weibao.registry.linkage.features import valid_ids
    from weibao.registry.models import IdentityDocument, Person

    sexes = {"男": "M", "女": "F"}
    rows = []
    for r in records.itertuples(index=False):
        born = str(r.birth_date or "").replace("/", "-")
        if len(born) == 8 and "-" not in born:
            born = f"{born[:4]}-{born[4:6]}-{born[6:]}"
        try:
            born = datetime.date.fromisoformat(born) if born else None
        except ValueError:
            born = None
        pinyin, initials = name_keys(r.full_name or "")
        rows.append(
            (bulk.uuid_hexes(1)[0], "minor", (r.full_name or "")[:50], pinyin[:200], initials[:50],
             sexes.get(r.sex, "U"), born, streets.get(r.locality), "", (r.phone or "")[:30], "normal", stamp,
             stamp)
        )  # fmt: skip
    ids = insert_rows(
        Person,
        ["uuid", "kind", "name", "name_pinyin", "name_initials", "sex", "birth_date", "street_id", "address",
         "phone", "sensitivity", "created", "updated"],
        rows,
        with_ids=True,
    )  # fmt: skip
    numbers = [str(n or "").strip().upper() for n in records["id_number"]]
    valid = valid_ids(numbers)
    docs = []
    for pk, number in zip(ids, valid, strict=True):
        if number:
            f = services.document_fields("mainland_id", number)
            docs.append(
                (pk, f["type"], f["number_encrypted"], f["number_index"], f["number_masked"], True, stamp)
            )
    insert_rows(
        IdentityDocument,
        ["person_id", "type", "number_encrypted", "number_index", "number_masked", "is_valid", "created"],
        docs,
    )
    return ids


def bench_records(n_registry, n_daily, department_views, population):
    """As ``bench/linkage.py speed``: a clean registry view, and a noisy daily batch of which 90 % are
    registry persons."""
    persons = population(int(n_registry * 1.05), seed=21)
    clean = {k: 0.0 for k in ("homophone", "traditional", "swap", "drop", "surname_only", "dob_typo", "dob_swap",
                              "dob_missing", "sex_missing", "moved", "street_missing", "id_typo")}  # fmt: skip
    registry = department_views(
        persons.iloc[:n_registry], departments={"registry": 1.0}, noise=clean, seed=22
    )
    known = persons.iloc[:n_registry].sample(int(n_daily * 0.9), random_state=23)
    arriving = pd.concat([known, persons.iloc[n_registry : n_registry + n_daily - len(known)]])
    daily = department_views(arriving, departments={"daily": 1.0}, seed=24)
    return registry["registry"], daily["daily"]


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--registry", type=int, default=300_000)
    parser.add_argument("--daily", type=int, default=5_000)
    parser.add_argument(
        "--profile-dir", help="write a cProfile of each daily-batch step (refresh, engine, decisions) here"
    )
    parser.add_argument(
        "--reuse",
        metavar="DIR",
        help="keep the loaded registry (a template database, the feature cache and the daily records in DIR) "
        "and reuse it on the next run with the same sizes: only the daily batch is run again",
    )
    parser.add_argument(
        "--daily-only",
        action="store_true",
        help="skip the before-the-cache feature build and the re-link (for a large --registry)",
    )
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    dbname = url.rsplit("/", 1)[-1]
    if not url.startswith("postgres") or not dbname.startswith("weibao_bench"):
        sys.exit(
            "set DATABASE_URL=postgres://…/weibao_bench_linkage (the database is dropped and re-created)"
        )
    os.environ.setdefault("WEIBAO_DEBUG", "true")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "weibao.settings")
    import psycopg
    from psycopg.sql import SQL, Identifier

    template = f"{dbname}_registry_{args.registry}"
    reuse = Path(args.reuse) if args.reuse else None
    saved_cache = reuse / f"cache-{args.registry}.arrow" if reuse else None
    saved_daily = reuse / f"daily-{args.registry}-{args.daily}.parquet" if reuse else None
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        reusing = bool(
            reuse
            and saved_cache.exists()
            and saved_daily.exists()
            and conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [template]).fetchone()
        )
        conn.execute(SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(Identifier(dbname)))
        if reusing:
            t = time.perf_counter()
            conn.execute(
                SQL("CREATE DATABASE {} TEMPLATE {}").format(Identifier(dbname), Identifier(template))
            )
            print(
                f"registry reused from database {template} in {time.perf_counter() - t:.0f} s (not counted)"
            )
        else:
            conn.execute(SQL("CREATE DATABASE {}").format(Identifier(dbname)))

    import django

    django.setup()
    import tempfile

    from django.conf import settings

    settings.LINKAGE_CACHE_DIR = Path(tempfile.mkdtemp(prefix="weibao-linkage-cache-"))
    print(f"DuckDB memory limit {settings.LINKAGE_MEMORY_LIMIT}; thresholds "
          f"{settings.LINKAGE_LOWER_THRESHOLD}/{settings.LINKAGE_UPPER_THRESHOLD}")  # fmt: skip
    from weibao.accounts.models import Area
    from weibao.accounts.services import system_actor
    from weibao.registry import feature_cache
    from weibao.registry.linking import _apply, link_new, person_features, relink_registry, train_model
    from weibao.registry.models import Person

    streets = dict(Area.objects.filter(level="street").values_list("name", "pk")) if reusing else None
    if reusing:
        import shutil

        feature_cache.cache_path().parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        shutil.copyfile(saved_cache, feature_cache.cache_path())
        daily = pd.read_parquet(saved_daily)
        n = Person.objects.count()
        print(f"registry of {n:,} persons (reused, with its feature cache and model)")
        timed(
            "feature cache: refresh, nothing changed (new process: reads the file)", feature_cache.refresh, n
        )
    else:
        registry, daily, streets = prepare(args, feature_cache, person_features, train_model, Person, Area)
        if reuse:
            import shutil

            from django.db import connection

            reuse.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(feature_cache.cache_path(), saved_cache)
            daily.to_parquet(saved_daily)
            connection.close()
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(SQL("DROP DATABASE IF EXISTS {}").format(Identifier(template)))
                conn.execute(
                    SQL("CREATE DATABASE {} TEMPLATE {}").format(Identifier(template), Identifier(dbname))
                )
            print(f"    (registry kept as database {template} and in {reuse} for --reuse)")
    try:
        daily_batch(
            args, daily, streets, feature_cache, system_actor, _apply, link_new, relink_registry, Person
        )
    finally:
        import shutil

        shutil.rmtree(settings.LINKAGE_CACHE_DIR, ignore_errors=True)  # ~375 MB at 3 M persons


def prepare(args, feature_cache, person_features, train_model, Person, Area):
    """Generate the records, load the registry, build the feature cache, train: (registry, daily, streets)."""
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone
    from linkage_data import department_views, population

    call_command("migrate", verbosity=0)

    t = time.perf_counter()
    registry, daily = bench_records(args.registry, args.daily, department_views, population)
    print(
        f"generated {len(registry):,} + {len(daily):,} records in {time.perf_counter() - t:.0f} s (not counted)"
    )
    streets = dict(Area.objects.filter(level="street").values_list("name", "pk"))
    with transaction.atomic():
        timed(f"load {len(registry):,} registry persons (COPY, not counted)",
              lambda: load_persons(registry, timezone.now() - datetime.timedelta(days=2), streets))  # fmt: skip

    def analyse():
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    # a registry of this size has statistics in production (autovacuum); right after COPY it has none, and
    # the planner would guess (e.g. 0.5 % of persons not merged) — the daily batch's rows are left unanalysed
    timed("analyse the registry's tables (not counted)", analyse)
    n = Person.objects.count()
    print(f"\nregistry of {n:,} persons")
    if not args.daily_only:
        timed(
            "features of all persons, as each call built them before",
            lambda: person_features(Person.objects.all()),
            n,
        )
    timed("feature cache: cold build", lambda: feature_cache.refresh(rebuild=True), n)
    timed("feature cache: refresh, nothing changed", feature_cache.refresh, n)
    model, _ = timed("train a model version (cached features)", train_model, n)

    return registry, daily, streets


def daily_batch(args, daily, streets, feature_cache, system_actor, _apply, link_new, relink_registry, Person):
    from django.db import transaction
    from django.utils import timezone

    def profiled(name, fn):
        if not args.profile_dir:
            return fn
        import cProfile

        def run():
            from django.db import connection

            queries = []

            def timing(execute, sql, params, many, context):
                t = time.perf_counter()
                try:
                    return execute(sql, params, many, context)
                finally:
                    queries.append((time.perf_counter() - t, sql))

            with connection.execute_wrapper(timing), cProfile.Profile() as profile:
                out = fn()
            where = Path(args.profile_dir)
            where.mkdir(parents=True, exist_ok=True)
            profile.dump_stats(where / f"{name}.prof")
            with open(where / f"{name}.sql.txt", "w") as f:
                f.write(f"{len(queries)} queries, {sum(q[0] for q in queries):.2f} s\n")
                for seconds, sql in sorted(queries, key=lambda q: -q[0])[:25]:
                    f.write(f"{seconds:8.3f} {' '.join(sql.split())[:400]}\n")
            return out

        return run

    print(f"\ndaily batch of {len(daily):,} new persons")
    with transaction.atomic():
        new_ids, _ = timed("insert (COPY, not counted)", lambda: load_persons(daily, timezone.now(), streets))
    # the steps of ``link_persons``, timed one by one
    t0 = time.perf_counter()
    # as ``feature_cache.registry_rows``, with what the refresh did
    refreshed = lambda: feature_cache._refreshed(rebuild=False)  # noqa: E731
    (state, done), _ = timed(
        "feature cache refresh (reads the new persons)", profiled("refresh", refreshed), len(daily)
    )
    print(f"    (read {done['read']:,} persons from the database, kept {done['kept']:,}; "
          f"{state.table.num_rows - state.live_rows:,} rows held not live)")  # fmt: skip
    features, _ = timed("features to pandas (registry_rows)", lambda: feature_cache.to_pandas(state.table))
    (result, _new), _ = timed(
        "engine: exact + model scoring against the registry",
        profiled("engine", lambda: link_new(features, new_ids, live=state.live)),
        len(daily),
    )

    outcome, s = timed(
        "decisions: auto-merges (bulk) and review pairs",
        profiled("decisions", lambda: _apply(result, system_actor())),
    )
    print(f"    {outcome}; {s / max(outcome['linked'] + outcome['review'], 1) * 1000:.0f} ms per pair")
    print(f"  {'TOTAL daily batch':<52} {time.perf_counter() - t0:8.1f} s")
    from weibao.audit.chain import verify
    from weibao.registry.models import MergeRecord

    checked, broken = verify()
    print(f"    (check, not counted: {Person.all_objects.filter(merged_into__isnull=False).count():,} merged persons, "
          f"{MergeRecord.objects.count():,} merge records; audit chain {checked:,} events, "
          f"{'intact' if broken is None else broken})")  # fmt: skip

    # the next call's refresh: the batch's merges leave the cache (absorbed persons out, survivors re-read)
    (state, done), _ = timed("next call: feature cache refresh after the merges", refreshed)
    print(f"    (read {done['read']:,} persons from the database, kept {done['kept']:,}; "
          f"{state.table.num_rows - state.live_rows:,} rows held not live; not in the total)")  # fmt: skip
    if not args.daily_only:
        print("\nre-link of the whole registry (batch job)")
        outcome, _ = timed("relink_registry", relink_registry, Person.objects.count())
        print(f"    {outcome}")
    print(f"\npeak RSS {_peak():.2f} GiB")


if __name__ == "__main__":
    main()

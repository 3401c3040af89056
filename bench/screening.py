"""Early-warning screening benchmark (issue 6): full re-screen, rule evaluation, incremental batch, pandas baseline.

    .venv/bin/python bench/screening.py [--minors 3000000] [--events 10000000] [--runs 3] [--threads 2]

Uses its own throwaway PostgreSQL database ``weibao_bench_screening`` (DATABASE_URL may name another one),
dropped and re-created. Steps:

1. migrate; generate the data set-based in SQL (generate_series, never the ORM): minors spread over every
   street, guardians (most minors two, some one, a few none), person categories, one feed and batch per
   event type, and the events (each with its source record) over the last two years, skewed by type;
2. 20 active rules: the 12 active starter rules plus 8 more written for the benchmark;
3. full re-screen end to end, ``--runs`` times: consistent snapshot out of PostgreSQL (COPY → Arrow →
   DuckDB), the 20 rules, alerts upserted back. The first run opens every alert; later runs find them open
   and only add evidence. Phases timed separately;
4. rule evaluation alone over one snapshot (DuckDB, the 20 rules in one query as screening runs them) vs the
   same 20 rules written plainly in pandas over the same snapshot tables (the naive baseline); results compared
   for equality;
5. incremental screening of a 10,000-event batch (inserted set-based, then ``screen(person_ids)``).
"""

import argparse
import datetime
import os
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# Share of the events per type (sums to 100).
EVENT_MIX = {
    "edu_enrolment": 25, "edu_absence": 25, "health_suspicious_injury": 8, "police_dv_callout": 6,
    "civil_subsistence": 6, "edu_bullying": 5, "police_minor_suspect": 4, "health_autism": 3,
    "edu_psych_crisis": 2, "health_self_harm": 2, "police_missing_child": 2, "police_minor_victim": 2,
    "edu_dropout": 2, "justice_guardian_imprisoned": 1.5, "court_family_education_order": 1.5,
    "civil_guardian_deceased": 1, "police_guardian_detained": 1, "civil_orphan_unsupported": 2.95,
    "health_pregnancy_under_14": 0.05,
}  # fmt: skip

BENCH_RULES = {
    "bullying_repeated": ("medium", {"event_count": {"event_type": "edu_bullying", "within_days": 180, "min": 3}}),
    "young_suspect": ("high", {"all": [{"age": {"max": 12}}, {"event_count": {"event_type": "police_minor_suspect", "within_days": 365}}]}),
    "poor_and_absent": ("low", {"all": [{"event_count": {"event_type": "civil_subsistence", "within_days": 365}}, {"event_count": {"event_type": "edu_absence", "within_days": 90, "min": 2}}]}),
    "left_behind_absent": ("low", {"all": [{"category": {"code": "left_behind", "active": True}}, {"event_count": {"event_type": "edu_absence", "within_days": 60, "min": 2}}]}),
    "autism_alone": ("medium", {"all": [{"event_count": {"event_type": "health_autism", "within_days": 730}}, {"no_other_guardian": {}}]}),
    "order_and_dv": ("high", {"all": [{"event_count": {"event_type": "court_family_education_order", "within_days": 365}}, {"event_count": {"event_type": "police_dv_callout", "within_days": 365}}]}),
    "injury_and_dv": ("high", {"all": [{"event_count": {"event_type": "health_suspicious_injury", "within_days": 90}}, {"event_count": {"event_type": "police_dv_callout", "within_days": 90}}]}),
    "dropout_not_enrolled": ("medium", {"all": [{"event_count": {"event_type": "edu_dropout", "within_days": 365}}, {"no_event": {"event_type": "edu_enrolment", "within_days": 180}}]}),
}  # fmt: skip


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(cursor, minors: int, events: int, today: datetime.date) -> None:
    """Everything set-based in SQL. Feeds and batches (a handful of rows) come from the ORM."""
    from weibao.accounts.models import Organisation
    from weibao.feeds.models import Batch, EventType, Feed

    owner = Organisation.objects.filter(type__code="committee_office").order_by("pk").first()
    types = list(EventType.objects.filter(code__in=EVENT_MIX))
    for t in types:
        feed = Feed.objects.create(code=f"bench_{t.code}", name=t.name, owner=owner, event_type=t)
        Batch.objects.create(feed=feed, idempotency_key="bench", source="file", status="done")
    t0 = time.perf_counter()
    # The generated rows are valid by construction: skip the foreign-key triggers, whose deferred checks
    # (≈ 95 M of them, at COMMIT) took longer than generating the rows (first run: 45+ min on 2 loaded cores).
    cursor.execute("SET session_replication_role = replica")
    cursor.execute("CREATE TEMP TABLE bench_streets AS SELECT row_number() OVER (ORDER BY id) AS n, id "
                   "FROM accounts_area WHERE level = 'street'")  # fmt: skip
    cursor.execute("SELECT count(*) FROM bench_streets")
    (streets,) = cursor.fetchone()
    person = (
        "INSERT INTO registry_person (uuid, kind, name, name_pinyin, name_initials, sex, birth_date, street_id, "
        "address, phone, sensitivity, created, updated) "
        "SELECT gen_random_uuid(), %s, '测试', '', '', 'U', %s::date - (random() * %s)::int, "
        "s.id, '', '', 'normal', now(), now() "
        "FROM generate_series(1, %s) g JOIN bench_streets s ON s.n = 1 + (g %% %s)"
    )
    cursor.execute(person, ["minor", today, 18 * 365 - 1, minors, streets])
    adults = minors // 3
    cursor.execute(person, ["adult", today, 1, adults, streets])
    cursor.execute("SELECT min(id), max(id) FROM registry_person WHERE kind = 'minor'")
    lo, hi = cursor.fetchone()
    cursor.execute("SELECT min(id) FROM registry_person WHERE kind = 'adult'")
    (adult_lo,) = cursor.fetchone()
    print(f"  persons: {minors:,} minors + {adults:,} adults in {time.perf_counter() - t0:.0f} s", flush=True)
    t0 = time.perf_counter()
    # About 89 % of minors have two guardians, 10 % one, 0.2 % none; 2 % of the guardianships ended a year ago.
    cursor.execute(
        "INSERT INTO registry_guardianship (minor_id, guardian_id, relation, since, until, created) "
        "SELECT p, %s + (random() * (%s - 1))::int, r, NULL, "
        "CASE WHEN random() < 0.02 THEN %s::date - 365 END, now() "
        "FROM generate_series(%s, %s) p, (VALUES ('father', 0.97), ('mother', 0.92)) AS rel(r, share) "
        "WHERE random() < share",
        [adult_lo, adults, today, lo, hi],
    )
    cursor.execute(
        "INSERT INTO registry_personcategory (person_id, category_id, since, until, created) "
        "SELECT p, c.id, NULL, NULL, now() FROM generate_series(%s, %s) p "
        "JOIN registry_category c ON c.code = 'left_behind' WHERE p %% 20 = 0",
        [lo, hi],
    )
    print(f"  guardianships and categories in {time.perf_counter() - t0:.0f} s", flush=True)
    t0 = time.perf_counter()
    cursor.execute("CREATE TEMP TABLE bench_mix (code text, lo float, hi float, type_id bigint, feed_id bigint, "
                   "batch_id bigint, org_id bigint)")  # fmt: skip
    edge = 0.0
    for code, share in EVENT_MIX.items():
        cursor.execute(
            "INSERT INTO bench_mix SELECT %s, %s, %s, t.id, f.id, b.id, f.owner_id FROM feeds_eventtype t "
            "JOIN feeds_feed f ON f.event_type_id = t.id AND f.code LIKE 'bench_%%' "
            "JOIN feeds_batch b ON b.feed_id = f.id WHERE t.code = %s",
            [code, edge, edge + share / 100, code],
        )
        edge += share / 100
    insert_events(cursor, events, lo, hi, today, first_row=1)
    print(f"  {events:,} events with their source records in {time.perf_counter() - t0:.0f} s", flush=True)
    cursor.execute("SET session_replication_role = DEFAULT")
    t0 = time.perf_counter()
    cursor.execute("ANALYZE")
    print(f"  analyze in {time.perf_counter() - t0:.0f} s", flush=True)


def insert_events(cursor, events, lo, hi, today, *, first_row, batch_key=None, days=730) -> None:
    """``events`` source records + events, persons uniform in [lo, hi], types by EVENT_MIX."""
    batch = (
        "m.batch_id"
        if batch_key is None
        else "(SELECT id FROM feeds_batch WHERE idempotency_key = %s AND feed_id = m.feed_id)"
    )
    params = [] if batch_key is None else [batch_key]
    cursor.execute(
        "CREATE TEMP TABLE bench_new AS SELECT g AS row_number, "  # noqa: S608 - constants only
        f"%s + (random() * (%s - %s))::bigint AS person_id, %s::date - (random() * {days})::int AS occurred_on, "
        "random() AS pick FROM generate_series(%s, %s) g",
        [lo, hi, lo, today, first_row, first_row + events - 1],
    )
    cursor.execute(
        "INSERT INTO feeds_sourcerecord (feed_id, source_id, content_hash, data, person_id, batch_id, row_number, created) "  # noqa: S608
        f"SELECT m.feed_id, 'b' || n.row_number, '', '{{}}', n.person_id, {batch}, n.row_number, now() "
        "FROM bench_new n JOIN bench_mix m ON n.pick >= m.lo AND n.pick < m.hi",
        params,
    )
    cursor.execute(
        "INSERT INTO feeds_event (uuid, person_id, event_type_id, occurred_on, source_organisation_id, feed_id, "
        "source_record_id, data, created) "
        "SELECT gen_random_uuid(), s.person_id, m.type_id, n.occurred_on, m.org_id, s.feed_id, s.id, '{}', now() "
        "FROM bench_new n JOIN bench_mix m ON n.pick >= m.lo AND n.pick < m.hi "
        "JOIN feeds_sourcerecord s ON s.feed_id = m.feed_id AND s.source_id = 'b' || n.row_number",
    )
    cursor.execute("DROP TABLE bench_new")


def install_rules() -> list:
    from weibao.alerts.choices import RuleStatus
    from weibao.alerts.models import AlertLevel, Rule
    from weibao.alerts.services import save_rule

    levels = {lvl.code: lvl for lvl in AlertLevel.objects.all()}
    for code, (level, definition) in BENCH_RULES.items():
        if Rule.objects.filter(code=code).exists():
            continue
        save_rule(
            actor=None,
            code=code,
            data={"name": code, "definition": definition, "level": levels[level], "recipient": "workstation",
                  "deadline_hours": 72},
        )  # fmt: skip
    Rule.objects.exclude(code="school_age_no_enrolment").update(status=RuleStatus.ACTIVE)
    return list(Rule.objects.filter(status=RuleStatus.ACTIVE).select_related("current"))


# --- the naive baseline: the same rules, plainly in pandas ----------------------------------------------


def pandas_rules(tables: dict, definitions: dict, today: datetime.date) -> dict:
    import pandas as pd

    persons, events = tables["persons"], tables["events"]
    types, cats, guards = tables["event_types"], tables["person_categories"], tables["guardianships"]
    today_ts = pd.Timestamp(today)
    adult_limit = today_ts - pd.DateOffset(years=18)
    screened = persons[
        (persons.kind == "minor") & (persons.birth_date.isna() | (persons.birth_date > adult_limit))
    ]
    screened_ids = screened.id
    code_to_id = dict(zip(types.code, types.id, strict=True))
    empty = pd.DataFrame({"person_id": pd.Series(dtype="int64"), "event_id": pd.Series(dtype="float64")})

    def window(df, days):
        if days is None:
            return df[df.occurred_on <= today_ts]
        return df[(df.occurred_on > today_ts - pd.Timedelta(days=days)) & (df.occurred_on <= today_ts)]

    def of_types(value):
        codes = [value] if isinstance(value, str) else value
        return events[events.type_id.isin([code_to_id[c] for c in codes if c in code_to_id])]

    def marks(ids):
        return pd.DataFrame({"person_id": pd.Series(ids, dtype="int64").values, "event_id": float("nan")})

    def node(n):
        ((kind, b),) = n.items()
        if kind in ("all", "any"):
            parts = [node(c) for c in b]
            rows = pd.concat(parts) if parts else empty
            if kind == "all":
                keep = set(parts[0].person_id)
                for p in parts[1:]:
                    keep &= set(p.person_id)
                rows = rows[rows.person_id.isin(keep)]
            return rows
        if kind == "event_count":
            ev = window(of_types(b["event_type"]), b["within_days"])
            counts = ev.groupby("person_id").size()
            ev = ev[ev.person_id.isin(counts[counts >= b.get("min", 1)].index)]
            return pd.DataFrame(
                {"person_id": ev.person_id.values, "event_id": ev.id.astype("float64").values}
            )
        if kind == "events_across_departments":
            ev = of_types(b["event_types"]) if b.get("event_types") else events
            ev = window(ev, b["within_days"]).merge(types[["id", "domain"]].rename(columns={"id": "type_id"}))
            n_dom = ev.groupby("person_id").domain.nunique()
            ev = ev[ev.person_id.isin(n_dom[n_dom >= b["min_departments"]].index)]
            return pd.DataFrame(
                {"person_id": ev.person_id.values, "event_id": ev.id.astype("float64").values}
            )
        if kind == "no_event":
            seen = window(of_types(b["event_type"]), b.get("within_days")).person_id
            return marks(screened_ids[~screened_ids.isin(seen)])
        if kind == "category":
            codes = [b["code"]] if isinstance(b["code"], str) else b["code"]
            c = cats[cats.code.isin(codes) & (cats.since.isna() | (cats.since <= today_ts))
                     & (cats.until.isna() | (cats.until >= today_ts))]  # fmt: skip
            held = screened_ids.isin(c.person_id)
            return marks(screened_ids[held if b.get("active", True) else ~held])
        if kind == "age":
            p = persons[persons.birth_date.notna()]
            if b.get("min") is not None:
                p = p[p.birth_date <= today_ts - pd.DateOffset(years=b["min"])]
            if b.get("max") is not None:
                p = p[p.birth_date > today_ts - pd.DateOffset(years=b["max"] + 1)]
            return marks(p.id)
        if kind == "no_other_guardian":
            g = guards[
                (guards.since.isna() | (guards.since <= today_ts))
                & (guards.until.isna() | (guards.until >= today_ts))
            ]
            n_g = g.groupby("minor_id").size()
            many = n_g[n_g > 1].index
            return marks(screened_ids[~screened_ids.isin(many)])
        raise ValueError(kind)

    out = {}
    for key, definition in definitions.items():
        rows = node(definition)
        rows = rows[rows.person_id.isin(screened_ids)]
        grouped = rows.groupby("person_id").event_id.apply(
            lambda s: sorted(int(e) for e in s.dropna().unique())
        )
        out[key] = dict(grouped.items())
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minors", type=int, default=3_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--skip-pandas", action="store_true")
    parser.add_argument(
        "--reuse", action="store_true", help="keep the generated database; only clear alerts (faster re-runs)"
    )
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/weibao_bench_screening")
    if not url.startswith("postgres"):
        sys.exit(
            "bench/screening.py measures PostgreSQL: set DATABASE_URL=postgres://…/weibao_bench_screening"
        )
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("WEIBAO_DEBUG", "true")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "weibao.settings")
    import psycopg

    dbname = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    if not args.reuse:
        with psycopg.connect(admin, autocommit=True) as conn:
            drop = psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            conn.execute(drop.format(psycopg.sql.Identifier(dbname)))
            conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(dbname)))

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    call_command("migrate", verbosity=0)
    from weibao.alerts import engine, snapshot
    from weibao.alerts.models import Alert, AlertEvidence
    from weibao.feeds.models import Batch, Event, Feed

    today = datetime.date(2026, 11, 29)
    print(f"load average before: {os.getloadavg()}")
    if args.reuse:
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE alerts_alertevidence, alerts_alerttransition, alerts_risksummary, alerts_alert CASCADE"
            )
            cursor.execute(
                "CREATE TEMP TABLE bench_mix AS SELECT t.code, 0.0 AS lo, 0.0 AS hi, t.id AS type_id, "
                "f.id AS feed_id, 0::bigint AS batch_id, f.owner_id AS org_id FROM feeds_eventtype t "
                "JOIN feeds_feed f ON f.event_type_id = t.id AND f.code LIKE 'bench_%%'"
            )
            edge = 0.0
            for code, share in EVENT_MIX.items():
                cursor.execute(
                    "UPDATE bench_mix SET lo = %s, hi = %s WHERE code = %s", [edge, edge + share / 100, code]
                )
                edge += share / 100
        print(f"reusing the database: {Event.objects.count():,} events", flush=True)
    else:
        print("generating …", flush=True)
        t0 = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            generate(cursor, args.minors, args.events, today)
        print(f"generated in {time.perf_counter() - t0:.0f} s; events {Event.objects.count():,}", flush=True)
    rules = install_rules()
    print(f"{len(rules)} active rules")

    print("\nfull re-screen, end to end (snapshot → rules → alerts upserted):")
    runs = []
    for i in range(args.runs):
        load = os.getloadavg()[0]
        t = time.perf_counter()
        result = engine.screen(today=today, threads=args.threads)
        total = time.perf_counter() - t
        runs.append((total, result))
        s = result.seconds
        print(f"  run {i + 1}: {total:.2f} s (snapshot {s['snapshot']:.2f}, rules {s['rules']:.2f}, alerts "
              f"{s['alerts']:.2f}); {result.persons:,} minors, {result.flagged:,} flagged, {result.new_alerts:,} "
              f"new alerts, {result.evidence_added:,} evidence rows added; load {load:.1f}", flush=True)  # fmt: skip
    print(f"  median {statistics.median(r[0] for r in runs):.2f} s; alerts {Alert.objects.count():,}, "
          f"evidence {AlertEvidence.objects.count():,}")  # fmt: skip

    print(f"\nrule evaluation alone (one snapshot, {len(rules)} rules in one query, as screening runs them):")
    definitions = {r.code: r.current.definition for r in rules}
    versions = engine.active_versions()
    con = snapshot.take(threads=args.threads, today=today, definitions=list(definitions.values()))
    sizes = {name: con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0] for name in snapshot.TABLES}  # noqa: S608
    print("  snapshot rows: " + ", ".join(f"{name} {n:,}" for name, n in sizes.items()))
    duck_times = []
    for _ in range(args.runs):  # what screening times as "rules": every hit into the DuckDB table ``hits``
        load = os.getloadavg()[0]
        t = time.perf_counter()
        engine.collect_hits(con, versions, today)
        duck_times.append(time.perf_counter() - t)
        print(f"  DuckDB: {duck_times[-1]:.2f} s; load {load:.1f}", flush=True)
    duck = dict(zip(definitions, engine.evaluate_many(con, list(definitions.values()), today), strict=True))
    print(
        f"  DuckDB: runs {', '.join(f'{x:.2f}' for x in duck_times)} s; median {statistics.median(duck_times):.2f} s"
    )
    if not args.skip_pandas:
        tables = {name: con.execute(f"SELECT * FROM {name}").df() for name in snapshot.TABLES}  # noqa: S608
        for name, df in tables.items():
            for column in ("birth_date", "occurred_on", "since", "until"):
                if column in df:
                    tables[name][column] = df[column].astype("datetime64[ns]")
        pandas_times = []
        for _ in range(args.runs):
            load = os.getloadavg()[0]
            t = time.perf_counter()
            naive = pandas_rules(tables, definitions, today)
            pandas_times.append(time.perf_counter() - t)
            print(f"  pandas: {pandas_times[-1]:.2f} s; load {load:.1f}", flush=True)
        same = all(naive[k] == duck[k] for k in definitions)
        ratio = statistics.median(duck_times) / statistics.median(pandas_times)
        print(f"  pandas: runs {', '.join(f'{x:.2f}' for x in pandas_times)} s; median "
              f"{statistics.median(pandas_times):.2f} s; DuckDB/pandas = {ratio:.3f}; identical results: {same}")  # fmt: skip
        for k in definitions:
            if naive[k] != duck[k]:
                print(f"    differs: {k}: duckdb {len(duck[k])} pandas {len(naive[k])}")
        del tables
    con.close()

    print(f"\nincremental: a {args.batch:,}-event batch")
    lo, hi = (
        Event.objects.order_by("person_id").values_list("person_id", flat=True).first(),
        Event.objects.order_by("-person_id").values_list("person_id", flat=True).first(),
    )
    inc = []
    for i in range(args.runs):
        stamp = int(time.time())
        key = f"inc{stamp}_{i}"
        for feed in Feed.objects.filter(code__startswith="bench_"):
            Batch.objects.create(feed=feed, idempotency_key=key, source="api", status="done")
        with transaction.atomic(), connection.cursor() as cursor:
            insert_events(
                cursor,
                args.batch,
                lo,
                hi,
                today,
                first_row=10**9 + (stamp % 30000) * 30000 + i * args.batch,
                batch_key=key,
                days=30,
            )
        batch_ids = list(Batch.objects.filter(idempotency_key=key).values_list("pk", flat=True))
        load = os.getloadavg()[0]
        t = time.perf_counter()
        persons = set(
            Event.objects.filter(source_record__batch_id__in=batch_ids).values_list("person_id", flat=True)
        )
        lookup = time.perf_counter() - t
        result = engine.screen(persons, today=today, threads=args.threads)
        elapsed = time.perf_counter() - t
        inc.append(elapsed)
        s = result.seconds
        print(f"  run {i + 1}: {elapsed:.2f} s (persons of the batch {lookup:.2f}, snapshot {s['snapshot']:.2f}, rules {s['rules']:.2f}, alerts "
              f"{s['alerts']:.2f}); {len(persons):,} persons, {result.new_alerts} new alerts; load {load:.1f}")  # fmt: skip
    print(f"  median {statistics.median(inc):.2f} s")
    print(f"\npeak RSS {rss_mb():.0f} MB; load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()

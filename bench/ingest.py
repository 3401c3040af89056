"""Feed ingestion speed (issue 3 §5): a 1,000,000-row CSV event feed, end to end into PostgreSQL.

Usage:  DATABASE_URL=postgres://postgres@127.0.0.1:5432/weibao_bench \\
          .venv/bin/python bench/ingest.py [--rows 1000000] [--bad 0.02] [--seed 3] [--chunk 50000] [--api 10]

The database named in DATABASE_URL is dropped and re-created (it must be a throwaway one). Steps:
1. generate the CSV (reproducible seed): persons with valid GB 11643 ID numbers in Shanghai streets, an
   absence event each; ``--bad`` of the rows are bad in varied ways (check character, impossible and
   future dates, unknown area, missing name, wrong type, too long, source id resent with other content);
2. ``COPY`` the same file into a bare table of text columns (the floor);
3. ingest it with the feed pipeline (landing → validated → normalised → persons, documents, links, events),
   timed, with peak RSS of this process (the pipeline streams: the file is never loaded whole);
   with ``--again``, then a second file about the same children (new source ids): a later month's feed;
4. the API path: ``--api`` batches of 10,000 records POSTed to /api/feeds/<code>/batches/.
Prints rows/s, the ratio to COPY, and peak memory.
"""

import argparse
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤欧阳"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬芳燕彩春菊兰凤洁梅琳素云莲真环雪荣爱妹霞香月莺媛艳瑞凡佳嘉琼勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪荷丹蓉眉君琴蕊薇菁梦岚苑婕馨瑗琰韵融园艺咏卿聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔竹霭凝晓欢霄枫芸菲寒伊亚宜可姬舒影荔枝思丽"
COLUMNS = [
    "source_id",
    "id_number",
    "name",
    "sex",
    "birth_date",
    "street",
    "address",
    "occurred_on",
    "days",
    "school",
]
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHECK = "10X98765432"


def check_char(first17: str) -> str:
    return CHECK[sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True)) % 11]


def generate(path: Path, rows: int, bad: float, seed: int, streets: list[str], prefix: str = "E") -> dict:
    """Write the CSV; return how many bad rows of each kind it holds. The same seed gives the same children
    and the same bad rows; ``prefix`` starts the source ids (another prefix: the same children sent again)."""
    import csv

    rng = random.Random(seed)
    kinds = ["check_char", "impossible_date", "future_date", "unknown_area", "missing_name", "wrong_type",
             "too_long", "conflict"]  # fmt: skip
    counts = dict.fromkeys(kinds, 0)
    sent: list[tuple[str, list]] = []
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for i in range(1, rows + 1):
            street = rng.choice(streets)
            born = f"{rng.randint(2008, 2022)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
            first17 = f"{street[:6]}{born}{rng.randint(0, 999):03d}"
            number = first17 + check_char(first17)
            sex = "男" if int(number[16]) % 2 else "女"
            name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))
            row = [f"{prefix}{i:08d}", number, name, sex, f"{born[:4]}-{born[4:6]}-{born[6:]}", street,
                   f"{rng.randint(1, 999)}号", f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                   str(rng.randint(1, 30)), "第一中学"]  # fmt: skip
            if rng.random() < bad:
                kind = rng.choice(kinds)
                counts[kind] += 1
                if kind == "check_char":
                    row[1] = number[:17] + ("0" if number[17] != "0" else "1")
                elif kind == "impossible_date":
                    row[7] = "2025-02-30"
                elif kind == "future_date":
                    row[7] = "2999-01-01"
                elif kind == "unknown_area":
                    row[5] = "310199999"
                elif kind == "missing_name":
                    row[2] = ""
                elif kind == "wrong_type":
                    row[8] = "三天"
                elif kind == "too_long":
                    row[6] = "长" * 300
                elif kind == "conflict" and sent:
                    source_id, earlier = rng.choice(sent)
                    row = [source_id, *earlier[1:8], str(int(earlier[8]) + 1), earlier[9]]
            elif len(sent) < 10_000 and rng.random() < 0.01:
                sent.append((row[0], row))
            writer.writerow(row)
    return counts


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds of this process, or of another one (the PostgreSQL backend) via /proc:
    less sensitive than wall-clock time to other work on a shared machine."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class BackendCPU:
    """CPU seconds of every PostgreSQL backend serving ``dbname`` (the pipeline's connections and the
    benchmark's own), sampled by a thread every 0.5 s: the backends' pids from ``pg_stat_activity`` (on the
    thread's own connection), their CPU from /proc/<pid>/stat — cheap, as the thread shares the interpreter
    with the pipeline. A backend's last sample counts."""

    def __init__(self, url: str):
        import threading

        import psycopg

        self.conn = psycopg.connect(url, autocommit=True)
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.stop = threading.Event()
        self.sample(initial=True)
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def sample(self, initial=False):
        pids = [pid for (pid,) in self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        )]  # fmt: skip
        for pid in set(pids) | set(self.last):
            try:
                seconds = cpu_seconds(pid)
            except OSError:
                continue  # the backend ended: its last sample counts
            if initial:
                self.first[pid] = seconds
            self.last[pid] = seconds

    def run(self):
        while not self.stop.wait(0.5):
            self.sample()

    def seconds(self) -> float:
        self.stop.set()
        self.thread.join()
        self.sample()
        self.conn.close()
        return sum(v - self.first.get(pid, 0.0) for pid, v in self.last.items())


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_phases() -> dict:
    """Wrap the pipeline's phases with timers (wall clock, summed over chunks). With ``StoreBehind`` (the
    default on PostgreSQL) the store's phases run in their own thread beside reading and checking, so the
    phases add up to more than the total; ``--sequential`` runs them one after the other. Caller's thread:
    landing_rows, validate_chunk, look_up, prepare_chunk; store thread: land, write_chunk, mark_landing,
    commit+other.
    "commit+other" is what ``store_chunk`` spends outside its named phases (mostly the commit)."""
    from collections import Counter

    from weibao.feeds import pipeline

    spent: Counter = Counter()

    def timed(name, fn):
        def wrapper(*a, **kw):
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                spent[name] += time.perf_counter() - t

        return wrapper

    inner = ["write_chunk", "mark_landing"]
    for name in ["landing_rows", "land", "validate_chunk", "look_up", "prepare_chunk", *inner]:
        setattr(pipeline, name, timed(name, getattr(pipeline, name)))
    store = pipeline.store_chunk

    def store_chunk(*a, **kw):
        before = sum(spent[n] for n in inner)
        t = time.perf_counter()
        try:
            return store(*a, **kw)
        finally:
            spent["commit+other"] += time.perf_counter() - t - (sum(spent[n] for n in inner) - before)

    pipeline.store_chunk = store_chunk
    return spent


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--bad", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--chunk", type=int, default=50_000)
    parser.add_argument("--api", type=int, default=10, help="number of 10,000-record API batches")
    parser.add_argument("--phases", action="store_true", help="print wall-clock time per pipeline phase")
    parser.add_argument(
        "--again", action="store_true", help="then a second file about the same children (new source ids)"
    )
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the file ingest to FILE")
    parser.add_argument(
        "--sequential", action="store_true", help="store each chunk before landing the next (no StoreBehind)"
    )
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/weibao_bench")
    if not url.startswith("postgres"):
        sys.exit("bench/ingest.py measures PostgreSQL: set DATABASE_URL=postgres://…/weibao_bench")
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("WEIBAO_DEBUG", "true")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "weibao.settings")
    import psycopg

    dbname = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(psycopg.sql.Identifier(dbname))
        )
        conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(dbname)))

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    from weibao.accounts.models import Area
    from weibao.feeds import services
    from weibao.feeds.models import Event, Feed
    from weibao.lib.testing import build_world, verify_second_factor
    from weibao.registry.models import Person

    world = build_world()
    from weibao.feeds.tests.helpers import edu_feed

    feed = edu_feed(world)
    Feed.objects.filter(pk=feed.pk).update(mapping={})
    streets = list(Area.objects.filter(level="street").values_list("code", flat=True))

    tmp = Path(tempfile.mkdtemp(prefix="weibao-bench-"))
    path = tmp / "feed.csv"
    t0 = time.perf_counter()
    bad_counts = generate(path, args.rows, args.bad, args.seed, streets)
    print(f"generated {path} — {args.rows:,} rows ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f} s; "
          f"bad rows: {sum(bad_counts.values()):,} {bad_counts}")  # fmt: skip

    # the floor: COPY of the same file into a bare table
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_bare (" + ", ".join(f"{c} text" for c in COLUMNS) + ")")  # noqa: S608
    connection.commit() if not connection.get_autocommit() else None
    t0 = time.perf_counter()
    with connection.cursor() as cursor, path.open("rb") as fh:
        with cursor.cursor.copy("COPY bench_bare FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
            for block in iter(lambda: fh.read(1 << 20), b""):
                copy.write(block)
    copy_seconds = time.perf_counter() - t0
    print(f"raw COPY: {copy_seconds:.2f} s ({args.rows / copy_seconds:,.0f} rows/s)")

    if args.sequential:
        from weibao.feeds import pipeline

        pipeline.OVERLAP = False
    phases = time_phases() if args.phases else None
    rss_before = rss_mb()
    backends = BackendCPU(url)
    cpu0 = cpu_seconds()
    t0 = time.perf_counter()
    if args.profile:
        import cProfile

        with cProfile.Profile() as profile:
            batch = services.ingest_file(feed, path, actor=world.users["edu_city"], chunk_size=args.chunk)
        profile.dump_stats(args.profile)
    else:
        batch = services.ingest_file(feed, path, actor=world.users["edu_city"], chunk_size=args.chunk)
    seconds = time.perf_counter() - t0
    cpu, db_cpu = cpu_seconds() - cpu0, backends.seconds()
    batch.refresh_from_db()
    print(f"pipeline: {seconds:.2f} s, {args.rows / seconds:,.0f} rows/s, {seconds / copy_seconds:.1f}× COPY; "
          f"peak RSS {rss_mb():.0f} MB (before: {rss_before:.0f} MB)")  # fmt: skip
    print(f"  CPU: Python {cpu:.1f} s, PostgreSQL backends {db_cpu:.1f} s (wall {seconds:.1f} s; "
          f"load average {os.getloadavg()[0]:.2f})")  # fmt: skip
    print(f"  received {batch.received:,} accepted {batch.accepted:,} duplicates {batch.duplicates:,} "
          f"rejected {batch.rejected:,} events {Event.objects.count():,}")  # fmt: skip
    print(f"  rejected by reason: {json.dumps(batch.rejected_by_reason, ensure_ascii=False)}")
    if phases is not None:
        print("  phases (s): " + ", ".join(f"{k} {v:.2f}" for k, v in phases.items()))
        phases.clear()

    if args.again:  # a month later: the same children, new records — no person, document or link to write
        again = tmp / "again.csv"
        generate(again, args.rows, args.bad, args.seed, streets, prefix="F")
        t0 = time.perf_counter()
        second = services.ingest_file(feed, again, actor=world.users["edu_city"], chunk_size=args.chunk)
        seconds = time.perf_counter() - t0
        second.refresh_from_db()
        print(f"the same children again: {seconds:.2f} s, {args.rows / seconds:,.0f} rows/s, "
              f"{seconds / copy_seconds:.1f}× COPY; accepted {second.accepted:,} rejected {second.rejected:,}; "
              f"persons {Person.objects.count():,}")  # fmt: skip

    if args.api:
        from django.test import Client

        client = Client()
        verify_second_factor(client, world.users["edu_city"])
        rng = random.Random(args.seed + 1)
        times = []
        for b in range(args.api):
            records = []
            for i in range(10_000):
                street = rng.choice(streets)
                first17 = f"{street[:6]}2016{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
                records.append({"source_id": f"A{b:03d}-{i:05d}", "id_number": first17 + check_char(first17),
                                "name": rng.choice(SURNAMES) + rng.choice(GIVEN), "street": street,
                                "occurred_on": "2025-05-01", "days": rng.randint(1, 30)})  # fmt: skip
            body = json.dumps({"idempotency_key": f"api-{b}", "records": records})
            t0 = time.perf_counter()
            response = client.post(f"/api/feeds/{feed.code}/batches/", body, content_type="application/json")
            times.append(time.perf_counter() - t0)
            assert response.status_code == 201, response.content[:500]
        median = statistics.median(times)
        print(
            f"API: {args.api} batches of 10,000; median {median:.2f} s per batch = {10_000 / median:,.0f} records/s"
        )
    print(f"peak RSS of the run: {rss_mb():.0f} MB")


if __name__ == "__main__":
    main()

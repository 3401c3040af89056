"""How fast the feed checks run in bulk (issue 3 §5, the data-model change in docs/PERFORMANCE.md): the
benchmark's CSV validated by one DuckDB query — GB 11643 check character and birth date, a non-empty name,
a past ``occurred_on``, an integer ``days``, the address length, the street code against the areas — with
no Python per row. Counts the rows it finds good and bad; the pipeline's own validator is the reference
(the bad rows it rejects, less the source-id conflicts, which need the database).

Usage:  DATABASE_URL=postgres://postgres@127.0.0.1:5432/weibao_bench_ingest \\
          .venv/bin/python bench/validation_floor.py PATH/feed.csv   # a file bench/ingest.py wrote (it prints where)
"""

import os
import sys
import time

import duckdb
import psycopg

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHECKSUM = " + ".join(f"(ascii(substr(id_number, {i + 1}, 1)) - 48) * {w}" for i, w in enumerate(WEIGHTS))
QUERY = f"""
SELECT count(*) FILTER (WHERE ok), count(*) FILTER (WHERE NOT ok) FROM (
  SELECT coalesce(regexp_full_match(id_number, '[0-9]{{17}}[0-9X]')
     AND substr('10X98765432', (({CHECKSUM}) % 11) + 1, 1) = substr(id_number, 18, 1)
     AND try_strptime(substr(id_number, 7, 8), '%Y%m%d') IS NOT NULL
     AND coalesce(trim(name), '') <> ''
     AND try_cast(occurred_on AS DATE) <= current_date
     AND try_cast(days AS INTEGER) IS NOT NULL
     AND length(coalesce(address, '')) <= 200
     AND s.code IS NOT NULL, false) AS ok
  FROM read_csv(?, all_varchar = true, header = true) f LEFT JOIN streets s ON s.code = f.street)
"""  # noqa: S608 — built from the constants above


def main():
    path = sys.argv[1]
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/weibao_bench_ingest")
    with psycopg.connect(url) as pg:
        streets = [code for (code,) in pg.execute("SELECT code FROM accounts_area WHERE level = 'street'")]
    con = duckdb.connect()
    con.execute("SET threads TO 2")
    con.execute("CREATE TABLE streets AS SELECT unnest(?::VARCHAR[]) AS code", [streets])
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        good, bad = con.execute(QUERY, [path]).fetchone()
        times.append(time.perf_counter() - t0)
        print(f"good {good:,} bad {bad:,} in {times[-1]:.2f} s")
    print(f"median {sorted(times)[1]:.2f} s = {(good + bad) / sorted(times)[1]:,.0f} rows/s")


if __name__ == "__main__":
    main()

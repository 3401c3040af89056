"""Record-linkage benchmarks (issue 4): quality and speed.

    .venv/bin/python bench/linkage.py quality [--persons 20000] [--seed 1]
    .venv/bin/python bench/linkage.py speed [--scale 1.0] [--threads 2]

quality — three departments' views of one synthetic population (noise model in bench/linkage_data.py),
de-duplicated together; pairwise precision, recall and F1 of the auto-links (decision "link", i.e. at
UPPER_THRESHOLD, plus exact ID links) for (a) 80 % of records carrying an ID number and (b) none; and the
same over a range of thresholds, which is what the default thresholds are chosen from.

speed — a registry of 3,000,000 × scale persons (one clean record each) and 1,000,000 × scale incoming
noisy records (90 % of them of registry persons); phases timed: features, training, exact + model
linking, re-link with the trained model, a daily batch of 50,000 × scale records. Peak RSS reported.
"""

import argparse
import collections
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pandas as pd  # noqa: E402
from linkage_data import department_views, population  # noqa: E402

from weibao.registry.linkage import engine  # noqa: E402
from weibao.registry.linkage.features import build_features  # noqa: E402


def _scores(pairs, truth, total_true):
    true = [truth[a] == truth[b] for a, b in zip(pairs["left_id"], pairs["right_id"], strict=True)]
    tp = sum(true)
    precision = tp / len(pairs) if len(pairs) else 1.0
    recall = tp / total_true if total_true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1, len(pairs)


def quality(args):
    persons = population(args.persons, seed=args.seed)
    for label, id_present in (("(a) 80% with ID", 0.8), ("(b) no IDs", 0.0)):
        views = department_views(persons, noise={"id_present": id_present}, seed=args.seed + 6)
        records = pd.concat(views.values(), ignore_index=True)
        truth = dict(zip(records["record_id"], records["person_id"], strict=True))
        total_true = sum(n * (n - 1) // 2 for n in collections.Counter(records["person_id"]).values())
        t = time.perf_counter()
        result = engine.link(records.drop(columns=["person_id"]), id_column="record_id", lower=0.3)
        elapsed = time.perf_counter() - t
        p, r, f1, n = _scores(result.links(), truth, total_true)
        print(
            f"\n{label}: {len(persons)} persons, {len(records)} records, {total_true} true pairs, {elapsed:.1f} s"
        )
        print(f"  default thresholds (upper {engine.UPPER_THRESHOLD}): precision {p:.4f} recall {r:.4f} F1 {f1:.4f}"
              f" ({n} links)")  # fmt: skip
        reviews = result.pairs[
            (result.pairs["decision"] == engine.REVIEW)
            & (result.pairs["match_probability"] >= engine.LOWER_THRESHOLD)
        ]
        rp, _, _, rn = _scores(reviews, truth, total_true)
        print(
            f"  review band [{engine.LOWER_THRESHOLD}, {engine.UPPER_THRESHOLD}): {rn} pairs, {rp:.2%} true"
        )
        twins = result.pairs[result.pairs["both_ids_differ"]]
        tw_true = sum(truth[a] == truth[b] for a, b in zip(twins["left_id"], twins["right_id"], strict=True))
        print(
            f"  pairs with two different valid IDs (never auto-linked): {len(twins)}, of which same person: {tw_true}"
        )
        print("  threshold  precision  recall  F1      links")
        for thr in (0.3, 0.5, 0.8, 0.9, 0.95, 0.99, 0.999):
            sel = result.pairs[
                ((result.pairs["match_probability"] >= thr) & ~result.pairs["both_ids_differ"])
                | (result.pairs["method"] == engine.EXACT)
            ]
            p, r, f1, n = _scores(sel, truth, total_true)
            print(f"  {thr:<9}  {p:.4f}     {r:.4f}  {f1:.4f}  {n}")


def _peak_gb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def speed_data(scale: float, cache: str | None = None):
    """(registry, incoming, daily) record tables for ``scale``; with ``cache`` (a directory) they are kept
    as parquet files and read back on the next run (generation is slow and not part of the benchmark)."""
    n_registry, n_incoming, n_daily = int(3_000_000 * scale), int(1_000_000 * scale), int(50_000 * scale)
    names = ("registry", "incoming", "daily")
    if cache:
        paths = [Path(cache) / f"linkage-{scale:g}-{name}.parquet" for name in names]
        if all(p.exists() for p in paths):
            return tuple(pd.read_parquet(p, dtype_backend="pyarrow") for p in paths)
    persons = population(int(n_registry * 1.05), seed=11)
    registry_persons = persons.iloc[:n_registry]
    registry = department_views(
        registry_persons, departments={"registry": 1.0},
        noise={k: 0.0 for k in ("homophone", "traditional", "swap", "drop", "surname_only", "dob_typo", "dob_swap",
                                 "dob_missing", "sex_missing", "moved", "street_missing", "id_typo")},
        seed=12,
    )["registry"]  # fmt: skip
    incoming_persons = pd.concat(
        [registry_persons.sample(int(n_incoming * 0.9), random_state=1), persons.iloc[n_registry:]]
    ).iloc[:n_incoming]
    incoming = department_views(incoming_persons, departments={"incoming": 1.0}, seed=13)["incoming"]
    daily = department_views(incoming_persons.iloc[:n_daily], departments={"daily": 1.0}, seed=14)["daily"]
    out = tuple(
        df.drop(columns=["person_id"]).rename(columns={"record_id": "unique_id"})
        for df in (registry, incoming, daily)
    )
    if cache:
        Path(cache).mkdir(parents=True, exist_ok=True)
        for df, p in zip(out, paths, strict=True):
            df.to_parquet(p)
    return out


def speed(args):
    t = time.perf_counter()
    registry, incoming, daily = speed_data(args.scale, args.data_cache)
    print(f"generated/read {len(registry)} registry, {len(incoming)} incoming, {len(daily)} daily records "
          f"in {time.perf_counter() - t:.0f} s (not counted)")  # fmt: skip

    def phase(name, rows, fn):
        t = time.perf_counter()
        out = fn()
        s = time.perf_counter() - t
        print(f"  {name:<38} {s:8.1f} s  {rows / s:12,.0f} rows/s  peak RSS {_peak_gb():.2f} GB")
        return out, s

    print(f"\nend to end: {len(incoming)} incoming vs {len(registry)} registry, threads={args.threads}, "
          f"DuckDB memory limit {args.memory_limit}")  # fmt: skip
    total = 0.0
    n_registry, n_incoming = len(registry), len(incoming)
    rf, s = phase("features, registry", n_registry, lambda: build_features(registry))
    total += s
    lf, s = phase("features, incoming", n_incoming, lambda: build_features(incoming))
    total += s
    registry = incoming = None  # the records themselves are not needed any more (nor kept by a real run)
    con = engine.connect(threads=args.threads, memory_limit=args.memory_limit)
    model, s = phase("train (sample; u sampling + 2 EM sessions)", n_incoming + n_registry,
                     lambda: engine.train(lf, rf, con=con))  # fmt: skip
    total += s
    exact, s = phase("exact ID links", n_incoming, lambda: engine.exact_pairs(lf, rf, con=con))
    total += s
    scored, s = phase("model scoring (predict)", n_incoming, lambda: engine.predict(model, lf, rf, con=con))
    total += s
    pairs, s = phase("decide + clusters", len(scored) + len(exact), lambda: engine.decide(scored, exact))
    total += s
    print(f"  {'TOTAL end to end':<38} {total:8.1f} s  ({len(pairs)} pairs ≥ lower, "
          f"{(pairs['decision'] == engine.LINK).sum()} links)")  # fmt: skip

    scored = pairs = exact = None  # free them before the re-link
    print("\nre-link with the trained model (features of the registry cached):")
    t0 = time.perf_counter()
    con2 = engine.connect(threads=args.threads, memory_limit=args.memory_limit)
    phase("exact + predict", n_incoming, lambda: (engine.exact_pairs(lf, rf, con=con2),
                                                      engine.predict(model, lf, rf, con=con2)))  # fmt: skip
    print(f"  {'TOTAL re-link':<38} {time.perf_counter() - t0:8.1f} s")

    print(f"\ndaily batch: {len(daily)} records vs registry, trained model:")
    t0 = time.perf_counter()
    df_, _ = phase("features, batch", len(daily), lambda: build_features(daily))
    phase("exact + predict", len(daily), lambda: (engine.exact_pairs(df_, rf, con=con2),
                                                   engine.predict(model, df_, rf, con=con2)))  # fmt: skip
    print(f"  {'TOTAL daily batch':<38} {time.perf_counter() - t0:8.1f} s")
    print(f"\npeak RSS {_peak_gb():.2f} GB")


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("quality")
    q.add_argument("--persons", type=int, default=20000)
    q.add_argument("--seed", type=int, default=1)
    s = sub.add_parser("speed")
    s.add_argument("--scale", type=float, default=1.0)
    s.add_argument("--threads", type=int, default=2)
    s.add_argument("--memory-limit", default="3GB", help="DuckDB memory limit (default 3GB)")
    s.add_argument("--data-cache", help="directory to keep the generated records in (parquet)")
    args = parser.parse_args()
    (quality if args.cmd == "quality" else speed)(args)


if __name__ == "__main__":
    main()

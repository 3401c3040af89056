"""What auditing adds to a page view (issue: "a few milliseconds at most").

Usage:  .venv/bin/python bench/audit_overhead.py [--requests 400] [--events 100000]
        DATABASE_URL=postgres://… .venv/bin/python bench/audit_overhead.py

Sets up a throwaway database (SQLite file in a temp dir unless DATABASE_URL is given — it must then
name an empty database), migrates it, creates the test personas and pre-fills the audit trail with
``--events`` events so that appends happen on a realistically sized table. Then it times, in
alternating rounds, a person-detail page view with auditing on and with ``record`` replaced by a
no-op, and the bare ``record`` call. Prints medians and the difference.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="weibao-bench-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp}/bench.sqlite3")
    os.environ.setdefault("WEIBAO_DEBUG", "true")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "weibao.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    from weibao.audit import services as audit_services
    from weibao.audit.models import AuditEvent
    from weibao.lib.testing import build_world, verify_second_factor
    from weibao.registry import views as registry_views

    world = build_world()
    client = Client()
    verify_second_factor(client, world.users["city"])
    url = f"/registry/persons/{world.persons['a1'].uuid}/"
    assert client.get(url).status_code == 200
    t0 = time.perf_counter()
    for i in range(args.events):
        audit_services.record(None, "view", object_type="registry.person", object_id=str(i), username="bench")
    fill = time.perf_counter() - t0

    real_record = registry_views.record
    with_audit, without_audit = [], []
    for i in range(args.requests * 2):
        audited = i % 2 == 0
        registry_views.record = real_record if audited else (lambda *a, **k: None)
        start = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - start) * 1000
        assert response.status_code == 200
        (with_audit if audited else without_audit).append(elapsed)
    registry_views.record = real_record
    bare = []
    for _ in range(args.requests):
        start = time.perf_counter()
        audit_services.record(world.users["city"], "view", world.persons["a1"])
        bare.append((time.perf_counter() - start) * 1000)

    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    m_with, m_without, m_bare = (statistics.median(x) for x in (with_audit, without_audit, bare))
    print(
        f"database: {engine}; audit table: {AuditEvent.objects.count():,} events (filled at {args.events / fill:,.0f}/s)"
    )
    print(f"page view, audited:      median {m_with:.2f} ms  (n={len(with_audit)})")
    print(f"page view, not audited:  median {m_without:.2f} ms  (n={len(without_audit)})")
    print(f"difference:              {m_with - m_without:.2f} ms  (ratio {m_with / m_without:.3f})")
    print(f"record() alone:          median {m_bare:.2f} ms  (n={len(bare)})")


if __name__ == "__main__":
    main()

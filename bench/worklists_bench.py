"""Benchmark of the approval office's lists and statistics (issue 17; bench/README.md, "Worklists").

    .venv/bin/python bench/worklists_bench.py                      # fresh SQLite file in a temp folder
    .venv/bin/python bench/worklists_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench

Targets (issue 17):
  1. 已办 first page, p95 ≤ 30 ms at 100,000 completed tasks
  2. case search first page (by credit code, and unfiltered), p95 ≤ 30 ms at the same data
  3. the statistics page ≤ 200 ms (p95) at 10,000 institution-years of data
  4. export of 50,000 rows ≤ 10 s with flat memory: beyond the finished file's own bytes (the answer
     is sent as one body), the peak Python allocation for 50,000 rows is at most twice that for
     one year's 10,000 (rows stream from the database, the sheet is written as it goes)
The data is written with bulk INSERTs (the lists read rows, never workflows, so a case's state is
an empty document here). Prints each figure and PASS/FAIL; exit status 0 unless --strict.
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import tracemalloc
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.dataset import credit_code, percentile, prepare_database  # noqa: E402
from service.app import create_app  # noqa: E402
from service.bootstrap import build_context  # noqa: E402
from service.clock import FixedClock  # noqa: E402
from service.engine.definitions import read_bundle  # noqa: E402
from service.reference import load_reference_data  # noqa: E402
from service.store.models import (  # noqa: E402
    AuditEvent,
    Batch,
    Certificate,
    HumanTask,
    Institution,
    Jurisdiction,
    ProcessInstance,
    User,
)
from service.usecases import accounts  # noqa: E402
from service.usecases.context import unit_of_work  # noqa: E402
from service.usecases.definitions import deploy  # noqa: E402

PASSWORD = "bench-pass-2024"
YEARS = (2022, 2023, 2024, 2025, 2026)
NOW = datetime(2026, 11, 30, 10, 0)
HASH = "0" * 64


def build(url: str, institutions: int, instances: int, certificates: int) -> tuple[object, int, dict]:
    prepare_database(url)
    ctx = build_context(url, clock=FixedClock(NOW))
    with unit_of_work(ctx) as session:
        load_reference_data(session, ctx.bureau)
    version_id, _ = deploy(ctx, read_bundle(ROOT), "bench")
    with unit_of_work(ctx) as session:
        places = [code for code in session.scalars(select(Jurisdiction.code)) if code.isdigit()]
    accounts.create_user(ctx, "city", PASSWORD, "市局审核员", "city")
    for place in places:
        accounts.create_user(ctx, f"county{place}", PASSWORD, f"{place}审核员", "county", jurisdiction_code=place)
    rng = random.Random(17)
    with unit_of_work(ctx) as session:
        users = {u.username: u.id for u in session.scalars(select(User))}
        city = users["city"]
        session.execute(insert(Institution), [
            {"credit_code": credit_code(i, places[i % len(places)]), "name": f"评价机构{i:05d}",
             "kind": ("social_org", "enterprise", "school")[i % 3], "jurisdiction_code": places[i % len(places)],
             "status": ("filed", "filed_pilot", "suspended", "filed")[i % 4], "stars": (None, 2, 3, 4, 5)[i % 5],
             "filing_code": f"S{i:012d}"} for i in range(1, institutions + 1)])
        by_id = dict(session.execute(select(Institution.id, Institution.jurisdiction_code)).all())
        ids = sorted(by_id)
        cases, tasks, events = [], [], []
        for n in range(instances):
            institution = ids[n % len(ids)]
            place = by_id[institution]
            started = datetime(rng.choice(YEARS), rng.randint(1, 12), rng.randint(1, 28), 9, 0)
            cases.append({"process_id": "filing", "definition_id": version_id, "business_key": f"filing:{n}",
                          "institution_id": institution, "jurisdiction_code": place, "status": "completed",
                          "state": "{}", "version": 1, "started_at": started,
                          "ended_at": started + timedelta(days=20), "started_by": None})
        session.execute(insert(ProcessInstance), cases)
        for case_id, institution, place, started in session.execute(select(
                ProcessInstance.id, ProcessInstance.institution_id, ProcessInstance.jurisdiction_code,
                ProcessInstance.started_at)):
            for step, title, role, actor, days in (("initial_review", "县区初审", "county", users[f"county{place}"], 4),
                                                   ("city_review", "市级审核遴选", "city", city, 9)):
                done = started + timedelta(days=days)
                tasks.append({"instance_id": case_id, "spiff_task_id": f"{case_id}-{step}", "process_id": "filing",
                              "name": step, "title": title, "subject": "评价机构 备案申请", "role": role,
                              "form_key": step, "jurisdiction_code": place, "institution_id": institution,
                              "state": "completed", "created_at": started, "completed_at": done,
                              "completed_by": actor, "due_at": started + timedelta(days=7)})
                events.append({"at": done, "actor_id": actor, "actor_name": "审核员", "action": "complete",
                               "instance_id": case_id, "institution_id": institution, "task_name": step,
                               "task_title": title, "opinion": "同意", "prev_hash": HASH, "hash": HASH,
                               "data": {"outcome": {"field": "decision", "value": "forward", "title": "同意"}}})
        for chunk in range(0, len(tasks), 20_000):
            session.execute(insert(HumanTask), tasks[chunk:chunk + 20_000])
            session.execute(insert(AuditEvent), events[chunk:chunk + 20_000])
        session.execute(insert(Batch), [{"institution_id": i, "jurisdiction_code": by_id[i], "status": "certified",
                                         "created_at": NOW} for i in ids])
        batches = dict(session.execute(select(Batch.institution_id, Batch.id)).all())
        rows = []
        for n in range(certificates):
            institution = ids[n % len(ids)]
            rows.append({"number": f"{n:022d}", "batch_id": batches[institution], "institution_id": institution,
                         "name": "学员", "id_number": "34170219900101001X", "occupation_code": "6-31-01-03",
                         "level": "4", "issued_on": date(rng.choice(YEARS), rng.randint(1, 12), rng.randint(1, 28))})
            if len(rows) == 20_000:
                session.execute(insert(Certificate), rows)
                rows = []
        if rows:
            session.execute(insert(Certificate), rows)
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("ANALYZE"))
    return ctx, version_id, {"county": f"county{places[0]}", "code": credit_code(1, places[0])}


def timed(client, url: str, n: int, warmup: int = 5) -> list[float]:
    for _ in range(warmup):
        assert client.get(url).status_code == 200, url
    times = []
    for _ in range(n):
        began = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - began)
        assert response.status_code == 200, url
    return times


def login(app, username: str):
    client = app.test_client()
    answer = client.post("/api/login", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.get_json()
    return client


def export(client, url: str) -> tuple[float, float, int]:
    """Seconds, peak Python allocation (MB) and bytes of one export: timed without tracing (tracemalloc
    slows every allocation several times over), then run again traced for the memory."""
    began = time.perf_counter()
    response = client.get(url)
    seconds = time.perf_counter() - began
    assert response.status_code == 200, url
    tracemalloc.start()
    client.get(url)
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return seconds, peak, len(response.data)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url")
    parser.add_argument("--institutions", type=int, default=2_000)  # × 5 years = 10,000 institution-years
    parser.add_argument("--instances", type=int, default=50_000)  # two completed tasks each: 100,000
    parser.add_argument("--certificates", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--strict", action="store_true")
    args = parser.parse_args(argv)
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='worklists-bench-')}/bench.db"
    if url.startswith("postgresql") and "bench" not in (make_url(url).database or ""):
        parser.error("the PostgreSQL database is emptied first: its name must contain 'bench'")
    began = time.perf_counter()
    ctx, _, names = build(url, args.institutions, args.instances, args.certificates)
    print(f"data: {args.institutions:,} institutions × {len(YEARS)} years, {args.instances:,} cases, "
          f"{2 * args.instances:,} completed tasks, {args.certificates:,} certificates "
          f"({time.perf_counter() - began:.0f} s) on {make_url(url).get_backend_name()}")
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "TESTING": True}, context=ctx)
    city, county = login(app, "city"), login(app, names["county"])
    checks, results = {}, {}
    for label, client, page, limit in (
            ("已办, city (50,000 of its own)", city, "/lists/done", 30),
            ("已办, a county", county, "/lists/done", 30),
            ("case search by credit code, city", city, f"/lists/cases?q={names['code']}", 30),
            ("case search unfiltered, city", city, "/lists/cases", 30),
            ("case search by name, county", county, "/lists/cases?q=评价机构0001", 30),
            ("statistics 2025, city", city, "/statistics?year=2025", 200),
            ("statistics 2025, a county", county, "/statistics?year=2025", 200)):
        times = [t * 1000 for t in timed(client, page, args.requests)]
        p50, p95 = percentile(times, 50), percentile(times, 95)
        checks[label] = p95 <= limit
        results[label] = {"p50_ms": p50, "p95_ms": p95}
        print(f"{label:45s} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  (≤ {limit} ms) "
              f"{'PASS' if checks[label] else 'FAIL'}")
    small = export(city, "/lists/cases?export=xlsx&from=2026-01-01")  # one year: about 10,000 rows
    whole = export(city, "/lists/cases?export=xlsx")
    checks["export 50,000 rows ≤ 10 s"] = whole[0] <= 10
    beyond = {name: found[1] - found[2] / 1e6 for name, found in (("small", small), ("whole", whole))}
    checks["export memory flat"] = beyond["whole"] <= 2 * beyond["small"]
    results["export"] = {"one_year": small, "all": whole}
    print(f"export, one year of cases: {small[0]:.2f} s, peak {small[1]:.1f} MB, {small[2]:,} bytes")
    print(f"export, all {args.instances:,} cases: {whole[0]:.2f} s (≤ 10 s) "
          f"{'PASS' if checks['export 50,000 rows ≤ 10 s'] else 'FAIL'}; peak {whole[1]:.1f} MB, of it "
          f"{beyond['whole']:.1f} MB beyond the file (≤ 2 × {beyond['small']:.1f}) "
          f"{'PASS' if checks['export memory flat'] else 'FAIL'}, {whole[2]:,} bytes")
    print(f"({'all targets met' if all(checks.values()) else 'some targets missed'}; "
          f"whole run {time.perf_counter() - began:.0f} s)")
    return 1 if args.strict and not all(checks.values()) else 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark of a batch of 5,000 candidates (see bench/README.md, "Batch benchmark").

    .venv/bin/python bench/batch_bench.py                      # fresh SQLite file in a temp folder
    .venv/bin/python bench/batch_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench

Targets (issue 13):
  1. import 5,000 candidates from an .xlsx with full validation      ≤ 3 s
  2. generate (and store) 5,000 certificate numbers                   ≤ 1 s
  3. the batch page with 5,000 candidates                             p95 ≤ 200 ms
  4. export 5,000 certificates as an .xlsx                             ≤ 3 s
Prints each figure and PASS/FAIL; exit status 0 unless --strict and a target fails.
"""
from __future__ import annotations

import argparse
import io
import re
import statistics
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from openpyxl import Workbook  # noqa: E402
from sqlalchemy import create_engine, text, update  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from service.app import create_app  # noqa: E402
from service.bootstrap import build_context  # noqa: E402
from service.clock import FixedClock  # noqa: E402
from service.domain.codes import id_number_check_char  # noqa: E402
from service.engine.definitions import read_bundle  # noqa: E402
from service.processes import batch  # noqa: E402
from service.reference import load_reference_data  # noqa: E402
from service.seed import demo_credit_code  # noqa: E402
from service.store.migrate import upgrade  # noqa: E402
from service.store.models import Batch, Candidate, Institution, ScopeItem  # noqa: E402
from service.usecases import accounts  # noqa: E402
from service.usecases.context import unit_of_work  # noqa: E402
from service.usecases.definitions import deploy  # noqa: E402

PASSWORD = "bench-pass-2024"


def candidates_sheet(n: int) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("参加认定人员")
    sheet.append([c.title for c in batch.CANDIDATE_COLUMNS])
    for i in range(n):
        # 5,000 different people: the serial and the birth month tell them apart
        first17 = f"341702{1970 + i % 30}{1 + i // 1000 % 12:02d}{1 + i // 12000 % 28:02d}{i % 1000:03d}"
        number = first17 + id_number_check_char(first17)
        sheet.append([f"学员{i}", number, "13800000000", "6-31-01-03", "四级", "4-1", "", ""])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def verdict(name: str, value: float, limit: float, unit: str) -> bool:
    ok = value <= limit
    print(f"{'PASS' if ok else 'FAIL'}  {name}: {value:.3f} {unit} (target ≤ {limit} {unit})")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--candidates", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--strict", action="store_true")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='batch-bench-')}/bench.db"
    if url.startswith("postgresql"):
        if "bench" not in (make_url(url).database or ""):
            sys.exit("refusing to empty a database whose name does not contain 'bench'")
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    upgrade(url)
    clock = FixedClock(datetime(2025, 9, 26, 9, 0))
    ctx = build_context(url, clock=clock)
    with unit_of_work(ctx) as session:
        load_reference_data(session, ctx.bureau)
        institution = Institution(credit_code=demo_credit_code(1), name="基准测试评价中心", kind="social_org",
                                  jurisdiction_code="341702", status="filed", filing_code="S000034170001",
                                  valid_from=date(2024, 9, 2), valid_until=date(2027, 9, 1))
        institution.scope = [ScopeItem(occupation_code="6-31-01-03", level="4")]
        session.add(institution)
        session.flush()
        institution_id = institution.id
    deploy(ctx, read_bundle(ROOT), "bench")
    user = accounts.create_user(ctx, "inst1", PASSWORD, "经办人", "institution", institution_id=institution_id)
    started = batch.start_batch(ctx, user)
    sheet = candidates_sheet(args.candidates)
    print(f"{args.candidates} candidates, sheet {len(sheet) / 1024:.0f} KB, database {make_url(url).drivername}")
    results = []

    began = time.perf_counter()
    imported = batch.import_candidates(ctx, user, started.batch_id, "名单.xlsx", sheet)
    results.append(verdict(f"1 import {imported} candidates", time.perf_counter() - began, 3, "s"))

    with unit_of_work(ctx) as session:  # as if graded: everyone passed, the results filed
        session.execute(update(Candidate).where(Candidate.batch_id == started.batch_id).values(passed=True))
        session.get(Batch, started.batch_id).last_exam_day = date(2025, 10, 16)
    began = time.perf_counter()
    with unit_of_work(ctx) as session:
        issued = batch.issue_certificates(ctx, session, None, None, {"batch_id": started.batch_id}, {})
    results.append(verdict(f"2 number {issued['certificates_issued']} certificates", time.perf_counter() - began,
                           1, "s"))

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "TESTING": True}, context=ctx)
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"csrf_token": token, "username": "inst1", "password": PASSWORD})
    pages = [f"/batches/{started.batch_id}", f"/batches/{started.batch_id}?page=50",
             f"/batches/{started.batch_id}?q=学员4999"]
    timings = []
    for i in range(args.requests + 5):
        path = pages[i % len(pages)]
        began = time.perf_counter()
        response = client.get(path)
        elapsed = time.perf_counter() - began
        assert response.status_code == 200 and "学员" in response.get_data(as_text=True), path
        if i >= 5:
            timings.append(elapsed * 1000)
    p95 = statistics.quantiles(timings, n=20)[-1]
    print(f"   batch page: median {statistics.median(timings):.1f} ms, max {max(timings):.1f} ms")
    results.append(verdict("3 batch page p95", p95, 200, "ms"))

    began = time.perf_counter()
    _, content = batch.export(ctx, user, started.batch_id, "certificates")
    results.append(verdict(f"4 export certificates ({len(content) / 1024:.0f} KB)", time.perf_counter() - began,
                           3, "s"))
    ctx.session_factory.kw["bind"].dispose()
    return 1 if args.strict and not all(results) else 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark of the HTML pages at 10,000 instances (see bench/README.md, "Pages benchmark").

    .venv/bin/python bench/pages_bench.py                      # fresh SQLite file in a temp folder
    .venv/bin/python bench/pages_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench

Builds the data with bench/dataset.py (as filing_bench.py does), logs in through the HTML form
at /login as a county user of 341702, the city user and an institution user, and times each page
through Flask's test client: warm-up, then --requests timed GETs, each checked to be a 200 with
the page's real content. Prints p50/p95/max per page and PASS/FAIL against 100 ms p95. Exit
status 0 even when a page fails (use --strict for 1), so the figures are always printed.
"""
from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import random
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from service.app import create_app  # noqa: E402
from service.bootstrap import build_context  # noqa: E402
from service.clock import FixedClock  # noqa: E402
from service.processes import complaint  # noqa: E402
from service.store.models import (  # noqa: E402
    FILED_STATUSES,
    AuditEvent,
    Complaint,
    Filing,
    HumanTask,
    Institution,
    Notice,
    ProcessInstance,
    User,
)
from service.usecases.context import unit_of_work  # noqa: E402
from service.web.public import NOTICES_PER_PAGE  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dataset  # noqa: E402
from dataset import StatementCounter, component, short_path, summary  # noqa: E402

TARGET_P95_MS = 100.0
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


# ---------------------------------------------------------------------------- a browser
class Browser:
    """A user's cookie jar; logs in through the HTML form with the CSRF token the page gave."""

    def __init__(self, app, username: str | None = None):
        self.client = app.test_client()
        self.username = username
        if username:
            page = self.client.get("/login")
            token = CSRF.search(page.get_data(as_text=True)).group(1)
            response = self.client.post("/login", data={"csrf_token": token, "username": username,
                                                        "password": dataset.PASSWORD})
            assert response.status_code == 302, (username, response.status_code, response.get_data(as_text=True))
            home = self.client.get("/").get_data(as_text=True)
            assert "退出" in home, f"{username} is not logged in"


@dataclass
class Page:
    """One page as one user asks for it: `url(i)` is the i-th request's address, `check(i, body)`
    returns what is missing from the page (empty when it shows what it should)."""
    who: str
    name: str
    browser: Browser
    url: object
    check: object


def needs(*markers: str):
    """A check: every marker is in the page."""
    return lambda _i, body: [m for m in markers if m not in body]


def error_page(body: str) -> bool:
    """The pages' message template (what a 404 or 403 shows), a refused form, or Werkzeug's error page."""
    return '<p class="message">' in body or '<p class="flash error" role="status">' in body or "<title>5" in body


# ---------------------------------------------------------------------------- what to ask for
def add_complaints(ctx, clock: FixedClock, n: int) -> int:
    """Complaints (Art. 19) for the benchmarked county, received over the 30 days before the
    benchmark's clock: the filing steps have no deadlines, so without them the county's
    "overdue" filter and "soonest due" order would show nothing. Through the use case, as the
    public form does. Returns how many there are (none are added again to reused data)."""
    with unit_of_work(ctx) as session:
        there = session.scalar(select(func.count()).select_from(Complaint).where(
            Complaint.jurisdiction_code == dataset.BENCH_COUNTY))
    for k in range(there, n):
        clock.set(dataset.BENCH_NOW - timedelta(days=30) + timedelta(days=30) * k / n)
        complaint.submit_complaint(ctx, dataset.BENCH_COUNTY, None, f"池州某评价机构{k + 1:03d}", "赵六",
                                   "13900000000", "该机构在认定考试中替考，考场无监控录像，请核查。")
    clock.set(dataset.BENCH_NOW)
    return max(there, n)


@dataclass
class Subjects:
    """Ids and names the pages are asked for, read from the built data."""
    county_tasks: list[tuple[int, str]]  # open county tasks of 341702: (id, subject)
    county_cases: list[tuple[int, int]]  # instances of 341702 with their audit trail: (id, events)
    city_tasks: list[tuple[int, str]]  # open city_review tasks: (id, subject)
    institution_user: str
    receipt: tuple[int, str] | None  # (filing id, receipt number) of that user's institution
    names: list[tuple[str, str]]  # (name fragment searched for, a filed institution's full name)
    open_notices: int
    filed: int
    complaints: int = 0


def subjects(ctx, rng: random.Random, n: int) -> Subjects:
    with unit_of_work(ctx) as session:
        def tasks_of(*where):
            return [tuple(r) for r in session.execute(select(HumanTask.id, HumanTask.subject)
                                                      .where(HumanTask.state == "open", *where)
                                                      .order_by(HumanTask.id))]
        county_tasks = tasks_of(HumanTask.role == "county", HumanTask.jurisdiction_code == dataset.BENCH_COUNTY)
        city_tasks = tasks_of(HumanTask.role == "city", HumanTask.name == "city_review")
        # Cases with their audit trail: the copies have none (see bench/README.md, "The data"),
        # so the case pages are asked for the real filings of 341702 in every state, and its complaints.
        county_cases = [tuple(r) for r in session.execute(
            select(ProcessInstance.id, func.count(AuditEvent.id))
            .join(AuditEvent, AuditEvent.instance_id == ProcessInstance.id)
            .where(ProcessInstance.jurisdiction_code == dataset.BENCH_COUNTY)
            .group_by(ProcessInstance.id).order_by(ProcessInstance.id))]
        # An institution user whose filing got its receipt, in the benchmarked county if there is one.
        found = session.execute(
            select(User.username, Filing.id, Filing.receipt_number)
            .join(Filing, Filing.institution_id == User.institution_id)
            .join(Institution, Institution.id == User.institution_id)
            .where(User.role == "institution", Filing.status == "filed")
            .order_by((Institution.jurisdiction_code != dataset.BENCH_COUNTY), User.id).limit(1)).first()
        if found is None:
            found = (session.scalar(select(User.username).where(User.role == "institution").order_by(User.id)),
                     None, None)
        filed_names = session.scalars(select(Institution.name).where(Institution.status.in_(FILED_STATUSES))
                                      .order_by(Institution.id)).all()
        open_notices = session.scalar(select(func.count()).select_from(Notice).where(
            Notice.opens_at <= ctx.clock.now(), Notice.closes_at > ctx.clock.now()))
    rng.shuffle(county_tasks)
    rng.shuffle(city_tasks)
    # what a member of the public types: a piece of the name, e.g. "00123" of "池州基准评价机构0001-00123号"
    names = [(name.removesuffix("号")[-5:], name) for name in rng.sample(filed_names, min(n, len(filed_names)))]
    return Subjects(county_tasks, county_cases, city_tasks, found[0], (found[1], found[2]) if found[1] else None,
                    names, open_notices, len(filed_names))


def pages(app, s: Subjects) -> list[Page]:
    county, city, institution, public = (Browser(app, "county"), Browser(app, "city"),
                                         Browser(app, s.institution_user), Browser(app))
    if not (s.county_tasks and s.county_cases and s.city_tasks and s.names):
        raise SystemExit(f"the data has nothing to ask for: {len(s.county_tasks)} county tasks, "
                         f"{len(s.county_cases)} county cases, {len(s.city_tasks)} city tasks, "
                         f"{len(s.names)} filed institutions")

    def cycle(items):
        return lambda i: items[i % len(items)]

    county_task, city_task, case, name = (cycle(s.county_tasks), cycle(s.city_tasks), cycle(s.county_cases),
                                          cycle(s.names))

    def inbox_rows(minimum: int):
        def check(_i, body):
            missing = [m for m in ('id="inbox"', "/tasks/") if m not in body]
            total = re.search(r"共 (\d+) 件", body)
            if total is None or int(total.group(1)) < minimum:
                missing.append(f"共 N≥{minimum} 件")
            return missing
        return check

    def overdue_first(check):
        """With complaints, the first row is an overdue one (the filter, or the soonest due first)."""
        def both(i, body):
            rows = body.split('id="inbox"', 1)[-1].split("<tr>")
            late = not s.complaints or (len(rows) > 2 and 'class="overdue"' in rows[2])
            return check(i, body) + ([] if late else ["an overdue task first"])
        return both

    county_code = dataset.BENCH_COUNTY
    found = [
        Page(f"county {county_code}", "/inbox", county, lambda i: "/inbox", inbox_rows(21)),
        Page(f"county {county_code}", "/inbox?due=overdue", county, lambda i: "/inbox?due=overdue",
             overdue_first(inbox_rows(1 if s.complaints else 0))),
        Page(f"county {county_code}", "/inbox?sort=due", county, lambda i: "/inbox?sort=due",
             overdue_first(inbox_rows(21))),
        Page(f"county {county_code}", "/ (home)", county, lambda i: "/", needs('id="my-work"', "待办事项 ")),
        Page(f"county {county_code}", "/filings", county, lambda i: "/filings",
             needs('id="filings"', "/filings/", "贵池区")),
        Page(f"county {county_code}", "/tasks/<id> (open task)", county, lambda i: f"/tasks/{county_task(i)[0]}",
             lambda i, body: [m for m in ('id="task-form"', county_task(i)[1]) if m not in body]),
        Page(f"county {county_code}", "/cases/<id>", county, lambda i: f"/cases/{case(i)[0]}",
             lambda i, body: [m for m in (f"案件 {case(i)[0]}", 'id="timeline"') if m not in body]
             + ([] if body.count("<li>") >= 1 else ["timeline rows"])),
        Page("city", "/inbox", city, lambda i: "/inbox", inbox_rows(21)),
        Page("city", "/inbox?step=city_review", city, lambda i: "/inbox?step=city_review", inbox_rows(21)),
        Page("city", "/tasks/<id> (city_review)", city, lambda i: f"/tasks/{city_task(i)[0]}",
             lambda i, body: [m for m in ('id="task-form"', "市级审核", city_task(i)[1]) if m not in body]),
        Page(f"institution ({s.institution_user})", "/filings", institution, lambda i: "/filings",
             needs('id="filings"', "/filings/", "申请备案")),
    ]
    if s.receipt:
        filing_id, number = s.receipt
        found.append(Page(f"institution ({s.institution_user})", "/filings/<id>/receipt", institution,
                          lambda i: f"/filings/{filing_id}/receipt", needs("备案回执", number)))
        found.append(Page(f"institution ({s.institution_user})", "/other-city-filings", institution,
                          lambda i: "/other-city-filings", needs('id="other-city-form"', 'id="other-city-filings"')))
    found.append(Page(f"county {county_code}", "/messages", county, lambda i: "/messages", needs("消息")))
    found += [
        Page("public", "/directory", public, lambda i: "/directory", needs('id="directory"', "已备案")),
        Page("public", "/directory?q=<part of a name>", public, lambda i: f"/directory?q={name(i)[0]}",
             lambda i, body: [] if f"<td>{name(i)[1]}" in body else [name(i)[1]]),
        Page("public", "/notices", public, lambda i: "/notices",
             lambda i, body: [] if body.count('class="card notice"') == min(s.open_notices, NOTICES_PER_PAGE) > 0
             else [f"{min(s.open_notices, NOTICES_PER_PAGE)} notices on the first page"]),
        Page("public", "/complaint", public, lambda i: "/complaint", needs('id="complaint-form"', "贵池区")),
    ]
    return found


# ---------------------------------------------------------------------------- measuring
def fetch(page: Page, i: int):
    started = time.perf_counter()
    response = page.browser.client.get(page.url(i))
    return time.perf_counter() - started, response


def checked(page: Page, i: int, response) -> str:
    body = response.get_data(as_text=True)
    url = page.url(i)
    assert response.status_code == 200, f"{page.who} GET {url}: {response.status_code}\n{body[:400]}"
    assert not error_page(body), f"{page.who} GET {url}: an error page\n{body[:400]}"
    missing = page.check(i, body)
    assert not missing, f"{page.who} GET {url}: missing {missing}"
    return body


def measure(page: Page, warmup: int, requests: int, counter: StatementCounter) -> dict:
    for i in range(warmup):
        checked(page, i, fetch(page, i)[1])
    times, statements, sizes = [], [], []
    for i in range(warmup, warmup + requests):
        counter.reset()
        seconds, response = fetch(page, i)
        statements.append(counter.count)
        times.append(seconds)
        sizes.append(len(checked(page, i, response).encode()))
    return {**summary(times), "p50": statistics.median(t * 1000 for t in times),
            "sql": statistics.fmean(statements), "sql_max": max(statements), "kb": statistics.fmean(sizes) / 1024,
            "distinct_urls": len({page.url(i) for i in range(warmup, warmup + requests)})}


def statements_of(page: Page, counter: StatementCounter, i: int) -> list[tuple[float, str]]:
    """The statements of one request, each with its time in the driver."""
    recorded: list[str] = []
    counter.recording, counter.timing, counter.times = recorded, True, {}
    try:
        page.browser.client.get(page.url(i))
    finally:
        counter.recording, counter.timing = None, False
    per_key = {k: list(v) for k, v in counter.times.items()}
    timed = []
    for statement in recorded:  # the times come back in the order the statements ran
        key = statement[:70]
        timed.append((per_key[key].pop(0) * 1000 if per_key.get(key) else float("nan"), statement))
    return timed


def profile(page: Page, n: int, start: int, top: int, out_dir: Path) -> str:
    """cProfile over n requests of a page: own time by component, and the functions of the
    service and its templates by cumulative time, in ms per request."""
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(start, start + n):
        page.browser.client.get(page.url(i))
    profiler.disable()
    slug = re.sub(r"\W+", "_", f"{page.who}_{page.name}").strip("_")
    profiler.dump_stats(out_dir / f"profile_{slug}.pstats")
    stats = pstats.Stats(profiler)
    total = stats.total_tt
    entries = [(short_path(file), line, name, nc, tt, ct) for (file, line, name), (_cc, nc, tt, ct, _callers)
               in stats.stats.items()]
    per = 1000 / n
    lines = [f"    cProfile, {n} requests: {total * per:.1f} ms per request with the profiler's overhead"]
    components: dict[str, float] = {}
    for file, _line, _name, _nc, tt, _ct in entries:
        components[component(file)] = components.get(component(file), 0.0) + tt
    lines.append("    own time by component (ms per request):")
    for name, tt in sorted(components.items(), key=lambda kv: -kv[1])[:8]:
        lines.append(f"      {tt * per:7.2f}  {name}")
    lines.append("    the service's functions and templates by cumulative time (ms per request, calls per request):")
    own = [e for e in entries if e[0].startswith("service/")]
    for file, line, name, nc, _tt, ct in sorted(own, key=lambda e: -e[5])[:top]:
        lines.append(f"      {ct * per:7.2f}  {nc / n:8.1f}  {file}:{line}:{name}")
    lines.append("    top functions by own time (ms per request, calls per request):")
    for file, line, name, nc, tt, _ct in sorted(entries, key=lambda e: -e[4])[:top]:
        lines.append(f"      {tt * per:7.2f}  {nc / n:8.1f}  {file}:{line}:{name}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- main
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temp folder. A PostgreSQL "
                        "database is EMPTIED first (DROP SCHEMA public CASCADE): its name must contain 'bench'")
    parser.add_argument("--reuse", action="store_true", help="use the data already in --database-url (built "
                        "by this script or filing_bench.py and kept with --keep) instead of building it")
    parser.add_argument("--instances", type=int, default=10_000)
    parser.add_argument("--timers", type=int, default=1_000, help="instances in their notice period")
    parser.add_argument("--seeds-per-cell", type=int, default=8,
                        help="real filings per (jurisdiction, stage): 7 x 6 x this many go through the use cases")
    parser.add_argument("--complaints", type=int, default=40, metavar="N",
                        help="complaints for the benchmarked county, received over the 30 days before the clock, "
                        "so that it has overdue and due-soon tasks (the filing steps have no deadlines)")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per page first")
    parser.add_argument("--only", metavar="TEXT", help="only the pages whose user or address contains TEXT")
    parser.add_argument("--profile", type=int, default=20, metavar="N",
                        help="profile N more requests of each page that misses the target (0: none)")
    parser.add_argument("--profile-all", action="store_true", help="profile every page, not only the failing ones")
    parser.add_argument("--profile-top", type=int, default=15)
    parser.add_argument("--show-sql", action="store_true", help="print the statements of one request of each "
                        "page (they are printed for the failing pages anyway)")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite file and the profiles")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a page misses the target")
    args = parser.parse_args(argv)
    if args.requests < 1:
        parser.error("--requests must be at least 1")

    began = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="pages-bench-"))
    dataset.WORK.append(work)
    if args.reuse and not args.database_url:
        parser.error("--reuse needs --database-url (a kept SQLite file or the PostgreSQL bench database)")
    url = args.database_url or f"sqlite:///{work}/bench.db"
    backend = make_url(url).get_backend_name()
    if backend == "postgresql" and not args.reuse and "bench" not in (make_url(url).database or ""):
        parser.error("the PostgreSQL database is emptied first: use one whose name contains 'bench'")
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"pages benchmark: {backend} ({make_url(url).render_as_string(hide_password=True)}), "
          f"nproc={cpus}, Python {platform.python_version()}, {platform.machine()}")

    # ------------------------------------------------------------------ data
    build_seconds = 0.0
    if args.reuse:
        print("reusing the data in the database as it is", flush=True)
    else:
        print(f"building {args.instances:,} instances ({args.seeds_per_cell} real filings per jurisdiction "
              "and stage)…", flush=True)
        build_started = time.perf_counter()
        dataset.build(url, args.instances, args.timers, args.seeds_per_cell)
        build_seconds = time.perf_counter() - build_started

    clock = FixedClock(dataset.BENCH_NOW)
    ctx = build_context(url, clock=clock)
    complaints = add_complaints(ctx, clock, args.complaints)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "TESTING": True}, context=ctx)
    mix = dataset.describe(ctx)
    print(f"data ready{f' in {build_seconds:.1f} s' if build_seconds else ''}: "
          + ", ".join(f"{k} {v:,}" for k, v in mix["tables"].items()))
    print("  stages: " + ", ".join(f"{k} {v:,}" for k, v in sorted(mix["stages"].items())))
    s = subjects(ctx, random.Random(11), args.requests + args.warmup)
    s.complaints = complaints
    print(f"  asked for: {len(s.county_tasks)} open county tasks in {dataset.BENCH_COUNTY}, "
          f"{len(s.county_cases)} of its cases with an audit trail, {len(s.city_tasks)} open city reviews, "
          f"institution user {s.institution_user} (receipt {s.receipt[1] if s.receipt else 'none'}), "
          f"{s.filed:,} filed institutions, {s.open_notices:,} open notices, {complaints} complaints in "
          f"{dataset.BENCH_COUNTY} (their tasks have deadlines)")

    engine = ctx.session_factory.kw["bind"]
    counter = StatementCounter(engine)
    chosen = [p for p in pages(app, s) if not args.only or args.only in f"{p.who} {p.name}"]

    # ------------------------------------------------------------------ the pages
    results = []
    for page in chosen:
        figures = measure(page, args.warmup, args.requests, counter)
        figures["ok"] = figures["p95"] <= TARGET_P95_MS
        results.append((page, figures))
        print(f"  {page.who:<24} {page.name:<32} p50 {figures['p50']:7.2f}  p95 {figures['p95']:7.2f}  "
              f"max {figures['max']:7.2f} ms  {verdict(figures['ok'])}", flush=True)

    # ------------------------------------------------------------------ why, for the slow ones
    details = []
    after = args.warmup + args.requests
    for page, figures in results:
        if figures["ok"] and not (args.show_sql or args.profile_all):
            continue
        lines = [f"{page.who} GET {page.url(after)}  (p95 {figures['p95']:.2f} ms, {figures['kb']:.0f} KB)"]
        timed = statements_of(page, counter, after)
        lines.append(f"    {len(timed)} statements, {sum(t for t, _ in timed if t == t):.2f} ms in the driver "
                     "(commit not included):")
        lines += [f"      {t:7.3f} ms  {statement[:150]}" for t, statement in timed]
        if args.profile and (not figures["ok"] or args.profile_all):
            lines.append(profile(page, args.profile, after + 1, args.profile_top, work))
        details.append("\n".join(lines))

    # ------------------------------------------------------------------ report
    total_instances = mix["tables"]["process_instance"]
    print()
    if details:
        print("where the time goes" + ("" if args.keep else " (--keep keeps the .pstats files)") + ":")
        for block in details:
            print(block)
            print()
    print(f"RESULTS ({backend}, nproc={cpus}, {total_instances:,} instances, {args.requests} timed requests per page "
          f"after {args.warmup} warm-up; target p95 <= {TARGET_P95_MS:.0f} ms)")
    print(f"  {'user':<26} {'page':<32} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'SQL':>5} {'KB':>6} {'urls':>5}")
    for page, f in results:
        print(f"  {page.who:<26} {page.name:<32} {f['p50']:8.2f} {f['p95']:8.2f} {f['max']:8.2f} "
              f"{f['sql']:5.1f} {f['kb']:6.0f} {f['distinct_urls']:5d}  {verdict(f['ok'])}")
    failed = [f"{p.who} {p.name}" for p, f in results if not f["ok"]]
    total = time.perf_counter() - began
    print(f"  ({'every page met the target' if not failed else 'missed: ' + '; '.join(failed)}; whole run "
          f"{total:.0f} s, data build {build_seconds:.0f} s)")

    if args.json:
        Path(args.json).write_text(json.dumps({
            "backend": backend, "nproc": cpus, "python": platform.python_version(), "instances": total_instances,
            "build_seconds": build_seconds, "mix": mix, "target_p95_ms": TARGET_P95_MS,
            "pages": [{"user": p.who, "page": p.name, **f} for p, f in results], "run_seconds": total,
        }, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    engine.dispose()
    if args.keep:
        print(f"kept: {work}" + (f" (database {url}; run again with --database-url {url} --reuse)"
                                 if not args.database_url else ""))
    return 1 if args.strict and failed else 0


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"



if __name__ == "__main__":
    sys.exit(dataset.run_cleaning_up(main))

"""Benchmark of the filing service at 10,000 instances (see bench/README.md for the targets).

    .venv/bin/python bench/filing_bench.py                      # fresh SQLite file in a temp folder
    .venv/bin/python bench/filing_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench

Builds the data (a few hundred real filings through the use cases, multiplied with
INSERT … SELECT), then measures through the Flask test client and the use cases, prints
every figure and a PASS/FAIL line per target. Exit status 0 even when a target fails
(use --strict for 1), so the figures are always printed.
"""
from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import LargeBinary, cast, func, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from service.app import create_app  # noqa: E402
from service.bootstrap import build_context  # noqa: E402
from service.clock import FixedClock  # noqa: E402
from service.engine.runtime import Engine  # noqa: E402
from service.engine.state import spiff_states  # noqa: E402
from service.store.models import HumanTask, ProcessInstance, Timer  # noqa: E402
from service.usecases import tasks  # noqa: E402
from service.usecases.context import unit_of_work  # noqa: E402
from service.usecases.timers import fire_due_timers  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dataset  # noqa: E402
from dataset import StatementCounter, component, short_path, summary  # noqa: E402

SQL_SAMPLE = 20  # completions whose statements are timed one by one, outside the timed set

TARGETS = {
    "completion_p95_ms": 30.0,
    "completion_vs_bare": 3.0,
    "inbox_p95_ms": 20.0,
    "timers_seconds": 5.0,
    "state_max_kb": 20.0,
}
DECISION = {"decision": "forward", "opinion": "同意上报"}


# ---------------------------------------------------------------------------- helpers
def fmt(s: dict) -> str:
    return (f"n={s['n']}  min {s['min']:.2f}  median {s['median']:.2f}  mean {s['mean']:.2f}  "
            f"p95 {s['p95']:.2f}  p99 {s['p99']:.2f}  max {s['max']:.2f} ms")


class Client:
    """A logged-in user, sending the CSRF token like the pages do (as tests/helpers.Api)."""

    def __init__(self, app, username: str):
        self.client = app.test_client()
        response = self.client.post("/api/login", json={"username": username, "password": dataset.PASSWORD})
        assert response.status_code == 200, response.get_json()
        self.headers = {"X-CSRFToken": response.get_json()["csrf_token"]}
        self.user_id = response.get_json()["user"]["id"]

    def inbox(self):
        return self.client.get("/api/tasks")

    def complete(self, task_id: int, data: dict):
        return self.client.post(f"/api/tasks/{task_id}/complete", json={"data": data}, headers=self.headers)


def state_sizes(ctx) -> dict:
    with unit_of_work(ctx) as session:
        postgres = session.get_bind().dialect.name == "postgresql"
        nbytes = func.octet_length(ProcessInstance.state) if postgres else \
            func.length(cast(ProcessInstance.state, LargeBinary))
        row = session.execute(select(func.max(func.length(ProcessInstance.state)),
                                     func.avg(func.length(ProcessInstance.state)),
                                     func.max(nbytes), func.avg(nbytes), func.count())).one()
        by_status = session.execute(select(ProcessInstance.status, func.max(nbytes), func.avg(nbytes))
                                    .group_by(ProcessInstance.status)).all()
    return {"max_chars": int(row[0]), "mean_chars": float(row[1]), "max_bytes": int(row[2]),
            "mean_bytes": float(row[3]), "instances": int(row[4]),
            "by_status": {s: {"max_bytes": int(m), "mean_bytes": float(a)} for s, m, a in by_status}}


def review_tasks(ctx) -> list[tuple[int, str, str, int]]:
    """Open initial reviews the benchmarked county may complete: (task id, spiff task id, state, instance)."""
    with unit_of_work(ctx) as session:
        rows = session.execute(select(HumanTask.id, HumanTask.spiff_task_id, ProcessInstance.state,
                                      ProcessInstance.id)
                               .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
                               .where(HumanTask.state == "open", HumanTask.name == "initial_review",
                                      HumanTask.role == "county",
                                      HumanTask.jurisdiction_code == dataset.BENCH_COUNTY)
                               .order_by(HumanTask.id)).all()
    return [tuple(r) for r in rows]


def bare_completion(engine: Engine, definitions, state: str, spiff_task_id: str) -> float:
    """The engine alone: deserialize, complete the user task, run engine steps, serialize."""
    started = time.perf_counter()
    workflow = engine.load(definitions, "filing", state, None)
    engine.complete(workflow, spiff_task_id, dict(DECISION))
    engine.dump(workflow)
    return time.perf_counter() - started


def profile_completions(ctx, county: Client, batch: list, how: str, out_dir: Path, top: int) -> str:
    """Profile the API completion path; returns the report and writes the full one to out_dir."""
    def run():
        for task_id, *_ in batch:
            response = county.complete(task_id, DECISION)
            assert response.status_code == 200, response.get_json()

    if how == "pyinstrument":
        from pyinstrument import Profiler
        profiler = Profiler(interval=0.0005)
        profiler.start()
        run()
        profiler.stop()
        report = profiler.output_text(unicode=True, color=False, show_all=False)
        (out_dir / "profile_pyinstrument.txt").write_text(report, encoding="utf-8")
        return report
    profiler = cProfile.Profile()
    profiler.enable()
    run()
    profiler.disable()
    profiler.dump_stats(out_dir / "profile_completion.pstats")
    stats = pstats.Stats(profiler)
    total = stats.total_tt
    entries = [(short_path(file), line, name, nc, tt, ct) for (file, line, name), (_cc, nc, tt, ct, _callers)
               in stats.stats.items()]
    lines = [f"cProfile, {len(batch)} completions, {total * 1000:.0f} ms profiled "
             f"({total / len(batch) * 1000:.2f} ms each, profiler overhead included)"]
    components: dict[str, float] = {}
    for file, _line, _name, _nc, tt, _ct in entries:
        components[component(file)] = components.get(component(file), 0.0) + tt
    lines.append("own time by component:")
    for name, tt in sorted(components.items(), key=lambda kv: -kv[1])[:12]:
        lines.append(f"  {tt / total * 100:5.1f}%  {name}")
    lines.append(f"top {top} functions by own time (tottime):")
    lines.append(f"  {'own%':>6} {'cum%':>6} {'calls':>8}  file:function")
    for file, line, name, nc, tt, ct in sorted(entries, key=lambda e: -e[4])[:top]:
        lines.append(f"  {tt / total * 100:5.1f}% {ct / total * 100:5.1f}% {nc:>8}  {file}:{line}:{name}")
    lines.append("the service's own functions by cumulative time (what each call site costs, callees included):")
    own = [e for e in entries if e[0].startswith("service/")]
    for file, line, name, nc, tt, ct in sorted(own, key=lambda e: -e[5])[:top]:
        lines.append(f"  {tt / total * 100:5.1f}% {ct / total * 100:5.1f}% {nc:>8}  {file}:{line}:{name}")
    report = "\n".join(lines) + "\n"
    (out_dir / "profile_completion.txt").write_text(report, encoding="utf-8")
    return report


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


# ---------------------------------------------------------------------------- main
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temp folder. A PostgreSQL "
                        "database is EMPTIED first (DROP SCHEMA public CASCADE): its name must contain 'bench'")
    parser.add_argument("--instances", type=int, default=10_000)
    parser.add_argument("--timers", type=int, default=1_000, help="instances in their notice period = timers fired")
    parser.add_argument("--seeds-per-cell", type=int, default=8,
                        help="real filings per (jurisdiction, stage): 7 x 6 x this many go through the use cases")
    parser.add_argument("--completions", type=int, default=200)
    parser.add_argument("--inbox-reads", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--usecase-only", type=int, default=50, metavar="N",
                        help="also time N completions calling service.usecases.tasks.complete directly "
                        "(no Flask): shows what the HTTP layer adds")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="profile N more completions after the measured ones (0: no profile)")
    parser.add_argument("--profiler", choices=("cprofile", "pyinstrument"), default="cprofile")
    parser.add_argument("--profile-top", type=int, default=25)
    parser.add_argument("--show-sql", action="store_true", help="print the statements of one completion")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite file and the profile folder")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    args = parser.parse_args(argv)

    began = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="filing-bench-"))
    dataset.WORK.append(work)
    url = args.database_url or f"sqlite:///{work}/bench.db"
    backend = make_url(url).get_backend_name()
    if backend == "postgresql" and "bench" not in (make_url(url).database or ""):
        parser.error("the PostgreSQL database is emptied first: use one whose name contains 'bench'")
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"filing benchmark: {backend} ({make_url(url).render_as_string(hide_password=True)}), "
          f"nproc={cpus}, Python {platform.python_version()}, {platform.machine()}")

    # ------------------------------------------------------------------ data
    print(f"building {args.instances:,} instances ({args.seeds_per_cell} real filings per jurisdiction and stage)…",
          flush=True)
    build_started = time.perf_counter()
    dataset.build(url, args.instances, args.timers, args.seeds_per_cell)
    build_seconds = time.perf_counter() - build_started

    clock = FixedClock(dataset.BENCH_NOW)
    ctx = build_context(url, clock=clock)
    spiff_alone = Engine(ctx.sandbox, clock, spiff_states())
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "TESTING": True}, context=ctx)
    mix = dataset.describe(ctx)
    sizes = state_sizes(ctx)
    print(f"data ready in {build_seconds:.1f} s: " + ", ".join(f"{k} {v:,}" for k, v in mix["tables"].items()))
    print("  stages: " + ", ".join(f"{k} {v:,}" for k, v in sorted(mix["stages"].items())))
    print("  instances by jurisdiction: " + ", ".join(f"{k} {v:,}" for k, v in sorted(mix["by_jurisdiction"].items())))

    database = ctx.session_factory.kw["bind"]
    counter = StatementCounter(database)
    county = Client(app, "county")
    with unit_of_work(ctx) as session:
        definitions = ctx.definitions(session, ctx.latest_version_id(session))

    candidates = review_tasks(ctx)
    random.Random(7).shuffle(candidates)
    needed = args.warmup + args.completions + args.usecase_only + args.profile + SQL_SAMPLE
    if len(candidates) < needed:
        raise SystemExit(f"only {len(candidates)} open initial reviews in {dataset.BENCH_COUNTY}, need {needed}: "
                         "raise --instances")
    cut = [args.warmup, args.warmup + args.completions, args.warmup + args.completions + args.usecase_only,
           needed - SQL_SAMPLE]
    warm, measured, direct, profiled, sampled = (candidates[:cut[0]], candidates[cut[0]:cut[1]],
                                                 candidates[cut[1]:cut[2]], candidates[cut[2]:cut[3]],
                                                 candidates[cut[3]:needed])

    # ------------------------------------------------------------------ warm-up
    for task_id, spiff_id, state, _ in warm:
        bare_completion(spiff_alone, definitions, state, spiff_id)
        bare_completion(ctx.engine, definitions, state, spiff_id)
        response = county.complete(task_id, DECISION)
        assert response.status_code == 200, response.get_json()
        assert county.inbox().status_code == 200

    # ------------------------------------------------------------------ 2. inbox
    inbox_times, inbox_sql = [], []
    first_page = None
    for _ in range(args.inbox_reads):
        counter.reset()
        started = time.perf_counter()
        response = county.inbox()
        inbox_times.append(time.perf_counter() - started)
        inbox_sql.append(counter.count)
        assert response.status_code == 200, response.get_json()
        first_page = response.get_json()
    assert len(first_page["items"]) == min(20, first_page["total"])
    assert all(t["jurisdiction_code"] == dataset.BENCH_COUNTY for t in first_page["items"])

    # ------------------------------------------------------------------ 1. completion vs bare
    api_times, bare_times, engine_times, sql_counts = [], [], [], []
    statements: list[str] = []
    for task_id, spiff_id, state, _instance in measured:
        bare_times.append(bare_completion(spiff_alone, definitions, state, spiff_id))
        engine_times.append(bare_completion(ctx.engine, definitions, state, spiff_id))
        counter.reset()  # counting only (a few µs); per-statement timing runs on a separate sample below
        started = time.perf_counter()
        response = county.complete(task_id, DECISION)
        api_times.append(time.perf_counter() - started)
        sql_counts.append(counter.count)
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["task"]["state"] == "completed"
    # where the SQL time goes, on tasks that are not in the timed set (timing costs time itself)
    for n, (task_id, *_rest) in enumerate(sampled):
        counter.recording, counter.timing = (statements if n == 0 else None), True
        response = county.complete(task_id, DECISION)
        counter.recording, counter.timing = None, False
        assert response.status_code == 200, response.get_json()
    # every measured case moved on to the city
    with unit_of_work(ctx) as session:
        moved = session.scalar(select(func.count()).select_from(HumanTask).where(
            HumanTask.instance_id.in_([m[3] for m in measured]), HumanTask.state == "open",
            HumanTask.name == "city_review"))
    assert moved == len(measured), moved

    direct_times = []
    for task_id, *_ in direct:
        started = time.perf_counter()
        tasks.complete(ctx, county.user_id, task_id, dict(DECISION))
        direct_times.append(time.perf_counter() - started)

    profile_report = None
    if profiled:
        profile_report = profile_completions(ctx, county, profiled, args.profiler, work, args.profile_top)

    # ------------------------------------------------------------------ 3. timers
    with unit_of_work(ctx) as session:
        due = session.scalar(select(func.count()).select_from(Timer).where(
            Timer.state == "waiting", Timer.due_at <= dataset.TIMERS_AS_OF))
    counter.reset()
    started = time.perf_counter()
    fired = fire_due_timers(ctx, dataset.TIMERS_AS_OF)
    timer_seconds = time.perf_counter() - started
    timer_sql = counter.count
    with unit_of_work(ctx) as session:
        assign_tasks = session.scalar(select(func.count()).select_from(HumanTask).where(
            HumanTask.state == "open", HumanTask.name == "assign_code"))

    # ------------------------------------------------------------------ report
    api, bare, inbox = summary(api_times), summary(bare_times), summary(inbox_times)
    own_engine = summary(engine_times)
    ratio_median = api["median"] / bare["median"]
    ratio_p95 = api["p95"] / bare["p95"]
    max_kb, mean_kb = sizes["max_bytes"] / 1024, sizes["mean_bytes"] / 1024
    results = {
        "backend": backend, "nproc": cpus, "python": platform.python_version(),
        "instances": sizes["instances"], "build_seconds": build_seconds, "mix": mix,
        "completion_api_ms": api, "completion_bare_ms": bare, "completion_engine_ms": own_engine,
        "completion_vs_bare": {"median": ratio_median, "p95": ratio_p95, "mean": api["mean"] / bare["mean"]},
        "sql_per_completion": {"mean": statistics.fmean(sql_counts), "min": min(sql_counts),
                               "max": max(sql_counts)},
        "inbox_ms": inbox, "inbox_total": first_page["total"],
        "sql_per_inbox": {"mean": statistics.fmean(inbox_sql), "min": min(inbox_sql), "max": max(inbox_sql)},
        "timers": {"due": due, "fired": fired.fired, "failed": fired.failed, "seconds": timer_seconds,
                   "sql_statements": timer_sql, "assign_code_tasks_after": assign_tasks},
        "state_size": sizes,
    }
    checks = {
        "completion_p95": api["p95"] <= TARGETS["completion_p95_ms"],
        "completion_vs_bare": ratio_median <= TARGETS["completion_vs_bare"],
        "inbox_p95": inbox["p95"] <= TARGETS["inbox_p95_ms"],
        "timers": fired.fired == due == args.timers and fired.failed == 0
        and timer_seconds <= TARGETS["timers_seconds"],
        "state_size": max_kb <= TARGETS["state_max_kb"],
    }
    results["checks"] = checks

    print()
    if args.show_sql:
        print(f"statements of one completion ({len(statements)}):")
        for s in statements:
            print(f"  {s[:150]}")
        print()
    print("completion through the API (POST /api/tasks/<id>/complete, county initial_review -> forward)")
    print(f"  API   {fmt(api)}")
    print(f"  bare  {fmt(bare)}")
    print("        (bare = SpiffWorkflow alone: json and its own converter load the stored state (state only), the "
          "user task is completed and the engine steps run, its converter and json save; no SQL, no Flask, no service "
          "task handlers: the forward path runs none)")
    print(f"  engine {fmt(own_engine)}")
    print("        (engine = the same with the service's own state converter and orjson, service/engine/state.py: "
          "the same text)")
    if direct_times:
        results["completion_usecase_ms"] = summary(direct_times)
        print(f"  use case {fmt(results['completion_usecase_ms'])}")
        print("        (use case = service.usecases.tasks.complete called directly: SQL and engine, no Flask)")
    print(f"  API / bare: median {ratio_median:.2f}x, mean {results['completion_vs_bare']['mean']:.2f}x, "
          f"p95 {ratio_p95:.2f}x; API / engine: median {api['median'] / own_engine['median']:.2f}x; "
          f"the service beyond its engine: {api['median'] - own_engine['median']:.2f} ms (medians)")
    print(f"  SQL statements per completion: mean {results['sql_per_completion']['mean']:.1f}, "
          f"min {min(sql_counts)}, max {max(sql_counts)}; time in the driver per completion, by statement:")
    in_driver = sorted(counter.times.items(), key=lambda kv: -sum(kv[1]))
    results["sql_ms_per_completion"] = {k: sum(v) * 1000 / len(sampled) for k, v in in_driver}
    for key, values in in_driver:
        per_completion, median = sum(values) * 1000 / len(sampled), statistics.median(values) * 1000
        print(f"    {per_completion:6.3f} ms  (median {median:.3f})  {key}")
    print(f"    {sum(results['sql_ms_per_completion'].values()):6.3f} ms  in all (commit not included)")
    print(f"inbox (GET /api/tasks, first page of {first_page['total']} open county tasks in {dataset.BENCH_COUNTY})")
    print(f"  {fmt(inbox)}")
    print(f"  SQL statements per read: mean {results['sql_per_inbox']['mean']:.1f}")
    print(f"timers: {due} due, fire_due_timers fired {fired.fired}, failed {fired.failed} in {timer_seconds:.2f} s "
          f"({timer_seconds / max(fired.fired, 1) * 1000:.2f} ms and {timer_sql / max(fired.fired, 1):.1f} "
          f"statements each); {assign_tasks} assign_code tasks open after")
    print(f"stored state over {sizes['instances']:,} instances: max {sizes['max_bytes']:,} bytes "
          f"({sizes['max_chars']:,} chars), mean {sizes['mean_bytes']:,.0f} bytes ({sizes['mean_chars']:,.0f} chars)")
    for status, s in sorted(sizes["by_status"].items()):
        print(f"  {status}: max {s['max_bytes']:,} bytes, mean {s['mean_bytes']:,.0f} bytes")
    if profile_report:
        print()
        where = f"; full report in {work}" if args.keep else " (--keep keeps the full report)"
        print(f"profile of {len(profiled)} completions ({args.profiler}{where}):")
        print(profile_report)

    print()
    print(f"RESULTS ({backend}, nproc={cpus}, {sizes['instances']:,} instances, "
          f"{len(measured)} completions, {len(inbox_times)} inbox reads)")
    rows = [
        ("1  completion p95 via API", f"{api['p95']:.2f} ms", f"<= {TARGETS['completion_p95_ms']:.0f} ms",
         checks["completion_p95"]),
        ("1  completion / bare SpiffWorkflow (median)", f"{ratio_median:.2f}x ({api['median']:.2f} / "
         f"{bare['median']:.2f} ms; p95 ratio {ratio_p95:.2f}x)", f"<= {TARGETS['completion_vs_bare']:.0f}x",
         checks["completion_vs_bare"]),
        ("2  county inbox first page p95", f"{inbox['p95']:.2f} ms", f"<= {TARGETS['inbox_p95_ms']:.0f} ms",
         checks["inbox_p95"]),
        (f"3  {args.timers:,} due timers fired", f"{timer_seconds:.2f} s ({fired.fired} fired, {fired.failed} failed)",
         f"<= {TARGETS['timers_seconds']:.0f} s", checks["timers"]),
        ("4  stored state per instance (max)", f"{max_kb:.1f} KB (mean {mean_kb:.1f} KB)",
         f"<= {TARGETS['state_max_kb']:.0f} KB", checks["state_size"]),
        ("   SQL statements per completion", f"{results['sql_per_completion']['mean']:.1f} "
         f"(min {min(sql_counts)}, max {max(sql_counts)})", "reported", None),
    ]
    for name, value, limit, ok in rows:
        print(f"  {name:<44} {value:<52} {limit:<10} {verdict(ok) if ok is not None else ''}")
    dataset.finish(results, checks, began, build_seconds, args.json)
    database.dispose()
    if args.keep:  # otherwise dataset.run_cleaning_up removes it
        print(f"kept: {work}")
    return 1 if args.strict and not all(checks.values()) else 0



if __name__ == "__main__":
    sys.exit(dataset.run_cleaning_up(main))

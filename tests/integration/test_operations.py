"""Running it as a bureau would (issue 18): the scheduler's pass and its heartbeat, /healthz and
/readyz, /metrics, and the production server answering on a real port."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timedelta

from sqlalchemy import select, text

from service.scheduler.runner import pass_once
from service.store.models import DefinitionVersion, SchedulerHeartbeat
from service.usecases.context import unit_of_work
from tests.conftest import ROOT


def test_a_pass_fires_what_is_due_and_leaves_its_heartbeat(ctx, clock):
    started, result = pass_once(ctx, "host-a:101")
    assert (started, result.fired, result.failed) == (0, 0, 0)
    clock.set(clock.now() + timedelta(seconds=15))
    pass_once(ctx, "host-a:101")
    with unit_of_work(ctx) as session:
        beats = session.execute(select(SchedulerHeartbeat.name, SchedulerHeartbeat.beat_at)).all()
    assert beats == [("host-a:101", clock.now())]  # one row a process, moved on each pass


def test_readyz_says_what_is_missing_until_a_scheduler_runs(app, ctx, clock):
    client = app.test_client()
    assert client.get("/healthz").get_json() == {"status": "ok"}
    waiting = client.get("/readyz")
    assert waiting.status_code == 503
    assert waiting.get_json()["checks"] == {"database": "ok", "migrations": "ok", "definitions": "ok",
                                            "scheduler": "no scheduler has run: start `flask scheduler`"}
    pass_once(ctx, "host-a:101")
    assert client.get("/readyz").status_code == 200
    clock.set(clock.now() + timedelta(minutes=3))  # the scheduler stopped
    stale = client.get("/readyz").get_json()["checks"]["scheduler"]
    assert stale.startswith("last pass at") and "is the scheduler running" in stale


def test_readyz_names_a_schema_behind_the_code_and_nothing_deployed(app, ctx):
    pass_once(ctx, "host-a:101")
    with unit_of_work(ctx) as session:
        version = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
        session.execute(text("UPDATE alembic_version SET version_num = '0019'"))
    try:
        checks = app.test_client().get("/readyz").get_json()["checks"]
        assert checks["migrations"].startswith("at 0019, code expects")
    finally:
        with unit_of_work(ctx) as session:
            session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": version})


def test_a_scheduler_before_any_deploy_passes_quietly(tmp_path):
    """A fresh install's scheduler may start before the first deploy: its passes do nothing and say
    nothing, rather than fail every 15 seconds."""
    from service.bootstrap import build_context
    from service.clock import FixedClock
    from service.store.migrate import upgrade
    url = f"sqlite:///{tmp_path}/fresh.db"
    upgrade(url)
    fresh = build_context(url, clock=FixedClock(datetime(2025, 9, 1, 9, 0)))
    started, result = pass_once(fresh, "host-b:7")
    assert (started, result.fired, result.failed) == (0, 0, 0)
    with unit_of_work(fresh) as session:
        assert session.scalar(select(SchedulerHeartbeat.name)) == "host-b:7"
        assert session.scalar(select(DefinitionVersion.id)) is None
    fresh.session_factory.kw["bind"].dispose()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_gunicorn_serves_the_app_with_the_repositorys_config(tmp_path):
    port = _free_port()
    env = {**os.environ, "PORT": str(port), "BIND": "127.0.0.1", "WEB_WORKERS": "2", "WEB_THREADS": "2",
           "DATABASE_URL": f"sqlite:///{tmp_path}/served.db", "ENVIRONMENT": "development"}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                    assert answer.status == 200 and b'"ok"' in answer.read()
                    break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, server.stdout.read().decode()
                time.sleep(0.2)
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0].decode()
    assert output.count("Booting worker") == 2 and '"GET /healthz HTTP/1.1" 200' in output


def test_gunicorns_workers_report_their_request_timings_together(tmp_path):
    """Several scrapes, answered by either worker, all count every /healthz the two served."""
    port = _free_port()
    env = {**os.environ, "PORT": str(port), "BIND": "127.0.0.1", "WEB_WORKERS": "2", "WEB_THREADS": "2",
           "DATABASE_URL": f"sqlite:///{tmp_path}/served.db", "ENVIRONMENT": "development"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    from service.store.migrate import upgrade
    upgrade(env["DATABASE_URL"])
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, server.stdout.read().decode()
                time.sleep(0.2)
        before = _served(port)
        for _ in range(20):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).read()
        counts = {_served(port) for _ in range(6)}
    finally:
        server.terminate()
        server.communicate(timeout=30)
    assert counts == {before + 20}


def _served(port: int) -> float:
    """How many /healthz the server says it answered."""
    page = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    line = next(line for line in page.splitlines()
                if line.startswith('skill_eval_request_seconds_count{endpoint="health.healthz"'))
    return float(line.rsplit(" ", 1)[1])


def test_metrics_tell_the_work_from_the_database(batch_people, app, ctx, clock):
    from service.store.models import Incident, Timer
    from tests.batches import to_the_scores
    to_the_scores(batch_people, ctx, clock)  # a plan filed and accepted, the exam-day timer fired
    pass_once(ctx, "host-a:101")
    with unit_of_work(ctx) as session:  # then a timer nobody fires (no scheduler since) and a failed step
        instance_id = session.scalar(select(Timer.instance_id))
        session.add(Timer(instance_id=instance_id, spiff_task_id="x", name="stuck", due_at=clock.now() - timedelta(
            hours=2), state="waiting", attempts=0))
        session.add(Incident(instance_id=instance_id, step_name="grade_results", step_title="判定认定结果",
                             created_at=clock.now(), error="boom"))
    clock.set(clock.now() + timedelta(seconds=30))
    batch_people["city"].get("/api/tasks")
    page = app.test_client().get("/metrics").get_data(as_text=True)
    lines = dict(line.rsplit(" ", 1) for line in page.splitlines() if line and not line.startswith("#"))
    assert float(lines['skill_eval_task_completions_total{process="batch_certification"}']) == 2  # plan, acceptance
    assert float(lines["skill_eval_incidents_open"]) == 1
    assert float(lines["skill_eval_scheduler_heartbeat_age_seconds"]) == 30
    assert float(lines["skill_eval_timers_fired_total"]) >= 1
    assert (float(lines["skill_eval_timers_due"]), float(lines["skill_eval_timer_lag_seconds"])) == (1, 7230)
    assert float(lines['skill_eval_request_seconds_count{endpoint="api.inbox",method="GET"}']) >= 1


def test_a_metrics_token_keeps_the_page_from_others(app, monkeypatch):
    monkeypatch.setenv("METRICS_TOKEN", "s3cret-token")
    client = app.test_client()
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200


def test_a_request_id_goes_back_with_the_answer_and_into_the_audit_entry_it_wrote(app, ctx):
    from service.store.models import AuditEvent
    from tests.helpers import PASSWORD, make_staff
    make_staff(ctx)
    client = app.test_client()
    answer = client.get("/healthz")
    assert len(answer.headers["X-Request-ID"]) == 32  # made here when the caller sent none
    given = client.get("/healthz", headers={"X-Request-ID": "proxy-7f3a9c21"})
    assert given.headers["X-Request-ID"] == "proxy-7f3a9c21"
    odd = client.get("/healthz", headers={"X-Request-ID": "<script>"})
    assert odd.headers["X-Request-ID"] != "<script>"  # not one: replaced
    refused = client.post("/api/login", json={"username": "city", "password": "wrong-" + PASSWORD},
                          headers={"X-Request-ID": "proxy-login-0001"})
    assert refused.status_code == 401
    with unit_of_work(ctx) as session:
        ids = session.scalars(select(AuditEvent.request_id).where(AuditEvent.action == "login_failed")).all()
    assert ids == ["proxy-login-0001"]

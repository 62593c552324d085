"""Running it as a bureau would (issue 18): the scheduler's pass and its heartbeat, /healthz and
/readyz, and the production server answering on a real port."""
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

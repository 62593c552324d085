"""Crash safety (issue 18), on PostgreSQL with real processes: a gunicorn worker killed with SIGKILL
in the middle of task completions, and a scheduler killed in the middle of a batch of timers, lose
nothing and duplicate nothing.

"In the middle" is made certain, not hoped for: the test holds a lock on one case's row, so the
worker (or the scheduler) has done the step's work and waits inside its transaction to write it;
pg_stat_activity names the waiting process (its application_name carries the pid), and that process
is the one killed."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, func, select, text

from service.clock import TrainingClock
from service.store.models import AuditEvent, HumanTask, Institution, ProcessInstance, Timer
from service.usecases import instances
from service.usecases.audit import verify_chain
from service.usecases.context import unit_of_work
from service.usecases.timers import fire_due_timers
from tests.helpers import PASSWORD, Api, application, demo_credit_code, make_institution, make_staff

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
                                reason="several processes on one database: PostgreSQL")


# --- the processes under test ----------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def service_env(ctx, tmp_path) -> dict:
    return {**os.environ, "DATABASE_URL": ctx.session_factory.kw["bind"].url.render_as_string(False),
            "SECRET_KEY": "crash-test-key-0123456789abcdef0123456789", "CLOCK": "training",
            "FLASK_APP": "service.app", "FILE_STORE": str(tmp_path / "files"), "ENVIRONMENT": "development",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}


class Processes:
    """Started processes, each with its log in a file, all killed when the test ends."""

    def __init__(self, tmp_path):
        self.tmp_path, self.started = tmp_path, []

    def start(self, name, command, env):
        log = (self.tmp_path / f"{name}.log").open("wb")
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.started.append((process, log))
        return process

    def stop(self):
        for process, log in self.started:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            log.close()


@pytest.fixture
def processes(tmp_path):
    running = Processes(tmp_path)
    yield running
    running.stop()


@pytest.fixture
def server_clock(ctx, clock):
    """The processes read the training clock from the database: set it to the test's clock."""
    with unit_of_work(ctx) as session:
        TrainingClock(ctx.session_factory).set(session, clock.now())


@pytest.fixture
def locker(ctx):
    """A connection of the test's own that can hold a case's row."""
    engine = create_engine(ctx.session_factory.kw["bind"].url)
    connection = engine.connect()
    yield connection
    connection.close()
    engine.dispose()


def hold_case(connection, instance_id: int) -> None:
    connection.begin()
    connection.execute(text("SELECT id FROM process_instance WHERE id = :id FOR UPDATE"), {"id": instance_id})


def waiting_pid(ctx, timeout: float = 30) -> int:
    """The pid of our process whose transaction waits for the held row."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with ctx.session_factory() as session:
            names = session.execute(text(
                "SELECT application_name FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND application_name LIKE 'skill-eval %'")).scalars().all()
        if names:
            return int(names[0].split()[1])
        time.sleep(0.02)
    raise AssertionError("no process of ours came to wait for the held case")


def wait_until(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


# --- what must hold afterwards -------------------------------------------------------------------

def mismatches(ctx) -> list[str]:
    """Every case whose open task rows or waiting timer rows differ from its stored workflow state."""
    found = []
    with unit_of_work(ctx) as session:
        for instance in session.scalars(select(ProcessInstance)):
            workflow, definitions = instances.load_readonly(ctx, session, instance)
            ready, waiting = ctx.engine.snapshot(definitions, instance.process_id, workflow)
            tasks = set(session.scalars(select(HumanTask.spiff_task_id).where(
                HumanTask.instance_id == instance.id, HumanTask.state == "open")))
            timers = set(session.scalars(select(Timer.spiff_task_id).where(
                Timer.instance_id == instance.id, Timer.state == "waiting")))
            if tasks != {t.id for t in ready} or timers != {t.task_id for t in waiting}:
                found.append(f"case {instance.id}: tasks {tasks} timers {timers}")
        assert verify_chain(session) is None
    return found


def filings_for_county_review(app, ctx, count: int, kind: str = "enterprise") -> list[int]:
    """`count` applications waiting for the county's initial review; their case ids."""
    cases = []
    for serial in range(1, count + 1):
        name = f"崩溃测试机构{serial}"
        _, username = make_institution(ctx, serial=serial, name=name, kind=kind)
        api = Api(app, username)
        started = api.post("/api/filings").get_json()
        data = application(demo_credit_code(serial), name, kind=kind, attachment_id=api.upload())
        assert api.complete(started["task_id"], data).status_code == 200
        cases.append(started["instance_id"])
    return cases


# --- a web worker killed during completions ---------------------------------------------------------

def login(base: str) -> requests.Session:
    """The county's clerk, logged in; again if the worker that answered was the one killed."""
    for _ in range(20):
        client = requests.Session()
        try:
            answer = client.post(f"{base}/api/login", json={"username": "county", "password": PASSWORD}, timeout=30)
        except requests.RequestException:
            time.sleep(0.5)
            continue
        assert answer.status_code == 200, answer.text
        client.headers["X-CSRFToken"] = answer.json()["csrf_token"]
        return client
    raise AssertionError("could not log in")


def complete(client, base, task_id) -> int | str:
    try:
        return client.post(f"{base}/api/tasks/{task_id}/complete", timeout=60,
                           json={"data": {"decision": "forward", "opinion": "材料齐全，同意上报"}}).status_code
    except requests.RequestException:
        return "connection lost"


def test_a_worker_killed_in_the_middle_of_completions_loses_and_duplicates_nothing(
        app, ctx, server_clock, locker, processes, tmp_path):
    make_staff(ctx)
    cases = filings_for_county_review(app, ctx, 24)
    with unit_of_work(ctx) as session:
        task_of = dict(session.execute(select(HumanTask.instance_id, HumanTask.id).where(
            HumanTask.name == "initial_review", HumanTask.state == "open")).all())
    assert sorted(task_of) == sorted(cases)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    master = processes.start("gunicorn", [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"],
                             {**service_env(ctx, tmp_path), "WEB_WORKERS": "2", "WEB_THREADS": "4",
                              "BIND": "127.0.0.1", "PORT": str(port)})
    wait_until(lambda: _answers(base), 60, "gunicorn to serve")

    victim_case, *others = cases
    hold_case(locker, victim_case)
    answers: dict[int, object] = {}
    victim = threading.Thread(target=lambda: answers.update({task_of[victim_case]: complete(login(base), base,
                                                                                             task_of[victim_case])}))
    victim.start()
    killed = waiting_pid(ctx)  # the worker has run the step and waits to write it
    workers = _children(master.pid)
    assert killed in workers

    def colleague(part):
        client = login(base)
        for case in part:
            answers[task_of[case]] = complete(client, base, task_of[case])

    colleagues = [threading.Thread(target=colleague, args=(others[i::3],)) for i in range(3)]
    for thread in colleagues:
        thread.start()
    wait_until(lambda: len(answers) >= 6, 60, "some completions beside the waiting one")
    os.kill(killed, signal.SIGKILL)
    locker.rollback()  # the row is free again: the dead worker's transaction must not reach it
    victim.join(60)
    for thread in colleagues:
        thread.join(120)
    assert answers[task_of[victim_case]] == "connection lost"
    wait_until(lambda: len(_children(master.pid)) == 2 and killed not in _children(master.pid), 60,
               "gunicorn to replace the killed worker")

    # the clerk tries again what got no answer: done now, or already done (409), never twice
    client = login(base)
    retried = {task: complete(client, base, task) for task in task_of.values() if answers.get(task) != 200}
    assert task_of[victim_case] in retried and set(retried.values()) <= {200, 409}
    assert retried[task_of[victim_case]] == 200  # the killed completion never committed

    with unit_of_work(ctx) as session:
        completed = Counter(session.scalars(select(HumanTask.instance_id).where(
            HumanTask.name == "initial_review", HumanTask.state == "completed")))
        city = Counter(session.scalars(select(HumanTask.instance_id).where(
            HumanTask.name == "city_review", HumanTask.state == "open")))
        audited = Counter(session.scalars(select(AuditEvent.instance_id).where(
            AuditEvent.action == "complete", AuditEvent.task_name == "initial_review")))
    assert completed == city == audited == Counter(cases)  # each exactly once
    assert mismatches(ctx) == []


def _answers(base) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=2).status_code == 200
    except requests.ConnectionError:
        return False


def _children(pid: int) -> set[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return {int(child) for child in path.read_text().split()} if path.exists() else set()


# --- a scheduler killed in the middle of a batch ------------------------------------------------------

def test_a_scheduler_killed_in_the_middle_of_a_batch_fires_every_timer_once(
        app, ctx, clock, locker, processes, tmp_path):
    make_staff(ctx)
    cases = filings_for_county_review(app, ctx, 12)
    county, city = Api(app, "county"), Api(app, "city")
    for task in county.open_tasks():
        assert county.complete(task["id"], {"decision": "forward", "opinion": "同意上报"}).status_code == 200
    for task in city.open_tasks():
        scope = city.get(f"/api/tasks/{task['id']}").get_json()["data"]["scope"]
        answer = city.complete(task["id"], {"decision": "approve", "opinion": "同意备案", "approved_scope": scope})
        assert answer.status_code == 200, answer.get_json()
    for task in county.open_tasks():
        assert county.complete(task["id"], {"opinion": "同意公示"}).status_code == 200
    with unit_of_work(ctx) as session:
        due = session.scalars(select(Timer).where(Timer.state == "waiting")).all()
        assert sorted(t.instance_id for t in due) == sorted(cases)
        clock.set(max(t.due_at for t in due))  # every notice period is over
        TrainingClock(ctx.session_factory).set(session, clock.now())

    # the batch takes the timers in due order; the held case is the middle one's
    held = sorted(due, key=lambda t: (t.due_at, t.id))[len(due) // 2].instance_id
    hold_case(locker, held)
    env = service_env(ctx, tmp_path)
    first = processes.start("scheduler-1", [sys.executable, "-m", "flask", "scheduler", "--interval", "1"], env)
    assert waiting_pid(ctx) == first.pid  # it has fired the batch's timers and waits to write them
    first.kill()
    first.wait()
    locker.rollback()
    with unit_of_work(ctx) as session:  # nothing of the killed batch was written
        assert session.scalar(select(func.count()).select_from(Timer).where(Timer.state == "fired")) == 0

    processes.start("scheduler-2", [sys.executable, "-m", "flask", "scheduler", "--interval", "1"], env)

    def all_fired():
        with unit_of_work(ctx) as session:
            return session.scalar(select(func.count()).select_from(Timer).where(Timer.state == "waiting")) == 0

    wait_until(all_fired, 60, "the second scheduler to fire every timer")
    assert fire_due_timers(ctx).fired == 0
    with unit_of_work(ctx) as session:
        fired = Counter(session.scalars(select(Timer.instance_id).where(Timer.state == "fired")))
        assign = Counter(session.scalars(select(HumanTask.instance_id).where(
            HumanTask.name == "assign_code", HumanTask.state == "open")))
        # the system's steps after the notice (closing it, telling the city) are recorded once each
        steps = Counter(session.execute(select(AuditEvent.instance_id, AuditEvent.task_name).where(
            AuditEvent.action == "service")).all())
        assert session.scalar(select(func.count()).select_from(Institution)) == len(cases)
    assert fired == assign == Counter(cases)  # each notice closed once, each case one next step
    assert steps and set(steps.values()) == {1}
    assert mismatches(ctx) == []

"""Platform guarantees: optimistic concurrency, timers never lost, CSRF, audit tamper evidence."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm.exc import StaleDataError

from service.store.models import AuditEvent, ProcessInstance, Timer
from service.usecases.audit import verify_chain
from service.usecases.context import unit_of_work
from service.usecases.timers import MAX_ATTEMPTS, fire_due_timers
from tests.helpers import PASSWORD, Api, make_institution, make_staff


@pytest.fixture
def started(app, ctx):
    make_staff(ctx)
    make_institution(ctx)
    institution = Api(app, "inst1")
    return institution, institution.post("/api/filings").get_json()


def test_two_writers_of_one_instance_cannot_both_win(ctx, started):
    _, case = started
    first, second = ctx.session_factory(), ctx.session_factory()
    try:
        a = first.get(ProcessInstance, case["instance_id"])
        first.commit()  # both have read version 1 (objects are kept after commit)
        b = second.get(ProcessInstance, case["instance_id"])
        second.commit()
        a.state = a.state + " "
        first.commit()
        b.state = b.state + "  "
        with pytest.raises(StaleDataError):
            second.commit()
    finally:
        first.close()
        second.close()


def test_failing_timer_is_retried_with_backoff_then_kept_as_failed(ctx, started, clock):
    _, case = started
    with unit_of_work(ctx) as session:
        session.add(Timer(instance_id=case["instance_id"], spiff_task_id="00000000-0000-0000-0000-000000000000",
                          name="broken", due_at=clock.now()))
        session.execute(update(ProcessInstance).values(state="{not json"))
    result = fire_due_timers(ctx)
    assert (result.fired, result.failed) == (0, 1)
    with unit_of_work(ctx) as session:
        timer = session.scalar(select(Timer))
        assert timer.state == "waiting" and timer.attempts == 1 and timer.last_error
        assert timer.due_at == clock.now() + timedelta(minutes=2)
    for _ in range(MAX_ATTEMPTS - 1):
        clock.advance(timedelta(hours=1))
        fire_due_timers(ctx)
    with unit_of_work(ctx) as session:
        timer = session.scalar(select(Timer))
        assert timer.state == "failed" and timer.attempts == MAX_ATTEMPTS


def test_catch_up_fires_what_was_due_at_the_given_instant_even_if_the_clock_is_behind(app, ctx, clock):
    from tests.integration.test_filing_api import forward_and_approve, submit_application
    make_staff(ctx)
    make_institution(ctx)
    people = {name: Api(app, name) for name in ("inst1", "county", "city")}
    submit_application(people["inst1"])
    forward_and_approve(people)
    clock.set(datetime(2024, 9, 27, 10, 0))
    people["county"].complete(people["county"].only_task("publish_notice")["id"], {"opinion": "同意公示"})
    assert fire_due_timers(ctx, as_of=datetime(2024, 10, 10, 12, 0)).fired == 0
    assert fire_due_timers(ctx, as_of=datetime(2024, 10, 11, 0, 0)).fired == 1
    assert people["city"].only_task("assign_code")


def test_writes_without_csrf_token_are_refused(app, started):
    institution, _ = started
    bare = institution.client.post("/api/filings")
    assert bare.status_code == 400


def test_session_cookie_is_httponly_and_samesite(app, ctx):
    make_staff(ctx)
    response = app.test_client().post("/api/login", json={"username": "city", "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    wrong = app.test_client().post("/api/login", json={"username": "city", "password": "wrong"})
    assert wrong.status_code == 401 and "Set-Cookie" not in wrong.headers


def test_changed_audit_row_breaks_the_chain(ctx, started):
    with unit_of_work(ctx) as session:
        assert verify_chain(session) is None
        first = session.scalar(select(AuditEvent).order_by(AuditEvent.id))
        first.opinion = "篡改后的意见"
    with unit_of_work(ctx) as session:
        assert verify_chain(session) == first.id


def test_two_people_completing_the_same_task_at_once_get_one_success_and_one_conflict(app, ctx):
    import threading

    from service.usecases import tasks
    from service.usecases.errors import Conflict
    from tests.integration.test_filing_api import submit_application
    make_staff(ctx)
    make_institution(ctx)
    from service.usecases import accounts
    accounts.create_user(ctx, "county2", PASSWORD, "贵池区另一审核员", "county", jurisdiction_code="341702")
    submit_application(Api(app, "inst1"))
    county = Api(app, "county")
    task_id = county.only_task("initial_review")["id"]
    user_ids = [county.user["id"], Api(app, "county2").user["id"]]
    barrier, outcomes = threading.Barrier(2), []

    def act(user_id):
        barrier.wait()
        try:
            tasks.complete(ctx, user_id, task_id, {"decision": "forward", "opinion": "同意上报"})
            outcomes.append("done")
        except Conflict as error:
            outcomes.append(error.message)

    threads = [threading.Thread(target=act, args=(u,)) for u in user_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes, key=len) == ["done", outcomes[0] if outcomes[0] != "done" else outcomes[1]]
    assert any("已由" in o for o in outcomes)
    assert len(Api(app, "city").open_tasks()) == 1  # the case moved on exactly once
    with unit_of_work(ctx) as session:
        assert verify_chain(session) is None


def test_training_clock_is_shared_through_the_database_and_survives_a_restart(app, ctx):
    from service.app import create_app
    from service.bootstrap import build_context
    from service.clock import TrainingClock
    make_staff(ctx)
    url = ctx.session_factory.kw["bind"].url.render_as_string(False)
    web = build_context(url, clock_kind="training")
    assert isinstance(web.clock, TrainingClock)
    training_app = create_app({"DATABASE_URL": url, "SECRET_KEY": "t", "CLOCK": "training"}, context=web)
    analyst, county = Api(training_app, "analyst"), Api(training_app, "county")
    assert county.post("/api/admin/clock", json={"set": "2025-03-03T09:00:00"}).status_code == 403
    response = analyst.post("/api/admin/clock", json={"set": "2025-03-03T09:00:00"})
    assert response.status_code == 200
    scheduler = build_context(url, clock_kind="training")  # another process, started later
    assert abs(scheduler.clock.now() - datetime(2025, 3, 3, 9, 0)) < timedelta(seconds=5)
    analyst.post("/api/admin/clock", json={"advance_days": 30})
    web.clock._read_at = scheduler.clock._read_at = -1e9  # past the one-second cache
    assert abs(scheduler.clock.now() - datetime(2025, 4, 2, 9, 0)) < timedelta(seconds=5)
    for context in (web, scheduler):
        context.session_factory.kw["bind"].dispose()


def test_training_clock_is_refused_in_production():
    from service import config
    with pytest.raises(RuntimeError, match="production"):
        config.check({"CLOCK": "training", "ENVIRONMENT": "production"})


def test_a_broken_instance_does_not_hold_back_the_other_timers_of_its_batch(app, ctx, clock):
    from tests.integration.test_filing_api import forward_and_approve, submit_application
    make_staff(ctx)
    make_institution(ctx)
    make_institution(ctx, serial=2, name="另一机构")
    people = {name: Api(app, name) for name in ("inst1", "county", "city")}
    broken = Api(app, "inst2").post("/api/filings").get_json()
    submit_application(people["inst1"])
    forward_and_approve(people)
    clock.set(datetime(2024, 9, 27, 10, 0))
    people["county"].complete(people["county"].only_task("publish_notice")["id"], {"opinion": "同意公示"})
    with unit_of_work(ctx) as session:
        session.add(Timer(instance_id=broken["instance_id"], spiff_task_id="00000000-0000-0000-0000-000000000000",
                          name="broken", due_at=datetime(2024, 9, 28)))
        session.execute(update(ProcessInstance).where(ProcessInstance.id == broken["instance_id"])
                        .values(state="{not json"))
    result = fire_due_timers(ctx, as_of=datetime(2024, 10, 11, 0, 0))
    assert (result.fired, result.failed) == (1, 1)
    assert people["city"].only_task("assign_code")
    with unit_of_work(ctx) as session:
        assert verify_chain(session) is None


def test_each_case_keeps_its_own_chain_and_a_removed_last_event_is_evident(app, ctx):
    from sqlalchemy import delete

    from tests.integration.test_filing_api import submit_application
    make_staff(ctx)
    make_institution(ctx)
    submit_application(Api(app, "inst1"))
    county = Api(app, "county")
    task = county.only_task("initial_review")
    county.post(f"/api/tasks/{task['id']}/claim")  # events that move no workflow extend the chain too
    county.post(f"/api/tasks/{task['id']}/unclaim")
    county.complete(task["id"], {"decision": "forward", "opinion": "同意上报"})
    with unit_of_work(ctx) as session:
        assert verify_chain(session) is None
        instance = session.scalar(select(ProcessInstance))
        last = session.scalar(select(AuditEvent).where(AuditEvent.instance_id == instance.id)
                              .order_by(AuditEvent.id.desc()))
        assert instance.audit_hash == last.hash
        session.execute(delete(AuditEvent).where(AuditEvent.id == last.id))
    with unit_of_work(ctx) as session:
        assert verify_chain(session) is not None

"""Writes held back (service/store/held.py): a step's writes go together when it commits (on
PostgreSQL in one pipeline), nothing reads past them, a missed version check or a broken
constraint keeps none of them, and a case changed under a scheduler batch is found and fired
again, timer by timer."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import event, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from service.store import held
from service.store.models import HumanTask, Notification, ProcessInstance, Timer, User
from service.usecases import instances, notifications, tasks
from service.usecases.audit import verify_chain
from service.usecases.context import unit_of_work
from service.usecases.timers import fire_due_timers
from tests.helpers import Api, make_institution, make_staff
from tests.integration.test_filing_api import submit_application
from tests.integration.test_scheduler import CLOSED, _filings_in_notice

NOW = datetime(2024, 9, 2, 9, 0)


@pytest.fixture
def statements(ctx):
    """The SQL sent, one entry per cursor execution."""
    sent: list[str] = []
    engine = ctx.session_factory.kw["bind"]
    listener = lambda conn, cursor, statement, *rest: sent.append(statement.split()[0] + " " + statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    yield sent
    event.remove(engine, "before_cursor_execute", listener)


def message(user_id: int, title: str) -> dict:
    return dict(user_id=user_id, title=title, body="", link="", created_at=NOW)


def test_held_rows_go_in_one_statement_before_the_first_read_of_their_table(ctx, statements):
    make_staff(ctx)
    with unit_of_work(ctx) as session:
        held.hold(session)
        county = session.scalar(select(User.id).where(User.username == "county"))
        for n in range(3):
            held.write(session, notifications.SEND, [message(county, f"第{n}条")])
        statements.clear()
        assert session.scalar(select(func.count()).select_from(User)) > 0  # another table: nothing sent
        assert not any("notification" in s for s in statements)
        assert session.scalar(select(func.count()).select_from(Notification)) == 3  # sent first
        assert len([s for s in statements if s.startswith("INSERT")]) == 1
        held.write(session, notifications.SEND, [message(county, "第3条")])
        assert session.execute(text("SELECT count(*) FROM notification")).scalar() == 4  # raw SQL: all sent first


def test_what_is_held_at_the_end_is_sent_by_release_and_without_holding_nothing_waits(ctx, statements):
    make_staff(ctx)
    with unit_of_work(ctx) as session:
        held.hold(session)
        county = session.scalar(select(User.id).where(User.username == "county"))
        statements.clear()
        held.write(session, notifications.SEND, [message(county, "批量")])
        assert statements == []
        held.release(session)
        assert any(s.startswith("INSERT") and "notification" in s for s in statements)
    with unit_of_work(ctx) as session:  # a new transaction holds nothing
        held.write(session, notifications.SEND, [message(county, "即时")])
        assert statements[-1].startswith("INSERT")
    with unit_of_work(ctx) as session:
        assert session.scalars(select(Notification.title).order_by(Notification.id)).all() == ["批量", "即时"]


def test_a_held_version_check_that_misses_a_row_fails_on_release(ctx):
    with unit_of_work(ctx) as session:
        held.hold(session)
        held.write(session, instances.SAVE, [{"state": "{}", "version": 2, "instance_id": 999_999,
                                              "loaded_version": 1}], one_row_each=True)
        with pytest.raises(StaleDataError, match="1 of 1 rows"):
            held.release(session)


def test_a_version_check_missed_among_other_writes_fails_and_keeps_none_of_them(ctx):
    """On PostgreSQL the writes go in one pipeline; the miss is still found before COMMIT."""
    make_staff(ctx)
    with pytest.raises(StaleDataError, match="1 of 1 rows"):
        with unit_of_work(ctx) as session:  # nothing released by hand: the commit sends them
            held.hold(session)
            county = session.scalar(select(User.id).where(User.username == "county"))
            held.write(session, notifications.SEND, [message(county, "不应留下")])
            held.write(session, instances.SAVE, [{"state": "{}", "version": 2, "instance_id": 999_999,
                                                  "loaded_version": 1}], one_row_each=True)
    with unit_of_work(ctx) as session:
        assert session.scalar(select(func.count()).select_from(Notification)) == 0


def test_a_broken_constraint_among_held_writes_is_an_integrity_error_and_keeps_nothing(ctx):
    make_staff(ctx)
    with pytest.raises(IntegrityError):
        with unit_of_work(ctx) as session:
            held.hold(session)
            county = session.scalar(select(User.id).where(User.username == "county"))
            held.write(session, notifications.SEND, [message(county, "不应留下")])
            held.write(session, instances.NEW_TIMERS, [dict(instance_id=999_999, spiff_task_id="t", name="无此案件",
                                                            due_at=NOW, state="waiting", attempts=0)])
    with unit_of_work(ctx) as session:
        assert session.scalar(select(func.count()).select_from(Notification)) == 0


def test_a_steps_writes_wait_for_its_commit_and_go_together(app, ctx, monkeypatch):
    """Completing a task writes four rows: none before the commit, all in one round trip on PostgreSQL."""
    make_staff(ctx)
    make_institution(ctx)
    county = Api(app, "county")
    submit_application(Api(app, "inst1"))
    review = county.only_task("initial_review")
    engine = ctx.session_factory.kw["bind"]
    postgres = engine.dialect.name == "postgresql"
    sent: list[tuple[str, bool]] = []  # (statement, sent inside a pipeline)

    def record(conn, cursor, statement, *rest):
        piped = postgres and cursor.connection.pgconn.pipeline_status != 0
        sent.append((statement.split("(")[0].split(" WHERE")[0], piped))

    commit = Session.commit
    monkeypatch.setattr(Session, "commit", lambda session: (sent.append(("-- commit", False)), commit(session)))
    event.listen(engine, "before_cursor_execute", record)
    try:
        tasks.complete(ctx, county.user["id"], review["id"], {"decision": "forward", "opinion": "同意上报"})
    finally:
        event.remove(engine, "before_cursor_execute", record)
    writes = sent[[s for s, _ in sent].index("-- commit") + 1:]
    assert sorted(s.split(" SET")[0] for s, _ in writes) == [
        "INSERT INTO audit_event ", "INSERT INTO human_task ", "UPDATE human_task", "UPDATE process_instance"]
    assert all(piped for _, piped in writes) == postgres
    assert Api(app, "city").only_task("city_review")


def test_a_case_changed_under_a_scheduler_batch_is_fired_again_timer_by_timer(ctx, clock, statements):
    """A colleague's change to the second case lands while the batch fires the first: the batch's
    held version check fails, and the timers are fired again one by one, each exactly once."""
    if ctx.session_factory.kw["bind"].dialect.name != "postgresql":
        pytest.skip("on SQLite the batch's BEGIN IMMEDIATE keeps every other writer out")
    first, second = _filings_in_notice(ctx, clock, 2)
    engine = ctx.session_factory.kw["bind"]
    other = engine.connect()
    changed = []

    def colleague(conn, cursor, statement, *rest):
        if "FROM objection" in statement and not changed and conn.connection.dbapi_connection is not \
                other.connection.dbapi_connection:
            changed.append(True)
            other.execute(update(ProcessInstance).where(ProcessInstance.id == second)
                          .values(version=ProcessInstance.version + 1))
            other.commit()

    event.listen(engine, "before_cursor_execute", colleague)
    try:
        clock.set(CLOSED)
        result = fire_due_timers(ctx)
    finally:
        event.remove(engine, "before_cursor_execute", colleague)
        other.close()
    assert changed and (result.fired, result.failed) == (2, 0)
    with unit_of_work(ctx) as session:
        assign = session.execute(select(HumanTask.instance_id, func.count()).where(HumanTask.name == "assign_code")
                                 .group_by(HumanTask.instance_id)).all()
        assert sorted(assign) == [(first, 1), (second, 1)]
        assert session.scalars(select(Timer.state).where(Timer.name == "gw_notice")).all() == ["fired", "fired"]
        assert verify_chain(session) is None

"""Writes held back in a scheduler batch (service/store/held.py): sent together, never read past,
and a case changed under the batch is found and fired again, timer by timer."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import event, func, select, text, update
from sqlalchemy.orm.exc import StaleDataError

from service.store import held
from service.store.models import HumanTask, Notification, ProcessInstance, Timer, User
from service.usecases import instances, notifications
from service.usecases.audit import verify_chain
from service.usecases.context import unit_of_work
from service.usecases.timers import fire_due_timers
from tests.helpers import make_staff
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

"""The database layer (service/store/db.py): on PostgreSQL a transaction's BEGIN travels with its
first statement and a pooled connection is pinged only after it has been idle; the state
column is compressed with lz4. Each transaction still isolates and rolls back as it must."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import DBAPIError

from service.store import db
from service.store.models import Notification, User
from service.usecases.context import unit_of_work
from tests.helpers import make_staff


@pytest.fixture
def engine(ctx):
    return ctx.session_factory.kw["bind"]


def postgres_only(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")


def count_messages(engine) -> int:
    with engine.connect() as other:  # a reader: on SQLite it must not wait for the writer's lock
        return other.execution_options(readonly=True).scalar(select(func.count()).select_from(Notification))


def test_a_first_write_is_seen_by_no_one_else_before_commit_and_undone_by_rollback(ctx, engine):
    """Were BEGIN lost, the driver's autocommit would publish the row at once."""
    make_staff(ctx)
    with unit_of_work(ctx) as session:
        county = session.scalar(select(User.id).where(User.username == "county"))
    session = ctx.session_factory()
    try:
        session.execute(Notification.__table__.insert(), dict(user_id=county, title="未提交", body="", link="",
                                                              created_at=datetime(2024, 9, 2)))
        assert count_messages(engine) == 0
        session.rollback()
        assert count_messages(engine) == 0
        session.execute(Notification.__table__.insert(), dict(user_id=county, title="已提交", body="", link="",
                                                              created_at=datetime(2024, 9, 2)))
        assert count_messages(engine) == 0
        session.commit()
        assert count_messages(engine) == 1
    finally:
        session.close()


def test_a_failed_first_statement_rolls_back_and_the_connection_works_on(ctx, engine):
    with engine.connect() as connection:
        with pytest.raises(DBAPIError):
            connection.execute(text("SELECT no_such_column FROM user_account"))
        connection.rollback()
        assert connection.scalar(text("SELECT 1")) == 1
        with connection.begin_nested():  # savepoints follow the BEGIN as before
            assert connection.scalar(select(func.count()).select_from(User)) == 0


def test_begin_goes_in_the_same_round_trip_as_the_first_statement(engine, monkeypatch):
    postgres_only(engine)
    import psycopg
    piped: list[str] = []
    execute = psycopg.Cursor.execute

    def spy(cursor, query, *args, **kwargs):
        sql = query if isinstance(query, str) else query.as_string(cursor.connection)
        piped.append(f"{sql.split()[0]} piped={cursor.connection.pgconn.pipeline_status != 0}")
        return execute(cursor, query, *args, **kwargs)

    with engine.connect() as connection:  # the dialect's own first look at the server is not ours
        connection.scalar(text("SELECT 1"))
    monkeypatch.setattr(psycopg.Cursor, "execute", spy)
    with engine.connect() as connection:
        connection.scalar(text("SELECT 1"))
        connection.scalar(text("SELECT 2"))
        assert connection.connection.driver_connection.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
    assert piped == ["BEGIN piped=True", "SELECT piped=True", "SELECT piped=False"]


def test_a_streamed_first_statement_reads_inside_a_transaction(engine):
    """A server-side cursor cannot share a pipeline with BEGIN, and needs the transaction."""
    postgres_only(engine)
    with engine.connect() as connection:
        rows = connection.execution_options(stream_results=True).execute(text("SELECT generate_series(1, 5)"))
        assert [n for n, in rows] == [1, 2, 3, 4, 5]


def test_a_connection_dropped_while_idle_is_replaced_unnoticed_and_a_busy_one_is_not_pinged(engine, monkeypatch):
    postgres_only(engine)
    pings = []
    do_ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda connection: (pings.append(1), do_ping(connection))[1])
    engine.dispose()
    with engine.connect() as connection:
        first = connection.scalar(text("SELECT pg_backend_pid()"))
    with engine.connect() as connection:  # just back in the pool: no ping
        assert connection.scalar(text("SELECT pg_backend_pid()")) == first
    assert pings == []

    with engine.connect() as connection:
        pooled = connection.connection.info  # the pool's record of it, kept across checkouts
    pooled["returned_at"] -= db.IDLE_BEFORE_PING + 1  # idle long enough, and meanwhile the server dropped it
    killer = create_engine(engine.url)
    with killer.begin() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
    killer.dispose()
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT pg_backend_pid()")) != first
    assert pings == [1]


def test_workflow_state_is_compressed_with_lz4_where_the_server_has_it(engine):
    postgres_only(engine)
    with engine.connect() as connection:
        if not connection.scalar(text("SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' "
                                      "AND 'lz4' = ANY(enumvals)")):
            pytest.skip("this PostgreSQL was built without lz4")
        assert connection.scalar(text(
            "SELECT attcompression FROM pg_attribute WHERE attrelid = 'process_instance'::regclass "
            "AND attname = 'state'")) == "l"

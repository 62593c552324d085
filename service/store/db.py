"""Database engine and sessions. SQLite (WAL) embedded; PostgreSQL in production."""
from __future__ import annotations

import os
import time

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from .json_codec import JSON_COLUMNS


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        # isolation_level=None hands transaction control to us: see _begin_immediate.
        engine = create_engine(url, connect_args={"timeout": 30, "isolation_level": None}, hide_parameters=True,
                               **JSON_COLUMNS)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection, _record):
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin_immediate(connection):
            # Take the write lock when the transaction starts, so two workers completing the
            # same task queue up instead of one failing with "database is locked" on a stale
            # snapshot; the second then sees the first one's result (a clear conflict).
            # Side reads made during a use case (calendar, training clock) must not wait for it.
            readonly = connection.get_execution_options().get("readonly")
            connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

        return engine
    # the driver in autocommit: BEGIN is ours, sent with the first statement (see _begin_with_first)
    # application_name: pg_stat_activity shows which process (web worker, scheduler) holds a connection
    engine = create_engine(url, isolation_level="AUTOCOMMIT", hide_parameters=True,  # no phones in the log
                           connect_args={"application_name": f"skill-eval {os.getpid()}"}, **JSON_COLUMNS)
    _ping_when_idle(engine)
    _begin_with_first(engine)
    return engine


PENDING_BEGIN = "begin_pending"


def _begin_with_first(engine: Engine) -> None:
    """PostgreSQL: a transaction's BEGIN travels with its first statement, in one round trip
    (psycopg's pipeline), where the driver would wait for the BEGIN's answer first. Every
    request saves a round trip; a transaction that sends nothing sends no BEGIN either (its
    mark stays, harmless: the next transaction sets it again before its first statement)."""
    from psycopg import ServerCursor  # the PostgreSQL driver; SQLite runs without it

    @event.listens_for(engine, "begin")
    def _begin(connection):
        connection.connection.info[PENDING_BEGIN] = True

    def _execute(cursor, statement, parameters, context, many=False):
        if not _pending(context.root_connection):
            return None  # the dialect executes it as usual
        driver = cursor.connection
        if isinstance(cursor, ServerCursor):  # a named cursor cannot be pipelined: BEGIN goes first, alone
            driver.execute("BEGIN")
            return None
        with driver.pipeline():  # leaving it sends both and waits for both answers
            driver.execute("BEGIN")
            if many:
                cursor.executemany(statement, parameters)
            else:
                cursor.execute(statement, parameters)
        return True

    def _pending(connection) -> bool:
        try:
            return connection.connection.info.pop(PENDING_BEGIN, False)
        except NotImplementedError:  # SQLAlchemy's first look at the server: no pool record, no BEGIN of ours
            return False

    event.listen(engine, "do_execute", _execute)
    event.listen(engine, "do_executemany", lambda *args: _execute(*args, many=True))
    event.listen(engine, "do_execute_no_params", lambda cursor, statement, context:
                 _execute(cursor, statement, None, context))


# A connection back from the pool is checked with a ping only when it has been idle this long,
# as pgbouncer's server_check_delay does (30 s there too): a ping on every checkout would be a
# round trip on every request, and a busy connection has just proved itself.
IDLE_BEFORE_PING = 30.0


def _ping_when_idle(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _fresh(_dbapi_connection, record):
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _check(dbapi_connection, record, _proxy):
        if time.monotonic() - record.info.get("returned_at", 0.0) < IDLE_BEFORE_PING:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:  # the pool drops it and takes another
            raise DisconnectionError(str(error)) from error


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def read_only(session: Session) -> Session:
    """Mark a session as a side read (see _begin_immediate); returns it for chaining."""
    session.connection(execution_options={"readonly": True})
    return session

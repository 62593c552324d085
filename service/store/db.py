"""Database engine and sessions. SQLite (WAL) embedded; PostgreSQL in production."""
from __future__ import annotations

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        # isolation_level=None hands transaction control to us: see _begin_immediate.
        engine = create_engine(url, connect_args={"timeout": 30, "isolation_level": None})

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
    return create_engine(url, pool_pre_ping=True)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def read_only(session: Session) -> Session:
    """Mark a session as a side read (see _begin_immediate); returns it for chaining."""
    session.connection(execution_options={"readonly": True})
    return session

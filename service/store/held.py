"""Writes held back and sent together at the end of a use case.

Every step of a case writes a few rows: the task marked done, its log entry, the workflow's
state, the next task, a message. Sent a statement at a time, the round trips to PostgreSQL
cost more than the work. Held, they go together: on PostgreSQL in one pipeline (one round
trip), the rows of one statement as one executemany (a version-checked UPDATE row by row,
so that the count of each is known). A completion and a scheduler batch hold.
A held statement returns nothing: its INSERT is `.inline()`, so no new id is read back.

Nothing ever reads past a held write: a statement that names a held write's table, or whose
tables cannot be told (raw SQL), sends the held writes first, and what is still held is sent
before the transaction commits (or by `release`). An UPDATE held with `one_row_each` (the
workflow's version check) raises StaleDataError when it is sent if any of its rows was
changed by someone else; the caller's transaction then rolls back.
"""
from __future__ import annotations

from contextlib import contextmanager, nullcontext

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.sql.util import find_tables

OPTION = "held_writes"


def hold(session: Session) -> None:
    """Hold this session's writes from now on. Call it before the session's first statement."""
    session.connection(execution_options={OPTION: {}})


def write(session: Session, statement, rows: list[dict], *, one_row_each: bool = False) -> None:
    """Run an INSERT or UPDATE for these parameter sets now, or hold it if the session holds."""
    if not rows:
        return
    connection = session.connection()
    held = connection.get_execution_options().get(OPTION)
    if held is None:
        _send(connection, {(statement, tuple(rows[0]), one_row_each): rows}, lambda table: True)
    else:  # one executemany needs the same keys in every set
        held.setdefault((statement, tuple(rows[0]), one_row_each), []).extend(rows)


def release(session: Session) -> None:
    """Send everything held; what is written from now on is held again."""
    connection = session.connection()
    _send(connection, connection.get_execution_options().get(OPTION), lambda table: True)


@event.listens_for(Session, "before_commit")
def _release_before_commit(session: Session) -> None:
    if session.in_transaction():
        release(session)


def _send(connection: Connection, held: dict | None, wanted) -> None:
    # taken out first: sending them runs _before_any_statement, which must not find them again
    keys = [key for key in held if wanted(key[0].table)] if held else []
    due = [(key, held.pop(key)) for key in keys]
    if not due:
        return
    checked = []  # (statement, result) of each row whose count must be one
    with _one_round_trip(connection, sum(len(rows) if key[2] else 1 for key, rows in due)):
        for (statement, _, one_row_each), rows in due:
            if one_row_each:  # a statement per row: the count of each is known
                checked += [(statement, connection.execute(statement, row)) for row in rows]
            else:
                connection.execute(statement, rows if len(rows) > 1 else rows[0])
    missed = [statement for statement, result in checked if _count(result) != 1]
    if missed:
        raise StaleDataError(f"{missed[0].table.name}: {len(missed)} of {len(checked)} rows were changed by "
                             "someone else")


def _count(result) -> int:
    # SQLAlchemy reads the count as the statement returns; in a pipeline it is not known yet
    # then, and arrives later on the driver's cursor
    return result.rowcount if result.rowcount >= 0 else result.context.cursor.rowcount


def _one_round_trip(connection: Connection, statements: int):
    """PostgreSQL's pipeline mode for several statements whose results nobody waits for."""
    if statements < 2 or connection.dialect.name != "postgresql":
        return nullcontext()
    return _pipeline(connection)


@contextmanager
def _pipeline(connection: Connection):
    errors = connection.dialect.loaded_dbapi.Error
    try:
        with connection.connection.driver_connection.pipeline():
            yield  # leaving sends what is queued and waits for the results
    except errors as error:  # e.g. a constraint, raised by the driver: say it as SQLAlchemy would
        raise DBAPIError.instance(None, None, error, errors) from error


@event.listens_for(Engine, "before_execute")
def _before_any_statement(connection, statement, multiparams, params, execution_options):
    held = connection.get_execution_options().get(OPTION)
    if held:
        readable = getattr(statement, "is_select", False) or getattr(statement, "is_dml", False)
        tables = set(find_tables(statement, include_crud=True)) if readable else set()
        _send(connection, held, (lambda table: table in tables) if tables else (lambda table: True))

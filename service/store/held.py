"""Writes held back and sent together, for the scheduler's batch.

A scheduler batch fires up to a hundred timers in one transaction, and every firing writes a
few rows: the workflow's state, its new task, its log entry, a message. Sent a statement at a
time, the round trips to PostgreSQL cost more than the work; held, they go as one executemany
per statement.

Nothing ever reads past a held write: a statement that names a held write's table, or whose
tables cannot be told (raw SQL), sends the held writes first, and `release` sends the rest
before the batch commits. An UPDATE held with `one_row_each` (the workflow's version check)
raises StaleDataError on release if any of its rows was changed by someone else; the scheduler
then fires that batch again timer by timer, without holding.
"""
from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
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
        _run(connection, statement, rows, one_row_each)
    else:  # one executemany needs the same keys in every set
        held.setdefault((statement, tuple(rows[0]), one_row_each), []).extend(rows)


def release(session: Session) -> None:
    """Send everything held; what is written from now on is held again."""
    connection = session.connection()
    _send(connection, connection.get_execution_options().get(OPTION), lambda table: True)


def _run(connection: Connection, statement, rows: list[dict], one_row_each: bool) -> None:
    result = connection.execute(statement, rows if len(rows) > 1 else rows[0])
    if one_row_each and result.rowcount != len(rows):
        raise StaleDataError(f"{statement.table.name}: {len(rows) - result.rowcount} of {len(rows)} rows "
                             "were changed by someone else")


def _send(connection: Connection, held: dict | None, wanted) -> None:
    if not held:
        return
    for key in [key for key in held if wanted(key[0].table)]:
        rows = held.pop(key, None)  # None: sent already, by a statement sent before it
        if rows:
            statement, _, one_row_each = key
            _run(connection, statement, rows, one_row_each)


@event.listens_for(Engine, "before_execute")
def _before_any_statement(connection, statement, multiparams, params, execution_options):
    held = connection.get_execution_options().get(OPTION)
    if held:
        readable = getattr(statement, "is_select", False) or getattr(statement, "is_dml", False)
        tables = set(find_tables(statement, include_crud=True)) if readable else set()
        _send(connection, held, (lambda table: table in tables) if tables else (lambda table: True))

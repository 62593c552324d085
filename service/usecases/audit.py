"""Append-only audit log with a hash chain, so a changed or deleted row is evident
(Art. 8.3, 16, 18: every step recorded and traceable)."""
from __future__ import annotations

import hashlib
import json

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from ..store.models import AuditEvent, User

GENESIS = "0" * 64
COLUMNS = ("at", "actor_id", "actor_name", "action", "instance_id", "institution_id", "task_name", "task_title",
           "opinion", "data", "prev_hash", "hash")


def _digest(prev_hash: str, event: AuditEvent) -> str:
    body = json.dumps([prev_hash, event.at.isoformat(), event.actor_id, event.actor_name, event.action,
                       event.instance_id, event.institution_id, event.task_name, event.opinion, event.data],
                      ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def record(session: Session, at, actor: User | None, action: str, *, instance_id=None, institution_id=None,
           task_name=None, task_title=None, opinion=None, data=None) -> None:
    # The chain must not fork under concurrent writers: PostgreSQL serialises appends with a
    # transaction-scoped advisory lock; on SQLite the transaction already holds the write lock.
    # The head is remembered per (sub)transaction: a rolled-back savepoint must not leave one behind.
    transaction = session.get_nested_transaction() or session.get_transaction()
    last = session.info.get("audit_hash", {}).get(id(transaction))
    if last is None:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(7301)"))
        last = session.execute(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).scalar()
    event = AuditEvent(at=at, actor_id=actor.id if actor else None,
                       actor_name=actor.display_name if actor else "系统", action=action,
                       instance_id=instance_id, institution_id=institution_id, task_name=task_name,
                       task_title=task_title, opinion=opinion, data=data or {}, prev_hash=last or GENESIS)
    event.hash = _digest(event.prev_hash, event)
    # A plain INSERT: the log is written, never read back in the same use case.
    session.execute(insert(AuditEvent).values({c: getattr(event, c) for c in COLUMNS}))
    session.info["audit_hash"] = {id(transaction): event.hash}


def verify_chain(session: Session) -> int | None:
    """The id of the first event whose hash does not match, or None when the chain holds."""
    prev = GENESIS
    for event in session.scalars(select(AuditEvent).order_by(AuditEvent.id)):
        if event.prev_hash != prev or _digest(prev, event) != event.hash:
            return event.id
        prev = event.hash
    return None

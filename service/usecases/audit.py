"""Append-only audit log, tamper-evident (Art. 8.3, 16, 18: every step recorded and traceable).

Each case (process instance) has its own hash chain: an event carries the hash of the case's
previous event, and the instance row keeps the hash of the last one. The head is written by
the same version-checked UPDATE that stores the workflow (or, for events that move no
workflow, by one at commit), so two writers can never both extend a case's chain, and no
global lock serialises the whole bureau. Events that belong to no case (calendar entries,
clock moves) form one more chain, serialised by a lock.
"""
from __future__ import annotations

import hashlib
import json
from decimal import Decimal

from sqlalchemy import event, select, text, update
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from ..store import held
from ..store.models import AuditEvent, ProcessInstance, User

GENESIS = "0" * 64
APPEND = AuditEvent.__table__.insert().inline()  # inline: no id read back (store.held)
COLUMNS = ("at", "actor_id", "actor_name", "action", "instance_id", "institution_id", "task_name", "task_title",
           "opinion", "data", "prev_hash", "hash")


def _plain(value):
    # A Decimal (exact case data) digests as the number it is, so the event read back from its JSON
    # column digests alike, and events written before numbers were decimals (floats) still verify.
    return float(value) if isinstance(value, Decimal) else str(value)


def _digest(prev_hash: str, event: AuditEvent) -> str:
    body = json.dumps([prev_hash, event.at.isoformat(), event.actor_id, event.actor_name, event.action,
                       event.instance_id, event.institution_id, event.task_name, event.opinion, event.data],
                      ensure_ascii=False, sort_keys=True, default=_plain)
    return hashlib.sha256(body.encode()).hexdigest()


def _heads(session: Session) -> dict[int, str]:
    """Chain heads appended in this transaction and not yet written to their instance."""
    return session.info.setdefault("audit_heads", {})


def record(session: Session, at, actor: User | None, action: str, *, instance_id=None, institution_id=None,
           task_name=None, task_title=None, opinion=None, data=None) -> None:
    heads = _heads(session)
    if instance_id is not None:
        last = heads.get(instance_id)
        if last is None:  # usually already in the session, so no statement
            last = session.get(ProcessInstance, instance_id).audit_hash
    else:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(7301)"))
        last = session.execute(select(AuditEvent.hash).where(AuditEvent.instance_id.is_(None))
                               .order_by(AuditEvent.id.desc()).limit(1)).scalar()
    row = AuditEvent(at=at, actor_id=actor.id if actor else None,
                     actor_name=actor.display_name if actor else "系统", action=action,
                     instance_id=instance_id, institution_id=institution_id, task_name=task_name,
                     task_title=task_title, opinion=opinion, data=data or {}, prev_hash=last or GENESIS)
    row.hash = _digest(row.prev_hash, row)
    # A plain INSERT (held in a scheduler batch): the log is written, not read back by the use case.
    held.write(session, APPEND, [{c: getattr(row, c) for c in COLUMNS}])
    if instance_id is not None:
        heads[instance_id] = row.hash


def take_head(session: Session, instance_id: int) -> str | None:
    """For the instance's own UPDATE: the new head, now written by the caller."""
    return _heads(session).pop(instance_id, None)


def forget(session: Session, instance_id: int) -> None:
    """After a rolled-back savepoint: the events it appended are gone, so is their head."""
    _heads(session).pop(instance_id, None)


def _write_heads(session: Session) -> None:
    for instance_id, head in list(_heads(session).items()):
        instance = session.get(ProcessInstance, instance_id)
        written = session.execute(update(ProcessInstance).where(
            ProcessInstance.id == instance_id, ProcessInstance.version == instance.version)
            .values(audit_hash=head, version=instance.version + 1))
        if written.rowcount != 1:
            raise StaleDataError(f"process instance {instance_id} was changed by someone else")
    _heads(session).clear()


def install(session_factory: sessionmaker) -> None:
    """Heads not written by a workflow save are written just before commit."""
    event.listen(session_factory, "before_commit", _write_heads)
    event.listen(session_factory, "after_rollback", lambda session: _heads(session).clear())


def verify_chain(session: Session) -> int | None:
    """The id of the first event that breaks its chain (changed, removed or inserted), or
    None when every chain holds. A case whose recorded head is not its last event gives the
    id of that last event (0 when all its events are gone)."""
    last: dict[int | None, tuple[str, int]] = {}
    for row in session.scalars(select(AuditEvent).order_by(AuditEvent.id)):
        prev = last.get(row.instance_id, (GENESIS, 0))[0]
        if row.prev_hash != prev or _digest(prev, row) != row.hash:
            return row.id
        last[row.instance_id] = (row.hash, row.id)
    for instance_id, head in session.execute(select(ProcessInstance.id, ProcessInstance.audit_hash)):
        found, event_id = last.get(instance_id, (GENESIS, 0))
        if (head or GENESIS) != found:
            return event_id
    return None

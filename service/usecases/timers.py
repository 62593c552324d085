"""Firing due timers. The scheduler and the CLI call this; the clock says what is due."""
from __future__ import annotations

import logging
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from ..store.models import ProcessInstance, Timer
from . import audit, instances
from .context import Context, unit_of_work

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5


@dataclass
class FireResult:
    fired: int = 0
    failed: int = 0


def fire_due_timers(ctx: Context, as_of: datetime | None = None, batch: int = 100) -> FireResult:
    """Fire every timer due at `as_of` (default: the clock's now).

    A batch of due rows is taken with FOR UPDATE SKIP LOCKED, so several schedulers can run
    side by side without firing a timer twice. The batch is one transaction; if any timer in
    it fails, the batch is rolled back and fired again with a savepoint per timer, so a broken
    instance rolls back alone, records its error and is retried with backoff; after
    MAX_ATTEMPTS it stays `failed` for staff to see. Never lost silently."""
    as_of = as_of or ctx.clock.now()
    result = FireResult()
    while True:
        try:
            fired = _fire_batch(ctx, as_of, batch, careful=False)
        except _BatchFailed:
            fired = _fire_batch(ctx, as_of, batch, careful=True)
        if fired is None:
            return result
        result.fired += fired.fired
        result.failed += fired.failed


class _BatchFailed(Exception):
    pass


def _fire_batch(ctx: Context, as_of: datetime, batch: int, careful: bool) -> FireResult | None:
    result = FireResult()
    with unit_of_work(ctx) as session:
        due = session.scalars(select(Timer).where(Timer.state == "waiting", Timer.due_at <= as_of)
                              .order_by(Timer.due_at).limit(batch).with_for_update(skip_locked=True)).all()
        if not due:
            return None
        # one read for the batch's instances; session.get below finds them in the session
        session.scalars(select(ProcessInstance).where(ProcessInstance.id.in_({t.instance_id for t in due}))).all()
        fired = []
        for timer in due:
            try:
                with session.begin_nested() if careful else nullcontext():
                    _fire(ctx, session, timer, as_of)
                fired.append(timer.id)
                result.fired += 1
            except Exception as error:
                if not careful:
                    raise _BatchFailed from error
                log.exception("timer %s failed", timer.id)
                audit.forget(session, timer.instance_id)
                timer.attempts += 1
                timer.last_error = str(error)[:2000]
                if timer.attempts >= MAX_ATTEMPTS:
                    timer.state = "failed"
                else:  # later than as_of, so this pass does not pick it up again
                    timer.due_at = as_of + timedelta(minutes=2 ** timer.attempts)
                result.failed += 1
        if fired:  # one statement for the batch
            session.execute(update(Timer).where(Timer.id.in_(fired))
                            .values(state="fired", attempts=Timer.attempts + 1)
                            .execution_options(synchronize_session=False))
    return result


def _fire(ctx: Context, session, timer: Timer, as_of: datetime) -> None:
    instance = session.get(ProcessInstance, timer.instance_id)
    loaded = instances.load(ctx, session, instance, None)
    loaded.timers_before.discard(timer.spiff_task_id)  # its row is marked fired with the batch
    ctx.engine.fire_timers(loaded.workflow, as_of)
    instances.save(ctx, session, instance, loaded)

"""Firing due timers. The scheduler and the CLI call this; the clock says what is due."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from ..store.models import ProcessInstance, Timer
from . import instances
from .context import Context, unit_of_work

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5


@dataclass
class FireResult:
    fired: int = 0
    failed: int = 0


def fire_due_timers(ctx: Context, as_of: datetime | None = None, batch: int = 100) -> FireResult:
    """Fire every timer due at `as_of` (default: the clock's now), one transaction per timer,
    so one broken instance cannot hold back the others. Rows are taken with SKIP LOCKED on
    PostgreSQL, so several schedulers can run side by side."""
    as_of = as_of or ctx.clock.now()
    result = FireResult()
    seen: set[int] = set()
    while True:
        with unit_of_work(ctx) as session:
            ids = session.scalars(select(Timer.id).where(Timer.state == "waiting", Timer.due_at <= as_of)
                                  .order_by(Timer.due_at).limit(batch)).all()
        ids = [i for i in ids if i not in seen]
        if not ids:
            return result
        for timer_id in ids:
            seen.add(timer_id)
            if _fire_one(ctx, timer_id, as_of):
                result.fired += 1
            else:
                result.failed += 1


def _fire_one(ctx: Context, timer_id: int, as_of: datetime) -> bool:
    try:
        with unit_of_work(ctx) as session:
            timer = session.scalar(select(Timer).where(Timer.id == timer_id, Timer.state == "waiting")
                                   .with_for_update(skip_locked=True))
            if timer is None:
                return True  # another scheduler took it
            instance = session.get(ProcessInstance, timer.instance_id)
            timer.state = "fired"
            timer.attempts += 1
            instances.advance(ctx, session, instance, None, lambda engine, wf: engine.fire_timers(wf, as_of))
        return True
    except Exception as error:  # recorded on the row and retried with backoff, never lost
        log.exception("timer %s failed", timer_id)
        with unit_of_work(ctx) as session:
            timer = session.get(Timer, timer_id)
            timer.attempts += 1
            timer.last_error = str(error)[:2000]
            if timer.attempts >= MAX_ATTEMPTS:
                timer.state = "failed"
            else:
                timer.due_at = as_of + timedelta(minutes=2 ** timer.attempts)
        return False

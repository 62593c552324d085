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
    """Fire every timer due at `as_of` (default: the clock's now).

    A batch of due rows is taken with FOR UPDATE SKIP LOCKED, so several schedulers can run
    side by side without firing a timer twice. Each timer fires in its own savepoint: a broken
    instance rolls back alone, its row records the error and is retried with backoff, and
    after MAX_ATTEMPTS it stays `failed` for staff to see. Never lost silently."""
    as_of = as_of or ctx.clock.now()
    result = FireResult()
    while True:
        with unit_of_work(ctx) as session:
            due = session.scalars(select(Timer).where(Timer.state == "waiting", Timer.due_at <= as_of)
                                  .order_by(Timer.due_at).limit(batch).with_for_update(skip_locked=True)).all()
            if not due:
                return result
            # one read for the batch's instances; session.get below then finds them in the session
            session.scalars(select(ProcessInstance).where(ProcessInstance.id.in_({t.instance_id for t in due}))).all()
            for timer in due:
                try:
                    with session.begin_nested():
                        timer.state = "fired"
                        timer.attempts += 1
                        instance = session.get(ProcessInstance, timer.instance_id)
                        instances.advance(ctx, session, instance, None,
                                          lambda engine, wf: engine.fire_timers(wf, as_of))
                    result.fired += 1
                except Exception as error:
                    log.exception("timer %s failed", timer.id)
                    timer.attempts += 1
                    timer.last_error = str(error)[:2000]
                    if timer.attempts >= MAX_ATTEMPTS:
                        timer.state = "failed"
                    else:  # later than as_of, so this pass does not pick it up again
                        timer.due_at = as_of + timedelta(minutes=2 ** timer.attempts)
                    result.failed += 1

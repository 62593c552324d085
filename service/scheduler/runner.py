"""The scheduler process: wakes up, fires what is due, notes that it did, sleeps. Nothing else."""
from __future__ import annotations

import logging
import os
import socket

from apscheduler.schedulers.blocking import BlockingScheduler

from ..store.models import SchedulerHeartbeat
from ..usecases.context import unit_of_work
from ..usecases.schedules import start_due
from ..usecases.timers import FireResult, fire_due_timers

log = logging.getLogger(__name__)


def pass_once(ctx, name: str) -> tuple[int, FireResult]:
    """One pass: the cases a schedule starts first (their own timers may be due too), then the due
    timers; then this process's heartbeat, which /readyz reads."""
    started = start_due(ctx)
    result = fire_due_timers(ctx)
    with unit_of_work(ctx) as session:
        session.merge(SchedulerHeartbeat(name=name, beat_at=ctx.clock.now()))
    if started or result.fired or result.failed:
        log.info("scheduled starts %s, timers fired %s, failed %s", started, result.fired, result.failed)
    return started, result


def run(ctx, interval: int) -> None:
    scheduler = BlockingScheduler(timezone="Asia/Shanghai")
    name = f"{socket.gethostname()}:{os.getpid()}"[:100]

    def job():
        pass_once(ctx, name)

    # One pass at a time (max_instances=1); a missed pass after downtime runs once (coalesce).
    scheduler.add_job(job, "interval", seconds=interval, max_instances=1, coalesce=True, id="fire_due_timers")
    scheduler.add_job(job, id="catch_up")  # catch up at start-up
    scheduler.start()

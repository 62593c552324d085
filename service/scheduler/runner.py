"""The scheduler process: wakes up, fires what is due, sleeps. Nothing else."""
from __future__ import annotations

import logging

from apscheduler.schedulers.blocking import BlockingScheduler

from ..usecases.schedules import start_due
from ..usecases.timers import fire_due_timers

log = logging.getLogger(__name__)


def run(ctx, interval: int) -> None:
    logging.basicConfig(level=logging.INFO)
    scheduler = BlockingScheduler(timezone="Asia/Shanghai")

    def pass_once():
        started = start_due(ctx)  # the cases a schedule starts first: their own timers may be due too
        result = fire_due_timers(ctx)
        if started or result.fired or result.failed:
            log.info("scheduled starts %s, timers fired %s, failed %s", started, result.fired, result.failed)

    # One pass at a time (max_instances=1); a missed pass after downtime runs once (coalesce).
    scheduler.add_job(pass_once, "interval", seconds=interval, max_instances=1, coalesce=True,
                      id="fire_due_timers")
    scheduler.add_job(pass_once, id="catch_up")  # catch up at start-up
    scheduler.start()

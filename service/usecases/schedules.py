"""Processes that start by themselves on a schedule (a timer start event's `timeCycle`, kept in
the model): the scheduler calls `start_due` beside `fire_due_timers`.

Each occurrence starts one case, exactly once: its `scheduled_start` row (unique per process and
occurrence) is written first, in the case's own transaction, so a second scheduler reaching the
same occurrence fails on the row and starts nothing. An occurrence missed while no scheduler ran
is started when one runs again, each missed one once and in order: regulation-driven work (the
annual rating) must not be skipped because a server was down. Occurrences before the current
version was deployed are not started: deploying a schedule does not start its past."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..store.db import read_only
from ..store.models import DefinitionVersion, ScheduledStart, User
from . import instances, notifications
from .context import Context, unit_of_work
from .errors import Forbidden
from .incidents import error_text

log = logging.getLogger(__name__)


def start_due(ctx: Context, as_of: datetime | None = None) -> int:
    """Start every occurrence due at `as_of` (default: now) on the current version; how many started."""
    as_of = as_of or ctx.clock.now()
    with unit_of_work(ctx) as session:
        read_only(session)
        if session.scalar(select(DefinitionVersion.id).limit(1)) is None:
            return 0  # nothing deployed yet: nothing is scheduled (not an error every pass)
        version_id = ctx.latest_version_id(session)
        definitions = ctx.definitions(session, version_id)
        since = session.get(DefinitionVersion, version_id).activated_at or datetime.min
        last = dict(session.execute(select(ScheduledStart.process_id, func.max(ScheduledStart.occurrence))
                                    .group_by(ScheduledStart.process_id)).all())
    started = 0
    for process_id, schedule in definitions.schedules.items():
        after = max(since, last.get(process_id) or since)
        for occurrence in schedule.occurrences(after, as_of):
            started += _start(ctx, process_id, definitions.process_names.get(process_id, process_id), occurrence)
    return started


def _start(ctx: Context, process_id: str, process_name: str, occurrence: datetime) -> int:
    try:
        with unit_of_work(ctx) as session:
            row = ScheduledStart(process_id=process_id, occurrence=occurrence, started_at=ctx.clock.now())
            session.add(row)
            session.flush()  # a second scheduler blocks or fails here, before starting anything
            instance = instances.start(ctx, session, None, process_id, {"occurrence": occurrence.isoformat()},
                                       business_key=f"{process_id}:{occurrence:%Y-%m-%dT%H:%M}",
                                       institution_id=None, jurisdiction_code=None,
                                       subject=f"{process_name}（{occurrence:%Y-%m-%d %H:%M}）")
            row.instance_id = instance.id
        return 1
    except IntegrityError:
        return 0  # another scheduler started this occurrence
    except Exception as error:  # the model's first steps failed: kept as the occurrence's incident
        log.exception("scheduled start of %s at %s failed", process_id, occurrence)
        try:
            with unit_of_work(ctx) as session:
                session.add(ScheduledStart(process_id=process_id, occurrence=occurrence, started_at=ctx.clock.now(),
                                           error=error_text(error)))
                notifications.to_role(ctx, session, "analyst", notifications.Message(
                    f"定时启动失败：{process_name}",
                    f"{process_name}按周期应于{occurrence:%Y-%m-%d %H:%M}启动，启动时出错：{error_text(error)[:200]}",
                    "/schedules"))
        except IntegrityError:
            pass  # another scheduler recorded it meanwhile
        return 0


@dataclass
class ScheduleView:
    process_id: str
    process_name: str
    expression: str
    next_at: datetime | None
    recent: list[ScheduledStart]


def overview(ctx: Context, user_id: int) -> list[ScheduleView]:
    """What analysts and the city see: each schedule of the current version, when it next falls
    and what its last occurrences started (or why they failed)."""
    with unit_of_work(ctx) as session:
        read_only(session)
        user = session.get(User, user_id)
        if user is None or user.role not in ("analyst", "city"):
            raise Forbidden("只有分析员和市级工作人员可以查看定时启动")
        definitions = ctx.definitions(session, ctx.latest_version_id(session))
        now = ctx.clock.now()
        views = []
        for process_id, schedule in sorted(definitions.schedules.items()):
            recent = session.scalars(select(ScheduledStart).where(ScheduledStart.process_id == process_id)
                                     .order_by(ScheduledStart.occurrence.desc()).limit(5)).all()
            views.append(ScheduleView(process_id, definitions.process_names.get(process_id, process_id),
                                      schedule.expression, schedule.next_after(now), list(recent)))
        return views


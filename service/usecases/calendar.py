"""Analysts enter a year's holiday arrangement once the State Council publishes it; the deadlines
that waited for it, or that it moves, are counted again at once."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import or_, select

from ..clock import FixedClock
from ..domain.calendar import YearArrangement, package_years, parse_year_arrangement
from ..domain.errors import CalendarYearMissing
from ..engine.errors import ExpressionError
from ..store.db import read_only
from ..store.models import CalendarYear, HumanTask, ProcessInstance, User
from . import audit, instances
from .context import Context, unit_of_work
from .errors import Forbidden


@dataclass
class Recounted:
    """What entering a year changed: task id -> (deadline before, deadline now)."""
    year: int
    tasks: dict[int, tuple[datetime | None, datetime | None]]


def preview(year: int, text: str) -> YearArrangement:
    """The arrangement as it would be stored; DomainError names the bad line."""
    return parse_year_arrangement(year, text)


def enter_year(ctx: Context, user_id: int, year: int, text: str) -> Recounted:
    parse_year_arrangement(year, text)  # DomainError names the bad line; nothing is stored
    with unit_of_work(ctx) as session:
        user = _analyst(session, user_id)
        row = session.get(CalendarYear, year) or CalendarYear(year=year)
        row.text, row.entered_by, row.entered_at = text, user.username, ctx.clock.now()
        session.add(row)
        audit.record(session, ctx.clock.now(), user, "calendar_year", data={"year": year, "text": text})
    ctx.forget_calendar()
    return recount_deadlines(ctx, user_id, year)


def recount_deadlines(ctx: Context, user_id: int, year: int) -> Recounted:
    """Open tasks that opened without a deadline because a year was missing, and those whose
    deadline falls in `year`, get their deadline counted again with the calendar as it is now,
    from the day each task opened (its `today()`), each change on the case's record. Safe to run
    again: a deadline that does not move is left alone."""
    start = datetime.combine(date(year, 1, 1), time())
    end = datetime.combine(date(year + 1, 1, 2), time())  # end_of(31 Dec) is 1 Jan 00:00
    changed: dict[int, tuple[datetime | None, datetime | None]] = {}
    with unit_of_work(ctx) as session:
        user = _analyst(session, user_id)
        found = session.execute(select(HumanTask, ProcessInstance).join(
            ProcessInstance, ProcessInstance.id == HumanTask.instance_id).where(
            HumanTask.state == "open",
            or_(HumanTask.due_note.is_not(None), HumanTask.due_at.between(start, end)))).all()
        counting: dict[date, Context] = {}
        for task, instance in found:
            # the deadline is counted from the day the task opened, as when it opened
            then = counting.setdefault(task.created_at.date(),
                                       dataclasses.replace(ctx, clock=FixedClock(task.created_at)))
            workflow, definitions = instances.load_readonly(then, session, instance)
            ready, _ = then.engine.snapshot(definitions, instance.process_id, workflow)
            spiff_task = next((t for t in ready if t.id == task.spiff_task_id), None)
            if spiff_task is None:
                continue
            try:
                due_at, note = then.engine.due_at(definitions, instance.process_id, spiff_task), None
            except ExpressionError as error:
                if not isinstance(error.__cause__, CalendarYearMissing):
                    raise
                due_at, note = None, error.__cause__.message
            if (due_at, note) == (task.due_at, task.due_note):
                continue
            changed[task.id] = (task.due_at, due_at)
            audit.record(session, ctx.clock.now(), user, "deadline_recounted", instance_id=instance.id,
                         institution_id=instance.institution_id, task_name=task.name, task_title=task.title,
                         data={"year": year, "before": task.due_at.isoformat() if task.due_at else None,
                               "after": due_at.isoformat() if due_at else None})
            task.due_at, task.due_note = due_at, note
    return Recounted(year, changed)


def years(ctx: Context) -> list[tuple[int, str, CalendarYear | None]]:
    """Every year the calendar knows, with where it comes from: the package or an analyst."""
    with unit_of_work(ctx) as session:
        read_only(session)
        entered = {row.year: row for row in session.scalars(select(CalendarYear))}
        session.expunge_all()
    known = sorted(set(package_years()) | set(entered))
    return [(year, "录入" if year in entered else "内置", entered.get(year)) for year in known]


def _analyst(session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or user.role != "analyst":
        raise Forbidden("只有分析员可以录入节假日安排")
    return user

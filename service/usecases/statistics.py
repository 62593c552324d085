"""统计 (issue 17) for the city (the whole city) and a county (its jurisdiction): institutions by kind,
status, jurisdiction and stars; cases opened and closed per month; per step, how many were done,
their average handling time in working days and how many were late; certificates per month.

Everything is counted in SQL on indexed columns and grouped before it reaches Python; only the
handling times need the working-day calendar, and they are counted once per distinct pair of
(opened day, done day), not once per task."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time

from sqlalchemy import case, extract, func, select
from sqlalchemy.orm import Session

from ..domain.errors import CalendarYearMissing
from ..store.db import read_only
from ..store.models import Certificate, HumanTask, Institution, ProcessInstance, User
from .context import Context, unit_of_work
from .errors import Forbidden

READERS = frozenset({"county", "city", "province"})


@dataclass
class Step:
    process: str
    title: str
    done: int
    average_days: float | None  # working days from opening to completion; None when not countable
    late: int  # completed after their deadline
    with_deadline: int
    open_overdue: int

    @property
    def late_rate(self) -> float | None:
        return self.late / self.with_deadline if self.with_deadline else None


@dataclass
class Statistics:
    year: int
    by_kind: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)
    by_jurisdiction: dict[str, int] = field(default_factory=dict)
    by_stars: dict[int, int] = field(default_factory=dict)  # 0: not rated yet
    opened: list[int] = field(default_factory=lambda: [0] * 12)  # cases opened per month of the year
    closed: list[int] = field(default_factory=lambda: [0] * 12)
    certificates: list[int] = field(default_factory=lambda: [0] * 12)
    steps: list[Step] = field(default_factory=list)
    uncounted_years: set[int] = field(default_factory=set)  # holiday arrangements missing for a time


def compute(ctx: Context, user_id: int, year: int) -> Statistics:
    with unit_of_work(ctx) as session:
        read_only(session)
        user = session.get(User, user_id)
        if user is None or user.role not in READERS:
            raise Forbidden("没有查看统计的权限")
        place = user.jurisdiction_code if user.role == "county" else None
        stats = Statistics(year)
        _institutions(session, place, stats)
        _cases(session, place, year, stats)
        _certificates(session, place, year, stats)
        names = ctx.definitions(session, ctx.latest_version_id(session)).process_names
        _steps(ctx, session, place, year, stats, names)
        return stats


def _where(column, place):
    return [column == place] if place else []


def _institutions(session: Session, place: str | None, stats: Statistics) -> None:
    rows = session.execute(select(Institution.kind, Institution.status, Institution.jurisdiction_code,
                                  Institution.stars, func.count())
                           .where(Institution.status != "draft", *_where(Institution.jurisdiction_code, place))
                           .group_by(Institution.kind, Institution.status, Institution.jurisdiction_code,
                                     Institution.stars))
    for kind, status, jurisdiction, stars, n in rows:
        stars = stars or 0
        for bucket, key in ((stats.by_kind, kind), (stats.by_status, status), (stats.by_jurisdiction, jurisdiction),
                            (stats.by_stars, stars)):
            bucket[key] = bucket.get(key, 0) + n


def _in_year(column, year: int, days: bool = False) -> list:
    """A range on the column itself (not extract(year), which no index serves)."""
    start, end = date(year, 1, 1), date(year + 1, 1, 1)
    if not days:
        start, end = datetime.combine(start, time()), datetime.combine(end, time())
    return [column >= start, column < end]


def _per_month(session: Session, column, where: list, into: list[int], year: int, days: bool = False) -> None:
    month = extract("month", column)
    for m, n in session.execute(select(month, func.count()).where(*_in_year(column, year, days), *where)
                                .group_by(month)):
        into[int(m) - 1] = n


def _cases(session: Session, place: str | None, year: int, stats: Statistics) -> None:
    where = _where(ProcessInstance.jurisdiction_code, place)
    _per_month(session, ProcessInstance.started_at, where, stats.opened, year)
    _per_month(session, ProcessInstance.ended_at, where, stats.closed, year)


def _certificates(session: Session, place: str | None, year: int, stats: Statistics) -> None:
    where = []
    if place:
        where.append(Certificate.institution_id.in_(
            select(Institution.id).where(Institution.jurisdiction_code == place)))
    _per_month(session, Certificate.issued_on, where, stats.certificates, year, days=True)


def _day(value) -> date:
    return value if isinstance(value, date) and not isinstance(value, datetime) else (
        value.date() if isinstance(value, datetime) else date.fromisoformat(str(value)[:10]))


def _steps(ctx: Context, session: Session, place: str | None, year: int, stats: Statistics,
           names: dict[str, str]) -> None:
    """Tasks completed in the year, by step, grouped by (opened day, done day) for the calendar."""
    where = [HumanTask.state == "completed", *_in_year(HumanTask.completed_at, year),
             HumanTask.role != "institution", *_where(HumanTask.jurisdiction_code, place)]
    late = case((HumanTask.completed_at > HumanTask.due_at, 1), else_=0)
    rows = session.execute(select(
        HumanTask.process_id, HumanTask.title, func.date(HumanTask.created_at), func.date(HumanTask.completed_at),
        func.count(), func.sum(late), func.count(HumanTask.due_at))
        .where(*where).group_by(HumanTask.process_id, HumanTask.title, func.date(HumanTask.created_at),
                                func.date(HumanTask.completed_at)))
    calendar = ctx.current_calendar()
    totals: dict[tuple[str, str], list] = defaultdict(lambda: [0, 0, 0, 0, 0])  # done, days, counted, late, due
    for process, title, opened, done, n, late_n, with_due in rows:
        total = totals[(process, title)]
        total[0] += n
        total[3] += late_n or 0
        total[4] += with_due
        try:
            total[1] += calendar.working_days_between(_day(opened), _day(done)) * n
            total[2] += n
        except CalendarYearMissing as missing:
            stats.uncounted_years.add(missing.year)
    now = ctx.clock.now()
    overdue = dict(((process, title), n) for process, title, n in session.execute(
        select(HumanTask.process_id, HumanTask.title, func.count()).where(
            HumanTask.state == "open", HumanTask.due_at <= now, HumanTask.role != "institution",
            *_where(HumanTask.jurisdiction_code, place)).group_by(HumanTask.process_id, HumanTask.title)))
    for key in sorted(set(totals) | set(overdue)):
        done, days, counted, late_n, with_due = totals.get(key, [0, 0, 0, 0, 0])
        stats.steps.append(Step(names.get(key[0], key[0]), key[1], done, round(days / counted, 1) if counted else None,
                                late_n, with_due, overdue.get(key, 0)))

"""Schedules on which a process starts by itself (a timer start event's `timeCycle`): the annual
rating, the quarterly spot-check draw, the inactivity scan. Kept in the model, so analysts change
them by deploying; read here into the times they fall on, in China Standard Time (naive, as
every time in this system).

Two notations, as Camunda accepts them:
- ISO 8601 repeating interval `R/2027-01-15T02:00:00/P1Y` (`R5/…` for five times only);
- a cron expression of five fields, minute hour day month weekday: `0 2 * * *` is every day
  at 02:00, `0 2 15 1 *` every 15 January at 02:00."""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

CST = ZoneInfo("Asia/Shanghai")
ISO_CYCLE = re.compile(r"^R(\d*)/([^/]+)/(P[^/]+)$")
MIN_GAP = timedelta(hours=1)  # each occurrence starts a case: a schedule is for days and years, not seconds


class ScheduleError(ValueError):
    pass


@dataclass(frozen=True)
class Schedule:
    expression: str

    def occurrences(self, after: datetime, until: datetime, limit: int = 100) -> list[datetime]:
        """The times strictly after `after` and at or before `until`, the first `limit` of them."""
        found: list[datetime] = []
        for moment in self._times(after):
            if moment > until or len(found) == limit:
                break
            found.append(moment)
        return found

    def next_after(self, moment: datetime) -> datetime | None:
        return next(iter(self._times(moment)), None)

    def _times(self, after: datetime):
        match = ISO_CYCLE.match(self.expression)
        if match:
            repetitions, start, period = _iso(match)
            count = 0
            while repetitions is None or count < repetitions:
                moment = _add(start, period, count)  # from the start each time: 31 Jan stays 31 Jan, no drift
                if moment > after:
                    yield moment
                count += 1
            return
        trigger = _cron(self.expression)
        previous, moment = None, after.replace(tzinfo=CST) + timedelta(seconds=1)
        while True:
            upcoming = trigger.get_next_fire_time(previous, moment)
            if upcoming is None:
                return
            yield upcoming.replace(tzinfo=None)
            previous, moment = upcoming, upcoming + timedelta(seconds=1)


def _add(start: datetime, period: dict, times: int) -> datetime:
    """`start` plus `times` periods, years and months on the calendar (15 Jan stays 15 Jan in a
    leap year; 31 Jan plus one month is the last day of February)."""
    months = start.month - 1 + times * int(period.get("years", 0) * 12 + period.get("months", 0))
    year, month = start.year + months // 12, months % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day) + times * timedelta(
        weeks=period.get("weeks", 0), days=period.get("days", 0), hours=period.get("hours", 0),
        minutes=period.get("minutes", 0), seconds=period.get("seconds", 0))


def _iso(match):
    repetitions = int(match.group(1)) if match.group(1) else None
    try:
        start = datetime.fromisoformat(match.group(2))
    except ValueError:
        raise ScheduleError(f"起始时间“{match.group(2)}”不是 ISO 8601 时间（如 2027-01-15T02:00:00）") from None
    if start.tzinfo is not None:  # an explicit offset is honoured, then read as China Standard Time
        start = start.astimezone(CST).replace(tzinfo=None)
    try:
        period = TimerEventDefinition.parse_iso_duration(match.group(3))
    except Exception:
        raise ScheduleError(f"周期“{match.group(3)}”不是 ISO 8601 时长（如 P1D、P3M、P1Y）") from None
    if not any(period.values()):
        raise ScheduleError(f"周期“{match.group(3)}”为零")
    return repetitions, start, period


WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")  # cron's 0-7, 0 and 7 both Sunday


def _cron(expression: str) -> CronTrigger:
    """A five-field cron expression as cron reads it: APScheduler counts weekdays from Monday = 0,
    cron from Sunday = 0, so `0 2 * * 1` would fall on Tuesdays. Numbered weekdays become names."""
    fields = expression.split(" ")
    fields[4] = ",".join(_weekday_part(part) for part in fields[4].split(","))
    return CronTrigger.from_crontab(" ".join(fields), timezone=CST)


def _weekday_part(part: str) -> str:
    base, slash, step = part.partition("/")
    named = "-".join(WEEKDAYS[int(n)] if n.isdigit() and int(n) < len(WEEKDAYS) else n for n in base.split("-"))
    return named + slash + step


def parse_schedule(text: str) -> Schedule:
    """A schedule from a model, or ScheduleError saying in Chinese what is wrong with it."""
    expression = " ".join((text or "").split())
    if not expression:
        raise ScheduleError("定时启动的周期（timeCycle）为空")
    match = ISO_CYCLE.match(expression)
    if match:
        _iso(match)
    elif len(expression.split(" ")) == 5:
        try:
            _cron(expression)
        except ValueError as error:
            raise ScheduleError(f"cron 表达式“{expression}”无效：{error}") from None
    else:
        raise ScheduleError(f"周期“{expression}”既不是 ISO 8601 重复区间（如 R/2027-01-15T02:00:00/P1Y），"
                            "也不是五段 cron 表达式（分 时 日 月 周，如 0 2 * * * 表示每天 2:00）")
    schedule = Schedule(expression)
    first = schedule.next_after(datetime(2000, 1, 1))
    second = schedule.next_after(first) if first else None
    if first and second and second - first < MIN_GAP:
        raise ScheduleError(f"周期“{expression}”每次启动间隔不到1小时；定时启动用于按日、月、年开展的工作")
    return schedule

"""How pages show dates and deadlines: staff count in working days (Art. 7, 15), as they do on paper."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from ..domain.calendar import WorkingCalendar
from ..domain.errors import CalendarYearMissing


def due_label(calendar: WorkingCalendar, now: datetime, due_at: datetime | None,
              note: str | None = None) -> tuple[str, str]:
    """("剩余3个工作日", "soon") for a deadline; a year without calendar data says so."""
    if due_at is None:
        return (f"期限未定：{note}", "soon") if note else ("", "")
    due_day = (due_at - timedelta(microseconds=1)).date()  # due "on d" means until the end of d
    try:
        if due_at <= now:
            late = calendar.working_days_between(due_day, now.date())
            return (f"已逾期{late}个工作日" if late else "已逾期"), "overdue"
        left = calendar.working_days_between(now.date(), due_day)
    except CalendarYearMissing as missing:
        return f"{due_day:%m-%d}到期（{missing.year}年节假日安排未录入，无法计算工作日）", "soon"
    if left == 0:
        return "今日到期", "overdue"
    return f"剩余{left}个工作日", "soon" if left <= 3 else "ok"


# An instant as case data holds it (JSON has no dates): "2024-10-11T00:00:00"
INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")


def is_instant(value) -> bool:
    return isinstance(value, str) and bool(INSTANT.match(value))


def when(value: datetime | date | str | None) -> str:
    """2024-10-11 00:00 for an instant, 2024-10-11 for a day; never the ISO text with its T."""
    if is_instant(value):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:  # shaped like one, but no such day
            return value
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d")
    return value or ""

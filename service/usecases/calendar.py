"""Analysts enter a year's holiday arrangement once the State Council publishes it."""
from __future__ import annotations

from ..domain.calendar import parse_year_arrangement
from ..store.models import CalendarYear, User
from . import audit
from .context import Context, unit_of_work
from .errors import Forbidden


def enter_year(ctx: Context, user_id: int, year: int, text: str) -> None:
    parse_year_arrangement(year, text)  # DomainError names the bad line; nothing is stored
    with unit_of_work(ctx) as session:
        user = session.get(User, user_id)
        if user.role != "analyst":
            raise Forbidden("只有分析员可以录入节假日安排")
        row = session.get(CalendarYear, year) or CalendarYear(year=year)
        row.text, row.entered_by, row.entered_at = text, user.username, ctx.clock.now()
        session.add(row)
        audit.record(session, ctx.clock.now(), user, "calendar_year", data={"year": year, "text": text})
    ctx.forget_calendar()

"""Working days under the State Council holiday arrangement, make-up working days (调休上班) included.

Deadlines in working days (Art. 7 notice >= 5 working days, Art. 15.1 plan 10 working days ahead,
Art. 15.3 result filing within 10 working days) are computed here. Years come from the
`chinesecalendar` package plus years entered by an analyst; a year known to neither raises
`CalendarYearMissing` instead of silently counting weekends only (SPEC, "What runs on time").

All datetimes are naive China Standard Time.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from types import MappingProxyType

from chinese_calendar import constants as package_data

from service.domain.errors import CalendarYearMissing, DomainError


@dataclass(frozen=True)
class YearArrangement:
    year: int
    holidays: frozenset[date]  # weekdays (Mon-Fri) that are days off
    workdays: frozenset[date]  # weekend days that are working days (调休上班)


@cache
def package_years() -> Mapping[int, YearArrangement]:
    """The years the installed `chinesecalendar` release covers, read from its data.

    Derived rather than hard-coded so that upgrading the package extends coverage by itself.
    """
    years = {d.year for d in package_data.holidays}
    return MappingProxyType(
        {
            year: YearArrangement(
                year=year,
                # The package also lists weekend days inside a holiday; they are days off anyway.
                holidays=frozenset(d for d in package_data.holidays if d.year == year and d.weekday() < 5),
                workdays=frozenset(d for d in package_data.workdays if d.year == year),
            )
            for year in years
        }
    )


class WorkingCalendar:
    def __init__(self, extra_years: Mapping[int, YearArrangement] | None = None) -> None:
        extra_years = extra_years or {}
        for year, arrangement in extra_years.items():
            if arrangement.year != year:
                raise ValueError(f"arrangement for {arrangement.year} filed under {year}")
        # An analyst's entry wins over the package: it may correct a late change to the arrangement.
        self._years: dict[int, YearArrangement] = {**package_years(), **extra_years}

    def covers(self, year: int) -> bool:
        return year in self._years

    def arrangement(self, year: int) -> YearArrangement:
        if year not in self._years:
            raise CalendarYearMissing(year)
        return self._years[year]

    def is_working_day(self, d: date) -> bool:
        arrangement = self._years.get(d.year)
        if arrangement is None:
            raise CalendarYearMissing(d.year)
        if d in arrangement.workdays:
            return True
        if d in arrangement.holidays:
            return False
        return d.weekday() < 5

    def working_days_after(self, start: date, n: int) -> date:
        """The n-th working day after `start`; `start` itself never counts.

        民法典 Art. 201: a period counted in days starts on the day after the event.
        """
        if n < 0:
            raise ValueError("n must not be negative")
        d = start
        while n > 0:
            d += timedelta(days=1)
            if self.is_working_day(d):
                n -= 1
        return d

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end`; negative when `end` < `start`."""
        if end < start:
            return -self.working_days_between(end, start)
        count = 0
        d = start + timedelta(days=1)
        while d <= end:
            count += self.is_working_day(d)
            d += timedelta(days=1)
        return count


def end_of(d: date) -> datetime:
    """The instant day `d` is over: a deadline "on d" is still met at 23:59 of d."""
    return datetime.combine(d + timedelta(days=1), time.min)


def add_days(d: date, n: int) -> date:
    return d + timedelta(days=n)


def add_years(d: date, n: int) -> date:
    """Same month and day `n` years later; Feb 29 becomes Feb 28 in a common year.

    民法典 Art. 202: a period in years ends on the corresponding day, or the month's last day if
    there is none.
    """
    try:
        return d.replace(year=d.year + n)
    except ValueError:
        return d.replace(year=d.year + n, day=28)


_LINE = re.compile(r"^(\S+?)(?:\s*\.\.\s*(\S+?))?\s*(休|班)$")
_WEEKDAY_NAMES = "一二三四五六日"


def parse_year_arrangement(year: int, text: str) -> YearArrangement:
    """Read an analyst's entry of one year's State Council arrangement.

    One entry a line: `2027-01-01 休`, `2027-02-07 班` or `2027-02-11..2027-02-17 休`; blank lines
    and `#` comments are ignored. Weekend days inside a `休` range are days off anyway and dropped.
    """
    holidays: dict[date, int] = {}
    workdays: dict[date, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = _LINE.match(line)
        if match is None:
            raise DomainError(
                f"第{number}行无法识别：“{raw.strip()}”。"
                f"应写作“{year}-01-01 休”“{year}-02-07 班”或“{year}-02-11..{year}-02-17 休”"
            )
        first = _parse_date(match.group(1), year, number)
        last = _parse_date(match.group(2), year, number) if match.group(2) else first
        if last < first:
            raise DomainError(f"第{number}行日期范围起止颠倒：{first}..{last}")
        is_day_off = match.group(3) == "休"
        d = first
        while d <= last:
            if is_day_off:
                if d in workdays:
                    raise DomainError(f"第{number}行：{d}已在第{workdays[d]}行标注为“班”，不能同时为“休”")
                if d.weekday() < 5:
                    holidays.setdefault(d, number)
            else:
                if d in holidays:
                    raise DomainError(f"第{number}行：{d}已在第{holidays[d]}行标注为“休”，不能同时为“班”")
                if d.weekday() < 5:
                    raise DomainError(
                        f"第{number}行：{d}是星期{_WEEKDAY_NAMES[d.weekday()]}，本就是工作日，"
                        "“班”只用于调休上班的周末"
                    )
                workdays.setdefault(d, number)
            d += timedelta(days=1)
    if not holidays:
        # Every year has at least New Year's Day off; an entry without any is surely incomplete.
        raise DomainError(f"{year}年的安排中没有任何工作日放假（“休”）的日期，请检查录入内容")
    return YearArrangement(year=year, holidays=frozenset(holidays), workdays=frozenset(workdays))


def _parse_date(text: str, year: int, number: int) -> date:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise DomainError(f"第{number}行日期格式错误：“{text}”，应为YYYY-MM-DD")
    try:
        d = date.fromisoformat(text)
    except ValueError:
        raise DomainError(f"第{number}行日期不存在：{text}") from None
    if d.year != year:
        raise DomainError(f"第{number}行日期{text}不属于{year}年")
    return d

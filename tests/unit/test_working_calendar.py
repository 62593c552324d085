from datetime import date, datetime

import pytest

from service.domain.calendar import (
    WorkingCalendar,
    YearArrangement,
    add_days,
    add_years,
    end_of,
    package_years,
    parse_year_arrangement,
)
from service.domain.errors import CalendarYearMissing, DomainError

# A plausible 2027 arrangement, as an analyst would type it from the State Council notice.
ARRANGEMENT_2027 = """
# 国务院办公厅关于2027年部分节假日安排的通知
2027-01-01 休
2027-02-05..2027-02-11 休   # 春节
2027-02-13 班
2027-10-01..2027-10-07 休
2027-10-09 班
"""


@pytest.fixture
def calendar() -> WorkingCalendar:
    return WorkingCalendar({})


def first_uncovered_year() -> int:
    return max(package_years()) + 1


def test_covered_years_come_from_the_package_data():
    years = package_years()
    assert min(years) == 2004
    assert all(year in years for year in range(2004, max(years) + 1))
    assert WorkingCalendar().covers(2024)
    assert not WorkingCalendar().covers(first_uncovered_year())


def test_notice_published_before_national_day_ends_after_holiday(calendar):
    # Art. 7: notice of at least 5 working days, published Friday 2024-09-27.
    last_day = calendar.working_days_after(date(2024, 9, 27), 5)
    # Sun 09-29 is a make-up working day; Oct 1-7 off; then 10-08, 10-09, 10-10.
    assert last_day == date(2024, 10, 10)
    assert end_of(last_day) == datetime(2024, 10, 11, 0, 0)
    assert end_of(last_day) > datetime(2024, 10, 5, 12, 0)


def test_day_of_publication_does_not_count(calendar):
    # 民法典 Art. 201: Monday's notice starts counting on Tuesday.
    assert calendar.working_days_after(date(2024, 3, 4), 1) == date(2024, 3, 5)
    assert calendar.working_days_after(date(2024, 3, 4), 0) == date(2024, 3, 4)


def test_spring_festival_make_up_sunday_is_a_working_day(calendar):
    # 2024 Spring Festival: Sunday 02-04 and Sunday 02-18 are worked (调休上班).
    assert calendar.is_working_day(date(2024, 2, 4))
    assert calendar.is_working_day(date(2024, 2, 18))
    assert not calendar.is_working_day(date(2024, 2, 12))  # Monday inside the holiday
    assert not calendar.is_working_day(date(2024, 2, 10))  # Saturday inside the holiday
    assert not calendar.is_working_day(date(2024, 2, 3))  # an ordinary Saturday


def test_ten_working_days_span_spring_festival(calendar):
    # Art. 15.1: plan filed Thursday 2024-02-01; 02-02, 02-04 (Sun, worked), 02-05..02-09,
    # holiday 02-10..02-17, 02-18 (Sun, worked), 02-19, 02-20.
    assert calendar.working_days_after(date(2024, 2, 1), 10) == date(2024, 2, 20)


def test_working_days_between_counts_days_after_start_up_to_end(calendar):
    assert calendar.working_days_between(date(2024, 9, 27), date(2024, 10, 10)) == 5
    assert calendar.working_days_between(date(2024, 9, 27), date(2024, 10, 5)) == 2
    assert calendar.working_days_between(date(2024, 9, 27), date(2024, 9, 27)) == 0
    assert calendar.working_days_between(date(2024, 10, 10), date(2024, 9, 27)) == -5


def test_uncovered_year_raises_instead_of_counting_weekends(calendar):
    year = first_uncovered_year()
    with pytest.raises(CalendarYearMissing) as raised:
        calendar.is_working_day(date(year, 3, 3))
    assert raised.value.year == year
    assert raised.value.message == f"{year}年的法定节假日安排尚未录入，请分析员录入后再计算工作日"
    assert isinstance(raised.value, DomainError)


def test_deadline_crossing_into_uncovered_year_raises(calendar):
    year = first_uncovered_year()
    with pytest.raises(CalendarYearMissing):
        calendar.working_days_after(date(year - 1, 12, 28), 10)
    with pytest.raises(CalendarYearMissing):
        calendar.working_days_between(date(year - 1, 12, 28), date(year, 1, 10))


def test_analyst_entered_2027_makes_the_same_call_succeed():
    without = WorkingCalendar({})
    with pytest.raises(CalendarYearMissing):
        without.working_days_after(date(2027, 9, 28), 5)

    calendar = WorkingCalendar({2027: parse_year_arrangement(2027, ARRANGEMENT_2027)})
    assert calendar.covers(2027)
    # Tue 09-28: 09-29, 09-30, holiday Fri 10-01..Thu 10-07, 10-08, Sat 10-09 (worked), 10-11.
    assert calendar.working_days_after(date(2027, 9, 28), 5) == date(2027, 10, 11)
    assert calendar.is_working_day(date(2027, 2, 13))
    assert not calendar.is_working_day(date(2027, 2, 8))


def test_analyst_entry_overrides_the_package_year():
    # Say a late notice moved a 2024 holiday: the analyst's version of the year wins entirely.
    override = YearArrangement(2024, frozenset({date(2024, 1, 2)}), frozenset())
    calendar = WorkingCalendar({2024: override})
    assert not calendar.is_working_day(date(2024, 1, 2))
    assert calendar.is_working_day(date(2024, 1, 1))
    assert not calendar.is_working_day(date(2024, 2, 4))  # no make-up Sunday in the override


def test_arrangement_filed_under_another_year_is_a_programming_error():
    with pytest.raises(ValueError):
        WorkingCalendar({2028: YearArrangement(2027, frozenset(), frozenset())})


def test_parsed_range_keeps_weekdays_only():
    arrangement = parse_year_arrangement(2027, ARRANGEMENT_2027)
    assert arrangement.year == 2027
    # 02-05..02-11 is Fri..Thu: Sat 02-06 and Sun 02-07 are days off anyway.
    assert date(2027, 2, 6) not in arrangement.holidays
    assert {date(2027, 2, 5), date(2027, 2, 8), date(2027, 2, 11)} <= arrangement.holidays
    assert arrangement.workdays == {date(2027, 2, 13), date(2027, 10, 9)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2027-01-01 休\n2027-01-02 放假", "第2行无法识别"),
        ("2027-01-01 休\n\n2027-02-30 休", "第3行日期不存在：2027-02-30"),
        ("2027/01/01 休", "第1行日期格式错误"),
        ("2026-12-31 休", "第1行日期2026-12-31不属于2027年"),
        ("2027-02-11..2027-02-05 休", "第1行日期范围起止颠倒"),
        ("2027-01-01 休\n2027-02-08 班", "第2行：2027-02-08是星期一，本就是工作日"),
        ("2027-02-13 班\n2027-02-13 休", "第2行：2027-02-13已在第1行标注为“班”"),
        ("2027-02-13 班", "没有任何工作日放假"),
    ],
)
def test_bad_arrangement_lines_are_reported_by_line_number(text, expected):
    with pytest.raises(DomainError) as raised:
        parse_year_arrangement(2027, text)
    assert expected in raised.value.message


def test_end_of_day_is_next_midnight():
    assert end_of(date(2024, 12, 31)) == datetime(2025, 1, 1, 0, 0)


def test_add_years_turns_leap_day_into_feb_28():
    # Art. 7: three-year filing term.
    assert add_years(date(2024, 2, 29), 3) == date(2027, 2, 28)
    assert add_years(date(2024, 2, 29), 4) == date(2028, 2, 29)
    assert add_years(date(2024, 5, 6), 1) == date(2025, 5, 6)


def test_add_days_counts_calendar_days():
    # Art. 15.3: a 7-day results notice published 2024-09-27 runs to the end of 2024-10-04.
    assert add_days(date(2024, 9, 27), 7) == date(2024, 10, 4)
    assert add_days(date(2024, 1, 1), -1) == date(2023, 12, 31)

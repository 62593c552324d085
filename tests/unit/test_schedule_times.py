"""When a schedule falls (service/domain/schedules.py): ISO repeating intervals on the calendar,
cron in China Standard Time, and what is refused."""
from __future__ import annotations

from datetime import datetime

import pytest

from service.domain.schedules import ScheduleError, parse_schedule


def test_a_yearly_iso_schedule_keeps_its_day_across_a_leap_year():
    schedule = parse_schedule("R/2027-01-15T02:00:00/P1Y")
    assert schedule.occurrences(datetime(2026, 1, 1), datetime(2030, 1, 1)) == [
        datetime(2027, 1, 15, 2), datetime(2028, 1, 15, 2), datetime(2029, 1, 15, 2)]


def test_a_monthly_schedule_from_the_31st_falls_on_each_month_end_without_drifting():
    schedule = parse_schedule("R/2027-01-31T02:00:00/P1M")
    assert schedule.occurrences(datetime(2027, 1, 1), datetime(2027, 5, 1)) == [
        datetime(2027, 1, 31, 2), datetime(2027, 2, 28, 2), datetime(2027, 3, 31, 2), datetime(2027, 4, 30, 2)]


def test_a_counted_schedule_stops_and_says_so():
    schedule = parse_schedule("R2/2027-01-01T02:00:00/P1D")
    assert schedule.occurrences(datetime(2026, 1, 1), datetime(2028, 1, 1)) == [
        datetime(2027, 1, 1, 2), datetime(2027, 1, 2, 2)]
    assert schedule.next_after(datetime(2027, 1, 2, 2)) is None


def test_cron_is_read_in_china_standard_time_strictly_after_and_up_to_including():
    schedule = parse_schedule("0 2 * * *")
    assert schedule.occurrences(datetime(2024, 9, 3, 2), datetime(2024, 9, 5, 2)) == [
        datetime(2024, 9, 4, 2), datetime(2024, 9, 5, 2)]
    assert parse_schedule("0 3 1 1,4,7,10 *").next_after(datetime(2027, 1, 1, 3)) == datetime(2027, 4, 1, 3)


def test_catch_up_is_bounded_per_pass():
    assert len(parse_schedule("0 * * * *").occurrences(datetime(2024, 1, 1), datetime(2025, 1, 1), limit=5)) == 5


@pytest.mark.parametrize(("text", "problem"), [
    ("", "为空"),
    ("every day", "既不是 ISO 8601 重复区间"),
    ("0 25 * * *", "无效"),
    ("*/10 * * * *", "间隔不到1小时"),
    ("R/2027-01-01T00:00:00/P0D", "为零"),
    ("R/tomorrow/P1D", "不是 ISO 8601 时间"),
])
def test_what_cannot_be_a_schedule_is_refused_in_chinese(text, problem):
    with pytest.raises(ScheduleError, match=problem):
        parse_schedule(text)


@pytest.mark.parametrize(("weekdays", "first"), [
    ("1", datetime(2026, 1, 5, 2)),      # cron's 1 is Monday (APScheduler alone would say Tuesday)
    ("0", datetime(2026, 1, 4, 2)),      # 0 and 7 are Sunday
    ("7", datetime(2026, 1, 4, 2)),
    ("1-5", datetime(2026, 1, 2, 2)),    # Monday to Friday: Friday 2 Jan first
    ("6,0", datetime(2026, 1, 3, 2)),    # the weekend
    ("mon", datetime(2026, 1, 5, 2)),    # names as they are
])
def test_cron_weekdays_count_from_sunday_as_cron_does(weekdays, first):
    schedule = parse_schedule(f"0 2 * * {weekdays}")
    assert schedule.next_after(datetime(2026, 1, 1, 12)) == first

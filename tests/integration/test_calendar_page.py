"""The calendar page (issue 16): an analyst previews and saves a year's State Council arrangement in
the browser's form; a task that opened without a deadline because that year was missing gets one,
counted from the day it opened, and the case's record says so. The city reads; counties do not."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from service.store.models import AuditEvent, CalendarYear, HumanTask
from service.usecases.context import unit_of_work
from tests.helpers import Api, make_institution, make_staff
from tests.integration.test_filing_api import ARRANGEMENT_2027, submit_application


@pytest.fixture
def people(app, ctx):
    make_staff(ctx)
    make_institution(ctx)
    return {name: Api(app, name) for name in ("inst1", "county", "city", "analyst")}


def post(api, **form):
    return api.client.post("/admin/calendar", data={"csrf_token": api.headers["X-CSRFToken"], **form})


def test_entering_2027_gives_the_waiting_task_its_deadline(people, ctx, clock):
    clock.set(datetime(2026, 12, 28, 10, 0))  # Monday: five working days later is in 2027
    started, _, _ = submit_application(people["inst1"])
    county, analyst = people["county"], people["analyst"]
    task = county.only_task("initial_review")
    assert task["due_at"] is None
    assert "期限未定：2027年的法定节假日安排尚未录入" in county.get("/inbox").get_data(as_text=True)

    page = analyst.get("/admin/calendar").get_data(as_text=True)
    assert "2027年的安排尚未录入" in page and 'name="text"' in page

    preview = post(analyst, year="2027", text=ARRANGEMENT_2027, action="preview")
    assert preview.status_code == 200 and "预览，尚未保存" in preview.get_data(as_text=True)
    with unit_of_work(ctx) as session:
        assert session.get(CalendarYear, 2027) is None  # a preview stores nothing

    saved = post(analyst, year="2027", text=ARRANGEMENT_2027, action="save")
    html = saved.get_data(as_text=True)
    assert saved.status_code == 200 and "1个待办任务的办理期限已按新安排重新计算" in html
    # 29, 30, 31 Dec, (1 Jan off), 4 and 5 Jan: counted from the day it opened, not from today
    assert county.only_task("initial_review")["due_at"] == "2027-01-06T00:00:00"
    with unit_of_work(ctx) as session:
        [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "deadline_recounted")).all()
        assert event.instance_id == started["instance_id"] and event.data["after"] == "2027-01-06T00:00:00"
        assert session.scalar(select(HumanTask.due_note).where(HumanTask.id == task["id"])) is None

    again = post(analyst, year="2027", text=ARRANGEMENT_2027, action="save")
    assert "0个待办任务" in again.get_data(as_text=True)  # nothing moves twice


def test_a_wrong_line_is_named_and_the_typed_text_kept(people, ctx):
    typed = "2027-01-01 休\n2027-02-30 休\n"
    answer = post(people["analyst"], year="2027", text=typed, action="save")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422 and "第2行" in html and "2027-02-30 休" in html
    with unit_of_work(ctx) as session:
        assert session.get(CalendarYear, 2027) is None


def test_the_city_reads_the_calendar_and_a_county_does_not_see_it(people):
    page = people["city"].get("/admin/calendar?year=2026")
    assert page.status_code == 200 and 'id="year-preview"' in page.get_data(as_text=True)
    assert 'name="text"' not in page.get_data(as_text=True)
    assert post(people["city"], year="2027", text=ARRANGEMENT_2027, action="save").status_code == 403
    assert people["county"].get("/admin/calendar").status_code == 404

"""Issue 11.9: a notice is 公示中 only while it runs (Art. 7: opens_at ≤ now < closes_at); a
closed one says 公示期满, then what came of the filing."""
from __future__ import annotations

from datetime import datetime

import pytest

from service.usecases.timers import fire_due_timers
from tests.helpers import Api, make_institution, make_staff
from tests.integration.test_filing_api import forward_and_approve, submit_application
from tests.integration.test_web_pages import Page


@pytest.fixture
def people(app, ctx):
    make_staff(ctx)
    make_institution(ctx)
    return {name: Api(app, name) for name in ("inst1", "county", "city")}


def shown(app, who, filing_id):
    """The filing's state in 我的备案 / 备案案件 and on its page, and the notice's own state."""
    page = Page(app, who)
    listed = page.text("/filings")
    row = listed[listed.index(f'>{filing_id}</a>'):]
    row = row[:row.index("</tr>")]
    detail = page.text(f"/filings/{filing_id}")
    status = detail[detail.index('id="filing-status">') + len('id="filing-status">'):]
    notice = detail[detail.index('class="muted notice-state">') + len('class="muted notice-state">'):]
    return row, status[:status.index("<")], notice[:notice.index("<")]


def test_a_notice_is_shown_as_running_only_until_it_closes(app, ctx, clock, people):
    institution, county, city = people["inst1"], people["county"], people["city"]
    started, _, _ = submit_application(institution)
    forward_and_approve(people)
    clock.set(datetime(2024, 9, 27, 10, 0))
    county.complete(county.only_task("publish_notice")["id"], {"opinion": "同意公示"})
    filing_id = started["filing_id"]

    clock.set(datetime(2024, 10, 10, 23, 59))  # the 5th working day is not over yet
    for who in ("inst1", "county"):
        row, status, notice = shown(app, who, filing_id)
        assert "公示中" in row and (status, notice) == ("公示中", "公示中")

    clock.set(datetime(2024, 10, 11, 0, 0))  # over, even before the scheduler's next pass
    row, status, notice = shown(app, "inst1", filing_id)
    assert "公示中" not in row and "公示期满" in row and (status, notice) == ("公示期满", "公示期满")

    fire_due_timers(ctx)  # waiting for the city's 赋码: still no longer 公示中
    assert shown(app, "county", filing_id)[1:] == ("公示期满", "公示期满")

    city.complete(city.only_task("assign_code")["id"], {"opinion": "同意赋码"})
    row, status, notice = shown(app, "inst1", filing_id)
    assert "已备案" in row and (status, notice) == ("已备案", "公示期满，已备案")


def test_a_notice_ended_early_by_an_upheld_objection_is_no_longer_running(app, ctx, clock, people):
    institution, county = people["inst1"], people["county"]
    public = app.test_client()
    started, _, _ = submit_application(institution)
    forward_and_approve(people)
    clock.set(datetime(2024, 9, 27, 10, 0))
    county.complete(county.only_task("publish_notice")["id"], {"opinion": "同意公示"})
    [notice] = public.get("/api/public/notices").get_json()["items"]
    objection = {"name": "王五", "contact": "13900000000", "content": "该机构考评人员证书已过期，不符合条件"}
    assert public.post(f"/api/public/notices/{notice['id']}/objections", json=objection).status_code == 201
    county.complete(county.only_task("investigate_objection")["id"],
                    {"finding": "upheld", "opinion": "经核实，考评人员证书已过期，异议成立"})

    clock.set(datetime(2024, 9, 30, 9, 0))  # within the announced period
    assert shown(app, "inst1", started["filing_id"])[1:] == ("不予备案", "公示终止，不予备案")
    assert public.get("/api/public/notices").get_json()["items"] == []
    assert "0 件公示中" in public.get("/").get_data(as_text=True)
    late = public.post(f"/api/public/notices/{notice['id']}/objections", json=objection)
    assert late.status_code == 409 and "公示已终止" in late.get_json()["message"]

    clock.set(datetime(2024, 10, 11, 0, 0))
    assert shown(app, "inst1", started["filing_id"])[1:] == ("不予备案", "公示期满，不予备案")

"""The approval office in a real browser (issue 17): a county clerk hands a task to a colleague, the
city finds it in 超期督办 and urges it, the statistics draw their charts under the page's CSP, and
the public pages and the inbox fit a 390 px phone without sideways scrolling."""
from __future__ import annotations

from datetime import datetime

import pytest
from playwright.sync_api import expect

from service.usecases import accounts
from tests.e2e.test_filing_in_browser import log_in, open_only_task, review
from tests.helpers import PASSWORD, Api, make_institution, make_staff
from tests.integration.test_filing_api import submit_application


@pytest.fixture
def people(app, ctx):
    make_staff(ctx)
    make_institution(ctx)
    accounts.create_user(ctx, "county2", PASSWORD, "贵池区复核员", "county", jurisdiction_code="341702")
    submit_application(Api(app, "inst1"))  # Mon 2 Sep 2024: the county's review is due by the end of 9 Sep


def test_a_task_is_transferred_then_urged_from_the_overdue_list(people, live_server, page, clock, screenshot):
    log_in(page, live_server, "county")
    page.goto(live_server + "/inbox")
    page.get_by_role("link", name="办理").first.click()
    page.locator("#transfer summary").click()
    page.get_by_label("转给").select_option(label="贵池区复核员")
    page.get_by_label("转办理由").fill("本人下周出差")
    page.get_by_role("button", name="确认转办").click()
    expect(page.locator(".flash")).to_contain_text("已转办")

    clock.set(datetime(2024, 9, 11, 9, 0))
    log_in(page, live_server, "city")
    page.goto(live_server + "/lists/overdue")
    row = page.locator("#worklist tbody tr").first
    expect(row).to_contain_text("县区初审")
    expect(row).to_contain_text("贵池区复核员")  # who holds it since the transfer
    screenshot(page, "overdue-list")
    row.get_by_role("button", name="催办").click()
    expect(page.locator(".flash")).to_contain_text("已催办")

    log_in(page, live_server, "county2")
    page.goto(live_server + "/messages")
    page.get_by_role("link", name="市局审核员催办：县区初审").click()
    expect(page.locator("h1")).to_contain_text("县区初审")  # the message leads to the task itself


def test_the_statistics_draw_their_charts_under_the_pages_csp(people, live_server, page, screenshot):
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    log_in(page, live_server, "city")
    page.goto(live_server + "/statistics?year=2024")
    expect(page.locator("figure.chart[data-drawn=true] canvas")).to_have_count(4)
    screenshot(page, "statistics")
    assert problems == []


@pytest.mark.parametrize(("who", "path", "name"), [(None, "/", "home"), (None, "/directory", "directory"),
                                                   ("county", "/inbox", "inbox")])
def test_pages_fit_a_phone_without_sideways_scrolling(people, live_server, page, screenshot, who, path, name):
    page.set_viewport_size({"width": 390, "height": 844})
    if who:
        log_in(page, live_server, who)
    page.goto(live_server + path)
    screenshot(page, f"phone-{name}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_delegation_copy_done_and_search_in_the_browser(people, live_server, page):
    log_in(page, live_server, "county")
    open_only_task(page, live_server, "县区初审")
    page.get_by_role("button", name="签收").click()
    page.locator("#copy summary").click()
    page.get_by_label("抄送给").select_option(label="市局审核员（市人社局）")
    page.get_by_label("说明").fill("请知悉")
    page.get_by_role("button", name="确认抄送").click()
    expect(page.locator(".flash")).to_contain_text("已抄送")

    page.goto(live_server + "/delegations")
    page.get_by_label("委托给").select_option(label="贵池区复核员")
    page.get_by_label("开始日期").fill("2024-09-02")
    page.get_by_label("结束日期").fill("2024-09-06")
    page.get_by_label("事由").fill("年休假")
    page.get_by_role("button", name="委托", exact=True).click()
    expect(page.locator(".flash")).to_contain_text("委托已生效")
    expect(page.locator("#given")).to_contain_text("生效中")

    log_in(page, live_server, "county2")
    open_only_task(page, live_server, "县区初审")  # the clerk holds it; the delegate works it
    review(page, "符合条件，上报市级", "材料齐全，同意上报")
    page.goto(live_server + "/lists/done")
    expect(page.locator("#worklist tbody tr").first).to_contain_text("符合条件，上报市级")

    log_in(page, live_server, "city")
    page.goto(live_server + "/lists/copied")
    expect(page.locator("#worklist tbody tr").first).to_contain_text("请知悉")
    page.goto(live_server + "/lists/cases")
    page.get_by_label("机构名称、信用代码、备案编码或案件编号").fill("52341702MJ0000001D")
    page.get_by_role("button", name="查询").click()
    expect(page.locator("#worklist tbody tr")).to_have_count(1)
    expect(page.locator("#worklist tbody tr").first).to_contain_text("52341702MJ0000001D")

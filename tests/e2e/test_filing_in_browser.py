"""A filing walked through the pages in a real browser, as the people who use it would:
the institution applies, the county returns it for correction, the city approves, the public
objects on the notice page, and after the notice the receipt is printed."""
from __future__ import annotations

import re
from datetime import datetime

import pytest
from playwright.sync_api import Page, expect

from service.usecases.timers import fire_due_timers
from tests.helpers import PASSWORD, make_institution, make_staff

PDF = {"name": "材料.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 filing material"}
YES = ("is_independent_legal_person", "has_good_credit", "has_management_rules", "has_dedicated_department",
       "has_quality_controls", "has_video_monitoring", "site_owned")
NUMBERS = {"office_area_m2": "80", "theory_site_area_m2": "90", "theory_seats": "40", "practical_stations": "12"}
MATERIALS = ("material_filing_form", "material_licence", "material_plan", "material_experts", "material_assets")


@pytest.fixture
def people(ctx):
    make_staff(ctx)
    make_institution(ctx)


def leave(page: Page) -> None:
    """As closing the tab: the page's requests still in flight (a case page fetching its diagrams)
    are cancelled before the cookies go, or one would land without a session, be sent to the login
    page and start a new session under the next page's form, whose CSRF token would then fail."""
    page.goto("about:blank")
    page.context.clear_cookies()


def log_in(page: Page, base: str, username: str) -> None:
    leave(page)
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("header .who")).to_contain_text("退出")


def open_only_task(page: Page, base: str, step: str) -> None:
    page.goto(f"{base}/inbox")
    page.locator("#inbox tr", has_text=step).get_by_role("link", name="办理").click()
    expect(page.locator("h1")).to_contain_text(step)


def fill_application(page: Page) -> None:
    page.select_option("select[name=kind]", "social_org")
    page.fill("input[name=address]", "池州市贵池区长江中路1号")
    page.fill("input[name=legal_representative]", "张三")
    page.fill("input[name=contact_name]", "李四")
    page.get_by_role("button", name="添加一行").click()
    page.fill("input[name=scope-0-occupation_code]", "6-31-01-03")
    page.select_option("select[name=scope-0-level]", "4")
    page.fill("input[name=scope-0-assessors]", "6")
    for name in YES:
        page.check(f"input[name={name}][value=true]")
    for name, value in NUMBERS.items():
        page.fill(f"input[name={name}]", value)
    for name in MATERIALS:  # each uploads as it is chosen
        page.set_input_files(f"input[name={name}__file]", PDF)
        uploaded = page.locator(f".field:has(input[name={name}__file]) [data-uploaded] a:not(.preview)")
        expect(uploaded).to_have_text("材料.pdf")


def review(page: Page, decision: str, opinion: str) -> None:
    page.select_option("select[name=decision]", label=decision)
    page.fill("textarea[name=opinion]", opinion)
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.locator(".flash")).to_contain_text("已提交")


def test_filing_goes_from_application_to_receipt_in_the_browser(people, live_server, page, clock, ctx, screenshot):
    base = live_server
    problems = []  # script errors, missing files and Content-Security-Policy violations show up here
    page.on("console", lambda message: problems.append(message.text)
            if message.type == "error" and "status of 422" not in message.text else None)  # 422: the tested errors
    page.on("pageerror", lambda error: problems.append(str(error)))

    # The institution applies; a wrong phone number comes back next to its field, nothing typed is lost.
    log_in(page, base, "inst1")
    page.get_by_role("link", name="我的备案", exact=True).click()
    page.get_by_role("button", name="申请备案").click()
    fill_application(page)
    # the site is owned: its years of use are not asked (Art. 8.5)
    expect(page.locator(".field:has(input[name=site_use_years])")).to_be_hidden()
    page.fill("input[name=contact_phone]", "12345")
    page.get_by_role("button", name="提交", exact=True).click()
    phone = page.locator(".field", has=page.locator("input[name=contact_phone]"))
    expect(phone.locator(".error-text")).to_contain_text("请填写11位手机号或带区号的固定电话")
    expect(page.locator("input[name=contact_phone]")).to_have_value("12345")
    expect(page.locator("input[name=address]")).to_have_value("池州市贵池区长江中路1号")
    expect(page.locator("input[name=scope-0-occupation_code]")).to_have_value("6-31-01-03")
    expect(page.locator("input[name=theory_seats]")).to_have_value("40")
    expect(page.locator("input[name=has_video_monitoring][value=true]")).to_be_checked()
    # the five materials were stored with the first attempt and stay attached
    for name in MATERIALS:
        expect(page.locator(f".field:has(input[name={name}__file]) a:not(.preview)")).to_have_text("材料.pdf")
        expect(page.locator(f".field:has(input[name={name}__file]) a.preview")).to_have_text("预览")
    screenshot(page, "task-field-error")
    page.fill("input[name=contact_phone]", "13800000000")
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.locator("#next")).to_contain_text("县区初审")
    # the case is inside the shared review (a call activity): both diagrams say where
    expect(page.locator("#diagram [data-element-id=review].current")).to_be_visible()
    called = page.locator(".diagram.called[data-process=review]")
    expect(called).to_have_attribute("data-rendered", "1")
    expect(called.locator("[data-element-id=initial_review].current")).to_be_visible()
    expect(called.locator("[data-element-id=city_review].current")).to_have_count(0)

    # The county returns it for correction (补正); the institution sees the opinion and resubmits.
    log_in(page, base, "county")
    page.goto(f"{base}/inbox")
    expect(page.locator("#inbox")).to_contain_text("池州市职业技能培训评价中心")
    screenshot(page, "inbox")
    open_only_task(page, base, "县区初审")
    screenshot(page, "task-initial-review")
    review(page, "退回补正", "请补充场地租赁协议")

    log_in(page, base, "inst1")
    expect(page.locator("#unread")).to_have_text("1")  # told, not left to find out
    open_only_task(page, base, "填写并提交备案申请")
    expect(page.locator("#task-form")).to_be_visible()
    expect(page.locator("input[name=address]")).to_have_value("池州市贵池区长江中路1号")  # data kept
    expect(page.locator("body")).to_contain_text("请补充场地租赁协议")
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.locator("#next")).to_contain_text("县区初审")

    log_in(page, base, "county")
    open_only_task(page, base, "县区初审")
    review(page, "符合条件，上报市级", "材料齐全，同意上报")

    # The city approves the scope as requested (prefilled), in its own words: the county's opinion
    # is shown beside the form, read-only, and the city's opinion starts empty; a common phrase helps.
    log_in(page, base, "city")
    open_only_task(page, base, "市级审核")
    expect(page.locator("input[name=approved_scope-0-occupation_code]")).to_have_value("6-31-01-03")
    expect(page.locator("textarea[name=opinion]")).to_have_value("")
    expect(page.locator("select[name=decision]")).to_have_value("")
    expect(page.locator("dl.facts")).to_contain_text("材料齐全，同意上报")
    page.select_option("select[name=decision]", label="同意备案")
    page.get_by_role("button", name="经审核，符合备案条件，同意备案。").click()
    expect(page.locator("textarea[name=opinion]")).to_have_value("经审核，符合备案条件，同意备案。")
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.locator(".flash")).to_contain_text("已提交")

    # The county publishes the notice on Friday 27 Sep 2024, before National Day.
    clock.set(datetime(2024, 9, 27, 10, 0))
    log_in(page, base, "county")
    open_only_task(page, base, "发布公示")
    page.fill("textarea[name=opinion]", "同意公示")
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.locator(".flash")).to_contain_text("已提交")

    # Anyone objects on the public page; an empty objection is refused with what was typed kept.
    leave(page)
    page.goto(f"{base}/notices")
    notice = page.locator(".notice", has_text="池州市职业技能培训评价中心")
    expect(notice).to_contain_text("2024-10-11 00:00")  # 5 working days across the holiday
    notice.locator("summary").click()
    notice.get_by_label("姓名或单位").fill("王五")
    notice.get_by_label("联系方式").fill("13900000000")
    notice.get_by_role("button", name="提交异议").click()
    notice = page.locator(".notice", has_text="池州市职业技能培训评价中心")
    expect(notice.locator(".error-text")).to_contain_text("不少于10个字")
    expect(notice.get_by_label("姓名或单位")).to_have_value("王五")
    notice.get_by_label("异议内容").fill("该机构考试场地实际不足60平方米，请核实。")
    notice.get_by_role("button", name="提交异议").click()
    expect(page.locator(".flash")).to_contain_text("异议已提交")

    # The county investigates and dismisses it; the notice runs on.
    clock.set(datetime(2024, 10, 8, 9, 0))
    log_in(page, base, "county")
    open_only_task(page, base, "异议调查")
    page.select_option("select[name=finding]", "dismissed")
    page.fill("textarea[name=opinion]", "经现场核查，场地面积符合要求")
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.locator(".flash")).to_contain_text("已提交")

    # After the 5th working day the scheduler closes the notice; the city assigns the code.
    clock.set(datetime(2024, 10, 11, 0, 0))
    assert fire_due_timers(ctx).fired == 1
    log_in(page, base, "city")
    open_only_task(page, base, "赋码")
    page.fill("textarea[name=opinion]", "同意赋码，出具备案回执")
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.locator("#next")).to_contain_text("已办结")
    diagram = page.locator("#diagram")
    expect(diagram).to_have_attribute("data-rendered", "1")
    expect(diagram.locator(".djs-element.done").first).to_be_visible()
    screenshot(page, "case")

    # The institution prints its receipt; the directory lists it.
    log_in(page, base, "inst1")
    page.get_by_role("link", name="我的备案", exact=True).click()
    page.get_by_role("link", name="备案回执").click()
    expect(page.locator("body")).to_contain_text("S000034170001")
    expect(page.locator("body")).to_contain_text("2027-10-10")
    page.goto(f"{base}/directory?occupation=6-31-01-03")
    expect(page.locator("#directory")).to_contain_text("池州市职业技能培训评价中心")
    expect(page.locator("#directory")).to_contain_text(re.compile("四级/中级工"))
    assert problems == []


def test_case_page_highlights_the_current_step(people, live_server, page, screenshot):
    log_in(page, live_server, "inst1")
    page.get_by_role("link", name="我的备案", exact=True).click()
    page.get_by_role("button", name="申请备案").click()
    page.get_by_role("link", name="查看案件进度").click()
    diagram = page.locator("#diagram")
    expect(diagram).to_have_attribute("data-rendered", "1")
    expect(diagram.locator(".djs-element.current")).to_have_count(1)
    expect(diagram.locator("[data-element-id=submit_application].current")).to_be_visible()

"""Supervision in the browser (Art. 19, 20): the county opens a case on a media report with its
evidence, investigates and proposes 限期整改; the city agrees and sets the deadline; the
institution reports with evidence; the county verifies; the case is closed and on the record."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.test_filing_in_browser import PDF, log_in, open_only_task


def submit(page) -> None:
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.locator(".flash")).to_contain_text("已提交")


def test_county_proposes_rectification_city_agrees_institution_reports_county_verifies(
        batch_people, live_server, page, screenshot):
    base, problems = live_server, []
    page.on("pageerror", lambda error: problems.append(str(error)))

    log_in(page, base, "county")
    page.get_by_role("link", name="监督检查", exact=True).click()
    page.locator("#open-case summary").click()
    page.select_option("select[name=institution_id]", label="池州市职业技能培训评价中心")
    page.select_option("select[name=source]", "media")
    page.fill("textarea[name=facts]", "短")
    page.set_input_files("input[name=evidence_file]", {**PDF, "name": "报道截图.pdf"})
    page.get_by_role("button", name="立案", exact=True).click()
    # refused at the field, what was typed and the file kept
    expect(page.locator("#open-case .error-text")).to_contain_text("不少于10个字")
    expect(page.locator("#open-case")).to_contain_text("已上传1个文件")
    page.fill("textarea[name=facts]", "池州日报报道该机构2025年第1批认定存在替考现象。")
    page.get_by_role("button", name="立案", exact=True).click()
    expect(page.locator("h1")).to_contain_text("监督检查案件")
    expect(page.locator("main")).to_contain_text("报道截图.pdf")

    open_only_task(page, base, "调查核实")
    page.select_option("select[name=investigation]", "violated")
    page.select_option("select[name=violation]", "exam_conduct")
    page.select_option("select[name=severity]", "general")
    page.fill("textarea[name=findings]", "经调阅考场视频和签到表，核实存在替考行为。")
    submit(page)
    open_only_task(page, base, "提出处理意见")
    expect(page.locator("main")).to_contain_text("限期整改")  # the table's suggestion, beside the form
    page.select_option("select[name=measure]", "rectification")
    page.fill("textarea[name=opinion]", "情况属实，建议限期整改。")
    submit(page)

    log_in(page, base, "city")
    open_only_task(page, base, "复核并作出处理")
    page.select_option("select[name=city_decision]", "agree")
    page.fill("input[name=deadline_days]", "10")
    page.fill("textarea[name=opinion]", "复核认可，限10个工作日整改。")
    submit(page)

    log_in(page, base, "inst1")
    open_only_task(page, base, "提交整改报告")
    # 10 working days after Fri 26 Sep 2025, make-up days 28 Sep and 11 Oct counted, 1–8 Oct not
    expect(page.locator("main")).to_contain_text("2025-10-16")
    page.fill("textarea[name=report]", "已更换考场监控设备，对考评人员进行培训并建立双人核验制度。")
    page.set_input_files("input[name=rectification_evidence_1__file]", PDF)
    uploaded = page.locator(
        ".field:has(input[name=rectification_evidence_1__file]) [data-uploaded] a:not(.preview)")
    expect(uploaded).to_have_text("材料.pdf")
    submit(page)

    log_in(page, base, "county")
    open_only_task(page, base, "整改核查")
    expect(page.locator("main")).to_contain_text("已更换考场监控设备")
    page.select_option("select[name=verdict]", "accepted")
    page.fill("textarea[name=verification]", "现场核查，整改到位。")
    submit(page)

    log_in(page, base, "inst1")
    page.get_by_role("link", name="监督检查", exact=True).click()
    page.locator("#cases a").first.click()
    expect(page.locator("#measures")).to_contain_text("限期整改")
    expect(page.locator("#measures")).to_contain_text("已完成")
    expect(page.locator("#rectifications")).to_contain_text("整改合格")
    expect(page.locator("main")).to_contain_text("已结案")
    screenshot(page, "supervision-closed")
    assert problems == []

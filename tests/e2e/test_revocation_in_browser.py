"""Revocation in the browser (Art. 22): the county proposes on a ground with the facts, the city
decides to revoke, and the public directory no longer lists the institution."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.test_filing_in_browser import log_in, open_only_task
from tests.e2e.test_supervision_in_browser import submit


def test_the_city_revokes_and_the_public_directory_drops_the_institution(batch_people, live_server, page, screenshot):
    base, problems = live_server, []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{base}/directory")
    expect(page.locator("main")).to_contain_text("池州市职业技能培训评价中心")

    log_in(page, base, "county")
    page.get_by_role("link", name="取消备案", exact=True).click()
    page.locator("#open-revocation summary").click()
    page.select_option("select[name=institution_id]", label="池州市职业技能培训评价中心")
    page.select_option("select[name=ground]", "legal_person_terminated")
    page.fill("textarea[name=facts]", "经查询国家企业信用信息公示系统，该机构已于2025年9月1日注销登记。")
    page.get_by_role("button", name="提出", exact=True).click()
    expect(page.locator("#ground")).to_contain_text("第二十二条第三项")
    open_only_task(page, base, "审查并提出意见")
    page.select_option("select[name=county_decision]", "propose")
    page.fill("input[name=sponsor]", "池州市某某集团有限公司")
    page.fill("textarea[name=findings]", "经核实，该机构法人资格已依法终止。")
    page.fill("textarea[name=opinion]", "建议取消备案。")
    submit(page)

    log_in(page, base, "city")
    open_only_task(page, base, "决定是否取消备案")
    expect(page.locator("main")).to_contain_text("池州市某某集团有限公司")
    page.select_option("select[name=revocation_decision]", "revoke")
    page.fill("textarea[name=opinion]", "决定取消备案。")
    submit(page)
    page.goto(f"{base}/revocations")
    page.locator("#revocations a").first.click()
    expect(page.locator("main")).to_contain_text("已取消备案")
    page.locator("#notice").click()
    expect(page.locator("h1")).to_contain_text("关于取消池州市职业技能培训评价中心职业技能等级认定备案的通报")
    screenshot(page, "revocation-notice")

    page.goto(f"{base}/directory")
    expect(page.locator("main")).not_to_contain_text("池州市职业技能培训评价中心")
    page.goto(f"{base}/sanctions")
    expect(page.locator("#revoked")).to_contain_text("池州市职业技能培训评价中心")
    assert problems == []

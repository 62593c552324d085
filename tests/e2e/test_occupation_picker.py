"""The occupation picker on the application form, in a real browser: it finds an occupation by
name as well as by code, and offers only those that may be filed (Art. 4 skill-type, not the
access-type ones of Art. 8.2, 9.2)."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.test_filing_in_browser import log_in
from tests.helpers import make_institution


@pytest.fixture
def institution(ctx):
    make_institution(ctx)


def test_the_occupation_picker_finds_by_name_or_code_and_offers_only_fileable_ones(institution, live_server, page):
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    log_in(page, live_server, "inst1")
    page.get_by_role("link", name="我的备案", exact=True).click()
    page.get_by_role("button", name="申请备案").click()
    page.get_by_role("button", name="添加一行").click()
    field = page.locator("input[name=scope-0-occupation_code]")
    picker = page.locator(".occupation-picker")

    field.fill("电工")  # by name
    expect(picker.get_by_role("option", name="6-31-01-03 电工", exact=True)).to_be_visible()
    field.fill("6-31-01-0")  # by code
    expect(picker.get_by_role("option", name="6-31-01-03 电工", exact=True)).to_be_visible()
    field.fill("6310103")  # the code's digits
    expect(picker.get_by_role("option")).to_have_text(["6-31-01-03 电工"])

    for not_offered in ("内科医师", "2-05-01-01", "中国共产党机关负责人", "保安员"):
        field.fill(not_offered)
        expect(picker).to_contain_text("没有可备案的职业（工种）")
        expect(picker.get_by_role("option")).to_have_count(0)

    field.fill("养老护理")
    field.press("ArrowDown")
    field.press("Enter")
    expect(field).to_have_value("4-10-01-05")
    expect(picker).to_have_count(0)
    field.fill("电工")
    picker.get_by_role("option", name="6-31-01-03 电工", exact=True).click()
    expect(field).to_have_value("6-31-01-03")
    assert problems == []

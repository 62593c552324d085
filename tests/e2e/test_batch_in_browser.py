"""A batch in the browser (Art. 15): the institution imports its candidates from an .xlsx, files the
plan, the county accepts it; after the exam the scores come from an .xlsx, the results are in
notice on the public site, then filed; the certificates are exported as an .xlsx."""
from __future__ import annotations

import io
from datetime import datetime

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from service.usecases.timers import fire_due_timers
from tests.batches import CANDIDATE_HEADER, candidates, person, xlsx
from tests.e2e.test_filing_in_browser import log_in, open_only_task


@pytest.fixture
def people(batch_people):
    return batch_people



def open_batch(page, base: str) -> None:
    page.goto(f"{base}/batches")
    page.locator("#batches a").first.click()


def download(page, locator) -> bytes:
    with page.expect_download() as started:
        page.locator(locator).click()
    return started.value.path().read_bytes()


def test_a_batch_from_excel_to_certificates_in_the_browser(people, live_server, page, ctx, clock,  # noqa: F811
                                                            tmp_path, screenshot):
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    log_in(page, live_server, "inst1")
    page.get_by_role("link", name="认定批次", exact=True).click()
    page.get_by_role("button", name="制定认定批次计划").click()
    expect(page.locator("h1")).to_contain_text("认定批次")

    rows = candidates(3)
    rows[2][1] = "341702199001010031"  # a bad check digit
    bad = tmp_path / "名单.xlsx"
    bad.write_bytes(xlsx(CANDIDATE_HEADER, rows))
    page.set_input_files("#import-form input[type=file]", bad)
    page.get_by_role("button", name="导入", exact=True).click()
    expect(page.locator("#sheet-errors")).to_contain_text("身份证号码校验码错误")
    expect(page.locator("#sheet-errors tbody tr")).to_have_count(1)
    expect(page.locator("#sheet-errors tbody td").first).to_have_text("4")
    with page.expect_download() as marked:
        page.locator("#annotated").click()
    assert marked.value.suggested_filename == "名单（错误标注）.xlsx"

    good = tmp_path / "名单2.xlsx"
    good.write_bytes(xlsx(CANDIDATE_HEADER, candidates(3)))
    page.set_input_files("#import-form input[type=file]", good)
    page.get_by_role("button", name="导入", exact=True).click()
    expect(page.locator("#candidate-count")).to_have_text("3")
    expect(page.locator("#candidates tbody tr")).to_have_count(3)

    page.get_by_role("link", name="填报批次计划").click()
    page.fill("input[name=title]", "2025年第1批电工认定")
    page.fill("textarea[name=overview]", "电工四级理论知识考试和操作技能考核，共3人。")
    page.fill("input[name=place]", "贵池区长江中路1号实训楼")
    page.select_option("select[name=place_jurisdiction]", "341702")
    table = page.locator("#table-modules")
    for i, (kind, starts, ends) in enumerate((("theory", "09:00", "10:30"), ("practical", "14:00", "16:00"))):
        page.locator("[data-add-row=table-modules]").click()
        page.select_option(f"select[name=modules-{i}-kind]", kind)
        page.fill(f"input[name=modules-{i}-day]", "2025-10-15")  # one working day too early
        page.fill(f"input[name=modules-{i}-starts]", starts)
        page.fill(f"input[name=modules-{i}-ends]", ends)
    for field, people_ in (("invigilators", [("监考甲", person(800))]),
                           ("assessors", [(f"考评员{i}", person(500 + i, "19700101")) for i in (1, 2, 3)]),
                           ("quality_supervisors", [("督导乙", person(801))])):
        for i, (name, number) in enumerate(people_):
            page.locator(f"[data-add-row=table-{field}]").click()
            page.fill(f"input[name={field}-{i}-name]", name)
            page.fill(f"input[name={field}-{i}-id_number]", number)
    page.get_by_role("button", name="提交", exact=True).click()
    expect(table.locator(".error-text").first).to_contain_text("最早可安排在2025年10月16日")
    expect(page.locator("input[name=title]")).to_have_value("2025年第1批电工认定")  # what was typed is kept
    screenshot(page, "batch-plan-refused")
    for i in (0, 1):
        page.fill(f"input[name=modules-{i}-day]", "2025-10-16")
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.locator("#next")).to_contain_text("县区计划备案")

    log_in(page, live_server, "county")
    open_only_task(page, live_server, "县区计划备案")
    page.select_option("select[name=decision]", label="同意备案")
    page.fill("textarea[name=opinion]", "计划内容齐全，同意备案。")
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.locator(".flash")).to_contain_text("已提交")

    clock.set(datetime(2025, 10, 17, 9, 0))
    fire_due_timers(ctx)
    log_in(page, live_server, "inst1")
    open_batch(page, live_server)
    expect(page.locator("#batch-status")).to_have_text("成绩录入中")
    scores = load_workbook(io.BytesIO(download(page, "#template"))).active
    for row, (theory, practical) in zip(range(2, 5), ((88, 90), (61, 59), (75, 80)), strict=True):
        scores.cell(row, 5, theory)
        scores.cell(row, 6, practical)
    filled = tmp_path / "成绩.xlsx"
    scores.parent.save(filled)
    page.set_input_files("#import-form input[type=file]", filled)
    page.get_by_role("button", name="导入", exact=True).click()
    expect(page.locator(".flash.info")).to_contain_text("已导入3人的成绩")
    page.get_by_role("link", name="录入认定成绩").click()
    page.locator("input[name=scores_entered][value=true]").check()
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.locator("#next")).to_contain_text("公示期内（2025-10-25 00:00）")

    page.goto(f"{live_server}/results")
    page.get_by_role("link", name="2025年第1批电工认定").click()
    expect(page.locator("#result tbody tr")).to_have_count(3)
    expect(page.locator("#result")).not_to_contain_text("学员1")  # names masked on the public site

    clock.set(datetime(2025, 10, 27, 9, 0))
    fire_due_timers(ctx)
    open_batch(page, live_server)
    page.get_by_role("link", name="报备认定结果").click()
    page.locator("input[name=no_objection][value=true]").check()
    page.get_by_role("button", name="提交", exact=True).click()
    open_batch(page, live_server)
    expect(page.locator("#batch-status")).to_have_text("已发证")
    table = load_workbook(io.BytesIO(download(page, "#export-certificates"))).active
    assert [table.cell(r, 1).value for r in range(2, table.max_row + 1)] == ["学员1", "学员3"]
    assert table.cell(2, 6).value == "S000034170001254000001"
    assert problems == []

"""Files upload one at a time, as each is chosen, so the limit is each file's own (20 MB), not the
request's; a file over it is refused at once and nothing typed is lost."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from service.store.models import Attachment
from service.usecases.context import unit_of_work
from tests.e2e.test_filing_in_browser import fill_application, log_in
from tests.helpers import make_institution, make_staff

MB = 1024 * 1024


@pytest.fixture
def people(ctx):
    make_staff(ctx)
    make_institution(ctx)


@pytest.fixture
def pdfs(tmp_path):
    """`pdfs(name, megabytes)`: a PDF of that size, written to a temporary folder."""
    def make(name: str, megabytes: float):
        path = tmp_path / name
        path.write_bytes(b"%PDF-1.4 " + bytes(int(megabytes * MB)))
        return path
    return make


def start_application(page, base):
    log_in(page, base, "inst1")
    page.get_by_role("link", name="我的备案", exact=True).click()
    page.get_by_role("button", name="申请备案").click()
    fill_application(page)  # with small materials
    page.fill("input[name=contact_phone]", "13800000000")


def test_two_files_of_15_mb_go_with_one_filing_application(people, live_server, page, pdfs, ctx):
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    start_application(page, live_server)
    for name, file in (("material_plan", pdfs("实施方案.pdf", 15)), ("material_assets", pdfs("资产证明.pdf", 15))):
        page.set_input_files(f"input[name={name}__file]", file)
        expect(page.locator(f".field:has(input[name={name}__file]) [data-uploaded] a:not(.preview)")).to_have_text(
            file.name, timeout=60_000)
    with page.expect_request(lambda r: r.method == "POST" and "/tasks/" in r.url) as posted:
        page.get_by_role("button", name="提交", exact=True).click()
    assert len(posted.value.post_data_buffer) < MB  # the form carries the files' ids, not the files
    expect(page.locator("#next")).to_contain_text("县区初审")
    with unit_of_work(ctx) as session:
        sizes = sorted(row.size for row in session.scalars(select(Attachment)).all())
    assert sizes[-2:] == [15 * MB + 9, 15 * MB + 9]
    assert problems == []


def test_a_file_over_20_mb_is_refused_and_the_form_kept(people, live_server, page, pdfs):
    start_application(page, live_server)
    page.fill("input[name=address]", "池州市贵池区秋浦西路88号")
    page.set_input_files("input[name=material_plan__file]", pdfs("大文件.pdf", 21))
    field = page.locator(".field:has(input[name=material_plan__file])")
    expect(field.locator("[data-upload-status]")).to_contain_text("超过单个文件20MB的上限")
    expect(field).to_have_class("field has-error")
    expect(field.locator("[data-uploaded] a:not(.preview)")).to_have_text("材料.pdf")  # the earlier file stays attached
    expect(page.locator("input[name=address]")).to_have_value("池州市贵池区秋浦西路88号")
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.locator("#next")).to_contain_text("县区初审")  # submitted with the file that fits

"""Objections to a batch's results (Art. 15.3, as for filings): anyone objects while the notice
runs; the county investigates; upheld, the institution corrects the scores and they are published
again for 7 days; dismissed, the notice runs on and the results are filed."""
from __future__ import annotations

import io
from datetime import datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from service.store.models import Batch, ResultObjection
from service.usecases.context import unit_of_work
from service.usecases.timers import fire_due_timers
from tests.batches import to_the_scores, upload, xlsx
from tests.integration.test_web_pages import Page

OBJECTION = {"name": "王五", "contact": "13912345678", "content": "学员2实际未参加操作技能考核，却公示为合格。"}


@pytest.fixture
def people(batch_people):
    return batch_people


def scores(institution, batch_id, marks):
    sheet = load_workbook(io.BytesIO(institution.get(f"/api/batches/{batch_id}/scores/template").data)).active
    header = [c.value for c in sheet[1]]
    rows = [list(r) for r in sheet.iter_rows(min_row=2, values_only=True)]
    for row, (theory, practical) in zip(rows, marks, strict=True):
        row[4:] = [theory, practical]
    assert upload(institution, f"/api/batches/{batch_id}/scores", xlsx(header, rows)).status_code == 200
    task = institution.only_task("enter_results")
    assert institution.complete(task["id"], {"scores_entered": True}).status_code == 200


@pytest.fixture
def in_notice(people, ctx, clock):
    batch_id = to_the_scores(people, ctx, clock)
    scores(people["inst1"], batch_id, [(80, 80), (70, 75)])
    return batch_id


def test_an_upheld_objection_sends_the_results_back_and_they_are_published_again(people, in_notice, ctx, clock, app):
    institution, county = people["inst1"], people["county"]
    public = app.test_client()
    assert public.post(f"/api/public/results/{in_notice}/objections", json=OBJECTION).status_code == 201
    task = county.only_task("investigate_result_objection")
    shown = county.get(f"/api/tasks/{task['id']}").get_json()["data"]["result_objections"]
    assert "王五（13912345678" in shown[0] and "未参加操作技能考核" in shown[0]
    assert "王*" in Page(app, "inst1").text(f"/batches/{in_notice}")  # the institution never learns who
    assert county.complete(task["id"], {"finding": "upheld", "opinion": "经核实学员2缺考，请更正。"}).status_code == 200
    with unit_of_work(ctx) as session:
        assert session.get(Batch, in_notice).status == "results"
        assert session.scalars(select(ResultObjection.status)).all() == ["upheld"]
    clock.set(datetime(2025, 10, 20, 9, 0))
    scores(institution, in_notice, [(80, 80), (70, "缺考")])  # corrected, published again
    with unit_of_work(ctx) as session:
        assert session.get(Batch, in_notice).notice_closes_at == datetime(2025, 10, 28)  # 7 days from the 20th
    clock.set(datetime(2025, 10, 28, 0, 0))
    fire_due_timers(ctx)
    assert institution.only_task("file_results")


def test_a_dismissed_objection_lets_the_notice_run_on_and_the_results_be_filed(people, in_notice, ctx, clock, app):
    county, institution = people["county"], people["inst1"]
    assert app.test_client().post(f"/api/public/results/{in_notice}/objections", json=OBJECTION).status_code == 201
    task = county.only_task("investigate_result_objection")
    dismissed = county.complete(task["id"], {"finding": "dismissed", "opinion": "经核实，学员2参加了考核。"})
    assert dismissed.status_code == 200
    assert institution.open_tasks() == []  # still in notice
    clock.set(datetime(2025, 10, 25, 0, 0))
    fire_due_timers(ctx)
    assert institution.only_task("file_results")
    late = app.test_client().post(f"/api/public/results/{in_notice}/objections", json=OBJECTION)
    assert late.status_code == 409 and "公示期已结束" in late.get_json()["message"]


def test_an_objection_on_the_page_keeps_what_was_typed_when_refused(people, in_notice, app):
    page = Page(app)
    url = f"/results/{in_notice}"
    refused = page.form(f"{url}/objection", {**OBJECTION, "content": "太短"}, page=url)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "异议内容10至2000个字" in text and 'value="王五"' in text
    assert page.form(f"{url}/objection", OBJECTION, page=url).status_code == 302


def test_the_certificate_list_prints_with_the_national_tables_columns(people, in_notice, ctx, clock, app):
    institution = people["inst1"]
    clock.set(datetime(2025, 10, 25, 0, 0))
    fire_due_timers(ctx)
    assert institution.complete(institution.only_task("file_results")["id"], {"no_objection": True}).status_code == 200
    printed = Page(app, "inst1").text(f"/batches/{in_notice}/certificates")
    assert "职业技能等级认定合格人员证书信息表" in printed and "共 2 人" in printed
    assert "S000034170001254000001" in printed and "S000034170001254000002" in printed
    assert Page(app, "county_dz").get(f"/batches/{in_notice}/certificates").status_code == 404

"""The batch pages through the test client: an import refused on the page row by row with the
user's file kept marked, the candidates paged and searched, who sees which batch, and the
public's certificate lookup and results notice."""
from __future__ import annotations

import io

import pytest

from tests.batches import CANDIDATE_HEADER, candidates, plan, upload, xlsx
from tests.integration.test_web_pages import Page


@pytest.fixture
def people(batch_people):
    return batch_people



def test_an_import_refused_on_the_page_names_each_row_and_keeps_the_file_marked(people, app):  # noqa: F811
    page = Page(app, "inst1")
    started = page.form("/batches", {}, page="/batches")
    assert started.status_code == 302
    batch_url = started.headers["Location"]
    rows = candidates(60)
    rows[40][1] = "34170219900101"  # short
    refused = page.client.post(f"{batch_url}/candidates", content_type="multipart/form-data", data={
        "csrf_token": page.token(batch_url), "file": (io.BytesIO(xlsx(CANDIDATE_HEADER, rows)), "名单.xlsx")})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "<td>42</td><td>身份证号码</td><td>身份证号码应为18位，现为14位</td>" in text
    assert "下载标注了错误的原文件" in text and "尚未导入名单" in text
    annotated = text.split('id="annotated"')[0].rsplit('href="', 1)[1].split('"')[0]
    assert page.get(annotated).status_code == 200

    accepted = page.client.post(f"{batch_url}/candidates", content_type="multipart/form-data", data={
        "csrf_token": page.token(batch_url), "file": (io.BytesIO(xlsx(CANDIDATE_HEADER, candidates(60))), "名单.xlsx")})
    assert accepted.status_code == 302
    first = page.text(batch_url)
    assert "学员1<" in first and "学员51<" not in first and "第1页，共2页" in first
    assert "学员51<" in page.text(f"{batch_url}?page=2")
    found = page.text(f"{batch_url}?q=学员17")
    assert "学员17<" in found and "学员1<" not in found and "1 人" in found
    assert "填报批次计划" in first  # the plan task, one click away

    other_county = Page(app, "county_dz")
    assert other_county.get(batch_url).status_code == 404
    province = Page(app, "province")
    assert "****" in province.text(batch_url)  # ID numbers masked for those who do not handle it
    assert "34170219900101001" not in province.text(batch_url)


def test_the_public_looks_up_a_certificate_and_keeps_what_it_typed(app, people):  # noqa: F811
    public = Page(app)
    missing = public.get("/certificates?number=S000034170001254000001&name=张三")
    assert missing.status_code == 404
    text = missing.get_data(as_text=True)
    assert "未查到该证书" in text and 'value="S000034170001254000001"' in text and 'value="张三"' in text
    assert "目前没有公示中的认定结果" in public.text("/results")


def test_the_county_sees_the_archive_checklist_and_the_institution_files_into_it(people, app, ctx):  # noqa: F811
    institution = people["inst1"]
    started = institution.post("/api/batches").get_json()
    upload(institution, f"/api/batches/{started['batch_id']}/candidates", xlsx(CANDIDATE_HEADER, candidates(1)))
    assert institution.complete(started["task_id"], plan("2025-10-16")).status_code == 200
    page = Page(app, "inst1")
    url = f"/batches/{started['batch_id']}"
    filed = page.client.post(f"{url}/archive", content_type="multipart/form-data", data={
        "csrf_token": page.token(url), "item": "photos", "file": (io.BytesIO(b"\xff\xd8\xff site"), "现场.jpg")})
    assert filed.status_code == 302
    paper = page.form(f"{url}/archive", {"item": "plan", "place": "档案室A柜3层"}, page=url)
    assert paper.status_code == 302
    county = Page(app, "county").text(url)
    assert "已归档 2 / 11 项" in county and "现场.jpg" in county and "纸质原件：档案室A柜3层" in county
    assert "视频监控资料" in county.split("缺：")[1].split("</p>")[0]
    assert 'id="archive-form"' not in county  # the county reads; the institution files


def test_scores_typed_in_the_page_are_saved_all_or_none_and_kept_when_wrong(people, app, ctx, clock):
    from tests.batches import to_the_scores
    institution = people["inst1"]
    batch_id = to_the_scores(people, ctx, clock)
    page = Page(app, "inst1")
    url = f"/batches/{batch_id}"
    typed = {"score-2-theory": "88", "score-2-practical": "缺考", "score-3-theory": "101", "score-3-practical": "75"}
    refused = page.form(f"{url}/scores/entries", typed, page=url)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "请填写0–100的分数" in text
    assert 'value="101"' in text and 'value="缺考"' in text  # what was typed is kept
    detail = institution.get(f"/api/batches/{batch_id}").get_json()
    assert [c["scores"] for c in detail["candidates"]] == [None, None]  # nothing saved
    saved = page.form(f"{url}/scores/entries", {**typed, "score-3-theory": "59.5"}, page=url)
    assert saved.status_code == 302
    detail = institution.get(f"/api/batches/{batch_id}").get_json()
    assert [c["scores"] for c in detail["candidates"]] == [{"theory": 88, "practical": None},
                                                           {"theory": 59.5, "practical": 75}]

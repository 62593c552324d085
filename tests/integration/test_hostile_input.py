"""Input that used to end in a 500 (issue 11, item 18; the open redirect of item 17): each is a
4xx with a Chinese message, and a page keeps what was typed. Run on PostgreSQL too, where
lengths and NUL characters are enforced by the database."""
from __future__ import annotations

import io
import json
import re
from datetime import datetime

import pytest

from service.app import create_app
from service.bootstrap import build_context
from tests.helpers import Api
from tests.integration.test_web_pages import Page, people, submitted  # noqa: F401 - fixture

HUGE = 2**63
CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def notice_id(app, people):  # noqa: F811 - the fixture imported above
    """An open public notice of inst1's filing (county and city agreed)."""
    submitted(people)
    county, city = people["county"], people["city"]
    county.complete(county.only_task("initial_review")["id"], {"decision": "forward", "opinion": "同意上报"})
    city.complete(city.only_task("city_review")["id"], {"decision": "approve", "opinion": "同意", "approved_scope": [
        {"occupation_code": "6-31-01-03", "level": "4", "assessors": 6}]})
    county.complete(county.only_task("publish_notice")["id"], {"opinion": "同意公示"})
    return int(re.search(r'id="notice-(\d+)"', Page(app).text("/notices")).group(1))


def _refused(response, status=400):
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:300])
    text = response.get_data(as_text=True)
    assert CHINESE.search(text) and "Traceback" not in text
    return text


def test_an_objection_name_longer_than_its_column_is_refused_and_the_form_keeps_what_was_typed(app, notice_id):
    name = "王" * 51
    response = Page(app).form(f"/notices/{notice_id}/objection",
                              {"name": name, "contact": "13912345678", "content": "场地面积不足六十平方米，请核实。"},
                              page="/notices")
    body = _refused(response, 422)
    assert "不超过50个字" in body and f'value="{name}"' in body and "场地面积不足六十平方米" in body
    response = app.test_client().post(f"/api/public/notices/{notice_id}/objections", json={
        "name": name, "contact": "1" * 101, "content": "场地面积不足六十平方米，请核实。"})
    assert _refused(response) and response.get_json()["errors"] == {
        "name": ["不超过50个字"], "contact": ["不超过100个字"]}


def test_a_complaint_longer_than_its_columns_is_refused_and_the_form_keeps_what_was_typed(app, people):  # noqa: F811
    typed = {"jurisdiction_code": "341702", "institution_name": "某评价机构", "name": "赵六",
             "contact": "139" * 40, "content": "该机构在认定考试中替考，考场无监控录像。"}
    body = _refused(Page(app).form("/complaint", typed, page="/complaint"), 422)
    assert "不超过100个字" in body and f'value="{typed["contact"]}"' in body
    response = app.test_client().post("/api/public/complaints", json={**typed, "institution_id": HUGE})
    assert set(_refused(response) and response.get_json()["errors"]) == {"contact", "institution_id"}


def test_ids_beyond_the_database_integers_are_unknown_addresses(app, people):  # noqa: F811
    county = people["county"]
    for url in (f"/api/tasks/{HUGE}", f"/api/filings/{HUGE}", f"/api/cases/{HUGE}/timeline",
                f"/api/attachments/{HUGE}"):
        assert _refused(county.get(url), 404)
    assert _refused(county.post(f"/api/tasks/{HUGE}/claim"), 404)
    page = Page(app, "county")
    for url in (f"/tasks/{HUGE}", f"/cases/{HUGE}", f"/filings/{HUGE}"):
        assert _refused(page.get(url), 404)


def test_page_numbers_beyond_any_page_are_refused(app, people):  # noqa: F811
    county, page = people["county"], Page(app, "county")
    for url in ("/api/tasks", "/api/filings", "/api/public/institutions", "/api/public/notices", "/api/scope-changes"):
        assert "页码" in _refused(county.get(f"{url}?page={HUGE}"))
    for url in ("/directory", "/notices", "/inbox", "/filings"):
        assert "页码" in _refused(page.get(f"{url}?page={HUGE}"))


def test_nul_characters_are_refused_before_the_database_sees_them(app, notice_id):
    response = app.test_client().post(f"/api/public/notices/{notice_id}/objections", json={
        "name": "王\u0000五", "contact": "139", "content": "场地面积不足六十平方米，请核实。"})
    assert "空字符" in _refused(response)
    typed = {"jurisdiction_code": "341702", "institution_name": "某机构\x00", "name": "赵六", "contact": "139",
             "content": "该机构替考，考场无监控录像。"}
    response = Page(app).form("/complaint", typed, page="/complaint")
    assert "空字符" in _refused(response)
    assert "空字符" in _refused(app.test_client().get("/directory?q=%00"))
    assert "空字符" in _refused(app.test_client().get("/api/public/institutions?q=a%00b"))


def test_a_nameless_multipart_field_is_refused(app, people):  # noqa: F811
    institution = people["inst1"]
    body = (b'--b\r\nContent-Disposition: form-data\r\n\r\nvalue\r\n'
            b'--b\r\nContent-Disposition: form-data; filename="a.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
            b'%PDF-1.4\r\n--b--\r\n')
    response = institution.client.post("/api/attachments", data=body, headers=institution.headers,
                                       content_type="multipart/form-data; boundary=b")
    assert "未命名" in _refused(response)
    response = institution.client.post("/api/attachments", headers=institution.headers,
                                       data={"file": (io.BytesIO(b"%PDF-1.4"), "a\x00.pdf", "application/pdf")})
    assert "空字符" in _refused(response)


def test_deeply_nested_json_is_refused(app, people):  # noqa: F811
    county = people["county"]
    task = submitted(people)[1]
    for depth in (50, 100_000):
        body = '{"data": {"x": ' + "[" * depth + "]" * depth + "}}"
        response = county.client.put(f"/api/tasks/{task['id']}/draft", data=body, headers=county.headers,
                                     content_type="application/json")
        assert "嵌套" in _refused(response), depth
    response = county.client.put(f"/api/tasks/{task['id']}/draft", data=json.dumps({"data": {"opinion": "同意"}}),
                                 headers=county.headers, content_type="application/json")
    assert response.status_code == 200


def test_a_body_that_is_not_a_json_object_is_refused(app, people):  # noqa: F811
    county = people["county"]
    for body in ("[1, 2]", "not json", '"text"'):
        response = county.client.post("/api/tasks/1/complete", data=body, headers=county.headers,
                                      content_type="application/json")
        assert _refused(response)


def test_a_text_longer_than_its_column_is_a_4xx_never_a_500(app, people):  # noqa: F811
    """SQLite keeps any length; PostgreSQL refuses it. The forms carry the columns' lengths; what
    slips past them is a 400 with a Chinese message, not a database error page."""
    institution = people["inst1"]
    started = institution.post("/api/filings").get_json()
    from tests.helpers import application
    data = application("52341702MJ0000001D", "池州市职业技能培训评价中心", attachment_id=institution.upload())
    response = institution.complete(started["task_id"], {**data, "address": "池州市贵池区" * 60})
    if response.status_code == 200:
        assert institution.client.application.extensions["context"].session_factory.kw["bind"].dialect.name \
            == "sqlite", "PostgreSQL must refuse a 360-character address"
        return
    assert 400 <= response.status_code < 500 and CHINESE.search(response.get_json()["message"])


@pytest.fixture
def training(prepared, clock):
    """An app with the training clock on the test database (the ctx fixture empties it after)."""
    url, _ = prepared
    context = build_context(url, clock_kind="training")
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "t", "CLOCK": "training"}, context=context)
    yield app, context
    context.session_factory.kw["bind"].dispose()


def test_the_clock_asks_who_moves_it_before_it_looks_at_the_value(ctx, training):
    from tests.helpers import make_staff
    app, _ = training
    make_staff(ctx)
    county, analyst = Api(app, "county"), Api(app, "analyst")
    assert _refused(county.post("/api/admin/clock", json={"advance_days": 10**9}), 403)
    assert "3650" in _refused(analyst.post("/api/admin/clock", json={"advance_days": 10**9}), 422)
    assert "2099" in _refused(analyst.post("/api/admin/clock", json={"set": "9999-12-31T00:00:00"}), 422)
    assert _refused(analyst.post("/api/admin/clock", json={"set": "9999-12-31T23:59:59-12:00"}))
    response = analyst.post("/api/admin/clock", json={"set": "2025-03-03T01:00:00Z"})  # 09:00 in China
    assert response.status_code == 200
    assert datetime.fromisoformat(response.get_json()["now"]) - datetime(2025, 3, 3, 9, 0) < \
        datetime(2025, 3, 3, 9, 1) - datetime(2025, 3, 3, 9, 0)


def test_a_due_date_filter_with_a_zone_or_out_of_range_is_taken_or_refused_never_a_500(app, people):  # noqa: F811
    county = people["county"]
    assert county.get("/api/tasks?due_before=2024-09-30T00:00:00%2B08:00").status_code == 200
    assert _refused(county.get("/api/tasks?due_before=9999-12-31T23:59:59-12:00"))
    assert _refused(county.get("/api/tasks?due_before=99999-01-01"))


def test_claim_and_unclaim_go_back_only_to_a_page_of_this_site(app, people):  # noqa: F811
    _, task = submitted(people)
    page = Page(app, "county")
    for back in ("https://evil.example/x", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"):
        response = page.form(f"/tasks/{task['id']}/claim", {"back": back}, page="/inbox")
        assert response.headers["Location"] == f"/tasks/{task['id']}", back
    response = page.form(f"/tasks/{task['id']}/unclaim", {"back": "/inbox?mine=1"}, page="/inbox")
    assert response.headers["Location"] == "/inbox?mine=1"


def test_an_attachment_id_beyond_any_row_is_named_on_the_other_city_form(app, ctx):
    from tests.integration.test_other_city_pages import URL, filed
    filed(ctx, 1, "池州市职业技能培训评价中心")
    page = Page(app, "inst1")
    typed = {"city": "安庆市", "filing_code": "AQ2025-0012", "valid_until": "2027-06-30", "attachment_id": str(HUGE)}
    body = _refused(page.form(URL, typed, page=URL), 422)
    assert "附件不存在" in body and 'value="AQ2025-0012"' in body
    response = Api(app, "inst1").post("/api/institution/other-city-filings", json={**typed, "attachment_id": HUGE})
    assert "附件编号" in _refused(response)

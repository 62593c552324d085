"""What a reviewer and an applicant find in a task's form: each step's own judgement starts
empty, the Art. 7 quota is weighed with a written reason, errors say what is expected, lengths
fit the columns, and a refused submit or file loses nothing."""
from __future__ import annotations

import io
import re
from datetime import datetime

import pytest
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from service.store.models import Institution, ScopeItem
from service.usecases.context import unit_of_work
from service.usecases.timers import fire_due_timers
from service.web import work
from tests.helpers import Api, application, demo_credit_code, make_institution, make_staff
from tests.integration.test_web_pages import Page

NAME = "池州市职业技能培训评价中心"


@pytest.fixture
def people(app, ctx):
    make_staff(ctx)
    make_institution(ctx)
    make_institution(ctx, serial=3, name="池州市技工学校", kind="school")
    return {name: Api(app, name) for name in ("inst1", "inst3", "county", "city")}


def submit(api, serial=1, name=NAME, **overrides):
    started = api.post("/api/filings").get_json()
    data = application(demo_credit_code(serial), name, attachment_id=api.upload(), **overrides)
    response = api.complete(started["task_id"], data)
    assert response.status_code == 200, response.get_json()
    return started


def forward(people, opinion="材料齐全，同意上报"):
    county = people["county"]
    assert county.complete(county.only_task("initial_review")["id"],
                           {"decision": "forward", "opinion": opinion}).status_code == 200
    return people["city"].only_task("city_review")


def post_files(client, url, fields: dict, headers=None):
    """A multipart POST encoded in memory: the test client spools a large body to a temporary
    file it never closes."""
    boundary, body = encode_multipart(MultiDict(fields))
    return client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}", headers=headers)


def pdf(megabytes: float, name="材料.pdf") -> FileStorage:
    content = b"%PDF-1.4 " + bytes(int(megabytes * 1024 * 1024))
    return FileStorage(io.BytesIO(content), name, content_type="application/pdf")


def object_to(api, notice):
    return api.client.post(f"/api/public/notices/{notice['id']}/objections", json={
        "name": "王五", "contact": "13900000000", "content": "该机构考试场地实际不足60平方米，请核实。"})


def data_of(api, task):
    return api.get(f"/api/tasks/{task['id']}").get_json()["data"]


def textarea(html, name="opinion"):
    return re.search(rf'<textarea name="{name}"[^>]*>(.*?)</textarea>', html, re.S).group(1)


# --- item 2: a step's own judgement starts empty -------------------------------------------------------


def test_opinion_field_starts_empty_at_the_city_review(app, people):
    submit(people["inst1"])
    task = forward(people, "材料齐全，同意上报")
    data = data_of(people["city"], task)
    assert "opinion" not in data and "decision" not in data  # the county's words are not the city's
    assert data["previous_opinion"] == "材料齐全，同意上报" and data["name"] == NAME

    html = Page(app, "city").text(f"/tasks/{task['id']}")
    assert textarea(html) == ""
    facts = html[html.index('<dl class="facts">'):html.index("</dl>")]
    assert "上一环节审批意见" in facts and "材料齐全，同意上报" in facts and NAME in facts  # read-only facts
    assert '<option value="approve" >' in html or '<option value="approve">' in html  # nothing chosen
    assert 'name="approved_scope-0-occupation_code" id="approved_scope-0-occupation_code" value="6-31-01-03"' \
        in html  # the analysts' prefill still starts the approved scope as the requested one


def test_a_draft_opinion_the_reviewer_saved_is_shown_again(app, people):
    submit(people["inst1"])
    task = forward(people)
    city = people["city"]
    response = city.client.put(f"/api/tasks/{task['id']}/draft", json={"data": {"opinion": "拟同意，待核实场地"}},
                               headers=city.headers)
    assert response.status_code == 200
    assert data_of(city, task)["opinion"] == "拟同意，待核实场地"
    assert textarea(Page(app, "city").text(f"/tasks/{task['id']}")) == "拟同意，待核实场地"


def test_assign_code_opinion_starts_empty_after_the_objection_investigation(people, ctx, clock):
    institution, county, city = people["inst1"], people["county"], people["city"]
    submit(institution)
    task = forward(people)
    scope = data_of(city, task)["scope"]
    assert city.complete(task["id"], {"decision": "approve", "opinion": "同意备案", "approved_scope": scope}
                         ).status_code == 200
    clock.set(datetime(2024, 9, 27, 10, 0))
    assert county.complete(county.only_task("publish_notice")["id"], {"opinion": "同意公示"}).status_code == 200
    notice = institution.get("/api/public/notices").get_json()["items"][0]
    clock.set(datetime(2024, 9, 30, 9, 0))
    assert object_to(institution, notice).status_code == 201
    investigate = county.only_task("investigate_objection")
    assert "opinion" not in data_of(county, investigate)
    assert county.complete(investigate["id"], {"finding": "dismissed", "opinion": "经现场核查，场地面积符合要求"}
                           ).status_code == 200
    clock.set(datetime(2024, 10, 11, 0, 0))
    assert fire_due_timers(ctx).fired == 1
    data = data_of(city, city.only_task("assign_code"))
    assert "opinion" not in data and data["previous_opinion"] == "经现场核查，场地面积符合要求"


def test_correction_brings_the_application_back_filled_and_the_next_review_starts_empty(people):
    institution, county = people["inst1"], people["county"]
    submit(institution, address="池州市贵池区秋浦西路88号")
    assert county.complete(county.only_task("initial_review")["id"],
                           {"decision": "correction", "opinion": "请补充场地租赁协议"}).status_code == 200
    again = institution.only_task("submit_application")
    kept = data_of(institution, again)
    assert kept["address"] == "池州市贵池区秋浦西路88号" and kept["scope"][0]["occupation_code"] == "6-31-01-03"
    assert kept["material_plan"] and kept["opinion"] == "请补充场地租赁协议"  # the application comes back whole
    assert institution.complete(again["id"], kept).status_code == 200
    review = data_of(county, county.only_task("initial_review"))
    assert "decision" not in review and "opinion" not in review
    assert review["previous_opinion"] == "请补充场地租赁协议"


def test_common_phrases_are_offered_beside_the_opinion(app, people):
    submit(people["inst1"])
    html = Page(app, "county").text(f"/tasks/{people['county'].only_task('initial_review')['id']}")
    assert 'data-phrases-for="opinion"' in html
    assert 'data-phrase="材料齐全，符合备案条件，同意上报市级审核。"' in html


# --- item 8: the Art. 7 quota, in principle ------------------------------------------------------------


def file_directly(ctx, serial, occupation="6-31-01-03", kind="social_org"):
    with unit_of_work(ctx) as session:
        row = Institution(credit_code=demo_credit_code(serial), name=f"已备案机构{serial}", kind=kind,
                          jurisdiction_code="341721", status="filed", filing_code=f"S0000340{serial:05d}")
        row.scope.append(ScopeItem(occupation_code=occupation, level="3"))
        session.add(row)


def test_city_sees_how_many_social_organisations_hold_each_requested_occupation(app, people, ctx):
    for serial in (11, 12, 13):
        file_directly(ctx, serial)
    file_directly(ctx, 14, occupation="6-18-02-04")
    file_directly(ctx, 15, kind="enterprise")  # enterprises are not counted (Art. 7)
    submit(people["inst1"], scope=(("6-31-01-03", "4"), ("6-18-02-04", "4")))
    task = forward(people)
    html = Page(app, "city").text(f"/tasks/{task['id']}")
    quota = html[html.index('id="quota"'):html.index("</section>", html.index('id="quota"'))]
    assert re.search(r"6-31-01-03 电工</td><td>3 家</td>\s*<td><span class=\"overdue\">已达名额", quota)
    assert re.search(r"6-18-02-04 焊工</td><td>1 家</td>\s*<td><span class=\"ok\">未达名额", quota)
    assert 'name="over_quota" value="true"' in html  # the reason field is shown
    county_html = Page(app, "county").text("/inbox")
    assert 'id="quota"' not in county_html


def test_fourth_social_org_for_same_occupation_is_approved_only_with_a_written_reason(people, ctx):
    for serial in (11, 12, 13):
        file_directly(ctx, serial)
    started = submit(people["inst1"])
    task = forward(people)
    city = people["city"]
    scope = data_of(city, task)["scope"]
    approve = {"decision": "approve", "opinion": "同意备案", "approved_scope": scope}
    refused = city.complete(task["id"], approve)
    assert refused.status_code == 422
    errors = refused.get_json()["errors"]
    assert "第七条" in errors["approved_scope"] and "已有3家" in errors["approved_scope"]
    assert "须写明理由" in errors["quota_reason"]
    assert city.complete(task["id"], {**approve, "quota_reason": "  "}).status_code == 422

    reason = "该机构为本市唯一具备高压电工实操考场的评价组织，确需超出名额"
    assert city.complete(task["id"], {**approve, "quota_reason": reason}).status_code == 200
    events = city.get(f"/api/cases/{started['instance_id']}/timeline").get_json()["events"]
    decided = [e for e in events if e["action"] == "complete" and e["task_name"] == "city_review"]
    assert decided[-1]["data"]["quota_reason"] == reason  # in the case's record


# --- item 9: what forms and task pages say -------------------------------------------------------------


def test_errors_say_what_is_expected(people):
    institution = people["inst1"]
    started = institution.post("/api/filings").get_json()
    data = application(demo_credit_code(1), NAME, attachment_id=institution.upload(), contact_phone="12345",
                       theory_seats="四十", office_area_m2="八十", has_video_monitoring="是")
    errors = institution.complete(started["task_id"], data).get_json()["errors"]
    assert errors["contact_phone"] == "请填写11位手机号或带区号的固定电话（如0566-1234567）"
    assert errors["theory_seats"] == "请填写整数" and errors["office_area_m2"] == "请填写数字"
    assert errors["has_video_monitoring"] == "请选择“是”或“否”"


def test_a_bad_scope_row_marks_that_row_only(app, people):
    institution = Page(app, "inst1")
    task_url = institution.form("/filings", {}, page="/filings").headers["Location"]
    typed = {"action": "complete", "name": NAME, "credit_code": demo_credit_code(1), "kind": "social_org",
             "scope-0-occupation_code": "6-31-01-03", "scope-0-level": "4", "scope-0-assessors": "6",
             "scope-1-occupation_code": "4-07-05-01", "scope-1-level": "4", "scope-1-assessors": "6"}
    # the scope is checked once the rest is valid: fill it from a valid application
    valid = application(demo_credit_code(1), NAME, attachment_id=people["inst1"].upload())
    for key, value in valid.items():
        if not isinstance(value, list):
            typed.setdefault(key, "true" if value is True else "false" if value is False else str(value))
    body = institution.form(task_url, typed, page=task_url).get_data(as_text=True)
    rows = re.findall(r'<tr class="([^"]*)">\s*<td', body[body.index('id="table-scope"'):])[:2]
    assert rows == ["", "has-error"]  # the access-type row, not the electrician's
    assert "准入类" in body
    scope_field = re.search(r'<div class="field ([^"]*)"[^>]*>\s*<label class="label" for="scope"', body)
    assert "has-error" not in scope_field.group(1)  # the table as a whole is not red


def test_site_use_years_is_required_only_when_the_site_is_not_owned(people):
    institution, county = people["inst1"], people["county"]
    started = institution.post("/api/filings").get_json()
    attachment = institution.upload()
    rented = application(demo_credit_code(1), NAME, attachment_id=attachment, site_owned=False)
    del rented["site_use_years"]
    refused = institution.complete(started["task_id"], rented)
    assert refused.status_code == 422 and refused.get_json()["errors"] == {"site_use_years": "此项必填"}
    owned = application(demo_credit_code(1), NAME, attachment_id=attachment, site_owned=True)
    del owned["site_use_years"]
    assert institution.complete(started["task_id"], owned).status_code == 200
    assert county.only_task("initial_review")  # the eligibility rules passed it on


def test_institutions_are_not_offered_to_claim_their_own_application(app, people):
    started = people["inst1"].post("/api/filings").get_json()
    page = Page(app, "inst1")
    for html in (page.text(f"/tasks/{started['task_id']}"), page.text("/inbox")):
        assert "签收" not in html
    assert "签收" in Page(app, "county").text("/inbox")  # staff still claim


def test_a_done_task_says_so_once(app, people):
    submit(people["inst1"])
    task = people["county"].only_task("initial_review")
    forward(people)
    html = Page(app, "county").text(f"/tasks/{task['id']}")
    assert "该任务已办（" in html and "已已办" not in html


def test_case_facts_show_times_without_iso_text(app, people, clock):
    institution, county, city = people["inst1"], people["county"], people["city"]
    submit(institution)
    task = forward(people)
    scope = data_of(city, task)["scope"]
    city.complete(task["id"], {"decision": "approve", "opinion": "同意", "approved_scope": scope})
    clock.set(datetime(2024, 9, 27, 10, 0))
    county.complete(county.only_task("publish_notice")["id"], {"opinion": "同意公示"})
    notice = institution.get("/api/public/notices").get_json()["items"][0]
    object_to(institution, notice)
    html = Page(app, "county").text(f"/tasks/{county.only_task('investigate_objection')['id']}")
    assert "<dt>公示截止时间</dt><dd>2024-10-11 00:00</dd>" in html
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", html)


def test_review_page_shows_the_facts_of_the_institutions_kind_and_no_decision_internals(app, people):
    submit(people["inst3"], serial=3, name="池州市技工学校", kind="school", scope=(("6-31-01-03", "3"),))
    html = Page(app, "county").text(f"/tasks/{people['county'].only_task('initial_review')['id']}")
    facts = html[html.index('<dl class="facts">'):html.index("</dl>")]
    assert "办学层次可认定的最高等级" in facts and "面向本校学生（学员）开展认定" in facts
    for other_kind in ("大中型企业", "办公用房面积", "具有独立法人资格", "场地使用权剩余年限"):
        assert other_kind not in facts
    for internal in ("申请的最高等级序号", "每个职业等级最少自有持证考评人员数", "申请职业（工种）数"):
        assert internal not in facts


# --- item 18: lengths the columns hold -------------------------------------------------------------------


def test_values_longer_than_their_columns_are_field_errors(people):
    institution = people["inst1"]
    started = institution.post("/api/filings").get_json()
    data = application(demo_credit_code(1), NAME, attachment_id=institution.upload(), address="长" * 301,
                       legal_representative="张" * 51, contact_name="李" * 51)
    response = institution.complete(started["task_id"], data)
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert errors["address"] == "不超过300个字（现有301个字）"
    assert errors["legal_representative"].startswith("不超过50个字")
    assert errors["contact_name"].startswith("不超过50个字")


# --- item 7: uploads, refused submits, too large a request -------------------------------------------------


def test_a_refused_submit_is_kept_as_a_draft(app, people):
    institution = Page(app, "inst1")
    task_url = institution.form("/filings", {}, page="/filings").headers["Location"]
    response = institution.form(task_url, {"action": "complete", "address": "池州市贵池区秋浦西路88号",
                                           "contact_phone": "12345"}, page=task_url)
    assert response.status_code == 422 and "均已保留" in response.get_data(as_text=True)
    reloaded = institution.text(task_url)  # a reload, or coming back tomorrow
    assert 'value="池州市贵池区秋浦西路88号"' in reloaded and 'value="12345"' in reloaded


def test_one_file_is_limited_to_20_mb_and_the_refusal_says_so(people):
    institution = people["inst1"]
    response = post_files(institution.client, "/api/attachments", {"file": pdf(15)}, institution.headers)
    assert response.status_code == 201
    response = post_files(institution.client, "/api/attachments", {"file": pdf(22)}, institution.headers)
    assert response.status_code == 413 and "单个文件不超过20MB" in response.get_json()["message"]


def test_files_posted_with_the_form_without_javascript_are_stored(app, people):
    institution = Page(app, "inst1")
    task_url = institution.form("/filings", {}, page="/filings").headers["Location"]
    files = {f"{name}__file": pdf(6, f"{name}.pdf")
             for name in ("material_plan", "material_experts", "material_assets", "material_licence")}
    response = post_files(institution.client, task_url, {
        "csrf_token": institution.token(task_url), "action": "draft", "address": "草稿地址", **files})
    assert response.status_code == 302  # 24 MB in one request: more than one file's limit, still taken
    body = institution.text(task_url)
    assert "material_plan.pdf" in body and "material_assets.pdf" in body


def test_too_large_a_form_comes_back_to_the_form_naming_the_limit(app, people, monkeypatch):
    monkeypatch.setattr(work, "LARGEST_TASK_FORM", 1024 * 1024)
    institution = Page(app, "inst1")
    task_url = institution.form("/filings", {}, page="/filings").headers["Location"]
    response = post_files(institution.client, task_url, {
        "csrf_token": institution.token(task_url), "action": "complete", "material_plan__file": pdf(2)})
    assert response.status_code == 303 and response.headers["Location"].endswith(task_url)
    page = institution.text(task_url)
    assert "单个文件不超过20MB" in page and 'id="task-form"' in page  # the form, not a dead end

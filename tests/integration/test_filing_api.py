"""The whole filing (Art. 7–10) through the API, as the institution, county, city and the
public would do it, with the clock moved across the 2024 National Day holiday."""
from __future__ import annotations

import re
from datetime import datetime

import pytest
from sqlalchemy import select

from service.store.models import Institution, Timer
from service.usecases.audit import verify_chain
from service.usecases.context import unit_of_work
from service.usecases.timers import fire_due_timers
from tests.helpers import Api, application, demo_credit_code, make_institution, make_staff


@pytest.fixture
def people(app, ctx):
    make_staff(ctx)
    make_institution(ctx)
    return {name: Api(app, name) for name in ("inst1", "county", "county_dz", "city")}


def submit_application(api, **overrides):
    started = api.post("/api/filings")
    assert started.status_code == 201, started.get_json()
    attachment = api.upload()
    data = application(demo_credit_code(1), "池州市职业技能培训评价中心", attachment_id=attachment, **overrides)
    return started.get_json(), data, api.complete(started.get_json()["task_id"], data)


def forward_and_approve(people):
    county, city = people["county"], people["city"]
    review = county.only_task("initial_review")
    assert county.complete(review["id"], {"decision": "forward", "opinion": "材料齐全，同意上报"}).status_code == 200
    task = city.only_task("city_review")
    scope = city.get(f"/api/tasks/{task['id']}").get_json()["data"]["scope"]
    response = city.complete(task["id"], {"decision": "approve", "opinion": "同意备案", "approved_scope": scope})
    assert response.status_code == 200, response.get_json()


def test_filing_goes_from_application_to_receipt_across_national_day(people, ctx, clock):
    institution, county, city = people["inst1"], people["county"], people["city"]
    started, _, response = submit_application(institution)
    assert response.status_code == 200, response.get_json()
    forward_and_approve(people)

    clock.set(datetime(2024, 9, 27, 10, 0))  # Art. 7: the county publishes on a Friday before the holiday
    publish = county.only_task("publish_notice")
    assert county.complete(publish["id"], {"opinion": "同意公示"}).status_code == 200
    notices = institution.get("/api/public/notices").get_json()["items"]
    assert [n["institution"] for n in notices] == ["池州市职业技能培训评价中心"]
    # 5 working days: Sun 29 Sep (make-up day), 30 Sep, 8, 9 and 10 Oct; closes when 10 Oct ends
    assert notices[0]["closes_at"] == "2024-10-11T00:00:00"

    clock.set(datetime(2024, 10, 5, 12, 0))  # in the middle of the holiday: still open
    assert fire_due_timers(ctx).fired == 0
    assert len(institution.get("/api/public/notices").get_json()["items"]) == 1
    assert city.open_tasks() == []
    assert institution.get(f"/api/filings/{started['filing_id']}/receipt").status_code == 404
    assert institution.get("/api/public/institutions").get_json()["items"] == []

    clock.set(datetime(2024, 10, 10, 23, 59))  # the 5th working day is not over yet
    assert fire_due_timers(ctx).fired == 0

    clock.set(datetime(2024, 10, 11, 0, 0))
    assert fire_due_timers(ctx).fired == 1
    assert institution.get("/api/public/notices").get_json()["items"] == []
    assign = city.only_task("assign_code")
    assert city.complete(assign["id"], {"opinion": "同意赋码，出具备案回执"}).status_code == 200

    receipt = institution.get(f"/api/filings/{started['filing_id']}/receipt").get_json()
    assert receipt["filing_code"] == "S000034170001"
    assert receipt["valid_from"] == "2024-10-11" and receipt["valid_until"] == "2027-10-10"
    assert receipt["pilot_until"] == "2025-10-10"
    assert [(s["occupation_code"], s["level"]) for s in receipt["scope"]] == [("6-31-01-03", "4")]
    page = institution.get(f"/filings/{started['filing_id']}/receipt")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "S000034170001" in html and "电工" in html and "四级/中级工" in html and "2027-10-10" in html
    assert people["county_dz"].get(f"/filings/{started['filing_id']}/receipt").status_code == 404
    listed = institution.get("/api/public/institutions?occupation=电工").get_json()["items"]
    assert [(i["name"], i["status"]) for i in listed] == [("池州市职业技能培训评价中心", "filed_pilot")]

    timeline = institution.get(f"/api/cases/{started['instance_id']}/timeline").get_json()
    assert timeline["status"] == "completed"
    opinions = [e["opinion"] for e in timeline["events"] if e["opinion"]]
    assert opinions == ["材料齐全，同意上报", "同意备案", "同意公示", "同意赋码，出具备案回执"]
    record = institution.get(f"/cases/{started['instance_id']}/record").get_data(as_text=True)
    assert "材料齐全，同意上报" in record and "规则判定" in record and "上报省中心" in record
    assert people["county_dz"].get(f"/cases/{started['instance_id']}/record").status_code == 404
    with unit_of_work(ctx) as session:
        assert verify_chain(session) is None


def test_objection_during_notice_is_investigated_and_upheld_rejects(people, ctx, clock):
    institution, county = people["inst1"], people["county"]
    public = county.client.application.test_client()
    started, _, _ = submit_application(institution)
    forward_and_approve(people)
    clock.set(datetime(2024, 9, 27, 10, 0))
    county.complete(county.only_task("publish_notice")["id"], {"opinion": "同意公示"})
    notice = public.get("/api/public/notices").get_json()["items"][0]

    empty = public.post(f"/api/public/notices/{notice['id']}/objections", json={"name": "", "content": "短"})
    assert empty.status_code == 422 and set(empty.get_json()["errors"]) == {"name", "contact", "content"}
    clock.set(datetime(2024, 9, 30, 9, 0))
    response = public.post(f"/api/public/notices/{notice['id']}/objections",
                           json={"name": "王五", "contact": "13900000000",
                                 "content": "该机构理论考试场地实际不足60平方米，与申报不符。"})
    assert response.status_code == 201, response.get_json()

    investigate = county.only_task("investigate_objection")
    response = county.complete(investigate["id"], {"finding": "upheld", "opinion": "经现场核查，异议属实"})
    assert response.status_code == 200, response.get_json()
    with unit_of_work(ctx) as session:
        row = session.scalar(select(Institution))
        assert row.status == "draft" and row.filing_code is None
        assert session.scalars(select(Timer.state)).all() == ["cancelled"]
    assert institution.get(f"/api/filings/{started['filing_id']}/receipt").status_code == 404
    assert institution.get("/api/public/institutions").get_json()["items"] == []


def test_objection_after_notice_closed_is_refused(people, ctx, clock):
    institution, county = people["inst1"], people["county"]
    submit_application(institution)
    forward_and_approve(people)
    clock.set(datetime(2024, 9, 27, 10, 0))
    county.complete(county.only_task("publish_notice")["id"], {"opinion": "同意公示"})
    notice_id = institution.get("/api/public/notices").get_json()["items"][0]["id"]
    clock.set(datetime(2024, 10, 11, 8, 0))
    response = institution.client.post(f"/api/public/notices/{notice_id}/objections",
                                       json={"name": "王五", "contact": "139", "content": "迟到的异议内容十个字以上"})
    assert response.status_code == 409


def test_county_rejection_ends_the_filing(people, ctx):
    institution, county = people["inst1"], people["county"]
    started, _, _ = submit_application(institution)
    review = county.only_task("initial_review")
    response = county.complete(review["id"], {"decision": "reject", "opinion": "机构不具备独立法人资格"})
    assert response.status_code == 200
    timeline = institution.get(f"/api/cases/{started['instance_id']}/timeline").get_json()
    assert timeline["status"] == "completed" and timeline["next"] == []
    assert institution.open_tasks() == []


def test_return_for_correction_keeps_the_data(people):
    institution, county = people["inst1"], people["county"]
    _, data, _ = submit_application(institution, address="池州市贵池区秋浦西路88号")
    review = county.only_task("initial_review")
    response = county.complete(review["id"], {"decision": "correction", "opinion": "请补充场地租赁协议"})
    assert response.status_code == 200
    again = institution.only_task("submit_application")
    kept = institution.get(f"/api/tasks/{again['id']}").get_json()["data"]
    assert kept["address"] == "池州市贵池区秋浦西路88号"
    assert kept["scope"] == data["scope"]
    assert kept["opinion"] == "请补充场地租赁协议"  # the county's reason is shown to the institution
    assert institution.complete(again["id"], kept).status_code == 200
    assert county.only_task("initial_review")


def test_reviewer_must_write_an_opinion(people):
    institution, county = people["inst1"], people["county"]
    submit_application(institution)
    review = county.only_task("initial_review")
    response = county.complete(review["id"], {"decision": "forward"})
    assert response.status_code == 422
    assert "opinion" in response.get_json()["errors"]


def test_unmet_art8_conditions_come_back_to_the_institution_with_their_articles(people):
    institution = people["inst1"]
    _, _, response = submit_application(institution, office_area_m2=30, theory_seats=20)
    assert response.status_code == 200
    again = institution.only_task("submit_application")
    unmet = institution.get(f"/api/tasks/{again['id']}").get_json()["data"]["unmet"]
    assert len(unmet) == 2
    assert all(u.startswith("第八条") for u in unmet)
    assert any("50平方米" in u for u in unmet) and any("30" in u for u in unmet)
    assert people["county"].open_tasks() == []
    events = institution.get(f"/api/cases/{again['instance_id']}/timeline").get_json()["events"]
    assert [(e["action"], e["task_name"]) for e in events][-5:] == [
        ("complete", "submit_application"), ("service", "record_application"), ("decision", "eligibility_social_org"),
        ("service", "conclude_review"), ("service", "return_unmet")]
    assert events[-3]["data"]["unmet"] == unmet and events[-3]["actor_name"] == "系统"


def test_access_type_occupation_is_refused_at_submission(people):
    institution = people["inst1"]
    started = institution.post("/api/filings").get_json()
    access_type = "4-07-05-01"  # in the 2021 national vocational qualification directory
    data = application(demo_credit_code(1), "机构", attachment_id=institution.upload(),
                       scope=((access_type, "4"),))
    response = institution.complete(started["task_id"], data)
    assert response.status_code == 422
    assert "准入" in response.get_json()["errors"]["scope/0"]


def test_wrong_credit_code_is_refused_and_named(people):
    institution = people["inst1"]
    started = institution.post("/api/filings").get_json()
    code = demo_credit_code(1)
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    data = application(wrong, "机构", attachment_id=institution.upload())
    response = institution.complete(started["task_id"], data)
    assert response.status_code == 422
    assert "校验码" in response.get_json()["errors"]["credit_code"]
    # nothing typed is lost: the task is still open with its data
    assert institution.only_task("submit_application")["id"] == started["task_id"]


def test_county_of_another_jurisdiction_sees_nothing_and_can_do_nothing(people):
    institution, county, other = people["inst1"], people["county"], people["county_dz"]
    started, _, _ = submit_application(institution)
    review = county.only_task("initial_review")
    assert other.open_tasks() == []
    assert other.get(f"/api/tasks/{review['id']}").status_code == 404
    assert other.post(f"/api/tasks/{review['id']}/claim").status_code == 404
    assert other.complete(review["id"], {"decision": "reject", "opinion": "越权操作"}).status_code == 404
    assert other.get(f"/api/cases/{started['instance_id']}/timeline").status_code == 404
    assert county.only_task("initial_review")["state"] == "open"


def test_second_completion_of_the_same_task_is_a_clear_conflict(people):
    institution, county = people["inst1"], people["county"]
    submit_application(institution)
    review = county.only_task("initial_review")
    assert county.complete(review["id"], {"decision": "forward", "opinion": "同意上报"}).status_code == 200
    again = county.complete(review["id"], {"decision": "forward", "opinion": "同意上报"})
    assert again.status_code == 409
    assert "已由" in again.get_json()["message"]


def test_claimed_task_cannot_be_completed_by_a_colleague(app, ctx, people):
    from service.usecases import accounts
    accounts.create_user(ctx, "county2", "secret-pass-1", "贵池区另一审核员", "county", jurisdiction_code="341702")
    colleague = Api(app, "county2")
    submit_application(people["inst1"])
    review = people["county"].only_task("initial_review")
    assert people["county"].post(f"/api/tasks/{review['id']}/claim").status_code == 200
    response = colleague.complete(review["id"], {"decision": "forward", "opinion": "同意上报"})
    assert response.status_code == 409 and "签收" in response.get_json()["message"]


def test_city_returns_the_case_to_the_county_by_its_decision_only(people):
    institution, county, city = people["inst1"], people["county"], people["city"]
    submit_application(institution)
    county.complete(county.only_task("initial_review")["id"], {"decision": "forward", "opinion": "同意上报"})
    task = city.only_task("city_review")
    # one way back: the decision the model draws (退回县区), no second door beside it
    assert city.post(f"/api/tasks/{task['id']}/return", json={"to": "initial_review", "opinion": "请核实场地"}
                     ).status_code == 404
    assert city.complete(task["id"], {"decision": "return"}).status_code == 422  # the opinion says why
    response = city.complete(task["id"], {"decision": "return", "opinion": "请核实场地"})
    assert response.status_code == 200
    again = county.get(f"/api/tasks/{county.only_task('initial_review')['id']}").get_json()["data"]
    assert again["previous_opinion"] == "请核实场地"  # the city's reason, shown to the county read-only
    assert "decision" not in again and "opinion" not in again  # the county decides afresh
    assert city.open_tasks() == []


def test_openapi_document_lists_the_endpoints(app):
    spec = app.test_client().get("/api/openapi.json").get_json()
    assert "/api/tasks/{task_id}/complete" in spec["paths"]
    assert "InboxOut" in spec["components"]["schemas"]


ARRANGEMENT_2027 = """2027-01-01 休
2027-02-06..2027-02-13 休
2027-02-14 班
"""


def test_notice_crossing_into_a_year_without_calendar_data_is_refused_until_an_analyst_enters_it(
        app, people, clock):
    institution, county = people["inst1"], people["county"]
    submit_application(institution)
    forward_and_approve(people)
    clock.set(datetime(2026, 12, 28, 10, 0))  # five working days later is in 2027
    publish = county.only_task("publish_notice")
    response = county.complete(publish["id"], {"opinion": "同意公示"})
    assert response.status_code == 409
    assert "2027年的法定节假日安排尚未录入" in response.get_json()["message"]
    assert county.only_task("publish_notice")["id"] == publish["id"]  # nothing lost, still open

    analyst = Api(app, "analyst")
    assert county.client.put("/api/admin/calendar/2027", json={"text": ARRANGEMENT_2027},
                             headers=county.headers).status_code == 403
    bad = analyst.client.put("/api/admin/calendar/2027", json={"text": "2027-13-01 休"}, headers=analyst.headers)
    assert bad.status_code == 422 and "第1行" in bad.get_json()["message"]
    ok = analyst.client.put("/api/admin/calendar/2027", json={"text": ARRANGEMENT_2027}, headers=analyst.headers)
    assert ok.status_code == 200, ok.get_json()

    assert county.complete(publish["id"], {"opinion": "同意公示"}).status_code == 200
    notice = institution.get("/api/public/notices").get_json()["items"][0]
    # 29, 30, 31 Dec, (1 Jan holiday), 4 and 5 Jan 2027
    assert notice["closes_at"] == "2027-01-06T00:00:00"


def test_training_clock_is_moved_only_by_analysts_and_never_with_the_system_clock(app, people):
    analyst = Api(app, "analyst")
    refused = analyst.post("/api/admin/clock", json={"advance_days": 3})
    assert refused.status_code == 403 and "真实时钟" in refused.get_json()["message"]


def file_directly(ctx, serial, occupation="6-31-01-03", kind="social_org"):
    """An institution already filed for `occupation` (as a migrated filing would be)."""
    from service.store.models import ScopeItem
    with unit_of_work(ctx) as session:
        row = Institution(credit_code=demo_credit_code(serial), name=f"已备案机构{serial}", kind=kind,
                          jurisdiction_code="341721", status="filed", filing_code=f"S0000340{serial:05d}")
        row.scope.append(ScopeItem(occupation_code=occupation, level="3"))
        session.add(row)


def test_fourth_social_org_for_same_occupation_is_refused(people, ctx):
    for serial in (11, 12, 13):  # Art. 7: three social organisations already hold 电工, city-wide
        file_directly(ctx, serial)
    file_directly(ctx, 14, kind="enterprise")  # enterprises do not count towards the quota
    institution, county, city = people["inst1"], people["county"], people["city"]
    submit_application(institution, scope=(("6-31-01-03", "4"), ("6-18-02-04", "4")))
    county.complete(county.only_task("initial_review")["id"], {"decision": "forward", "opinion": "同意上报"})
    task = city.only_task("city_review")
    scope = city.get(f"/api/tasks/{task['id']}").get_json()["data"]["scope"]
    refused = city.complete(task["id"], {"decision": "approve", "opinion": "同意", "approved_scope": scope})
    assert refused.status_code == 422
    message = refused.get_json()["errors"]["approved_scope"]
    assert "第七条" in message and "6-31-01-03" in message and "6-18-02-04" not in message

    reduced = [s for s in scope if s["occupation_code"] != "6-31-01-03"]
    response = city.complete(task["id"], {"decision": "approve", "opinion": "核减电工后同意",
                                          "approved_scope": reduced})
    assert response.status_code == 200
    county.complete(county.only_task("publish_notice")["id"], {"opinion": "同意公示"})
    notice = institution.get("/api/public/notices").get_json()["items"][0]
    assert [s["occupation_code"] for s in notice["scope"]] == ["6-18-02-04"]


def test_city_cannot_approve_more_than_was_requested(people):
    institution, county, city = people["inst1"], people["county"], people["city"]
    submit_application(institution)
    county.complete(county.only_task("initial_review")["id"], {"decision": "forward", "opinion": "同意上报"})
    task = city.only_task("city_review")
    wider = [{"occupation_code": "6-31-01-03", "level": "4", "assessors": 6},
             {"occupation_code": "6-18-02-04", "level": "4", "assessors": 6}]
    refused = city.complete(task["id"], {"decision": "approve", "opinion": "同意", "approved_scope": wider})
    assert refused.status_code == 422 and "超出申请范围" in refused.get_json()["errors"]["approved_scope"]


def test_draft_is_kept_without_submitting(people):
    institution = people["inst1"]
    started = institution.post("/api/filings").get_json()
    typed = {"name": "池州市职业技能培训评价中心", "address": "池州市贵池区百牙中路", "credit_code": "写了一半",
             "filing_id": 999}
    response = institution.client.put(f"/api/tasks/{started['task_id']}/draft", json={"data": typed},
                                      headers=institution.headers)
    assert response.status_code == 200
    kept = institution.get(f"/api/tasks/{started['task_id']}").get_json()["data"]
    assert kept["address"] == "池州市贵池区百牙中路" and kept["credit_code"] == "写了一半"
    assert kept["filing_id"] == started["filing_id"]  # case data cannot be overwritten from a form
    assert people["county"].open_tasks() == []


def test_attachments_are_seen_by_their_institution_and_its_county_only(app, ctx, people):
    institution, county, other = people["inst1"], people["county"], people["county_dz"]
    attachment = institution.upload(b"%PDF-1.4 licence", "营业执照.pdf")
    make_institution(ctx, serial=2, name="另一机构")
    stranger = Api(app, "inst2")
    assert institution.get(f"/api/attachments/{attachment}").data == b"%PDF-1.4 licence"
    assert stranger.get(f"/api/attachments/{attachment}").status_code == 404
    assert other.get(f"/api/attachments/{attachment}").status_code == 404
    assert county.get(f"/api/attachments/{attachment}").status_code == 200
    refused = institution.client.post("/api/attachments", headers=institution.headers,
                                      content_type="multipart/form-data",
                                      data={"file": (__import__("io").BytesIO(b"MZ"), "virus.exe",
                                                     "application/octet-stream")})
    assert refused.status_code == 422 and "PDF" in refused.get_json()["errors"]["file"]
    disguised = institution.client.post("/api/attachments", headers=institution.headers,
                                        content_type="multipart/form-data",
                                        data={"file": (__import__("io").BytesIO(b"MZ\x90"), "licence.pdf",
                                                       "application/pdf")})
    assert disguised.status_code == 422 and "不符" in disguised.get_json()["errors"]["file"]


def test_county_sees_the_objections_it_investigates_and_the_institution_its_filings(people, ctx, clock):
    institution, county, other = people["inst1"], people["county"], people["county_dz"]
    started, _, _ = submit_application(institution)
    forward_and_approve(people)
    clock.set(datetime(2024, 9, 27, 10, 0))
    county.complete(county.only_task("publish_notice")["id"], {"opinion": "同意公示"})
    notice_id = institution.get("/api/public/notices").get_json()["items"][0]["id"]
    objection = {"name": "王五", "contact": "13900000000", "content": "该机构实际考位不足30个，申报不实。"}
    institution.client.post(f"/api/public/notices/{notice_id}/objections", json=objection)
    task = county.only_task("investigate_objection")
    filing_id = county.get(f"/api/tasks/{task['id']}").get_json()["data"]["filing_id"]
    detail = county.get(f"/api/filings/{filing_id}").get_json()
    assert [o["content"] for o in detail["objections"]] == ["该机构实际考位不足30个，申报不实。"]
    assert detail["instance_id"] == started["instance_id"]
    assert other.get(f"/api/filings/{filing_id}").status_code == 404
    own = institution.get(f"/api/filings/{filing_id}").get_json()
    assert own["objections"] == []  # objectors' names and contacts are not shown to the institution
    assert [(f["id"], f["status"]) for f in institution.get("/api/filings").get_json()["items"]] == \
        [(filing_id, "notice")]
    assert other.get("/api/filings").get_json()["items"] == []


def test_county_review_shows_its_deadline_in_working_days(app, people, clock):
    submit_application(people["inst1"])  # Monday 2 Sep 2024
    county = people["county"]
    task = county.only_task("initial_review")
    assert task["due_at"] == "2024-09-10T00:00:00"  # 承诺时限 5 working days: 3–6 and 9 Sep
    clock.set(datetime(2024, 9, 5, 10, 0))
    assert "剩余2个工作日" in county.get("/inbox").get_data(as_text=True)  # 6 and 9 Sep left after today
    clock.set(datetime(2024, 9, 10, 9, 0))
    assert [t["name"] for t in county.open_tasks(due="overdue")] == ["initial_review"]


def test_a_pdf_or_image_is_previewed_in_the_browser_and_office_files_are_downloaded(app, people):
    institution, county = people["inst1"], people["county"]
    submit_application(institution)  # its materials: one PDF (Api.upload)
    task = county.only_task("initial_review")
    page = county.get(f"/tasks/{task['id']}").get_data(as_text=True)
    [preview] = set(re.findall(r'href="(/api/attachments/\d+\?inline=1)"[^>]*>预览', page))
    shown = county.get(preview)
    assert shown.status_code == 200 and shown.headers["Content-Type"] == "application/pdf"
    assert shown.headers["Content-Disposition"].startswith("inline")
    assert shown.headers["X-Content-Type-Options"] == "nosniff"
    sheet = institution.upload(b"PK\x03\x04 xlsx", "名单.xlsx",
                               "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    kept = institution.get(f"/api/attachments/{sheet}?inline=1")
    assert kept.headers["Content-Disposition"].startswith("attachment")  # never shown in the page
    assert people["county_dz"].get(preview).status_code == 404
    case = county.get(f"/cases/{task['instance_id']}").get_data(as_text=True)  # the case page lists its files
    files = case[case.index('id="files"'):]
    assert "材料.pdf" in files and preview in files and "（填写并提交备案申请）" in files

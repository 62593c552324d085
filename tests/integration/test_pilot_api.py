"""The one-year pilot (认定试点, Art. 7) through the API: a filing completed on 2025-03-03 starts
it, the city evaluates it when the year is over, the province re-reviews a recommendation;
institutions record their filings in other cities. The clock is moved, nothing sleeps."""
from __future__ import annotations

import re
from datetime import datetime

import pytest
from sqlalchemy import select

from service.store.models import Institution, Notification, ProcessInstance, Revocation, ScopeItem, User
from service.usecases import accounts
from service.usecases.audit import verify_chain
from service.usecases.context import unit_of_work
from service.usecases.timers import fire_due_timers
from tests.helpers import PASSWORD, Api, application, demo_credit_code, make_institution, make_staff

NAME = "池州市职业技能培训评价中心"


@pytest.fixture
def people(app, ctx):
    make_staff(ctx)
    accounts.create_user(ctx, "province", PASSWORD, "省技能人才管理服务中心复核员", "province")
    make_institution(ctx)
    return {name: Api(app, name) for name in ("inst1", "county", "city", "province")}


def filed_on_3_march_2025(people, ctx, clock) -> int:
    """The whole filing through the API; the city issues the receipt on Mon 3 March 2025."""
    institution, county, city = people["inst1"], people["county"], people["city"]
    clock.set(datetime(2025, 2, 17, 9, 0))
    started = institution.post("/api/filings").get_json()
    data = application(demo_credit_code(1), NAME, attachment_id=institution.upload())
    assert institution.complete(started["task_id"], data).status_code == 200
    assert county.complete(county.only_task("initial_review")["id"],
                           {"decision": "forward", "opinion": "材料齐全，同意上报"}).status_code == 200
    task = city.only_task("city_review")
    scope = city.get(f"/api/tasks/{task['id']}").get_json()["data"]["scope"]
    assert city.complete(task["id"], {"decision": "approve", "opinion": "同意备案",
                                      "approved_scope": scope}).status_code == 200
    clock.set(datetime(2025, 2, 21, 10, 0))  # 5 working days: 24–28 Feb; the notice closes 1 March
    assert county.complete(county.only_task("publish_notice")["id"], {"opinion": "同意公示"}).status_code == 200
    clock.set(datetime(2025, 3, 3, 9, 0))
    assert fire_due_timers(ctx).fired == 1
    response = city.complete(city.only_task("assign_code")["id"], {"opinion": "同意赋码，出具备案回执"})
    assert response.status_code == 200, response.get_json()
    receipt = institution.get(f"/api/filings/{started['filing_id']}/receipt").get_json()
    assert (receipt["valid_from"], receipt["pilot_until"]) == ("2025-03-03", "2026-03-02")
    return institution.user["institution_id"]


def review_pilot(people, clock, ctx, **data):
    clock.set(datetime(2026, 3, 3, 9, 0))
    assert fire_due_timers(ctx).fired == 1
    city = people["city"]
    response = city.complete(city.only_task("pilot_review")["id"], data)
    assert response.status_code == 200, response.get_json()


def listed(api):
    items = api.get("/api/public/institutions").get_json()["items"]
    return [(i["name"], i["status"], i["is_province_wide"]) for i in items]


def messages(ctx, institution_id):
    with unit_of_work(ctx) as session:
        return list(session.scalars(select(Notification.title).join(User, User.id == Notification.user_id)
                                    .where(User.institution_id == institution_id).order_by(Notification.id)))


def test_pilot_review_reaches_the_city_one_year_after_filing(people, ctx, clock):
    institution_id = filed_on_3_march_2025(people, ctx, clock)
    city = people["city"]
    with unit_of_work(ctx) as session:
        pilot = session.scalar(select(ProcessInstance).where(ProcessInstance.business_key == f"pilot:{institution_id}"))
        assert (pilot.process_id, pilot.status, pilot.institution_id) == ("pilot", "running", institution_id)

    clock.set(datetime(2025, 6, 2, 10, 0))  # a complaint during the pilot is among the facts (Art. 19)
    complaint = {"jurisdiction_code": "341702", "institution_id": institution_id, "name": "王五",
                 "contact": "13900000000", "content": "该机构考试现场考评员中途离场，考生互相抄袭。"}
    assert city.client.application.test_client().post("/api/public/complaints", json=complaint).status_code == 201

    clock.set(datetime(2026, 2, 27, 12, 0))
    assert fire_due_timers(ctx).fired == 0
    assert city.open_tasks() == []

    clock.set(datetime(2026, 3, 4, 9, 0))
    assert fire_due_timers(ctx).fired == 1
    task = city.only_task("pilot_review")
    assert task["subject"] == f"{NAME} 认定试点"
    facts = city.get(f"/api/tasks/{task['id']}").get_json()["data"]
    assert facts["pilot_period"] == "2025-03-03 至 2026-03-02"
    assert (facts["batches_run"], facts["certificates_issued"], facts["findings_open"]) == (0, 0, 0)
    assert "系统上线前" in facts["facts_note"]
    assert facts["pilot_scope"] == ["6-31-01-03 电工 · 四级/中级工"]
    assert (facts["complaints_received"], facts["complaints_substantiated"]) == (1, 0)
    page = city.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert "试点期间开展认定批次数" in page and "系统上线前" in page and "2025-03-03 至 2026-03-02" in page
    assert [t["name"] for t in people["county"].open_tasks()] == ["handle_complaint"]
    assert people["inst1"].open_tasks() == [] and people["province"].open_tasks() == []


def test_passed_pilot_makes_the_institution_filed_for_the_rest_of_its_three_years(people, ctx, clock):
    institution_id = filed_on_3_march_2025(people, ctx, clock)
    review_pilot(people, clock, ctx, decision="pass", opinion="试点期间运行规范，同意通过评估")
    assert listed(people["inst1"]) == [(NAME, "filed", False)]
    assert "认定试点评估通过" in messages(ctx, institution_id)
    assert people["province"].open_tasks() == [] and people["city"].open_tasks() == []
    assert "暂无消息" in people["province"].get("/messages").get_data(as_text=True)  # nothing recommended
    with unit_of_work(ctx) as session:
        instance_id = session.scalar(select(ProcessInstance.id).where(ProcessInstance.process_id == "pilot"))
    timeline = people["city"].get(f"/api/cases/{instance_id}/timeline").get_json()
    assert timeline["status"] == "completed"
    assert [e["opinion"] for e in timeline["events"] if e["opinion"]] == ["试点期间运行规范，同意通过评估"]


def test_failed_pilot_revokes_the_filing_and_removes_it_from_the_directory(people, ctx, clock):
    institution_id = filed_on_3_march_2025(people, ctx, clock)
    assert listed(people["inst1"]) == [(NAME, "filed_pilot", False)]
    review_pilot(people, clock, ctx, decision="fail", opinion="试点期间未按规定开展认定，未通过评估")
    assert listed(people["inst1"]) == []
    with unit_of_work(ctx) as session:
        institution = session.get(Institution, institution_id)
        assert institution.status == "revoked"
        assert session.scalars(select(ScopeItem.is_active).where(ScopeItem.institution_id == institution_id)).all() \
            == [False]
        revocation = session.scalar(select(Revocation))
        assert (revocation.institution_id, revocation.ground, revocation.reason) == (
            institution_id, "pilot_failed", "试点期间未按规定开展认定，未通过评估")
        assert session.get(User, revocation.decided_by).username == "city"
        assert verify_chain(session) is None
    assert messages(ctx, institution_id)[-1].startswith("备案已取消：")
    assert people["province"].open_tasks() == []


def test_province_approves_a_recommended_institution_and_the_directory_shows_it_province_wide(people, ctx, clock):
    institution_id = filed_on_3_march_2025(people, ctx, clock)
    review_pilot(people, clock, ctx, decision="pass", recommend_province=True, opinion="运行规范，推荐面向全省")
    province, city = people["province"], people["city"]
    assert city.open_tasks() == []
    task = province.only_task("province_review")
    data = province.get(f"/api/tasks/{task['id']}").get_json()["data"]
    assert data["city_opinion"] == "运行规范，推荐面向全省" and not data.get("opinion")
    assert city.get(f"/api/tasks/{task['id']}").status_code == 404
    assert people["county"].complete(task["id"], {"province_decision": "approve", "opinion": "越权"}).status_code \
        == 404
    assert listed(people["inst1"]) == [(NAME, "filed", False)]

    response = province.complete(task["id"], {"province_decision": "approve", "opinion": "经复核，同意面向全省"})
    assert response.status_code == 200, response.get_json()
    assert listed(people["inst1"]) == [(NAME, "filed", True)]
    directory = people["inst1"].client.get("/directory").get_data(as_text=True)
    assert "面向全省" in directory
    assert messages(ctx, institution_id)[-1] == "通过省级复核，可面向全省开展认定服务"


def test_city_recommendation_tells_the_province_a_re_review_awaits_it(people, ctx, clock):
    filed_on_3_march_2025(people, ctx, clock)
    province = people["province"]
    assert "暂无消息" in province.get("/messages").get_data(as_text=True)
    review_pilot(people, clock, ctx, decision="pass", recommend_province=True, opinion="运行规范，推荐面向全省")
    with unit_of_work(ctx) as session:
        instance_id = session.scalar(select(ProcessInstance.id).where(ProcessInstance.process_id == "pilot"))
    page = province.get("/messages").get_data(as_text=True)
    assert "待您办理：面向全省认定服务复核" in page and NAME in page
    [message] = re.findall(r'href="(/messages/\d+)"', page)
    opened = province.get(message)  # read from now on, and on to the case's step waiting for the province
    assert opened.status_code == 302 and opened.headers["Location"].endswith(f"/cases/{instance_id}/next")
    step = province.get(opened.headers["Location"])
    assert step.status_code == 302 and "/tasks/" in step.headers["Location"]
    assert "未读" not in province.get("/messages").get_data(as_text=True)
    assert province.get(f"/cases/{instance_id}").status_code == 200  # the link opens for the province
    city = people["city"].get("/messages").get_data(as_text=True)
    assert "待您办理：认定试点评估" in city and "面向全省认定服务复核" not in city  # the scheduler's, not its own


def test_province_rejection_keeps_the_institution_city_wide(people, ctx, clock):
    institution_id = filed_on_3_march_2025(people, ctx, clock)
    review_pilot(people, clock, ctx, decision="pass", recommend_province=True, opinion="推荐面向全省")
    province = people["province"]
    task = province.only_task("province_review")
    refused = province.complete(task["id"], {"province_decision": "reject"})
    assert refused.status_code == 422 and "opinion" in refused.get_json()["errors"]
    assert province.complete(task["id"], {"province_decision": "reject",
                                          "opinion": "认定规模尚小，暂不面向全省"}).status_code == 200
    assert listed(people["inst1"]) == [(NAME, "filed", False)]
    assert messages(ctx, institution_id)[-1] == "省级复核未同意面向全省开展认定服务"


def test_province_user_sees_only_province_tasks(people, ctx, clock):
    filed_on_3_march_2025(people, ctx, clock)
    clock.set(datetime(2026, 3, 3, 9, 0))
    fire_due_timers(ctx)
    province, city = people["province"], people["city"]
    task = city.only_task("pilot_review")
    assert province.open_tasks() == []
    assert province.get(f"/api/tasks/{task['id']}").status_code == 404
    assert province.complete(task["id"], {"decision": "pass", "opinion": "越权办理"}).status_code == 404
    assert city.only_task("pilot_review")["state"] == "open"


def test_city_must_decide_and_write_an_opinion(people, ctx, clock):
    filed_on_3_march_2025(people, ctx, clock)
    clock.set(datetime(2026, 3, 3, 9, 0))
    fire_due_timers(ctx)
    city = people["city"]
    task = city.only_task("pilot_review")
    response = city.complete(task["id"], {"recommend_province": True})
    assert response.status_code == 422 and {"decision", "opinion"} <= set(response.get_json()["errors"])
    assert city.only_task("pilot_review")["id"] == task["id"]


def filed_directly(ctx, serial, name, status="filed"):
    institution_id, username = make_institution(ctx, serial=serial, name=name)
    with unit_of_work(ctx) as session:
        session.get(Institution, institution_id).status = status
    return institution_id, username


OTHER_CITY = {"city": "安庆市", "filing_code": "AQ2025-0012", "valid_until": "2027-06-30"}


def test_institution_records_its_filing_in_another_city_and_only_it_sees_it(app, ctx, clock):
    make_staff(ctx)
    own_id, _ = filed_directly(ctx, 1, NAME)
    filed_directly(ctx, 2, "池州安达电气有限公司")
    own, other = Api(app, "inst1"), Api(app, "inst2")
    attachment = own.upload(b"%PDF-1.4 anqing receipt", "安庆市备案回执.pdf")
    response = own.post("/api/institution/other-city-filings", json={**OTHER_CITY, "attachment_id": attachment})
    assert response.status_code == 201, response.get_json()
    items = own.get("/api/institution/other-city-filings").get_json()["items"]
    assert [(i["institution_id"], i["city"], i["filing_code"], i["valid_until"], i["attachment_id"])
            for i in items] == [(own_id, "安庆市", "AQ2025-0012", "2027-06-30", attachment)]
    assert other.get("/api/institution/other-city-filings").get_json()["items"] == []
    assert len(Api(app, "county").get("/api/institution/other-city-filings").get_json()["items"]) == 1
    assert Api(app, "county_dz").get("/api/institution/other-city-filings").get_json()["items"] == []

    # another institution can neither attach this one's file nor record for it
    stolen = other.post("/api/institution/other-city-filings", json={**OTHER_CITY, "attachment_id": attachment})
    assert stolen.status_code == 422 and "附件不存在" in stolen.get_json()["errors"]["attachment_id"]
    assert other.post("/api/institution/other-city-filings", json=OTHER_CITY).status_code == 201
    assert len(own.get("/api/institution/other-city-filings").get_json()["items"]) == 1
    assert Api(app, "city").post("/api/institution/other-city-filings", json=OTHER_CITY).status_code == 403


def test_other_city_filing_is_checked_field_by_field(app, ctx, clock):
    filed_directly(ctx, 1, NAME)
    filed_directly(ctx, 2, "尚未备案的机构", status="draft")
    own = Api(app, "inst1")
    empty = own.post("/api/institution/other-city-filings", json={})
    assert empty.status_code == 422
    assert set(empty.get_json()["errors"]) == {"city", "filing_code", "valid_until"}
    assert "地市" in empty.get_json()["errors"]["city"]
    wrong = own.post("/api/institution/other-city-filings",
                     json={"city": "池州市", "filing_code": "X1", "valid_until": "2027/06/30"})
    assert wrong.get_json()["errors"] == {"city": "本市的备案无需登记为异地备案",
                                          "valid_until": "日期格式应为YYYY-MM-DD，如2027-03-02"}
    expired = own.post("/api/institution/other-city-filings", json={**OTHER_CITY, "valid_until": "2024-09-01"})
    assert "已过有效期" in expired.get_json()["errors"]["valid_until"]
    assert own.post("/api/institution/other-city-filings", json=OTHER_CITY).status_code == 201
    again = own.post("/api/institution/other-city-filings", json=OTHER_CITY)
    assert again.status_code == 422 and "已登记" in again.get_json()["errors"]["filing_code"]
    not_filed = Api(app, "inst2").post("/api/institution/other-city-filings", json=OTHER_CITY)
    assert not_filed.status_code == 403 and "尚未在本市备案" in not_filed.get_json()["message"]

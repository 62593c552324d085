"""Scope change (变更, Art. 7: 动态调整) through the API: a filed institution adds or removes
(occupation, level) pairs, the county and the city review it with the filing's rules and the
Art. 7 quota, and the public directory follows the approved scope."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select, update

from service.store.models import Institution, ScopeChange, ScopeItem
from service.usecases.audit import verify_chain
from service.usecases.context import unit_of_work
from service.usecases.timers import fire_due_timers
from tests.helpers import Api, make_institution, make_staff
from tests.integration.test_filing_api import file_directly, forward_and_approve, submit_application

NAME = "池州市职业技能培训评价中心"
ELECTRICIAN = {"occupation_code": "6-31-01-03", "level": "4", "assessors": 6}  # 电工
WELDER = {"occupation_code": "6-18-02-04", "level": "4", "assessors": 6}  # 焊工


@pytest.fixture
def people(app, ctx):
    make_staff(ctx)
    make_institution(ctx)
    make_institution(ctx, serial=2, name="贵池区另一评价机构")
    return {name: Api(app, name) for name in ("inst1", "inst2", "county", "county_dz", "city", "analyst")}


def file_inst1(people, ctx, clock, scope=(("6-31-01-03", "4"),)):
    """inst1 filed through the whole filing: notice from Tue 3 Sep 2024, receipt on Wed 11 Sep."""
    institution, county, city = people["inst1"], people["county"], people["city"]
    started, _, response = submit_application(institution, scope=scope)
    assert response.status_code == 200, response.get_json()
    forward_and_approve(people)
    clock.set(datetime(2024, 9, 3, 9, 0))
    assert county.complete(county.only_task("publish_notice")["id"], {"opinion": "同意公示"}).status_code == 200
    clock.set(datetime(2024, 9, 11, 9, 0))
    assert fire_due_timers(ctx).fired == 1
    assert city.complete(city.only_task("assign_code")["id"], {"opinion": "同意赋码"}).status_code == 200
    clock.set(datetime(2024, 10, 14, 9, 0))
    return started


def request_change(api, scope, reason="新增焊工职业，已配备持证考评人员和考核工位"):
    started = api.post("/api/scope-changes")
    assert started.status_code == 201, started.get_json()
    started = started.get_json()
    return started, api.complete(started["task_id"], {"scope": scope, "change_reason": reason})


def county_forwards(people):
    county = people["county"]
    response = county.complete(county.only_task("initial_review")["id"],
                               {"decision": "forward", "opinion": "材料齐全，同意上报"})
    assert response.status_code == 200, response.get_json()


def city_decides(people, **decision):
    city = people["city"]
    task = city.only_task("city_review")
    scope = city.get(f"/api/tasks/{task['id']}").get_json()["data"]["scope"]
    return city.complete(task["id"], {"approved_scope": scope, **decision})


def directory(api, occupation):
    return [(i["name"], i["filing_code"]) for i in
            api.get("/api/public/institutions", query_string={"occupation": occupation}).get_json()["items"]]


def test_added_occupation_is_approved_and_appears_in_the_public_directory(people, ctx, clock):
    institution, county = people["inst1"], people["county"]
    file_inst1(people, ctx, clock)
    [before] = institution.get("/api/public/institutions").get_json()["items"]
    assert directory(institution, "焊工") == []

    started = institution.post("/api/scope-changes").get_json()
    form = institution.get(f"/api/tasks/{started['task_id']}").get_json()
    assert form["task"]["name"] == "request_scope_change"
    data = form["data"]  # prefilled: the scope in force with its assessors, the kind, the facts in force
    assert data["scope"] == [ELECTRICIAN] and data["kind"] == "social_org" and data["office_area_m2"] == 80
    response = institution.complete(started["task_id"], {"scope": [ELECTRICIAN, WELDER],
                                                         "change_reason": "新增焊工职业，已配备考评人员"})
    assert response.status_code == 200, response.get_json()

    review = county.only_task("initial_review")
    assert "备案范围变更" in review["subject"]
    seen = county.get(f"/api/tasks/{review['id']}").get_json()["data"]
    assert seen["scope_added"] == ["6-18-02-04 焊工 · 四级/中级工"] and seen["scope_removed"] == []
    assert seen["change_reason"] == "新增焊工职业，已配备考评人员"
    county_forwards(people)
    assert city_decides(people, decision="approve", opinion="同意增加焊工").status_code == 200

    assert directory(institution, "焊工") == [(NAME, before["filing_code"])]
    [after] = institution.get("/api/public/institutions").get_json()["items"]
    assert [(s["occupation_code"], s["level"]) for s in after["scope"]] == [("6-31-01-03", "4"), ("6-18-02-04", "4")]
    assert (after["filing_code"], after["valid_from"], after["valid_until"], after["status"]) == (
        before["filing_code"], before["valid_from"], before["valid_until"], "filed_pilot")  # code and validity stay

    [row] = institution.get("/api/scope-changes").get_json()["items"]
    assert (row["status"], row["reason"], row["opinion"]) == (
        "approved", "新增焊工职业，已配备考评人员", "同意增加焊工")
    assert row["approved_scope"] == [{"occupation_code": "6-18-02-04", "level": "4"},
                                     {"occupation_code": "6-31-01-03", "level": "4"}]
    detail = institution.get(f"/api/scope-changes/{row['id']}").get_json()
    assert detail["added"] == ["6-18-02-04 焊工 · 四级/中级工"] and detail["removed"] == []
    assert "备案范围变更已核准" in institution.get("/messages").get_data(as_text=True)
    timeline = institution.get(f"/api/cases/{started['instance_id']}/timeline").get_json()
    assert timeline["status"] == "completed"
    assert [e["opinion"] for e in timeline["events"] if e["opinion"]] == ["材料齐全，同意上报", "同意增加焊工"]
    assert "scope_changed" in [e["action"] for e in timeline["events"]]
    assert "变更备案范围" in institution.get(f"/cases/{started['instance_id']}/record").get_data(as_text=True)
    with unit_of_work(ctx) as session:
        assert verify_chain(session) is None


def test_removed_occupation_leaves_the_public_directory(people, ctx, clock):
    institution = people["inst1"]
    file_inst1(people, ctx, clock, scope=(("6-31-01-03", "4"), ("6-18-02-04", "4")))
    assert directory(institution, "焊工") != []
    _, response = request_change(institution, [ELECTRICIAN], reason="焊工考核场地到期，申请删除")
    assert response.status_code == 200, response.get_json()
    county = people["county"]
    seen = county.get(f"/api/tasks/{county.only_task('initial_review')['id']}").get_json()["data"]
    assert seen["scope_removed"] == ["6-18-02-04 焊工 · 四级/中级工"] and seen["scope_added"] == []
    county_forwards(people)
    assert city_decides(people, decision="approve", opinion="同意删除焊工").status_code == 200

    assert directory(institution, "焊工") == []
    assert [name for name, _ in directory(institution, "电工")] == [NAME]
    with unit_of_work(ctx) as session:  # kept as a row, no longer in force
        rows = session.execute(select(ScopeItem.occupation_code, ScopeItem.is_active)).all()
        assert sorted(rows) == [("6-18-02-04", False), ("6-31-01-03", True)]


def test_fourth_social_org_for_an_added_occupation_is_refused_by_the_quota_at_city_review(people, ctx, clock):
    institution, city = people["inst1"], people["city"]
    file_inst1(people, ctx, clock)
    for serial in (11, 12, 13):  # Art. 7: three other social organisations already hold 焊工, city-wide
        file_directly(ctx, serial, occupation="6-18-02-04")
    for serial in (21, 22, 23):  # and three hold 电工, which inst1 holds already: not counted again
        file_directly(ctx, serial, occupation="6-31-01-03")
    _, response = request_change(institution, [ELECTRICIAN, WELDER])
    assert response.status_code == 200, response.get_json()
    county_forwards(people)

    refused = city_decides(people, decision="approve", opinion="同意")
    assert refused.status_code == 422
    message = refused.get_json()["errors"]["approved_scope"]
    assert "第七条" in message and "6-18-02-04 焊工" in message and "已有3家" in message
    assert "6-31-01-03" not in message  # the institution's own occupation, and it never counts itself

    response = city.complete(city.only_task("city_review")["id"], {
        "decision": "reject", "opinion": "焊工已有3家社会培训评价组织备案，不予变更"})
    assert response.status_code == 200
    assert directory(institution, "焊工") == [(f"已备案机构{n}", f"S0000340{n:05d}") for n in (11, 12, 13)]
    [row] = institution.get("/api/scope-changes").get_json()["items"]
    assert row["status"] == "rejected" and "3家" in row["opinion"]
    assert "备案范围变更未通过" in institution.get("/messages").get_data(as_text=True)


def test_city_may_approve_a_reduced_change(people, ctx, clock):
    institution = people["inst1"]
    file_inst1(people, ctx, clock)
    senior = {"occupation_code": "6-31-01-03", "level": "3", "assessors": 6}  # 电工 三级 as well
    request_change(institution, [ELECTRICIAN, senior, WELDER])
    county_forwards(people)
    response = city_decides(people, decision="approve", opinion="同意增加电工三级，焊工暂不同意",
                            approved_scope=[ELECTRICIAN, senior])
    assert response.status_code == 200, response.get_json()
    [entry] = institution.get("/api/public/institutions").get_json()["items"]
    assert [(s["occupation_code"], s["level"]) for s in entry["scope"]] == [("6-31-01-03", "4"), ("6-31-01-03", "3")]
    wider = [ELECTRICIAN, {"occupation_code": "6-31-01-03", "level": "2", "assessors": 6}]  # never asked for
    request_change(institution, [ELECTRICIAN, WELDER])
    county_forwards(people)
    refused = city_decides(people, decision="approve", opinion="同意", approved_scope=wider)
    assert refused.status_code == 422 and "超出申请范围" in refused.get_json()["errors"]["approved_scope"]


def test_access_type_occupation_is_refused_at_submission(people, ctx, clock):
    institution = people["inst1"]
    file_inst1(people, ctx, clock)
    guard = {"occupation_code": "4-07-05-01", "level": "4", "assessors": 6}  # 保安员: national qualification list
    started, response = request_change(institution, [ELECTRICIAN, guard], reason="新增保安员")
    assert response.status_code == 422
    assert "准入" in response.get_json()["errors"]["scope/1"]  # the guard's row, not the electrician's
    assert institution.only_task("request_scope_change")["id"] == started["task_id"]  # still open, nothing lost
    assert people["county"].open_tasks() == []


def test_unchanged_scope_is_refused_at_submission(people, ctx, clock):
    institution = people["inst1"]
    file_inst1(people, ctx, clock)
    _, response = request_change(institution, [ELECTRICIAN], reason="没有变化")
    assert response.status_code == 422 and "相同" in response.get_json()["errors"]["scope"]


def test_too_few_assessors_for_an_added_occupation_comes_back_citing_article_8(people, ctx, clock):
    institution = people["inst1"]
    file_inst1(people, ctx, clock)
    _, response = request_change(institution, [ELECTRICIAN, {**WELDER, "assessors": 3}])
    assert response.status_code == 200
    again = institution.only_task("request_scope_change")
    unmet = institution.get(f"/api/tasks/{again['id']}").get_json()["data"]["unmet"]
    assert len(unmet) == 1 and unmet[0].startswith("第八条第四项")
    assert people["county"].open_tasks() == []


def test_county_correction_returns_the_request_and_rejection_changes_nothing(people, ctx, clock):
    institution, county = people["inst1"], people["county"]
    file_inst1(people, ctx, clock)
    request_change(institution, [ELECTRICIAN, WELDER], reason="新增焊工")
    county.complete(county.only_task("initial_review")["id"],
                    {"decision": "correction", "opinion": "请补充焊工工位证明"})
    again = institution.only_task("request_scope_change")
    kept = institution.get(f"/api/tasks/{again['id']}").get_json()["data"]
    assert kept["scope"] == [ELECTRICIAN, WELDER] and kept["opinion"] == "请补充焊工工位证明"
    assert "待您办理：填写变更备案范围申请" in institution.get("/messages").get_data(as_text=True)
    assert institution.complete(again["id"], {"scope": kept["scope"], "change_reason": "新增焊工，已补充证明"}
                                ).status_code == 200
    response = county.complete(county.only_task("initial_review")["id"],
                               {"decision": "reject", "opinion": "焊工考核工位不足"})
    assert response.status_code == 200
    assert directory(institution, "焊工") == []
    [row] = institution.get("/api/scope-changes").get_json()["items"]
    assert (row["status"], row["opinion"], row["reason"]) == ("rejected", "焊工考核工位不足", "新增焊工，已补充证明")


def test_institution_that_is_not_filed_cannot_start_a_scope_change(people, ctx, clock):
    institution = people["inst1"]
    refused = institution.post("/api/scope-changes")  # never filed
    assert refused.status_code == 409 and "已备案" in refused.get_json()["message"]
    file_inst1(people, ctx, clock)
    with unit_of_work(ctx) as session:
        session.execute(update(Institution).where(Institution.name == NAME).values(status="suspended"))
    refused = institution.post("/api/scope-changes")
    assert refused.status_code == 409 and "暂停评价" in refused.get_json()["message"]
    assert people["county"].post("/api/scope-changes").status_code == 403
    assert institution.get("/api/scope-changes").get_json()["items"] == []


def test_scope_change_cannot_start_while_a_filing_or_another_scope_change_is_open(people, ctx, clock):
    institution = people["inst1"]
    file_inst1(people, ctx, clock)
    first = institution.post("/api/scope-changes")
    assert first.status_code == 201
    again = institution.post("/api/scope-changes")
    assert again.status_code == 409 and "办理中的备案范围变更" in again.get_json()["message"]
    filing = institution.post("/api/filings")  # e.g. a renewal; the draft change is still open meanwhile
    assert filing.status_code == 201
    with unit_of_work(ctx) as session:  # once the change is decided, only the filing is open
        session.execute(update(ScopeChange).values(status="rejected"))
    blocked = institution.post("/api/scope-changes")
    assert blocked.status_code == 409 and "办理中的备案申请" in blocked.get_json()["message"]


def test_another_institution_and_another_county_see_nothing(people, ctx, clock):
    institution, other, county, other_county = people["inst1"], people["inst2"], people["county"], people["county_dz"]
    file_inst1(people, ctx, clock)
    started, _ = request_change(institution, [ELECTRICIAN, WELDER])
    review = county.only_task("initial_review")
    [row] = county.get("/api/scope-changes").get_json()["items"]
    for stranger in (other, other_county):
        assert stranger.open_tasks() == []
        assert stranger.get("/api/scope-changes").get_json()["items"] == []
        assert stranger.get(f"/api/scope-changes/{row['id']}").status_code == 404
        assert stranger.get(f"/api/tasks/{review['id']}").status_code == 404
        assert stranger.get(f"/api/cases/{started['instance_id']}/timeline").status_code == 404
    refused = other_county.complete(review["id"], {"decision": "reject", "opinion": "越权操作"})
    assert refused.status_code == 404
    assert people["city"].get("/api/scope-changes").get_json()["items"][0]["id"] == row["id"]


def test_renewal_after_a_scope_change_is_prefilled_with_the_changed_scope(people, ctx, clock):
    institution = people["inst1"]
    file_inst1(people, ctx, clock)  # valid until 10 Sep 2027
    request_change(institution, [ELECTRICIAN, {**WELDER, "assessors": 7}])
    county_forwards(people)
    assert city_decides(people, decision="approve", opinion="同意").status_code == 200

    clock.set(datetime(2027, 6, 12, 0, 0))  # 90 days before the end
    fire_due_timers(ctx)
    task = institution.only_task("submit_application")
    data = institution.get(f"/api/tasks/{task['id']}").get_json()["data"]
    assert data["purpose"] == "renewal"
    assert data["scope"] == [ELECTRICIAN, {**WELDER, "assessors": 7}]


def test_filings_page_offers_the_scope_change_and_lists_it(app, people, ctx, clock):
    from tests.integration.test_web_pages import Page
    file_inst1(people, ctx, clock)
    page = Page(app, "inst1")
    assert "申请变更备案范围" in page.text("/filings")
    response = page.form("/scope-changes", {}, page="/filings")
    assert response.status_code == 302 and "/tasks/" in response.headers["Location"]
    form = page.text(response.headers["Location"])
    assert "填写变更备案范围申请" in form and "现行备案范围" in form and "6-31-01-03" in form
    listed = page.text("/filings")
    assert 'id="scope-changes"' in listed and "填写中" in listed
    again = page.form("/scope-changes", {}, page="/filings")
    assert again.status_code == 302 and again.headers["Location"].endswith("/filings")
    assert "办理中的备案范围变更" in page.text("/filings")


def test_renewal_opened_while_a_change_is_under_review_keeps_the_change(people, ctx, clock):
    # filed 11 Sep 2024, valid until 10 Sep 2027: the renewal opens on 12 Jun 2027, 90 days before
    institution, county, city, analyst = people["inst1"], people["county"], people["city"], people["analyst"]
    assert analyst.client.put("/api/admin/calendar/2027", json={"text": "2027-01-01 休\n2027-10-01..2027-10-07 休"},
                              headers=analyst.headers).status_code == 200
    file_inst1(people, ctx, clock)
    clock.set(datetime(2027, 6, 1, 9, 0))
    request_change(institution, [ELECTRICIAN, WELDER])
    county_forwards(people)
    clock.set(datetime(2027, 6, 12, 0, 0))
    fire_due_timers(ctx)  # the renewal application, prefilled with the scope in force: 电工 only
    renewal = institution.only_task("submit_application")
    data = institution.get(f"/api/tasks/{renewal['id']}").get_json()["data"]
    assert [s["occupation_code"] for s in data["scope"]] == ["6-31-01-03"]

    clock.set(datetime(2027, 6, 14, 9, 0))
    assert city_decides(people, decision="approve", opinion="同意新增焊工").status_code == 200
    assert directory(institution, "焊工") == [(NAME, "S000034170001")]
    assert institution.complete(renewal["id"], data).status_code == 200
    forward_and_approve(people)
    assert county.complete(county.only_task("publish_notice")["id"], {"opinion": "同意公示"}).status_code == 200
    clock.set(datetime(2027, 6, 30, 9, 0))
    fire_due_timers(ctx)
    assert city.complete(city.only_task("assign_code")["id"], {"opinion": "同意延续"}).status_code == 200

    assert directory(institution, "焊工") == [(NAME, "S000034170001")]  # the renewal did not undo it
    [entry] = institution.get("/api/public/institutions").get_json()["items"]
    assert entry["valid_until"] == "2030-09-10"

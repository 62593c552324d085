"""Issue 11.3: the record of a case says what each step decided (上报, 退回补正, 不予备案, 同意,
异议成立), not only "办理" and the opinion, and names the institution it is about."""
from __future__ import annotations

from datetime import datetime

import pytest

from service.usecases.timers import fire_due_timers
from tests.helpers import Api, demo_credit_code, make_institution, make_staff
from tests.integration.test_filing_api import forward_and_approve, submit_application
from tests.integration.test_web_pages import Page

NAME = "池州市职业技能培训评价中心"


@pytest.fixture
def people(app, ctx):
    make_staff(ctx)
    make_institution(ctx)
    return {name: Api(app, name) for name in ("inst1", "county", "city")}


def outcomes(api, instance_id):
    events = api.get(f"/api/cases/{instance_id}/timeline").get_json()["events"]
    return [(e["task_name"], e["outcome"] and (e["outcome"]["value"], e["outcome"]["title"]))
            for e in events if e["action"] == "complete"]


def test_each_steps_decision_is_in_the_timeline_and_the_record_with_the_institution_named(app, people, clock):
    institution, county, city = people["inst1"], people["county"], people["city"]
    started, data, _ = submit_application(institution)
    county.complete(county.only_task("initial_review")["id"], {"decision": "correction", "opinion": "请补充租赁协议"})
    again = institution.only_task("submit_application")
    assert institution.complete(again["id"], data).status_code == 200
    forward_and_approve(people)
    clock.set(datetime(2024, 9, 27, 10, 0))
    county.complete(county.only_task("publish_notice")["id"], {"opinion": "同意公示"})
    clock.set(datetime(2024, 10, 11, 9, 0))
    fire_due_timers(app.extensions["context"])
    city.complete(city.only_task("assign_code")["id"], {"opinion": "同意赋码"})

    instance_id = started["instance_id"]
    assert outcomes(institution, instance_id) == [
        ("submit_application", None), ("initial_review", ("correction", "退回补正")),
        ("submit_application", None), ("initial_review", ("forward", "符合条件，上报市级")),
        ("city_review", ("approve", "同意备案")), ("publish_notice", None), ("assign_code", None)]
    timeline = city.get(f"/api/cases/{instance_id}/timeline").get_json()
    actions = [e["action"] for e in timeline["events"]]
    # the city's decision comes before what the system did because of it (赋码, reported upward)
    assert actions.index("reported_to_province") > max(i for i, a in enumerate(actions) if a == "complete")
    assert timeline["institution"] == {"id": institution.user["institution_id"], "name": NAME,
                                       "credit_code": demo_credit_code(1), "kind": "social_org",
                                       "filing_code": "S000034170001"}

    for name in ("inst1", "county", "city"):
        page = Page(app, name)
        for url in (f"/cases/{instance_id}", f"/cases/{instance_id}/record"):
            html = page.text(url)
            assert NAME in html and demo_credit_code(1) in html and "S000034170001" in html, (name, url)
            assert "退回补正" in html and "符合条件，上报市级" in html and "同意备案" in html, (name, url)
    record = Page(app, "city").text(f"/cases/{instance_id}/record")
    assert "<th>结论</th>" in record


def test_an_upheld_objection_is_named_in_the_record_before_the_filing_code_exists(app, people, clock):
    institution, county = people["inst1"], people["county"]
    started, _, _ = submit_application(institution)
    forward_and_approve(people)
    clock.set(datetime(2024, 9, 27, 10, 0))
    county.complete(county.only_task("publish_notice")["id"], {"opinion": "同意公示"})
    notice = institution.get("/api/public/notices").get_json()["items"][0]
    app.test_client().post(f"/api/public/notices/{notice['id']}/objections",
                           json={"name": "王五", "contact": "13900000000", "content": "理论考试场地实际不足60平方米。"})
    county.complete(county.only_task("investigate_objection")["id"], {"finding": "upheld", "opinion": "经核查属实"})

    assert outcomes(institution, started["instance_id"])[-1] == (
        "investigate_objection", ("upheld", "异议成立，不予备案"))
    record = Page(app, "county").text(f"/cases/{started['instance_id']}/record")
    assert "异议成立，不予备案" in record and NAME in record and "备案编码" not in record


def test_the_citys_reason_for_approving_over_the_quota_is_on_the_case_and_in_the_record(app, ctx, people):
    from tests.integration.test_filing_api import file_directly
    for serial in (11, 12, 13):  # Art. 7: three social organisations already hold 电工
        file_directly(ctx, serial)
    institution, county, city = people["inst1"], people["county"], people["city"]
    started, _, _ = submit_application(institution)
    county.complete(county.only_task("initial_review")["id"], {"decision": "forward", "opinion": "同意上报"})
    task = city.only_task("city_review")
    scope = city.get(f"/api/tasks/{task['id']}").get_json()["data"]["scope"]
    reason = "该机构为本市唯一具备高压电工实操考场的评价组织"
    assert city.complete(task["id"], {"decision": "approve", "opinion": "同意备案", "approved_scope": scope,
                                      "quota_reason": reason}).status_code == 200
    for name in ("county", "city"):
        page = Page(app, name)
        for url in (f"/cases/{started['instance_id']}", f"/cases/{started['instance_id']}/record"):
            assert f"超出第七条名额的理由：{reason}" in page.text(url), (name, url)

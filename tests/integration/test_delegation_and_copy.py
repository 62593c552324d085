"""委托 and 抄送 (issue 17): a clerk on leave delegates the tasks they hold to a colleague of the
same post for some days, the colleague completes one and the record says on whose behalf; a case is
copied to the city for information and shows in its 抄送我的. Nobody outside the post or the case's
jurisdiction is offered either."""
from __future__ import annotations

import re
from datetime import datetime

import pytest
from sqlalchemy import select

from service.store.models import AuditEvent
from service.usecases import accounts
from service.usecases.context import unit_of_work
from tests.helpers import PASSWORD, Api, make_institution, make_staff
from tests.integration.test_filing_api import submit_application
from tests.integration.test_worklists import rows


@pytest.fixture
def people(app, ctx):
    make_staff(ctx)
    make_institution(ctx)
    accounts.create_user(ctx, "county2", PASSWORD, "贵池区复核员", "county", jurisdiction_code="341702")
    return {name: Api(app, name) for name in ("inst1", "county", "county2", "county_dz", "city")}


def delegate(api, to_user, starts_on, ends_on, reason="年休假"):
    return api.client.post("/delegations", data={"csrf_token": api.headers["X-CSRFToken"], "to_user": to_user,
                                                  "starts_on": starts_on, "ends_on": ends_on, "reason": reason})


def test_a_colleague_completes_a_delegated_task_in_the_period_and_the_record_says_for_whom(people, ctx, clock):
    started, _, _ = submit_application(people["inst1"])  # Mon 2 Sep 2024
    county, colleague = people["county"], people["county2"]
    task = county.only_task("initial_review")
    assert county.post(f"/api/tasks/{task['id']}/claim").status_code == 200
    decision = {"decision": "forward", "opinion": "同意上报"}
    assert colleague.complete(task["id"], decision).status_code == 409  # held by the clerk

    refused = delegate(county, people["county_dz"].user["id"], "2024-09-02", "2024-09-06")
    assert refused.status_code == 422 and "同一岗位" in refused.get_data(as_text=True)
    assert "东至县审核员" not in county.get("/delegations").get_data(as_text=True)
    assert delegate(county, colleague.user["id"], "2024-09-03", "2024-09-06").status_code == 302
    assert colleague.complete(task["id"], decision).status_code == 409  # not yet: it starts tomorrow

    clock.set(datetime(2024, 9, 3, 9, 0))
    assert [t["id"] for t in colleague.open_tasks()] == [task["id"]]
    done = colleague.complete(task["id"], decision)
    assert done.status_code == 200, done.get_json()
    with unit_of_work(ctx) as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "complete",
                                                        AuditEvent.task_name == "initial_review"))
        assert (event.actor_name, event.data["on_behalf_of"]) == ("贵池区复核员", "贵池区审核员")
    assert "受贵池区审核员委托代办" in county.get(f"/cases/{started['instance_id']}").get_data(as_text=True)


def test_a_delegation_ends_by_its_date_or_earlier_when_its_giver_ends_it(people, ctx, clock):
    submit_application(people["inst1"])
    county, colleague = people["county"], people["county2"]
    task = county.only_task("initial_review")
    assert county.post(f"/api/tasks/{task['id']}/claim").status_code == 200
    assert delegate(county, colleague.user["id"], "2024-09-02", "2024-09-03").status_code == 302
    clock.set(datetime(2024, 9, 4, 9, 0))  # over
    assert colleague.complete(task["id"], {"decision": "forward", "opinion": "同意上报"}).status_code == 409

    assert delegate(county, colleague.user["id"], "2024-09-04", "2024-09-10").status_code == 302
    page = county.get("/delegations").get_data(as_text=True)
    [ending] = re.findall(r'action="(/delegations/\d+/end)"', page)
    assert county.client.post(ending, data={"csrf_token": county.headers["X-CSRFToken"]}).status_code == 302
    assert colleague.complete(task["id"], {"decision": "forward", "opinion": "同意上报"}).status_code == 409
    assert people["inst1"].get("/delegations").status_code == 404


def test_a_case_copied_to_the_city_shows_in_its_copied_list_and_nobody_elses(people):
    submit_application(people["inst1"])
    county, city = people["county"], people["city"]
    task = county.only_task("initial_review")
    page = county.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert 'id="copy"' in page and "市局审核员" in page and "东至县审核员" not in page
    empty = county.client.post(f"/tasks/{task['id']}/copy", data={"csrf_token": county.headers["X-CSRFToken"]},
                               follow_redirects=True)
    assert "请选择抄送对象" in empty.get_data(as_text=True)
    answer = county.client.post(f"/tasks/{task['id']}/copy", data={
        "csrf_token": county.headers["X-CSRFToken"], "to_users": [city.user["id"]], "note": "请知悉"})
    assert answer.status_code == 302
    [row] = rows(city, "/lists/copied")
    assert row[1:7] == ["贵池区审核员", "机构备案", "县区初审", "池州市职业技能培训评价中心", "请知悉", "办理中"]
    assert rows(people["county2"], "/lists/copied") == [["没有符合条件的记录"]]
    elsewhere = county.client.post(f"/tasks/{task['id']}/copy", data={
        "csrf_token": county.headers["X-CSRFToken"], "to_users": [people["county_dz"].user["id"]]})
    assert elsewhere.status_code == 302
    assert rows(people["county_dz"], "/lists/copied") == [["没有符合条件的记录"]]  # refused: not their county
    assert people["inst1"].get("/lists/copied").status_code == 403


def test_the_same_through_the_api(people, clock):
    submit_application(people["inst1"])
    county, colleague, city = people["county"], people["county2"], people["city"]
    task = county.only_task("initial_review")
    assert county.post(f"/api/tasks/{task['id']}/claim").status_code == 200
    bad = county.post("/api/delegations", json={"to_user": colleague.user["id"], "starts_on": "2024-09-05",
                                                "ends_on": "2024-09-01", "reason": "年休假"})
    assert bad.status_code == 422 and "ends_on" in bad.get_json()["errors"]
    made = county.post("/api/delegations", json={"to_user": colleague.user["id"], "starts_on": "2024-09-02",
                                                 "ends_on": "2024-09-06", "reason": "年休假"})
    assert made.status_code == 201, made.get_json()
    copied = county.post(f"/api/tasks/{task['id']}/copy", json={"to_users": [city.user["id"]], "note": "请知悉"})
    assert copied.status_code == 200, copied.get_json()
    assert [i["note"] for i in city.get("/api/lists/copied").get_json()["items"]] == ["请知悉"]
    assert colleague.complete(task["id"], {"decision": "forward", "opinion": "同意上报"}).status_code == 200
    [done] = colleague.get("/api/lists/done").get_json()["items"]
    assert (done["step"], done["decision"]) == ("县区初审", "符合条件，上报市级")
    found = city.get("/api/lists/cases", query_string={"q": "52341702MJ0000001D"}).get_json()
    assert found["total"] == 1 and found["items"][0]["credit_code"] == "52341702MJ0000001D"
    assert people["county_dz"].get("/api/lists/cases", query_string={"q": "52341702MJ0000001D"}).get_json()[
        "total"] == 0
    assert county.post(f"/api/delegations/{made.get_json()['id']}/end").status_code == 200
    assert county.post(f"/api/delegations/{made.get_json()['id']}/end").status_code == 409

"""转办 and 催办 (issue 17): a county clerk hands a task to a colleague with a reason, the city urges
an overdue task; both are on the case's record, the person concerned is told with a link to the
task, and nobody outside the task's jurisdiction can do either."""
from __future__ import annotations

import re
from datetime import datetime

import pytest

from service.usecases import accounts
from tests.helpers import PASSWORD, Api, make_institution, make_staff
from tests.integration.test_filing_api import submit_application


@pytest.fixture
def people(app, ctx):
    make_staff(ctx)
    make_institution(ctx)
    accounts.create_user(ctx, "county2", PASSWORD, "贵池区复核员", "county", jurisdiction_code="341702")
    return {name: Api(app, name) for name in ("inst1", "county", "county2", "county_dz", "city")}


def messages(api) -> list[str]:
    """The user's messages, each as the HTML of its row with where its link leads."""
    html = api.get("/messages").get_data(as_text=True)
    found = []
    for row in html.split("<tr")[2:]:
        link = re.search(r'href="(/messages/\d+)"', row)
        if link:  # a message, not the "暂无消息" row
            found.append(row + api.get(link.group(1)).headers["Location"])
    return found


def test_a_clerk_transfers_a_task_to_a_colleague_with_a_reason(people):
    started, _, _ = submit_application(people["inst1"])
    county, colleague = people["county"], people["county2"]
    task = county.only_task("initial_review")
    assert county.post(f"/api/tasks/{task['id']}/claim").status_code == 200

    refused = county.post(f"/api/tasks/{task['id']}/transfer", json={"to_user": colleague.user["id"], "reason": ""})
    assert refused.status_code == 400 and "reason" in str(refused.get_json())  # a reason is required
    elsewhere = county.post(f"/api/tasks/{task['id']}/transfer",
                            json={"to_user": people["county_dz"].user["id"], "reason": "出差"})
    assert elsewhere.status_code == 422 and "同一部门" in str(elsewhere.get_json())
    done = county.post(f"/api/tasks/{task['id']}/transfer",
                       json={"to_user": colleague.user["id"], "reason": "本人出差"})
    assert done.status_code == 200, done.get_json()

    assert [t["id"] for t in colleague.open_tasks(mine=1)] == [task["id"]]  # now claimed for the colleague
    assert county.open_tasks(mine=1) == []
    blocked = county.complete(task["id"], {"decision": "forward", "opinion": "同意上报"})
    assert blocked.status_code == 409 and "贵池区复核员" in blocked.get_json()["message"]
    again = county.post(f"/api/tasks/{task['id']}/transfer", json={"to_user": county.user["id"], "reason": "收回"})
    assert again.status_code == 409  # only whoever has it may hand it on
    assert any(f"/tasks/{task['id']}" in line and "本人出差" in line for line in messages(colleague))

    events = county.get(f"/api/cases/{started['instance_id']}/timeline").get_json()["events"]
    [transfer] = [e for e in events if e["action"] == "transfer"]
    assert transfer["opinion"] == "本人出差" and transfer["data"]["to_name"] == "贵池区复核员"
    assert "转办「县区初审」给贵池区复核员" in county.get(f"/cases/{started['instance_id']}").get_data(as_text=True)
    assert colleague.complete(task["id"], {"decision": "forward", "opinion": "同意上报"}).status_code == 200


def test_the_transfer_form_offers_only_colleagues_of_the_same_county(people):
    submit_application(people["inst1"])
    task = people["county"].only_task("initial_review")
    page = people["county"].get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert 'id="transfer"' in page and "贵池区复核员" in page and "东至县审核员" not in page
    assert people["county2"].post(f"/api/tasks/{task['id']}/claim").status_code == 200
    assert 'id="transfer"' not in people["county"].get(f"/tasks/{task['id']}").get_data(as_text=True)


def test_the_city_urges_an_overdue_task_once_a_day_and_the_county_is_told(people, clock):
    started, _, _ = submit_application(people["inst1"])
    city, county = people["city"], people["county"]
    task = county.only_task("initial_review")
    clock.set(datetime(2024, 9, 10, 9, 0))  # a day past its 5 working days
    assert people["county_dz"].post(f"/api/tasks/{task['id']}/urge").status_code == 404
    assert people["inst1"].post(f"/api/tasks/{task['id']}/urge").status_code == 404
    urged = city.post(f"/api/tasks/{task['id']}/urge", json={"note": "请尽快办理"})
    assert urged.status_code == 200, urged.get_json()
    for clerk in (county, people["county2"]):  # everyone whose inbox it lies in
        assert any("催办" in line and f"/tasks/{task['id']}" in line for line in messages(clerk))
    assert city.post(f"/api/tasks/{task['id']}/urge").status_code == 409  # not twice in a day

    clock.set(datetime(2024, 9, 11, 9, 30))
    assert county.post(f"/api/tasks/{task['id']}/claim").status_code == 200
    before = len(messages(people["county2"]))
    back = city.client.post(f"/tasks/{task['id']}/urge", data={"csrf_token": city.headers["X-CSRFToken"],
                                                                "back": "/lists/overdue"})
    assert back.status_code == 302 and back.headers["Location"].endswith("/lists/overdue")
    assert len(messages(people["county2"])) == before + 1  # the holder and the post: the colleague too
    assert len(messages(people["county_dz"])) == 0  # never another county
    events = city.get(f"/api/cases/{started['instance_id']}/timeline").get_json()["events"]
    assert [(e["action"], e["actor_name"]) for e in events if e["action"] == "urge"] == [("urge", "市局审核员")] * 2

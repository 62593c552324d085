"""Issue 11.1: a step that fails on a user's submit for a reason not theirs (here a service task
raising) keeps what was typed, says what happened in Chinese, and is an incident on the case that
the city and the analysts see and clear; nothing of the failed submit is written."""
from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import func, select

from service.store.models import Filing, Incident, Institution, ProcessInstance
from service.usecases import notifications
from service.usecases.audit import verify_chain
from service.usecases.context import unit_of_work
from service.usecases.timers import fire_due_timers
from service.usecases.topics import Topic
from tests.helpers import Api, make_institution, make_staff
from tests.integration.test_filing_api import forward_and_approve, submit_application
from tests.integration.test_web_pages import Page

FAILURE = "省级备案接口无响应（连接超时）"
OPINION = "经公示无异议，同意赋码并出具备案回执"


@pytest.fixture
def people(app, ctx):
    make_staff(ctx)
    make_institution(ctx)
    return {name: Api(app, name) for name in ("inst1", "county", "city", "analyst")}


@pytest.fixture
def at_code_assignment(people, ctx, clock):
    """inst1's filing through its notice, waiting for the city's 赋码; returns its ids."""
    started, _, _ = submit_application(people["inst1"])
    forward_and_approve(people)
    clock.set(datetime(2024, 9, 27, 10, 0))
    people["county"].complete(people["county"].only_task("publish_notice")["id"], {"opinion": "同意公示"})
    clock.set(datetime(2024, 10, 11, 9, 0))
    assert fire_due_timers(ctx).fired == 1
    return started


@pytest.fixture
def receipt_service_down(monkeypatch, ctx):
    """issue_receipt writes part of its work, then fails as an outside service might."""
    def broken(ctx, session, instance, actor, data, inputs):
        filing = session.get(Filing, int(data["filing_id"]))
        filing.status, filing.filing_code = "filed", "S000034999999"
        filing.institution.status = "filed_pilot"
        session.flush()
        raise RuntimeError(FAILURE)
    monkeypatch.setitem(ctx.topics, "issue_receipt", Topic(broken, ctx.topics["issue_receipt"].inputs))
    return monkeypatch


def test_a_service_task_failing_on_submit_keeps_the_draft_and_is_an_incident_for_city_and_analysts(
        app, people, ctx, at_code_assignment, receipt_service_down):
    city, analyst, institution = people["city"], people["analyst"], people["inst1"]
    instance_id = at_code_assignment["instance_id"]
    task = city.only_task("assign_code")
    response = city.complete(task["id"], {"opinion": OPINION})

    assert response.status_code == 500
    body = response.get_json()
    assert body["incident_id"] and body["draft_kept"] is True
    assert "生成备案号和备案回执并上报" in body["message"] and f"异常编号{body['incident_id']}" in body["message"]
    assert "已填写的内容均已保留" in body["message"] and FAILURE not in body["message"]

    # the draft: reopening the task shows what was typed; the task is still the city's
    assert city.only_task("assign_code")["id"] == task["id"]
    assert city.get(f"/api/tasks/{task['id']}").get_json()["data"]["opinion"] == OPINION
    # nothing half-written: no code, no receipt, no pilot, the step not recorded as done
    with unit_of_work(ctx) as session:
        filing = session.get(Filing, at_code_assignment["filing_id"])
        assert (filing.status, filing.filing_code, filing.receipt_number) == ("notice", None, None)
        assert session.scalar(select(Institution.status)) == "under_review"
        assert session.scalar(select(func.count()).select_from(ProcessInstance)
                              .where(ProcessInstance.process_id == "pilot")) == 0
    assert institution.get(f"/api/filings/{at_code_assignment['filing_id']}/receipt").status_code == 404
    events = institution.get(f"/api/cases/{instance_id}/timeline").get_json()["events"]
    assert ("complete", "assign_code") not in [(e["action"], e["task_name"]) for e in events]
    failed = [e for e in events if e["action"] == "step_failed"]
    assert [(e["task_name"], e["task_title"], e["actor_name"], e["data"]["incident_id"]) for e in failed] == [
        ("issue_receipt", "生成备案号和备案回执并上报", "市局审核员", body["incident_id"])]
    assert FAILURE not in json.dumps(events, ensure_ascii=False)  # the error text is for staff only

    # the city and the analysts see it, with the error; the county and the institution may not
    for name in ("city", "analyst"):
        items = people[name].get("/api/admin/incidents").get_json()["items"]
        assert [(i["kind"], i["id"], i["instance_id"], i["name"], i["title"], i["task_title"], i["actor_name"],
                 i["state"]) for i in items] == [
            ("step", body["incident_id"], instance_id, "issue_receipt", "生成备案号和备案回执并上报",
             "赋码并出具备案回执", "市局审核员", "failed")]
        assert FAILURE in items[0]["last_error"] and items[0]["subject"].startswith("池州市职业技能培训评价中心")
        html = Page(app, name).text("/incidents")
        assert "生成备案号和备案回执并上报" in html and FAILURE in html and "标记为已处理" in html
    for name in ("county", "inst1"):
        assert people[name].get("/api/admin/incidents").status_code == 403
        assert people[name].post(f"/api/admin/incidents/steps/{body['incident_id']}/resolve").status_code == 403
        assert Page(app, name).get("/incidents").status_code == 403
    told = [m for m in notifications.recent(ctx, analyst.user["id"])
            if m.title == "步骤异常：生成备案号和备案回执并上报"]
    assert len(told) == 1 and told[0].link == "/incidents" and FAILURE in told[0].body
    case_page = Page(app, "inst1").text(f"/cases/{instance_id}")
    assert "步骤出错" in case_page and FAILURE not in case_page

    # the cause is fixed; an analyst marks it resolved; the city is told and submits its draft
    receipt_service_down.undo()
    resolved = analyst.post(f"/api/admin/incidents/steps/{body['incident_id']}/resolve")
    assert resolved.status_code == 200 and resolved.get_json()["state"] == "resolved"
    assert analyst.post(f"/api/admin/incidents/steps/{body['incident_id']}/resolve").status_code == 409
    assert city.get("/api/admin/incidents").get_json()["items"] == []
    again = [m for m in notifications.recent(ctx, city.user["id"]) if m.title.startswith("异常已处理")]
    assert len(again) == 1 and again[0].link == f"/tasks/{task['id']}"
    kept = city.get(f"/api/tasks/{task['id']}").get_json()["data"]
    assert city.complete(task["id"], {"opinion": kept["opinion"]}).status_code == 200
    receipt = institution.get(f"/api/filings/{at_code_assignment['filing_id']}/receipt").get_json()
    assert receipt["filing_code"] == "S000034170001"
    steps = [(e["action"], e["task_name"]) for e in institution.get(f"/api/cases/{instance_id}/timeline")
             .get_json()["events"]]
    assert (steps.index(("step_failed", "issue_receipt")) < steps.index(("incident_resolved", "issue_receipt"))
            < steps.index(("complete", "assign_code")) < steps.index(("service", "issue_receipt")))
    with unit_of_work(ctx) as session:
        assert session.get(Incident, body["incident_id"]).resolved_by == analyst.user["id"]
        assert verify_chain(session) is None


def test_a_step_failing_on_a_page_submit_redraws_the_page_with_everything_typed(
        app, people, ctx, at_code_assignment, receipt_service_down):
    task = people["city"].only_task("assign_code")
    page = Page(app, "city")
    response = page.form(f"/tasks/{task['id']}", {"action": "complete", "opinion": OPINION},
                         page=f"/tasks/{task['id']}")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert OPINION in html and "未能提交" in html and "生成备案号和备案回执并上报" in html and "异常编号" in html
    assert FAILURE not in html
    assert OPINION in page.text(f"/tasks/{task['id']}")  # kept as the draft: a reload shows it too

"""Inspection of a batch (Art. 15.2, 17): the county or the city sends an inspector; the task is
that inspector's alone; the checklist's three parts are recorded with findings and photos; a
finding handed over is published for supervision, and a supervision process started on it opens."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from service.store.models import AuditEvent, Inspection, Notification, User
from service.usecases import accounts
from service.usecases.context import unit_of_work
from tests.batches import CANDIDATE_HEADER, candidates, plan, upload, xlsx
from tests.helpers import PASSWORD, Api

ALL_OK = {f"{stage}_{item}": "ok" for stage, items in (
    ("pre", ("scope", "standards", "annual_plan", "eligibility")), ("during", ("order", "staff", "video")),
    ("post", ("marking", "certificates", "archive"))) for item in items}


@pytest.fixture
def people(batch_people, app, ctx):
    for name in ("inspector1", "inspector2"):
        accounts.create_user(ctx, name, PASSWORD, f"督查员{name[-1]}", "inspector")
    return {**batch_people, **{name: Api(app, name) for name in ("inspector1", "inspector2")}}


@pytest.fixture
def batch_id(people):
    institution = people["inst1"]
    started = institution.post("/api/batches").get_json()
    upload(institution, f"/api/batches/{started['batch_id']}/candidates", xlsx(CANDIDATE_HEADER, candidates(2)))
    assert institution.complete(started["task_id"], plan("2025-10-16")).status_code == 200
    return started["batch_id"]


def test_the_inspector_sent_records_the_checks_and_hands_a_finding_over(people, batch_id, ctx):
    county, inspector = people["county"], people["inspector1"]
    sent = county.post(f"/api/batches/{batch_id}/inspections", json={"inspector_id": inspector.user["id"]})
    assert sent.status_code == 201
    assert people["inspector2"].open_tasks() == []  # the task is the one sent's alone
    assert people["inspector2"].get(f"/api/batches/{batch_id}").status_code == 404
    assert inspector.get(f"/api/batches/{batch_id}").status_code == 200
    task = inspector.only_task("inspect_batch")
    assert inspector.post(f"/api/tasks/{task['id']}/unclaim").status_code == 409  # cannot give it away

    found = {**ALL_OK, "during_video": "problem", "hand_over": True}
    short = inspector.complete(task["id"], {**found, "findings": "监控坏"})
    assert short.status_code == 422 and "不少于10个字" in short.get_json()["errors"]["findings"]
    photo = inspector.upload(b"\xff\xd8\xff photo", "考场.jpg", "image/jpeg")
    done = inspector.complete(task["id"], {**found, "findings": "第二考场视频监控未开启，约40分钟无录像。",
                                           "photo_1": str(photo)})
    assert done.status_code == 200
    with unit_of_work(ctx) as session:
        row = session.scalars(select(Inspection)).one()
        assert (row.status, row.problems, row.handed_over) == ("recorded", 1, True)
        assert row.results["during_video"] == "problem"
        handed = session.scalars(select(AuditEvent).where(AuditEvent.action == "finding_handed_over")).one()
        told = set(session.scalars(select(User.username).join(Notification, Notification.user_id == User.id)
                                   .where(Notification.title == "督查结果")))
    assert handed.data["inspection_id"] == row.id
    assert told == {"county", "city", "inst1"}
    listed = county.get(f"/api/batches/{batch_id}/inspections").get_json()["items"]
    assert listed[0]["inspector"] == "督查员1" and listed[0]["handed_over"] is True


def test_nothing_found_is_recorded_and_nothing_handed_over(people, batch_id, ctx):
    inspector = people["inspector1"]
    assert people["city"].post(f"/api/batches/{batch_id}/inspections",
                               json={"inspector_id": inspector.user["id"]}).status_code == 201
    task = inspector.only_task("inspect_batch")
    refused = inspector.complete(task["id"], {**ALL_OK, "hand_over": True})
    assert refused.status_code == 422 and "无需移交" in refused.get_json()["errors"]["hand_over"]
    assert inspector.complete(task["id"], {**ALL_OK, "hand_over": False}).status_code == 200
    with unit_of_work(ctx) as session:
        row = session.scalars(select(Inspection)).one()
        assert (row.problems, row.handed_over) == (0, False)


def test_only_a_county_of_the_batch_or_the_city_sends_an_inspector(people, batch_id):
    inspector_id = people["inspector1"].user["id"]
    for who, status in (("inst1", 403), ("county_dz", 404), ("province", 403), ("inspector2", 404)):
        answer = people[who].post(f"/api/batches/{batch_id}/inspections", json={"inspector_id": inspector_id})
        assert answer.status_code == status, who
    not_an_inspector = people["county"].post(f"/api/batches/{batch_id}/inspections",
                                             json={"inspector_id": people["city"].user["id"]})
    assert not_an_inspector.status_code == 422


def test_a_finding_handed_over_opens_a_supervision_case_for_the_county(people, batch_id, ctx):
    """The hand-over point (Art. 19, 20): the message `supervision_matter` opens a case, its facts
    the inspector's findings, its evidence the photos."""
    county, inspector = people["county"], people["inspector1"]
    county.post(f"/api/batches/{batch_id}/inspections", json={"inspector_id": inspector.user["id"]})
    task = inspector.only_task("inspect_batch")
    photo = inspector.upload(b"\xff\xd8\xff photo", "签到表.jpg", "image/jpeg")
    assert inspector.complete(task["id"], {**ALL_OK, "post_archive": "problem", "hand_over": True,
                                           "photo_1": str(photo),
                                           "findings": "监考记录表缺少监考员签字，档案不完整。"}).status_code == 200
    opened = county.only_task("investigate_case")
    case = county.get(f"/api/tasks/{opened['id']}").get_json()["data"]
    assert "监考记录表缺少监考员签字" in case["facts"] and case["source_name"].startswith("督查发现")
    assert case["evidence_names"] == "签到表.jpg"
    # the city, which decides, may open the inspector's photo
    assert people["city"].get(f"/api/attachments/{photo}").status_code == 200


def test_the_inspector_works_from_the_inbox_and_the_batch_page_in_the_browser_pages(people, batch_id, app):
    from tests.integration.test_web_pages import Page
    sent = {"inspector_id": people["inspector1"].user["id"]}
    assert people["county"].post(f"/api/batches/{batch_id}/inspections", json=sent).status_code == 201
    page = Page(app, "inspector1")
    inbox = page.text("/inbox")
    assert "督查记录" in inbox and "认定批次" in inbox
    task_id = people["inspector1"].only_task("inspect_batch")["id"]
    form = page.text(f"/tasks/{task_id}")
    assert "考前监管（第十七条第一项）" in form and "视频监控情况" in form and "2025年第1批电工认定" in form
    assert "取消签收" not in form and f"/batches/{batch_id}" in form  # nothing to hand on; the batch a click away
    assert "督查中" in page.text(f"/batches/{batch_id}")
    assert "督查员1" in Page(app, "county").text(f"/batches/{batch_id}")
    assert Page(app, "inspector2").get(f"/tasks/{task_id}").status_code == 404


def test_an_inspector_on_leave_delegates_the_inspection_to_another_inspector(people, batch_id, ctx):
    """委托 (issue 17) for a personal role: the task stays the appointed inspector's, and the
    colleague named for the leave sees and completes it on their behalf."""
    inspector, colleague = people["inspector1"], people["inspector2"]
    assert people["county"].post(f"/api/batches/{batch_id}/inspections",
                                 json={"inspector_id": inspector.user["id"]}).status_code == 201
    task = inspector.only_task("inspect_batch")
    assert colleague.open_tasks() == []
    made = inspector.post("/api/delegations", json={"to_user": colleague.user["id"], "starts_on": "2025-09-26",
                                                    "ends_on": "2025-10-10", "reason": "病假"})
    assert made.status_code == 201, made.get_json()
    assert [t["id"] for t in colleague.open_tasks()] == [task["id"]]
    assert colleague.complete(task["id"], {**ALL_OK, "hand_over": False}).status_code == 200
    with unit_of_work(ctx) as session:
        done = session.scalar(select(AuditEvent).where(AuditEvent.action == "complete",
                                                       AuditEvent.task_name == "inspect_batch"))
        assert (done.actor_name, done.data["on_behalf_of"]) == ("督查员2", "督查员1")

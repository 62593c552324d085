"""Which version is current: deploying files makes their version current, an earlier version's
files deployed again included, so a broken deploy is rolled back by deploying the good files."""
from __future__ import annotations

from sqlalchemy import select

from service.engine.definitions import read_bundle
from service.store.models import AuditEvent, ProcessInstance
from service.usecases.context import unit_of_work
from service.usecases.definitions import deploy
from tests.conftest import ROOT, without_schedules
from tests.helpers import Api, make_institution, make_staff
from tests.integration.test_definitions import edited


def started_on(ctx, instance_id: int) -> int:
    with unit_of_work(ctx) as session:
        return session.get(ProcessInstance, instance_id).definition_id


def test_deploying_earlier_files_again_makes_them_current_for_new_cases(app, ctx):
    make_staff(ctx)
    analyst = Api(app, "analyst")
    a, _ = deploy(ctx, read_bundle(ROOT), "analyst")
    b, is_new = deploy(ctx, edited("bpmn/filing.bpmn", 'name="发布公示"', 'name="发布公示（改）"'), "analyst")
    assert is_new and b != a
    make_institution(ctx)
    on_b = Api(app, "inst1").post("/api/filings").get_json()["instance_id"]
    assert started_on(ctx, on_b) == b

    again, is_new = deploy(ctx, read_bundle(ROOT), "analyst")  # the good files again: a rollback
    assert (again, is_new) == (a, False)
    make_institution(ctx, serial=2, name="池州市第二评价中心")
    on_a = Api(app, "inst2").post("/api/filings").get_json()["instance_id"]
    assert started_on(ctx, on_a) == a
    assert started_on(ctx, on_b) == b  # a running case keeps its version

    listed = {v["id"]: v for v in analyst.get("/api/admin/definitions").get_json()["items"]}
    assert listed[a]["is_current"] and not listed[b]["is_current"]
    assert listed[a]["activated_by"] == "analyst" and listed[a]["activated_at"]
    page = analyst.get("/").get_data(as_text=True)
    current_row = page.split('<tr class="current">')[1].split("</tr>")[0]
    assert f"<td>{a}</td>" in current_row and "当前版本" in current_row


def test_who_made_which_version_current_is_in_the_audit_log(app, ctx):
    make_staff(ctx)
    analyst = Api(app, "analyst")
    text = read_bundle(ROOT).files["bpmn/filing.bpmn"]
    changed = analyst.post("/api/admin/definitions", json={"files": {
        "bpmn/filing.bpmn": text.replace('name="发布公示"', 'name="发布备案公示"')}}).get_json()["version_id"]
    back = analyst.post("/api/admin/definitions", json={"files": {"bpmn/filing.bpmn": text}})
    assert back.status_code == 200 and not back.get_json()["is_new"]
    with unit_of_work(ctx) as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "definitions_activated")
                                 .order_by(AuditEvent.id)).all()
    assert [(e.data["version"], e.data["previous"], e.actor_name) for e in events] == [
        (changed, back.get_json()["version_id"], "分析员"), (back.get_json()["version_id"], changed, "分析员")]


def test_deploying_the_current_files_again_changes_nothing(ctx):
    current, _ = deploy(ctx, without_schedules(), "analyst")  # as the tests deployed it
    assert deploy(ctx, without_schedules(), "analyst") == (current, False)
    with unit_of_work(ctx) as session:
        assert session.scalars(select(AuditEvent).where(AuditEvent.action == "definitions_activated")).all() == []

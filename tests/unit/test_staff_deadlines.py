"""承诺时限 (issue 17): every task a bureau's staff work has a deadline in its model, in working days,
where analysts change it. An institution's own tasks have none unless a rule sets one (the results
filing of Art. 15.3); the batch plan is bounded by its own Art. 15.1 rule instead."""
from __future__ import annotations

from pathlib import Path

from lxml import etree

from service.engine.definitions import BPMN_NS, CAMUNDA_MODEL_NS, lane_role

ROOT = Path(__file__).resolve().parents[2]
DUE = f"{{{CAMUNDA_MODEL_NS}}}dueDate"


def staff_tasks():
    for path in sorted((ROOT / "bpmn").glob("*.bpmn")):
        root = etree.parse(str(path)).getroot()
        role_of = {ref.text.strip(): lane_role(lane) for lane in root.iter(f"{{{BPMN_NS}}}lane")
                   for ref in lane.iterfind(f"{{{BPMN_NS}}}flowNodeRef")}
        for task in root.iter(f"{{{BPMN_NS}}}userTask"):
            if role_of.get(task.get("id")) != "institution":
                yield path.name, task


def test_every_staff_task_has_a_deadline_in_working_days():
    tasks = list(staff_tasks())
    assert len(tasks) >= 25  # the models' staff tasks, found through their lanes
    missing = [f"{name}: {task.get('id')}" for name, task in tasks if not task.get(DUE)]
    assert missing == []
    counted_otherwise = [f"{name}: {task.get('id')}" for name, task in tasks
                         if "working_days_after" not in task.get(DUE)]
    assert counted_otherwise == []

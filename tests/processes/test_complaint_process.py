"""bpmn/complaint.bpmn (投诉举报, Art. 19) run by the engine alone (no database), saving and
reloading the workflow after every step as the service does. The close_complaint topic is
answered by a recorder; tests/integration/test_complaint_api.py covers the handler."""
from __future__ import annotations

from datetime import datetime

from service.bootstrap import registered_checks, registered_topics
from service.clock import FixedClock
from service.engine.definitions import read_bundle
from service.usecases.context import Context
from tests.conftest import ROOT

COMPLAINT = {"complaint_id": 7, "institution_id": None, "institution_name": "贵池区新星职业培训学校",
             "jurisdiction": "341702", "jurisdiction_name": "贵池区", "complainant_name": "王先生",
             "complainant_contact": "13912345678", "content": "未经备案以等级认定名义招生收费。",
             "received_at": "2024-09-27T10:00:00"}


class Run:
    def __init__(self, facts=None):
        self.clock = FixedClock(datetime(2024, 9, 27, 10, 0))  # the Friday before National Day
        self.ctx = Context(session_factory=None, clock=self.clock, topics=registered_topics(),
                           form_checks=registered_checks())
        self.ctx._calendar_read_at = float("inf")  # no database: the package calendar only
        self.definitions = self.ctx.compile(read_bundle(ROOT))
        self.calls: list[tuple[str, dict, dict]] = []
        workflow = self.ctx.engine.start(self.definitions, "complaint", {**COMPLAINT, **(facts or {})},
                                          self.service)
        self.state = self.ctx.engine.dump(workflow)

    def service(self, topic, data, inputs):
        self.calls.append((topic, dict(data), dict(inputs)))
        return {"complaint_status": inputs["finding"]} if topic == "close_complaint" else {}

    def load(self):
        return self.ctx.engine.load(self.definitions, "complaint", self.state, self.service)

    def ready(self):
        return self.ctx.engine.ready_tasks(self.definitions, "complaint", self.load())

    def complete(self, name, data):
        workflow = self.load()
        task = next(t for t in self.ctx.engine.ready_tasks(self.definitions, "complaint", workflow) if t.name == name)
        self.ctx.engine.complete(workflow, task.id, data)
        self.state = self.ctx.engine.dump(workflow)


def test_complaint_waits_for_the_county_ten_working_days_across_national_day():
    run = Run()
    [task] = run.ready()
    assert (task.role, task.name, task.form_key) == ("county", "handle_complaint", "handle_complaint")
    # 29 Sep (make-up day), 30 Sep, 8–11 Oct, Sat 12 Oct (make-up day), 14, 15, 16 Oct
    assert run.ctx.engine.due_at(run.definitions, "complaint", task) == datetime(2024, 10, 17, 0, 0)
    assert task.data["complainant_name"] == "王先生" and task.data["institution_name"] == "贵池区新星职业培训学校"
    assert run.calls == []


def test_a_substantiated_complaint_about_an_unfiled_institution_is_recorded_and_ends():
    """No institution in the directory: nothing for supervision to open a case on (Art. 20)."""
    run = Run()
    run.complete("handle_complaint", {"finding": "substantiated", "opinion": "经现场核查，情况属实"})
    [(topic, data, inputs)] = run.calls
    assert topic == "close_complaint"
    assert inputs == {"finding": "substantiated", "opinion": "经现场核查，情况属实"}
    assert data["complaint_id"] == 7
    assert run.load().completed and run.ready() == []


def test_a_substantiated_complaint_about_a_filed_institution_is_handed_to_supervision():
    run = Run({"institution_id": 3})
    run.complete("handle_complaint", {"finding": "substantiated", "opinion": "经现场核查，情况属实"})
    assert [c[0] for c in run.calls] == ["close_complaint", "hand_over_complaint"]
    assert run.load().completed


def test_unsubstantiated_complaint_closes_without_a_hand_over():
    run = Run({"institution_id": 3})
    run.complete("handle_complaint", {"finding": "unsubstantiated", "opinion": "经核查，该校未开展认定活动"})
    assert [c[0] for c in run.calls] == ["close_complaint"]
    assert run.load().completed


def test_state_stays_small():
    run = Run()
    assert len(run.state.encode()) < 20_000

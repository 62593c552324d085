"""Each path of bpmn/pilot.bpmn (认定试点, Art. 7), run by the engine alone (no database), saving
and reloading the workflow after every step as the service does. Service topics are answered by
a recorder that returns what the real handlers return; tests/integration/test_pilot_api.py
covers the handlers."""
from __future__ import annotations

from datetime import datetime

from service.bootstrap import registered_checks, registered_topics
from service.clock import FixedClock
from service.engine.definitions import read_bundle
from service.usecases.context import Context
from tests.conftest import ROOT

# what the receipt's message `filing_filed` hands the process for a filing dated 2025-03-03
STARTED = {"institution_id": 7, "filing_id": 3, "name": "池州市职业技能培训评价中心", "credit_code": "x",
           "kind": "social_org", "jurisdiction": "341702", "filing_code": "S000034000001",
           "filing_date": "2025-03-03", "pilot_until": "2026-03-02", "valid_until": "2028-03-02"}


class Run:
    def __init__(self, still_filed=True):
        self.clock = FixedClock(datetime(2025, 3, 3, 10, 0))
        self.ctx = Context(session_factory=None, clock=self.clock, topics=registered_topics(),
                           form_checks=registered_checks())
        self.ctx._calendar_read_at = float("inf")  # no database: the package calendar only
        self.definitions = self.ctx.compile(read_bundle(ROOT))
        self.still_filed = still_filed
        self.calls: list[tuple[str, dict]] = []
        self.save(self.ctx.engine.start(self.definitions, "pilot", dict(STARTED), self.service,
                                        message="filing_filed"))

    def service(self, topic, data, inputs):
        self.calls.append((topic, dict(inputs)))
        if topic == "pilot_facts":
            return {"pilot_period": "2025-03-03 至 2026-03-02", "batches_run": 0, "certificates_issued": 0,
                    "findings_open": 0, "still_filed": self.still_filed, "recommend_province": False}
        if topic == "pilot_passed":
            return {"institution_status": "filed", "city_opinion": data.get("opinion"), "opinion": ""}
        if topic == "end_filing":
            return {"institution_status": "revoked"}
        return {"is_province_wide": inputs.get("decision") == "approve"}

    def topics(self):
        return [topic for topic, _ in self.calls]

    def load(self):
        return self.ctx.engine.load(self.definitions, "pilot", self.state, self.service)

    def save(self, workflow):
        self.state = self.ctx.engine.dump(workflow)

    def tasks(self):
        return [(t.role, t.name) for t in self.ctx.engine.ready_tasks(self.definitions, "pilot", self.load())]

    def data(self, name):
        return next(t.data for t in self.ctx.engine.ready_tasks(self.definitions, "pilot", self.load())
                    if t.name == name)

    def timers(self):
        return [(t.name, t.due_at) for t in self.ctx.engine.snapshot(self.definitions, "pilot", self.load())[1]]

    def complete(self, name, data):
        workflow = self.load()
        task = next(t for t in self.ctx.engine.ready_tasks(self.definitions, "pilot", workflow) if t.name == name)
        self.ctx.engine.complete(workflow, task.id, data)
        self.save(workflow)

    def fire(self, at):
        self.clock.set(at)
        workflow = self.load()
        self.ctx.engine.fire_timers(workflow)
        self.save(workflow)

    def to_review(self):
        self.fire(datetime(2026, 3, 3, 0, 0))
        assert self.tasks() == [("city", "pilot_review")]


def test_pilot_ends_one_year_after_the_filing_date():
    run = Run()
    assert run.tasks() == [] and run.calls == []
    assert run.timers() == [("pilot_ended", datetime(2026, 3, 3, 0, 0))]  # the day after pilot_until
    run.fire(datetime(2026, 3, 2, 23, 59, 59))
    assert run.tasks() == [] and run.calls == []
    run.fire(datetime(2026, 3, 3, 0, 0))
    assert run.tasks() == [("city", "pilot_review")]
    assert run.topics() == ["pilot_facts"]
    facts = run.data("pilot_review")
    assert (facts["batches_run"], facts["pilot_period"]) == (0, "2025-03-03 至 2026-03-02")
    assert run.timers() == []


def test_passed_pilot_without_recommendation_ends_with_the_city():
    run = Run()
    run.to_review()
    run.complete("pilot_review", {"decision": "pass", "opinion": "试点期间运行规范，同意通过评估"})
    assert run.topics() == ["pilot_facts", "pilot_passed"]
    assert run.tasks() == [] and run.load().completed


def test_failed_pilot_ends_the_filing_with_the_city_opinion_as_reason():
    run = Run()
    run.to_review()
    run.complete("pilot_review", {"decision": "fail", "opinion": "试点期间考务管理混乱，未通过评估"})
    assert run.calls[-1] == ("end_filing", {"reason": "试点期间考务管理混乱，未通过评估", "ground": "pilot_failed"})
    assert run.tasks() == [] and run.load().completed


def test_failed_pilot_never_reaches_the_province_even_if_recommended():
    run = Run()
    run.to_review()
    run.complete("pilot_review", {"decision": "fail", "recommend_province": True, "opinion": "未通过评估"})
    assert "record_province_review" not in run.topics() and run.tasks() == []
    assert run.load().completed


def test_recommended_institution_goes_to_the_province_which_writes_its_own_opinion():
    run = Run()
    run.to_review()
    run.complete("pilot_review", {"decision": "pass", "recommend_province": True, "opinion": "推荐面向全省"})
    assert run.tasks() == [("province", "province_review")]
    data = run.data("province_review")
    assert data["city_opinion"] == "推荐面向全省" and data["opinion"] == ""
    run.complete("province_review", {"province_decision": "approve", "opinion": "经复核，同意面向全省"})
    assert run.calls[-1] == ("record_province_review", {"decision": "approve", "opinion": "经复核，同意面向全省"})
    assert run.load().completed


def test_province_rejection_is_recorded_and_ends_the_case():
    run = Run()
    run.to_review()
    run.complete("pilot_review", {"decision": "pass", "recommend_province": True, "opinion": "推荐面向全省"})
    run.complete("province_review", {"province_decision": "reject", "opinion": "暂不具备面向全省的条件"})
    assert run.calls[-1] == ("record_province_review", {"decision": "reject", "opinion": "暂不具备面向全省的条件"})
    assert run.load().completed


def test_filing_ended_during_the_pilot_needs_no_evaluation():
    run = Run(still_filed=False)
    run.fire(datetime(2026, 3, 3, 0, 0))
    assert run.topics() == ["pilot_facts"]
    assert run.tasks() == [] and run.load().completed


def test_state_stays_small():
    run = Run()
    run.to_review()
    assert len(run.state.encode()) < 20_000

"""Each path of bpmn/filing.bpmn, run by the engine alone (no database), saving and reloading
the workflow after every step as the service does. Service topics are answered by a recorder
that returns what the real handlers compute, so the model's decisions and gateways are what
is under test here; tests/integration covers the handlers."""
from __future__ import annotations

from datetime import datetime

import pytest

from service.bootstrap import registered_checks, registered_topics
from service.clock import FixedClock
from service.engine import runtime
from service.engine.definitions import read_bundle
from service.processes import review
from service.seed import application, demo_credit_code
from service.usecases.context import Context
from tests.conftest import ROOT


class Run:
    def __init__(self, kind="social_org", purpose="initial", valid_until_in_force=None, **facts):
        self.clock = FixedClock(datetime(2024, 9, 27, 10, 0))
        self.ctx = Context(session_factory=None, clock=self.clock, topics=registered_topics(),
                           form_checks=registered_checks())
        self.ctx._calendar_read_at = float("inf")  # no database: the package calendar only
        self.definitions = self.ctx.compile(read_bundle(ROOT))
        self.calls: list[str] = []
        self.objections = 0
        start = {"filing_id": 1, "purpose": purpose, "valid_until_in_force": valid_until_in_force}
        workflow = self.ctx.engine.start(self.definitions, "filing", start, self.service)
        self.state = self.ctx.engine.dump(workflow)
        self.application = application(demo_credit_code(1), "测试机构", kind, attachment_id=1, **facts)

    def service(self, topic, data, inputs):
        self.calls.append(topic)
        if topic == "conclude_review":  # the real handler: it needs no database
            return review.conclude_review(None, None, None, None, data, inputs)
        if topic == "record_application":
            return {"kind": data["kind"], "min_assessors": min(s["assessors"] for s in data["scope"]),
                    "level_above_education": data.get("_above", False)}
        if topic == "open_notice":
            return {"notice_closes_at": inputs["closes_at"]}
        if topic == "count_objections":
            return {"open_objections": self.objections}
        if topic == "resolve_objections":
            self.objections = 0
        return {}

    def load(self):
        return self.ctx.engine.load(self.definitions, "filing", self.state, self.service)

    def save(self, workflow):
        self.state = self.ctx.engine.dump(workflow)

    def tasks(self):
        return [(t.role, t.name) for t in self.ctx.engine.ready_tasks(self.definitions, "filing", self.load())]

    def data(self, name):
        return next(t.data for t in self.ctx.engine.ready_tasks(self.definitions, "filing", self.load())
                    if t.name == name)

    def complete(self, name, data):
        workflow = self.load()
        task = next(t for t in self.ctx.engine.ready_tasks(self.definitions, "filing", workflow) if t.name == name)
        self.ctx.engine.complete(workflow, task.id, data)
        self.save(workflow)

    def fire(self):
        workflow = self.load()
        self.ctx.engine.fire_timers(workflow)
        self.save(workflow)

    def deliver(self, message):
        workflow = self.load()
        delivered = self.ctx.engine.deliver(workflow, message, {})
        self.save(workflow)
        return delivered

    def to_notice(self):
        self.complete("submit_application", self.application)
        self.complete("initial_review", {"decision": "forward", "opinion": "同意"})
        self.complete("city_review", {"decision": "approve", "opinion": "同意", "approved_scope":
                                      self.application["scope"]})
        self.complete("publish_notice", {"opinion": "同意公示"})


def test_eligible_social_org_reaches_the_county():
    run = Run()
    run.complete("submit_application", run.application)
    assert run.tasks() == [("county", "initial_review")]


@pytest.mark.parametrize(("kind", "facts", "article"), [
    ("social_org", {"practical_stations": 5}, "第八条"),
    ("social_org", {"site_owned": False, "site_use_years": 2}, "3年以上使用权"),
    ("enterprise", {"is_large_or_medium": False}, "第九条"),
    ("enterprise", {"has_question_bank": False}, "题库"),
    ("school", {"serves_own_students": False}, "第十二条"),
])
def test_unmet_condition_returns_to_the_institution_citing_its_article(kind, facts, article):
    run = Run(kind, **facts)
    run.complete("submit_application", run.application)
    assert run.tasks() == [("institution", "submit_application")]
    unmet = run.data("submit_application")["unmet"]
    assert len(unmet) == 1 and article in unmet[0]
    assert run.calls[-1] == "return_for_correction"  # 待补正, and the institution is told why


def test_school_asking_above_its_education_level_is_returned():
    run = Run("school")
    run.application["_above"] = True
    run.complete("submit_application", run.application)
    assert "办学层次" in run.data("submit_application")["unmet"][0]


def test_too_few_assessors_is_unmet_for_every_kind():
    for kind in ("social_org", "enterprise", "school"):
        run = Run(kind)
        for item in run.application["scope"]:
            item["assessors"] = 4
        run.complete("submit_application", run.application)
        assert any("5" in u for u in run.data("submit_application")["unmet"]), kind


def test_corrected_application_clears_the_old_unmet_list():
    run = Run(practical_stations=5)
    run.complete("submit_application", run.application)
    run.complete("submit_application", {**run.application, "practical_stations": 12})
    assert run.tasks() == [("county", "initial_review")]


def test_notice_timer_waits_for_the_fifth_working_day_after_national_day():
    run = Run()
    run.to_notice()
    assert run.tasks() == []
    run.clock.set(datetime(2024, 10, 10, 23, 59, 59))
    run.fire()
    assert run.tasks() == []
    run.clock.set(datetime(2024, 10, 11, 0, 0))
    run.fire()
    assert run.tasks() == [("city", "assign_code")]
    run.complete("assign_code", {"opinion": "同意"})
    assert run.calls[-1] == "issue_receipt"
    assert run.load().completed


def test_dismissed_objection_waits_for_the_rest_of_the_notice():
    run = Run()
    run.to_notice()
    run.objections = 1
    assert run.deliver("objection")
    assert run.tasks() == [("county", "investigate_objection")]
    run.complete("investigate_objection", {"finding": "dismissed", "opinion": "经核查，异议不成立"})
    assert run.tasks() == []  # back to waiting: the notice has not ended
    run.clock.set(datetime(2024, 10, 11, 0, 0))
    run.fire()
    assert run.tasks() == [("city", "assign_code")]


def test_objection_arriving_during_an_investigation_is_investigated_when_the_notice_ends():
    run = Run()
    run.to_notice()
    run.objections = 1
    run.deliver("objection")
    assert not run.deliver("objection")  # nobody waits: the row is kept and counted at the end
    run.complete("investigate_objection", {"finding": "dismissed", "opinion": "不成立"})
    run.objections = 1
    run.clock.set(datetime(2024, 10, 11, 0, 0))
    run.fire()
    assert run.tasks() == [("county", "investigate_objection")]


def test_upheld_objection_rejects():
    run = Run()
    run.to_notice()
    run.deliver("objection")
    run.complete("investigate_objection", {"finding": "upheld", "opinion": "异议成立"})
    assert run.calls[-1] == "reject_filing" and run.load().completed


def test_city_return_goes_back_to_the_county():
    run = Run()
    run.complete("submit_application", run.application)
    run.complete("initial_review", {"decision": "forward", "opinion": "同意"})
    run.complete("city_review", {"decision": "return", "opinion": "请核实"})
    assert run.tasks() == [("county", "initial_review")]


def test_snapshot_finds_what_the_task_tree_walk_finds(monkeypatch):
    """The snapshot reads the task maps instead of walking the tree (it runs twice a step): at
    every step of a filing with an objection, it finds the tasks and timers the walk finds."""
    seen = []

    class Checked(Run):
        def save(self, workflow):
            fast = self.ctx.engine.snapshot(self.definitions, "filing", workflow)
            with monkeypatch.context() as patch:
                patch.setattr(runtime, "_tasks_in", lambda flow, states: flow.get_tasks(state=states))
                walked = self.ctx.engine.snapshot(self.definitions, "filing", workflow)
            assert fast == walked
            seen.append(fast)
            super().save(workflow)

    run = Checked()
    run.to_notice()
    run.deliver("objection")
    run.complete("investigate_objection", {"finding": "dismissed", "opinion": "经核查，异议不成立"})
    run.clock.set(datetime(2024, 10, 11, 0, 0))
    run.fire()
    run.complete("assign_code", {"opinion": "同意"})
    assert any(ready for ready, _ in seen) and any(timers for _, timers in seen)
    assert seen[-1] == ([], [])


def test_state_stays_small():
    run = Run()
    run.to_notice()
    assert len(run.state.encode()) < 20_000


def test_a_finished_review_leaves_no_copy_of_the_case_in_the_stored_state():
    """Each review round runs review.bpmn as a call activity with a copy of the case data; once the
    round is over its data is back in the filing and its tasks are dropped, so corrections do not
    pile up copies (the stored-state target, bench/README.md)."""
    import json
    run = Run()
    run.complete("submit_application", run.application)
    assert len(json.loads(run.state)["subprocesses"]) == 1  # in the review
    run.complete("initial_review", {"decision": "correction", "opinion": "请补充场地证明"})
    assert json.loads(run.state)["subprocesses"] == {}
    run.complete("submit_application", run.data("submit_application"))
    assert len(json.loads(run.state)["subprocesses"]) == 1  # the second round's, only
    assert run.tasks() == [("county", "initial_review")]

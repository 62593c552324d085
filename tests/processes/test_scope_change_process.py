"""Each path of bpmn/scope_change.bpmn (变更, Art. 7: 动态调整), run by the engine alone (no
database), saving and reloading the workflow after every step as the service does. The
derived facts are computed by the same function the service uses (domain.eligibility), so the
eligibility decisions the model shares with the filing are what is under test; the other
topics are recorded; tests/integration covers the handlers."""
from __future__ import annotations

from datetime import datetime

from service.bootstrap import registered_checks, registered_topics
from service.clock import FixedClock
from service.domain.eligibility import scope_facts
from service.engine.definitions import read_bundle
from service.processes import review
from service.seed import application, demo_credit_code
from service.usecases.context import Context
from tests.conftest import ROOT

PROCESS = "scope_change"
IN_FORCE = [{"occupation_code": "6-31-01-03", "level": "4", "assessors": 6}]
ADDED = {"occupation_code": "6-18-02-04", "level": "4", "assessors": 6}


class Run:
    """A case as start_scope_change opens it: the facts of the filing in force, the scope in force."""

    def __init__(self, kind="social_org", **facts):
        self.clock = FixedClock(datetime(2025, 6, 2, 9, 0))
        self.ctx = Context(session_factory=None, clock=self.clock, topics=registered_topics(),
                           form_checks=registered_checks())
        self.ctx._calendar_read_at = float("inf")  # no database: the package calendar only
        self.definitions = self.ctx.compile(read_bundle(ROOT))
        self.calls: list[tuple[str, dict]] = []
        in_force = application(demo_credit_code(1), "测试机构", kind, attachment_id=1, **facts)
        data = {**in_force, "scope_change_id": 1, "institution_id": 1, "filing_id": 1,
                "scope": [dict(s) for s in IN_FORCE]}
        workflow = self.ctx.engine.start(self.definitions, PROCESS, data, self.service)
        self.state = self.ctx.engine.dump(workflow)

    def service(self, topic, data, inputs):
        self.calls.append((topic, dict(inputs)))
        if topic == "conclude_review":  # the real handler: it needs no database
            return review.conclude_review(None, None, None, None, data, inputs)
        if topic == "record_scope_change":
            return scope_facts(data["kind"], data["scope"], data.get("highest_level_by_education"))
        return {}

    def topics(self):
        return [topic for topic, _ in self.calls]

    def load(self):
        return self.ctx.engine.load(self.definitions, PROCESS, self.state, self.service)

    def tasks(self):
        return [(t.role, t.name) for t in self.ctx.engine.ready_tasks(self.definitions, PROCESS, self.load())]

    def data(self, name):
        return next(t.data for t in self.ctx.engine.ready_tasks(self.definitions, PROCESS, self.load())
                    if t.name == name)

    def complete(self, name, data):
        workflow = self.load()
        task = next(t for t in self.ctx.engine.ready_tasks(self.definitions, PROCESS, workflow) if t.name == name)
        self.ctx.engine.complete(workflow, task.id, data)
        self.state = self.ctx.engine.dump(workflow)

    def request(self, *scope, reason="新增电子设备装接工，已配备考评人员和考核工位"):
        self.complete("request_scope_change", {"scope": [dict(s) for s in scope], "change_reason": reason})

    def to_city(self, *scope):
        self.request(*scope)
        self.complete("initial_review", {"decision": "forward", "opinion": "材料齐全，同意上报"})


def test_the_request_form_opens_with_the_scope_in_force_for_the_institution():
    run = Run()
    assert run.tasks() == [("institution", "request_scope_change")]
    data = run.data("request_scope_change")
    assert data["scope"] == IN_FORCE and data["office_area_m2"] == 80  # the facts of the filing in force


def test_approved_change_goes_through_county_and_city_and_is_applied_with_the_approved_scope():
    run = Run()
    run.to_city(*IN_FORCE, ADDED)
    assert run.tasks() == [("city", "city_review")]
    assert run.data("city_review")["min_assessors"] == 6
    run.complete("city_review", {"decision": "approve", "opinion": "同意变更", "approved_scope": [ADDED]})
    assert run.topics() == ["record_scope_change", "conclude_review", "apply_scope_change"]
    assert run.calls[-1][1]["scope"] == [ADDED]  # the city's approved scope, not the request
    assert run.load().completed


def test_too_few_assessors_for_an_added_occupation_returns_the_request_citing_article_8():
    run = Run()
    run.request(*IN_FORCE, {**ADDED, "assessors": 3})
    assert run.tasks() == [("institution", "request_scope_change")]
    data = run.data("request_scope_change")
    assert len(data["unmet"]) == 1 and data["unmet"][0].startswith("第八条第四项") and "5" in data["unmet"][0]
    assert data["scope"][1]["assessors"] == 3  # what was typed is kept
    run.request(*IN_FORCE, ADDED)
    assert run.tasks() == [("county", "initial_review")]


def test_each_kind_is_judged_by_its_own_filing_decision():
    enterprise = Run("enterprise", has_question_bank=False)
    enterprise.request(*IN_FORCE, ADDED)
    assert "题库" in enterprise.data("request_scope_change")["unmet"][0]
    school = Run("school", highest_level_by_education="4")
    school.request(*IN_FORCE, {**ADDED, "level": "3"})  # Art. 12: above its education level
    assert "办学层次" in school.data("request_scope_change")["unmet"][0]


def test_county_correction_returns_the_request_with_its_data_and_opinion():
    run = Run()
    run.request(*IN_FORCE, ADDED, reason="新增职业")
    run.complete("initial_review", {"decision": "correction", "opinion": "请补充新增职业的考核工位证明"})
    assert run.tasks() == [("institution", "request_scope_change")]
    data = run.data("request_scope_change")
    assert data["scope"] == [*IN_FORCE, ADDED] and data["change_reason"] == "新增职业"
    assert data["opinion"] == "请补充新增职业的考核工位证明"


def test_county_rejection_ends_the_case_without_applying_anything():
    run = Run()
    run.request(*IN_FORCE, ADDED)
    run.complete("initial_review", {"decision": "reject", "opinion": "新增职业与机构培训能力不符"})
    assert run.topics() == ["record_scope_change", "conclude_review", "reject_scope_change"]
    assert run.calls[-1][1]["reason"] == "新增职业与机构培训能力不符"
    assert run.load().completed


def test_city_rejection_ends_the_case_without_applying_anything():
    run = Run()
    run.to_city(*IN_FORCE, ADDED)
    run.complete("city_review", {"decision": "reject", "opinion": "不同意变更"})
    assert run.topics() == ["record_scope_change", "conclude_review", "reject_scope_change"] and run.load().completed


def test_city_return_goes_back_to_the_county():
    run = Run()
    run.to_city(*IN_FORCE, ADDED)
    run.complete("city_review", {"decision": "return", "opinion": "请核实考核工位"})
    assert run.tasks() == [("county", "initial_review")]


def test_state_stays_small():
    run = Run()
    run.to_city(*IN_FORCE, ADDED)
    assert len(run.state.encode()) < 20_000

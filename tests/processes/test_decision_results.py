"""A business rule task takes a decision's result as DMN defines it (issue 19): a table whose only
output is unnamed — the shape dmn-js saves a new table in — gives the value itself, bound under the
task's result variable; its exact decimals survive every save and load (the fixture in conftest.py
checks each state against SpiffWorkflow's own converter)."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from service.bootstrap import registered_checks, registered_topics
from service.clock import FixedClock
from service.engine.definitions import Bundle, read_bundle
from service.engine.errors import DefinitionError
from service.usecases.context import Context
from tests.conftest import ROOT

STAR_RATING = (ROOT / "tests" / "fixtures" / "dmn_js_star_rating.dmn").read_text(encoding="utf-8")

RATING = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="definitions_rating" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="rating" name="年度评估" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_city" name="市人社部门"><bpmn:extensionElements><camunda:properties>
        <camunda:property name="role" value="city" /></camunda:properties></bpmn:extensionElements>
        <bpmn:flowNodeRef>confirm</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="to_rate" sourceRef="start" targetRef="rate" />
    <bpmn:businessRuleTask id="rate" name="评定星级" camunda:decisionRef="star_rating" BINDING />
    <bpmn:sequenceFlow id="to_confirm" sourceRef="rate" targetRef="confirm" />
    <bpmn:userTask id="confirm" name="确认星级" camunda:formKey="initial_review" />
    <bpmn:sequenceFlow id="to_end" sourceRef="confirm" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def compiled(binding='camunda:resultVariable="stars" camunda:mapDecisionResult="singleEntry"'):
    ctx = Context(session_factory=None, clock=FixedClock(datetime(2024, 9, 27, 10, 0)), topics=registered_topics(),
                  form_checks=registered_checks())
    files = {**read_bundle(ROOT).files, "dmn/star_rating.dmn": STAR_RATING,
             "bpmn/rating.bpmn": RATING.replace("BINDING", binding)}
    return ctx, ctx.compile(Bundle(files))


def test_an_unnamed_output_is_bound_under_the_result_variable_and_its_decimals_survive_the_state():
    ctx, definitions = compiled()
    facts = {"Total score": Decimal("89.99"), "Open findings": 0}
    state = ctx.engine.dump(ctx.engine.start(definitions, "rating", facts, None))
    assert '"Total score":{"value":"89.99","typename":"Decimal"}' in state
    workflow = ctx.engine.load(definitions, "rating", state, None)
    [task] = ctx.engine.ready_tasks(definitions, "rating", workflow)
    assert task.data["stars"] == 4  # 89.99 is under 90 exactly
    assert task.data["Total score"] == Decimal("89.99") and str(task.data["Total score"]) == "89.99"


def test_a_decision_with_an_unnamed_output_needs_a_result_variable_at_deploy():
    with pytest.raises(DefinitionError) as refused:
        compiled(binding="")
    assert (refused.value.file, refused.value.element) == ("bpmn/rating.bpmn", "rate")
    assert "camunda:resultVariable" in str(refused.value)


def test_a_result_mapping_other_than_the_decisions_own_is_refused_at_deploy():
    with pytest.raises(DefinitionError) as refused:
        compiled(binding='camunda:resultVariable="stars" camunda:mapDecisionResult="resultList"')
    assert refused.value.element == "rate" and "singleEntry" in str(refused.value)

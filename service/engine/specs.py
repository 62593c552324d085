"""Task specs and timer definitions that replace SpiffWorkflow's defaults.

SpiffWorkflow's timers compare with the wall clock and its DMN cells are Python, so the
engine swaps in versions that read the injected clock and call our own decision tables.
Specs hold no per-instance state: one parsed copy is shared by every instance of a version.
"""
from __future__ import annotations

from datetime import date, datetime

from SpiffWorkflow.bpmn.specs.defaults import ServiceTask
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)


def as_instant(value) -> datetime:
    """A timer value as a naive China Standard Time instant (all our times are CST)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=None)
    raise TypeError(f"timer expression gave {type(value).__name__}, expected a date or datetime")


class ExternalServiceTask(ServiceTask):
    """`camunda:type="external" camunda:topic="…"`: the host runs the handler for the topic
    and the dict it returns is merged into the task data."""

    def __init__(self, wf_spec, bpmn_id, topic, parameters=(), **kwargs):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.topic = topic
        self.parameters = list(parameters)

    def _execute(self, task):
        engine = task.workflow.script_engine
        inputs: dict = {}
        for name, expression in self.parameters:
            inputs[name] = engine.evaluate_input(task, expression, inputs)
        result = engine.call_topic(self.topic, task, inputs)
        task.data.update(result or {})
        return True


class DecisionTask(ServiceTask):
    """`bpmn:businessRuleTask camunda:decisionRef="…"` evaluated by our DMN engine; with
    `camunda:resultVariable` the decision's result goes under that name, else its outputs by name."""

    def __init__(self, wf_spec, bpmn_id, decision_ref, result_variable=None, **kwargs):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.decision_ref = decision_ref
        self.result_variable = result_variable

    def _execute(self, task):
        task.data.update(task.workflow.script_engine.decide(self.decision_ref, task, self.result_variable))
        return True


class ClockTimeDate(TimeDateEventDefinition):
    """A timeDate timer read against the injected clock; the expression may give a date,
    a datetime or an ISO string."""

    def has_fired(self, my_task):
        due = my_task._get_internal_data("event_value")
        if due is None:
            value = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            due = as_instant(value).isoformat()
            my_task._set_internal_data(event_value=due)
        if datetime.fromisoformat(due) <= my_task.workflow.script_engine.clock.now():
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)


class ScheduledStart(TimerEventDefinition):
    """A start event's `timeCycle`: the scheduler starts the case when an occurrence falls due
    (usecases/schedules.py), so the event has fired by the time the case exists."""

    def has_fired(self, my_task):
        return True


class ClockDuration(DurationTimerEventDefinition):
    """An ISO 8601 duration (P1Y, P90D…) counted from the moment the timer starts waiting."""

    def has_fired(self, my_task):
        now = my_task.workflow.script_engine.clock.now()
        due = my_task._get_internal_data("event_value")
        if due is None:
            expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            parsed = TimerEventDefinition.parse_iso_duration(expression)
            due = (now + TimerEventDefinition.get_timedelta_from_start(parsed, now)).isoformat()
            my_task._set_internal_data(event_value=due)
        if datetime.fromisoformat(due) <= now:
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)

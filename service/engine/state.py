"""A workflow's stored state: SpiffWorkflow's own serialization, without the spec.

The spec lives once per definition version (DESIGN.md, "state only"), so an instance stores
what SpiffWorkflow's BpmnWorkflowConverter writes minus `spec` and `subprocess_specs`.

Every step of a case and every timer loads and saves a state. SpiffWorkflow's converters are
generic: every value goes through a registry lookup, every id is parsed four times, and the
whole spec is converted on each save only to be dropped. `StateConverter` writes and reads the
very same bytes directly: a save in about half the time, a load in about four fifths; orjson
then writes the text json would write, in a tenth of the time.

`SpiffStateConverter` is SpiffWorkflow's own way, kept as the reference: the process tests
check that the two agree byte for byte at every step (tests/processes/conftest.py), and the
benchmark measures SpiffWorkflow alone with it. SpiffWorkflow is pinned in pyproject.toml; a
new release must pass those tests before it is let in.

Numbers with a fraction are Decimals (exact, as FEEL's: case data from JSON, forms and decision
tables). JSON has no decimal type and a float would lose them (0.1 + 0.2), so a Decimal is written
the way SpiffWorkflow writes any registered type, `{"value": "0.30", "typename": "Decimal"}`, and
its registry restores it with its exact digits; both converters share that registration.
"""
from __future__ import annotations

import json
from copy import copy
from decimal import Decimal
from uuid import UUID

import orjson
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions.timer import DurationTimerEventDefinition, TimeDateEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from .specs import ClockDuration, ClockTimeDate

_PLAIN = frozenset({str, int, float, bool, type(None)})  # JSON values the registry leaves as they are


class SpiffStateConverter(BpmnWorkflowConverter):
    """SpiffWorkflow's own conversion, the spec dropped: the reference for the format."""

    def to_dict(self, workflow):
        dct = super().to_dict(workflow)
        del dct["spec"], dct["subprocess_specs"]
        return dct

    def from_dict(self, dct, spec, subprocess_specs):
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


class StateConverter(BpmnWorkflowConverter):
    """The same bytes as SpiffStateConverter, written and read without the generic walk.

    The top workflow's tasks are done here, as TaskConverter does them; subprocesses, events
    and any typed value (a datetime in internal data) still go through the registry."""

    def to_dict(self, workflow):
        # WorkflowConverter.to_dict's keys, in its order, then BpmnWorkflowConverter's but the specs
        tasks = workflow.tasks
        return {"data": self.registry.convert(self.registry.clean(workflow.data)),
                "correlations": workflow.correlations,
                "last_task": str(workflow.last_task.id) if workflow.last_task is not None else None,
                "success": workflow.success, "completed": workflow.completed,
                "tasks": {str(task_id): self._task_to_dict(task, tasks) for task_id, task in tasks.items()},
                "root": str(workflow.task_tree.id),
                "subprocesses": self.mapping_to_dict(workflow.subprocesses),
                "bpmn_events": self.registry.convert(workflow.bpmn_events)}

    def _task_to_dict(self, task: Task, tasks: dict) -> dict:
        # TaskConverter.to_dict: a task keeps only what differs from its parent's data
        parent = tasks.get(task._parent)
        if parent is None:
            data, delta = task.data, {}
        else:
            before, after = parent.data, task.data
            data, delta = {}, {"updates": {key: value for key, value in after.items()
                                           if key not in before or value != before[key]},
                               "deletions": [key for key in before if key not in after]}
        internal = task.internal_data
        return {"id": str(task.id), "parent": str(task._parent) if parent is not None else None,
                "children": [str(child) for child in task._children], "last_state_change": task.last_state_change,
                "state": task.state, "task_spec": task.task_spec.name, "triggered": task.triggered,
                "internal_data": dict(internal) if all(type(value) in _PLAIN for value in internal.values())
                else self.registry.convert(internal),
                "data": data, "delta": delta, "typename": "Task"}

    def from_dict(self, dct, spec, subprocess_specs):
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        ids: dict[str, UUID] = {}  # each id appears up to four times: parse it once

        def uuid(text: str) -> UUID:
            found = ids.get(text)
            if found is None:
                found = ids[text] = UUID(text)
            return found

        for task_dct in dct["tasks"].values():  # parents come before their children
            self._task_from_dict(task_dct, workflow, uuid)
        workflow.task_tree = workflow.tasks.get(uuid(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow

    def _task_from_dict(self, dct: dict, workflow: BpmnWorkflow, uuid) -> None:
        # TaskConverter.from_dict; Task() files the task in workflow.tasks under its id
        task_spec = workflow.spec.task_specs.get(dct["task_spec"])
        task = Task(workflow, task_spec, state=dct["state"], id=uuid(dct["id"]))
        task._parent = uuid(dct["parent"]) if dct["parent"] is not None else None
        task._children = [uuid(child) for child in dct["children"]]
        task.last_state_change = dct["last_state_change"]
        task.triggered = dct["triggered"]
        task.internal_data = self.registry.restore(dct["internal_data"]) if dct["internal_data"] else {}
        if isinstance(task_spec, CatchingEvent) and task.has_state(TaskState.WAITING):
            workflow.top_workflow.event_manager.add_task(task)
        delta = dct.get("delta")
        parent = workflow.tasks.get(task._parent)
        if delta and parent is not None:  # DeepMerge.merge({}, parent.data): containers copied one level
            data = {key: value if type(value) in _PLAIN or not isinstance(value, dict | list | set) else copy(value)
                    for key, value in parent.data.items()}
            data.update(self.registry.restore(delta.get("updates", {})))
            for key in delta.get("deletions", {}):
                data.pop(key, None)
        else:
            data = self.registry.restore(dct["data"])
        task.data = data


def _decimal_to_dict(value: Decimal) -> dict:
    return {"value": str(value)}


def _decimal_from_dict(dct: dict) -> Decimal:
    return Decimal(dct["value"])


class States:
    """A workflow to the text stored for it, and back."""

    def __init__(self, converter: type[BpmnWorkflowConverter], dumps, loads):
        config = {**CAMUNDA_CONFIG, BpmnWorkflow: converter,
                  # events seen by a waiting gateway are kept in the state: our timers too
                  ClockTimeDate: CAMUNDA_CONFIG[TimeDateEventDefinition],
                  ClockDuration: CAMUNDA_CONFIG[DurationTimerEventDefinition]}
        registry = BpmnWorkflowSerializer.configure(config)
        registry.register(Decimal, _decimal_to_dict, _decimal_from_dict)  # typename "Decimal"
        self.serializer = BpmnWorkflowSerializer(registry)
        self._dumps, self._loads = dumps, loads

    def dumps(self, workflow: BpmnWorkflow) -> str:
        return self._dumps(self.serializer.to_dict(workflow))

    def loads(self, text: str, spec, subprocess_specs) -> BpmnWorkflow:
        return self.serializer.registry.restore(self._loads(text), spec=spec, subprocess_specs=subprocess_specs)


def _json_default(value):
    if hasattr(value, "isoformat"):  # datetime, date, time
        return value.isoformat()
    if isinstance(value, Decimal):
        # Task data is not walked by the registry (SpiffWorkflow's TaskConverter leaves it as it
        # is), so its Decimals reach the JSON writer: written as the registry writes them.
        return {**_decimal_to_dict(value), "typename": "Decimal"}
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _json_dumps(value) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_json_default)


# orjson writes what json.dumps above writes, byte for byte (checked on the benchmark's 10,070
# states and by the process tests), in a tenth of the time; only a float NaN or infinity, which
# json writes as a non-standard NaN, becomes null. Dates still go through _json_default; what
# orjson refuses (an integer beyond 64 bits) goes through json. Reading stays with json:
# orjson.loads turns such an integer into a float without a word.
_ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


def _fast_dumps(value) -> str:
    try:
        return orjson.dumps(value, default=_json_default, option=_ORJSON_OPTIONS).decode()
    except orjson.JSONEncodeError:
        return _json_dumps(value)


def service_states() -> States:
    """How the service stores states."""
    return States(StateConverter, _fast_dumps, json.loads)


def spiff_states() -> States:
    """SpiffWorkflow alone: its own converter and the standard json (the reference)."""
    return States(SpiffStateConverter, _json_dumps, json.loads)

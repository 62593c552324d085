"""Running workflows: start, step, complete, fire timers, deliver messages, save and load.

The only module that drives SpiffWorkflow objects. It knows no Flask and no SQL: the host
passes a `services` callable for external service tasks and stores the state we return.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.util.task import TaskState

from .definitions import Definitions
from .errors import ExpressionError
from .sandbox import Sandbox
from .specs import as_instant
from .state import States, service_states


@dataclass
class SystemStep:
    kind: str  # decision | service
    name: str  # BPMN id
    title: str | None
    data: dict


Services = Callable[[str, Mapping[str, Any], Mapping[str, Any]], Mapping[str, Any] | None]


class WorkflowError(Exception):
    """A step of a process failed (an expression, a decision or a service task)."""


class ScriptEngine(PythonScriptEngine):
    """Every expression and decision goes through the sandbox; nothing reaches eval directly."""

    def __init__(self, sandbox: Sandbox, definitions: Definitions, clock, services: Services | None):
        super().__init__()
        self.sandbox = sandbox
        self.definitions = definitions
        self.clock = clock
        self.services = services
        # What the system itself did in this operation (decisions, service tasks), for the audit log.
        self.trail: list[SystemStep] = []

    def validate(self, expression):
        self.sandbox.check(expression)

    def evaluate_input(self, task, expression, earlier_inputs: dict):
        """An input parameter: the task data and the inputs before it, in order, as Camunda's
        input mappings are evaluated (`valid_until` may be computed from `valid_from`)."""
        try:
            return self.sandbox.evaluate(expression, {**task.data, **earlier_inputs})
        except ExpressionError as error:
            raise WorkflowError(f"{task.task_spec.bpmn_id}: {error}") from error

    def evaluate(self, task, expression, external_context=None):
        context = {**(external_context or {}), **task.data}
        try:
            return self.sandbox.evaluate(expression, context)
        except ExpressionError as error:
            raise WorkflowError(f"{task.task_spec.bpmn_id}: {error}") from error

    def execute(self, task, script, external_context=None):
        raise WorkflowError("script tasks are not supported")

    def decide(self, decision_ref: str, task, result_variable: str | None = None) -> dict:
        with self.sandbox.budget():  # the table's cells share one evaluation's budget
            result = self.definitions.decisions[decision_ref].outcome(task.data, self.sandbox, result_variable)
        self.trail.append(SystemStep("decision", task.task_spec.bpmn_id, task.task_spec.bpmn_name, result))
        return result

    def call_topic(self, topic: str, task, inputs: dict) -> Mapping[str, Any] | None:
        if self.services is None:
            raise WorkflowError(f"no service available for topic '{topic}'")
        result = self.services(topic, task.data, inputs)
        self.trail.append(SystemStep("service", task.task_spec.bpmn_id, task.task_spec.bpmn_name,
                                     {**inputs, **(result or {})}))
        return result


@dataclass
class ReadyTask:
    id: str
    name: str  # BPMN id
    title: str
    role: str
    form_key: str
    data: dict
    process: str  # the process whose model holds the task: a called one's (review) inside a call activity


@dataclass
class WaitingTimer:
    task_id: str
    name: str
    due_at: datetime


class Engine:
    """Holds the sandbox and the clock; one per process (web worker, scheduler, CLI)."""

    def __init__(self, sandbox: Sandbox, clock, states: States | None = None):
        self.sandbox = sandbox
        self.clock = clock
        self.states = states or service_states()  # the benchmark passes SpiffWorkflow's own (state.py)

    def _script_engine(self, definitions: Definitions, services: Services | None) -> ScriptEngine:
        return ScriptEngine(self.sandbox, definitions, self.clock, services)

    def start(self, definitions: Definitions, process_id: str, data: dict, services: Services,
              message: str | None = None) -> BpmnWorkflow:
        """A new workflow with `data`; `message` is caught by its message start event."""
        spec, subprocesses = definitions.processes[process_id]
        workflow = BpmnWorkflow(spec, subprocesses, script_engine=self._script_engine(definitions, services))
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(data)
        self._step(workflow)
        if message is not None and not self.deliver(workflow, message, {}):
            raise WorkflowError(f"process '{process_id}' has no start event catching message '{message}'")
        return workflow

    def load(self, definitions: Definitions, process_id: str, state: str, services: Services | None):
        workflow = self.states.loads(state, *definitions.processes[process_id])
        workflow.script_engine = self._script_engine(definitions, services)
        return workflow

    def dump(self, workflow: BpmnWorkflow) -> str:
        return self.states.dumps(workflow)

    def _step(self, workflow: BpmnWorkflow):
        try:
            workflow.do_engine_steps()
        except WorkflowException as error:
            raise WorkflowError(str(error)) from error
        _forget_finished_calls(workflow)

    def complete(self, workflow: BpmnWorkflow, task_id: str, data: dict):
        task = self._ready_task(workflow, task_id)
        task.data.update(data)
        task.run()
        self._step(workflow)

    def save_draft(self, workflow: BpmnWorkflow, task_id: str, data: dict):
        self._ready_task(workflow, task_id).data.update(data)

    def start_fresh(self, workflow: BpmnWorkflow, task_id: str, names: list[str]):
        """Empty a task that has just opened of the fields it fills with its own judgement.
        SpiffWorkflow hands every task its predecessor's data, so a review form would open with
        the last reviewer's decision and opinion, ready to be signed by someone else. What was
        there stays readable as `previous_<name>` (a form may show it read-only)."""
        data = self._ready_task(workflow, task_id).data
        for name in names:
            value = data.pop(name, None)
            if value not in (None, "", [], {}):
                data[f"previous_{name}"] = value

    def _ready_task(self, workflow, task_id: str):
        task = workflow.get_task_from_id(UUID(task_id))
        if task is None or task.state != TaskState.READY or not task.task_spec.manual:
            raise WorkflowError(f"task {task_id} is not open")
        return task

    def cancel(self, workflow: BpmnWorkflow):
        """End a workflow from outside: every open task and waiting event cancelled."""
        workflow.cancel()

    def fire_timers(self, workflow: BpmnWorkflow, as_of: datetime | None = None):
        if as_of is not None:  # catch-up: what was due at `as_of` fires even if the clock is behind
            workflow.script_engine.clock = _At(max(as_of, self.clock.now()))
        workflow.refresh_timers()
        self._step(workflow)

    def deliver(self, workflow: BpmnWorkflow, message: str, payload: dict) -> bool:
        """Deliver a message; False when the instance is not waiting for it."""
        def waits_for(task):
            definition = getattr(task.task_spec, "event_definition", None)
            parts = getattr(definition, "event_definitions", [definition])
            return any(isinstance(p, MessageEventDefinition) and p.name == message for p in parts)

        if not any(waits_for(t) for t in workflow.get_tasks(state=TaskState.WAITING)):
            return False
        definition = MessageEventDefinition(message)
        workflow.catch(BpmnEvent(definition, payload={"payload": payload, "result_var": message}))
        self._step(workflow)
        return True

    def ready_tasks(self, definitions: Definitions, process_id: str, workflow) -> list[ReadyTask]:
        return self.snapshot(definitions, process_id, workflow)[0]

    def snapshot(self, definitions: Definitions, process_id: str, workflow):
        """Open user tasks and waiting timers, in one pass over the tasks (it runs on every step)."""
        ready, timers = [], []
        for task in _tasks_in(workflow, TaskState.READY | TaskState.WAITING):
            if task.state == TaskState.READY:
                if task.task_spec.manual:
                    process = task.workflow.spec.name  # a call activity's tasks live in the called model
                    info = definitions.user_tasks[(process, task.task_spec.bpmn_id)]
                    ready.append(ReadyTask(str(task.id), info.name, info.title, info.role, info.form_key, task.data,
                                           process))
                continue
            definition = getattr(task.task_spec, "event_definition", None)
            # an event-based gateway waits on several definitions at once
            parts = getattr(definition, "event_definitions", [definition])
            due = task._get_internal_data("event_value")
            if due and any(isinstance(part, TimerEventDefinition) for part in parts):
                timers.append(WaitingTimer(str(task.id), task.task_spec.bpmn_id, datetime.fromisoformat(due)))
        return ready, timers

    def due_at(self, definitions: Definitions, process_id: str, task: ReadyTask) -> datetime | None:
        """The deadline of a task that has just opened (camunda:dueDate), evaluated once: its
        `today()` is the day the task opened, not the day someone next looks at it."""
        due_date = definitions.user_tasks[(task.process, task.name)].due_date
        return as_instant(self.sandbox.evaluate(due_date, task.data)) if due_date else None

    def running_calls(self, workflow) -> list[str]:
        """The processes a call activity of this case is running now (review.bpmn while the
        county or city reviews), so the case page can show where inside them the case is."""
        return [part.spec.name for part in workflow.subprocesses.values() if not part.completed]

    def trail(self, workflow) -> list[SystemStep]:
        return workflow.script_engine.trail

    def completed_steps(self, workflow) -> list[str]:
        return [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.COMPLETED)
                if t.task_spec.bpmn_id]

    def current_steps(self, workflow) -> list[str]:
        """Open and waiting steps; a call activity whose called process runs is STARTED, so the
        case page's diagram of the calling process shows where inside it the case is."""
        return [t.task_spec.bpmn_id
                for t in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING | TaskState.STARTED)
                if t.task_spec.bpmn_id]

    def failed_step(self, workflow) -> tuple[str, str] | None:
        """The element a step failed at (a service task raising, a gateway's condition, a
        decision) as (BPMN id, name in the model), or None when no element is in error."""
        for task in _tasks_in(workflow, TaskState.ERROR):
            spec = task.task_spec
            if spec.bpmn_id:
                return spec.bpmn_id, spec.bpmn_name or spec.bpmn_id
        return None

    def element_name(self, definitions: Definitions, process_id: str, element_id: str) -> str:
        """The name analysts gave an element in the model (e.g. a timer's 公示期满); its id if unnamed."""
        spec = definitions.processes.get(process_id, (None, None))[0]
        task_spec = spec.task_specs.get(element_id) if spec is not None else None
        return getattr(task_spec, "bpmn_name", None) or element_id


def _tasks_in(workflow: BpmnWorkflow, states: int):
    """The tasks in any of `states`, subprocesses' included. Read off the task maps: `get_tasks`
    walks the tree through a chain of Python iterators, about 50 µs for a filing, and the
    snapshot runs twice on every step; this takes a tenth of that. The walk skips the branches
    below predicted tasks, where no task is ready or waiting, so both find the same tasks."""
    for part in (workflow, *workflow.subprocesses.values()):
        for task in part.tasks.values():
            if task.state & states:
                yield task


def _forget_finished_calls(workflow: BpmnWorkflow) -> None:
    """SpiffWorkflow keeps a called process's tasks after the call activity has taken its data
    back, so every review round would stay in the stored state (a full copy of the case data
    each). Once the call activity itself has finished, nothing reads them: drop them."""
    for task_id, called in list(workflow.subprocesses.items()):
        caller = workflow.get_task_from_id(task_id)
        if called.completed and caller is not None and caller.has_state(TaskState.FINISHED_MASK):
            del workflow.subprocesses[task_id]


class _At:
    def __init__(self, now: datetime):
        self._now = now

    def now(self) -> datetime:
        return self._now

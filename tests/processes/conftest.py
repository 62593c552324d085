"""Every state the process tests save and load is checked against SpiffWorkflow alone.

The engine writes and reads states with its own converter and orjson (service/engine/state.py),
which must give the very text SpiffWorkflow's converter and the standard json give. These tests
walk every path of every process, saving and reloading after each step, so checking here covers
all the states a case can be in: timers waiting, messages caught, tasks reset by a return, cases
completed."""
from __future__ import annotations

import pytest

from service.engine.runtime import Engine
from service.engine.state import spiff_states

REFERENCE = spiff_states()


def _shared(workflow) -> list[tuple[str, str]]:
    """The values of task data that are the very object of the parent's."""
    return [(str(task.id), key) for task in workflow.tasks.values() if task.parent is not None
            for key, value in task.data.items() if value is task.parent.data.get(key)
            and not isinstance(value, str | int | float | bool | None)]


@pytest.fixture(autouse=True)
def states_match_spiffworkflow(monkeypatch):
    dump, load = Engine.dump, Engine.load

    def checked_dump(self, workflow):
        text = dump(self, workflow)
        assert text == REFERENCE.dumps(workflow)
        return text

    def checked_load(self, definitions, process_id, state, services):
        workflow = load(self, definitions, process_id, state, services)
        theirs = REFERENCE.loads(state, *definitions.processes[process_id])
        assert REFERENCE.dumps(workflow) == REFERENCE.dumps(theirs)
        assert _shared(workflow) == _shared(theirs)  # a child's lists and dicts are its own copies
        return workflow

    monkeypatch.setattr(Engine, "dump", checked_dump)
    monkeypatch.setattr(Engine, "load", checked_load)

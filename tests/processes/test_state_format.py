"""The engine writes states with orjson; what orjson refuses goes through the standard json, and
reading stays with json (service/engine/state.py). The fixture in conftest.py checks the text
against json's."""
from __future__ import annotations

from datetime import datetime

from service.bootstrap import registered_checks, registered_topics
from service.clock import FixedClock
from service.engine.definitions import read_bundle
from service.usecases.context import Context
from tests.conftest import ROOT


def test_an_integer_beyond_64_bits_is_saved_and_loaded_whole():
    ctx = Context(session_factory=None, clock=FixedClock(datetime(2024, 9, 27, 10, 0)), topics=registered_topics(),
                  form_checks=registered_checks())
    definitions = ctx.compile(read_bundle(ROOT))
    workflow = ctx.engine.start(definitions, "filing", {"filing_id": 1, "big": 2 ** 70}, None)

    text = ctx.engine.dump(workflow)  # beyond 64 bits: orjson refuses it
    assert '"big":1180591620717411303424' in text
    [task] = ctx.engine.ready_tasks(definitions, "filing", ctx.engine.load(definitions, "filing", text, None))
    assert task.data["big"] == 2 ** 70 and isinstance(task.data["big"], int)  # orjson.loads would give a float

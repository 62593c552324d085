"""What a BPMN service task (`camunda:topic`) does: a handler and the input parameters it reads.

Each process registers its topics (service/bootstrap.py), so the engine can refuse at deploy a
service task naming a topic nobody handles, or passing an input parameter its handler would
never read: a model an analyst edits either takes effect or is refused, never silently ignored.

A handler is called as `handler(ctx, session, instance, actor, data, inputs)` inside the step's
transaction, and returns what to merge into the task data."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Handler = Callable[..., Mapping[str, Any] | None]


@dataclass(frozen=True)
class Topic:
    handler: Handler
    inputs: frozenset[str] = frozenset()  # the input parameters the handler reads

    @classmethod
    def of(cls, handler: Handler, inputs: Iterable[str] = ()) -> Topic:
        return cls(handler, frozenset(inputs))


def merge(*tables: Mapping[str, Topic]) -> dict[str, Topic]:
    """One registry of every process's topics; a name taken twice is an error at start-up."""
    merged: dict[str, Topic] = {}
    for table in tables:
        for name, topic in table.items():
            if name in merged:
                raise RuntimeError(f"topic '{name}' is registered by two processes")
            merged[name] = topic
    return merged

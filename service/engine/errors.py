"""Errors the engine raises about definitions (deploy time) and their evaluation (run time).

Each error keeps its parts as attributes so the doors can show or log them, and passes them to
Exception so the errors survive pickling (e.g. between scheduler and web processes).
"""

from __future__ import annotations

from collections.abc import Sequence

# Long scripts would drown the message; the full text stays on the attribute.
_SHOWN_EXPRESSION_LENGTH = 200


class DefinitionError(Exception):
    """A BPMN, DMN or form file that cannot be deployed, naming file, element and problem."""

    def __init__(self, file: str, element: str | None, problem: str) -> None:
        super().__init__(file, element, problem)
        self.file = file
        self.element = element
        self.problem = problem

    def __str__(self) -> str:
        where = f"{self.file}, element {self.element}" if self.element else self.file
        return f"{where}: {self.problem}"


class ExpressionError(Exception):
    """An expression or script that is refused by the sandbox or fails while it runs."""

    def __init__(self, expression: str, problem: str) -> None:
        super().__init__(expression, problem)
        self.expression = expression
        self.problem = problem

    def __str__(self) -> str:
        shown = self.expression
        if len(shown) > _SHOWN_EXPRESSION_LENGTH:
            shown = shown[:_SHOWN_EXPRESSION_LENGTH] + "…"
        return f"expression {shown!r}: {self.problem}"


class DecisionError(Exception):
    """A decision that cannot give a result for this context (e.g. two rules match a UNIQUE table)."""

    def __init__(self, decision: str, problem: str, rule_ids: Sequence[str] = ()) -> None:
        super().__init__(decision, problem, tuple(rule_ids))
        self.decision = decision
        self.problem = problem
        self.rule_ids = tuple(rule_ids)

    def __str__(self) -> str:
        return f"decision {self.decision}: {self.problem}"

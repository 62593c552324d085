"""DMN 1.1–1.3 decision tables with FEEL cells, evaluated as the standard says.

SpiffWorkflow's DMN support treats cells as Python, so the FEEL an analyst types in a modeler
(``"a","b"``, ``[1..10]``, ``not("a")``) silently never matches. Here every cell is parsed by a
small, strict FEEL parser at deploy time: what we support behaves as the standard says, anything
else is refused with the file, the element id and the cell text. At run time, comparing values of
different kinds (the text "5" with the number 5) raises instead of quietly not matching.

Input expressions and computed output entries are FEEL that is also Python once ``true``,
``false``, ``null`` and ``=`` are translated; they run in the Sandbox.
"""

from __future__ import annotations

import ast
import keyword
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree

from service.engine.errors import DecisionError, DefinitionError, ExpressionError
from service.engine.sandbox import Sandbox

NAMESPACES = (
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",  # DMN 1.1
    "http://www.omg.org/spec/DMN/20180521/MODEL/",  # DMN 1.2
    "https://www.omg.org/spec/DMN/20191111/MODEL/",  # DMN 1.3 (Camunda Modeler 5)
)
_FEEL_LANGUAGES = {
    "feel",
    "http://www.omg.org/spec/feel/20140401",
    "http://www.omg.org/spec/dmn/20180521/feel/",
    "https://www.omg.org/spec/dmn/20191111/feel/",
}
SINGLE_HIT = ("UNIQUE", "FIRST", "PRIORITY", "ANY")
MULTIPLE_HIT = ("COLLECT", "RULE ORDER", "OUTPUT ORDER")
AGGREGATIONS = ("SUM", "MIN", "MAX", "COUNT")
_DECISION_LOGIC = {
    "decisionTable", "literalExpression", "context", "invocation", "relation", "list",
    "functionDefinition", "conditional", "filter", "iterator", "for", "every", "some",
}
# typeRef -> the kind of value it holds; "" and "any" are not checked.
_TYPE_KINDS = {
    "string": "string", "boolean": "boolean", "number": "number", "integer": "number",
    "long": "number", "double": "number", "date": "date",
}
_UNCHECKED_TYPES = {"", "any"}


# --- values ---------------------------------------------------------------------------------------


def _kind(value: Any) -> str:
    """The FEEL kind of a Python value; comparing values of different kinds is an error."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float, Decimal)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, datetime):
        return "date and time"
    if isinstance(value, date):
        return "date"
    return type(value).__name__


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, date):
        return f'date("{value.isoformat()}")'
    return str(value)


class _CellProblem(Exception):
    """A cell that cannot be parsed (deploy) or compared (run time); the caller adds where."""


def _parse_date(text: str) -> date:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise _CellProblem(f'date("{text}") must be written date("YYYY-MM-DD")')
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _CellProblem(f'date("{text}") is not a valid date') from None


# --- FEEL tokens ----------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<number>\d+(?:\.\d+)?|\.\d+)
    | (?P<name>[^\W\d]\w*)
    | (?P<op>\.\.|<=|>=|!=|==|\*\*|[-+*/<>=(),.\[\]])
    )""",
    re.VERBOSE | re.DOTALL,
)
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "'": "'"}


@dataclass(frozen=True)
class _Token:
    kind: str  # string, number, name, op, end
    text: str
    value: Any = None


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            bad = text[position:].lstrip()[:1]
            hint = "; strings use double quotes" if bad == "'" else ""
            raise _CellProblem(f"unexpected character {bad!r}{hint}")
        kind = match.lastgroup
        assert kind is not None
        raw = match.group(kind)
        tokens.append(_Token(kind, raw, _token_value(kind, raw)))
        position = match.end()
    tokens.append(_Token("end", ""))
    return tokens


def _token_value(kind: str, raw: str) -> Any:
    if kind == "number":
        return float(raw) if "." in raw else int(raw)
    if kind == "string":
        return re.sub(r"\\(u[0-9a-fA-F]{4}|.)", _unescape, raw[1:-1], flags=re.DOTALL)
    return None


def _unescape(match: re.Match[str]) -> str:
    escape = match.group(1)
    if escape.startswith("u") and len(escape) == 5:
        return chr(int(escape[1:], 16))
    if escape in _ESCAPES:
        return _ESCAPES[escape]
    raise _CellProblem(f"unknown escape '\\{escape}' in a string")


# --- FEEL unary tests (input entries) -------------------------------------------------------------

_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}


@dataclass(frozen=True)
class _Endpoint:
    """A literal value, or a variable path read from the context when the rule is evaluated."""

    value: Any = None
    path: str | None = None

    def resolve(self, context: Mapping[str, Any], sandbox: Sandbox) -> Any:
        if self.path is None:
            return self.value
        value = sandbox.evaluate(self.path, context)
        if value is None:
            raise _CellProblem(f"'{self.path}' is null, so nothing can be compared with it")
        return value


@dataclass(frozen=True)
class _Test:
    """One positive unary test: ``= v``, ``< v`` …, a range, or ``null``."""

    op: str  # "=", "<", "<=", ">", ">=", "range", "null"
    low: _Endpoint | None = None
    high: _Endpoint | None = None
    low_closed: bool = True
    high_closed: bool = True

    def matches(self, value: Any, context: Mapping[str, Any], sandbox: Sandbox) -> bool:
        # Only called with a non-null value: null is handled by UnaryTests.
        if self.op == "null":
            return False
        assert self.low is not None
        if self.op != "range":
            return _compare(value, self.op, self.low.resolve(context, sandbox))
        assert self.high is not None
        return _compare(value, ">=" if self.low_closed else ">", self.low.resolve(context, sandbox)) and (
            _compare(value, "<=" if self.high_closed else "<", self.high.resolve(context, sandbox))
        )

    def literals(self) -> list[Any]:
        return [e.value for e in (self.low, self.high) if e is not None and e.path is None]


def _compare(value: Any, op: str, other: Any) -> bool:
    kind, other_kind = _kind(value), _kind(other)
    if kind != other_kind:
        raise _CellProblem(f"the input is {kind} {_show(value)} but the cell compares it with {other_kind} "
                           f"{_show(other)}")
    if op != "=" and kind not in ("number", "string", "date"):
        raise _CellProblem(f"{kind} values cannot be ordered with '{op}'")
    return _COMPARISONS[op](value, other)


@dataclass(frozen=True)
class UnaryTests:
    """The content of an input entry cell: ``-``, a list of tests, or ``not(...)`` of a list."""

    text: str
    tests: tuple[_Test, ...] = ()  # empty = "-": matches anything
    negated: bool = False

    def matches(self, value: Any, context: Mapping[str, Any], sandbox: Sandbox) -> bool:
        if not self.tests:
            return True
        if value is None:
            # A null input matches only "-" and "null"; not(...) of anything does not match null.
            return not self.negated and any(test.op == "null" for test in self.tests)
        hit = any(test.matches(value, context, sandbox) for test in self.tests)
        return hit != self.negated

    def literals(self) -> list[Any]:
        return [value for test in self.tests for value in test.literals()]

    def paths(self) -> list[str]:
        return [e.path for t in self.tests for e in (t.low, t.high) if e is not None and e.path is not None]


class _Parser:
    """Recursive descent over the tokens of one cell."""

    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.position = 0

    def peek(self, offset: int = 0) -> _Token:
        return self.tokens[min(self.position + offset, len(self.tokens) - 1)]

    def next(self) -> _Token:
        token = self.peek()
        self.position += 1
        return token

    def accept(self, kind: str, text: str) -> bool:
        token = self.peek()
        if token.kind == kind and token.text == text:
            self.position += 1
            return True
        return False

    def expect(self, kind: str, text: str, what: str) -> None:
        if not self.accept(kind, text):
            raise _CellProblem(f"expected {what} but found {self._found()}")

    def _found(self) -> str:
        token = self.peek()
        return "the end of the cell" if token.kind == "end" else f"'{token.text}'"

    def unary_tests(self, text: str) -> UnaryTests:
        negated = self.peek().text == "not" and self.peek(1).text == "("
        if negated:
            self.position += 2
        tests = [self.positive_test()]
        while self.accept("op", ","):
            tests.append(self.positive_test())
        if negated:
            self.expect("op", ")", "')' closing not(")
            if self.peek().kind != "end":
                raise _CellProblem("not(...) must be the whole cell")
        if self.peek().kind != "end":
            raise _CellProblem(f"expected ',' or the end of the cell but found {self._found()}")
        return UnaryTests(text, tuple(tests), negated)

    def positive_test(self) -> _Test:
        token = self.peek()
        if token.kind == "name" and token.text == "null":
            self.position += 1
            return _Test("null")
        if token.kind == "op" and token.text in ("<", "<=", ">", ">="):
            self.position += 1
            endpoint = self.endpoint()
            if endpoint.path is None and _kind(endpoint.value) == "boolean":
                raise _CellProblem(f"booleans cannot be ordered with '{token.text}'")
            return _Test(token.text, endpoint)
        if token.kind == "op" and token.text in ("=", "=="):
            raise _CellProblem("a unary test has no '='; write the value alone, e.g. 5 or \"a\"")
        if token.kind == "op" and token.text == "!=":
            raise _CellProblem("a unary test has no '!='; write not(5) or not(\"a\")")
        if token.kind == "op" and token.text in ("[", "(", "]"):
            return self.interval()
        if token.kind == "op" and token.text == "-" and self.peek(1).kind != "number":
            raise _CellProblem("'-' (any value) must be the whole cell")
        return _Test("=", self.endpoint())

    def interval(self) -> _Test:
        low_closed = self.next().text == "["
        low = self.endpoint()
        self.expect("op", "..", "'..' in a range")
        high = self.endpoint()
        close = self.next()
        if close.kind != "op" or close.text not in ("]", ")", "["):
            raise _CellProblem("a range ends with ']', ')' or '['")
        test = _Test("range", low, high, low_closed, close.text == "]")
        if low.path is None and high.path is None:
            _check_range(test, low.value, high.value)
        return test

    def endpoint(self) -> _Endpoint:
        token = self.next()
        if token.kind == "op" and token.text == "-" and self.peek().kind == "number":
            return _Endpoint(-self.next().value)
        if token.kind in ("number", "string"):
            return _Endpoint(token.value)
        if token.kind == "name":
            if token.text in ("true", "false"):
                return _Endpoint(token.text == "true")
            if token.text == "null":
                raise _CellProblem("null cannot be compared or used in a range; write null alone")
            if token.text == "date" and self.accept("op", "("):
                text = self.next()
                if text.kind != "string":
                    raise _CellProblem('write a date as date("YYYY-MM-DD")')
                self.expect("op", ")", "')' after the date")
                return _Endpoint(_parse_date(text.value))
            if token.text in ("not", "and", "or", "true", "false"):
                raise _CellProblem(f"unexpected '{token.text}'")
            return _Endpoint(path=self.path(token.text))
        shown = "the end of the cell" if token.kind == "end" else f"'{token.text}'"
        raise _CellProblem(f"expected a value but found {shown}")

    def path(self, first: str) -> str:
        parts = [first]
        while self.accept("op", "."):
            token = self.next()
            if token.kind != "name":
                raise _CellProblem("expected a name after '.'")
            parts.append(token.text)
        if self.peek().text == "(":
            raise _CellProblem("function calls are not supported in input entries")
        for part in parts:
            # The path is evaluated as Python, so it must be made of plain Python names.
            if part.startswith("_") or not part.isidentifier() or keyword.iskeyword(part):
                raise _CellProblem(f"name '{part}' is not allowed")
        return ".".join(parts)


def _check_range(test: _Test, low: Any, high: Any) -> None:
    kind = _kind(low)
    if kind != _kind(high) or kind not in ("number", "string", "date"):
        raise _CellProblem(f"a range needs two numbers, two strings or two dates, not {_show(low)} and "
                           f"{_show(high)}")
    if low > high or (low == high and not (test.low_closed and test.high_closed)):
        raise _CellProblem("the range is empty")


def _parse_unary_tests(text: str) -> UnaryTests:
    """Parse an input entry cell; raises _CellProblem (see module doc for the subset)."""
    stripped = text.strip()
    if stripped in ("", "-"):
        return UnaryTests(text)
    return _Parser(stripped).unary_tests(text)


# --- FEEL expressions (input expressions, output entries) -----------------------------------------

_EXPRESSION_OPS = {"+", "-", "*", "/", "**", "(", ")", ",", ".", "<", "<=", ">", ">=", "=", "!="}
_FEEL_NAMES = {"true": "True", "false": "False", "null": "None"}
_FEEL_NODES = (
    ast.Constant, ast.Name, ast.Load, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.Call,
    ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.USub, ast.Not, ast.And, ast.Or,
    ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq,
)


def _translate_expression(text: str) -> tuple[str, ast.expr]:
    """Translate a simple FEEL expression into Python text; refuse what is not in the subset."""
    parts = []
    previous = ""
    for token in _tokenize(text):
        if token.kind == "string" and previous == "string":
            # Python would join "a" "b" into "ab"; in FEEL it is an error.
            raise _CellProblem("two strings in a row")
        previous = token.kind
        if token.kind == "string":
            parts.append(repr(token.value))
        elif token.kind == "number":
            parts.append(token.text)
        elif token.kind == "name":
            if token.text in ("True", "False", "None"):
                raise _CellProblem(f"'{token.text}' is Python; FEEL writes true, false and null")
            parts.append(_FEEL_NAMES.get(token.text, token.text))
        elif token.kind == "op":
            if token.text not in _EXPRESSION_OPS:
                hint = "; FEEL compares with =" if token.text == "==" else ""
                raise _CellProblem(f"'{token.text}' is not supported in expressions{hint}")
            parts.append("==" if token.text == "=" else token.text)
    python = " ".join(parts)
    try:
        tree = ast.parse(python, mode="eval").body
    except SyntaxError:
        raise _CellProblem("not a supported FEEL expression") from None
    for node in ast.walk(tree):
        _check_feel_node(node)
    return python, tree


def _check_feel_node(node: ast.AST) -> None:
    if isinstance(node, ast.Attribute):
        # Only paths: a.b.c on names, never methods or attributes of computed values.
        if not isinstance(node.value, (ast.Name, ast.Attribute)) or node.attr.startswith("_"):
            raise _CellProblem(f"'.{node.attr}' is only allowed in a path like applicant.age")
        return
    if isinstance(node, ast.Name) and node.id.startswith("_"):
        raise _CellProblem(f"name '{node.id}' is not allowed")
    if isinstance(node, ast.Call) and (not isinstance(node.func, ast.Name) or node.keywords):
        raise _CellProblem("only plain function calls f(a, b) are allowed")
    if isinstance(node, ast.Compare) and len(node.ops) != 1:
        raise _CellProblem("chained comparisons are not FEEL; combine them with 'and'")
    if not isinstance(node, _FEEL_NODES):
        raise _CellProblem(f"'{type(node).__name__}' is not supported in a FEEL expression here")


def _literal(tree: ast.expr) -> tuple[bool, Any]:
    """(True, value) when an output entry is a constant we can compute at deploy time."""
    if isinstance(tree, ast.Constant):
        return True, tree.value
    if isinstance(tree, ast.UnaryOp) and isinstance(tree.op, ast.USub):
        is_literal, value = _literal(tree.operand)
        if is_literal and _kind(value) == "number":
            return True, -value
    if (isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name) and tree.func.id == "date"
            and len(tree.args) == 1 and isinstance(tree.args[0], ast.Constant)
            and isinstance(tree.args[0].value, str)):
        return True, _parse_date(tree.args[0].value)
    return False, None


@dataclass(frozen=True)
class _Cell:
    """An output entry (or default output entry): a literal value, or Python for the sandbox."""

    text: str
    value: Any = None
    python: str | None = None

    def evaluate(self, context: Mapping[str, Any], sandbox: Sandbox) -> Any:
        return self.value if self.python is None else sandbox.evaluate(self.python, context)


# --- the model ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Input:
    id: str
    label: str
    expression: str  # the FEEL text as written
    python: str  # what the sandbox evaluates
    type_ref: str


@dataclass(frozen=True)
class Output:
    id: str
    name: str
    label: str
    type_ref: str
    values: tuple[Any, ...] | None  # outputValues, highest priority first
    default: _Cell | None = None


@dataclass(frozen=True)
class Rule:
    id: str
    input_entries: tuple[UnaryTests, ...]
    output_entries: tuple[_Cell, ...]


@dataclass(frozen=True)
class Decision:
    id: str
    name: str
    hit_policy: str
    aggregation: str | None
    inputs: tuple[Input, ...]
    outputs: tuple[Output, ...]
    rules: tuple[Rule, ...]

    def evaluate(self, context: Mapping[str, Any], sandbox: Sandbox) -> dict[str, Any]:
        """Evaluate the table for this context; returns {output name: value (or list)}."""
        values = [self._input_value(input_, context, sandbox) for input_ in self.inputs]
        matched = [rule for rule in self.rules if self._matches(rule, values, context, sandbox)]
        if self.hit_policy in SINGLE_HIT:
            return self._single_hit(matched, context, sandbox)
        rows = [self._outputs_of(rule, context, sandbox) for rule in matched]
        if self.aggregation:
            return {self.outputs[0].name: self._aggregate(rows, matched)}
        if self.hit_policy == "OUTPUT ORDER":
            order = sorted(range(len(rows)), key=lambda i: self._priority(rows[i], matched[i]))
            rows = [rows[i] for i in order]
        return {output.name: [row[output.name] for row in rows] for output in self.outputs}

    def _fail(self, problem: str, rule_ids: tuple[str, ...] = ()) -> DecisionError:
        label = self.id if self.name == self.id else f"{self.id} ('{self.name}')"
        return DecisionError(label, problem, rule_ids)

    def _input_value(self, input_: Input, context: Mapping[str, Any], sandbox: Sandbox) -> Any:
        if input_.python.isidentifier() and input_.python not in context:
            # FEEL (and Camunda): a variable the case does not have is null, e.g. the years of use
            # of a site the institution owns; a null input matches only "-" and "null".
            return None
        try:
            value = sandbox.evaluate(input_.python, context)
        except ExpressionError as exc:
            raise self._fail(f"input '{input_.label}': {exc}") from exc
        expected = _TYPE_KINDS.get(input_.type_ref)
        if expected == "date" and isinstance(value, str):
            # Task data is JSON, so dates usually arrive as ISO strings.
            try:
                value = _parse_date(value)
            except _CellProblem as exc:
                raise self._fail(f"input '{input_.label}': {exc}") from None
        if expected and value is not None and _kind(value) != expected:
            raise self._fail(f"input '{input_.label}' should be {input_.type_ref} but is "
                             f"{_kind(value)} {_show(value)}")
        return value

    def _matches(self, rule: Rule, values: list[Any], context: Mapping[str, Any], sandbox: Sandbox) -> bool:
        for input_, entry, value in zip(self.inputs, rule.input_entries, values, strict=True):
            try:
                if not entry.matches(value, context, sandbox):
                    return False
            except (_CellProblem, ExpressionError) as exc:
                hint = ""
                if isinstance(exc, ExpressionError) and exc.problem.startswith("unknown name"):
                    hint = " (a text value needs double quotes)"
                raise self._fail(f"rule {rule.id}, input '{input_.label}', cell '{entry.text.strip()}': "
                                 f"{exc}{hint}", (rule.id,)) from exc
        return True

    def _outputs_of(self, rule: Rule, context: Mapping[str, Any], sandbox: Sandbox) -> dict[str, Any]:
        row = {}
        for output, cell in zip(self.outputs, rule.output_entries, strict=True):
            try:
                value = cell.evaluate(context, sandbox)
                if cell.python is not None:
                    _check_output_value(output, value)
            except (ExpressionError, _CellProblem) as exc:
                raise self._fail(f"rule {rule.id}, output '{output.name}': {exc}", (rule.id,)) from exc
            row[output.name] = value
        return row

    def _single_hit(self, matched: list[Rule], context: Mapping[str, Any], sandbox: Sandbox) -> dict:
        if not matched:
            return {output.name: output.default.evaluate(context, sandbox) if output.default else None
                    for output in self.outputs}
        ids = tuple(rule.id for rule in matched)
        if self.hit_policy == "UNIQUE" and len(matched) > 1:
            raise self._fail(f"rules {', '.join(ids)} all match, but hit policy UNIQUE allows only one", ids)
        if self.hit_policy in ("UNIQUE", "FIRST"):
            return self._outputs_of(matched[0], context, sandbox)
        rows = [self._outputs_of(rule, context, sandbox) for rule in matched]
        if self.hit_policy == "ANY":
            if any(row != rows[0] for row in rows):
                raise self._fail(f"rules {', '.join(ids)} match with different outputs, which hit policy "
                                 "ANY does not allow", ids)
            return rows[0]
        # PRIORITY: min() keeps the first rule among equal priorities.
        return min(zip(rows, matched, strict=True), key=lambda pair: self._priority(*pair))[0]

    def _priority(self, row: dict[str, Any], rule: Rule) -> tuple[int, ...]:
        key = []
        for output in self.outputs:
            if output.values is None:
                continue
            value = row[output.name]
            if value is None or value not in output.values:
                raise self._fail(f"rule {rule.id}: output '{output.name}' = {_show(value)} is not one of "
                                 "its output values, so it has no priority", (rule.id,))
            key.append(output.values.index(value))
        return tuple(key)

    def _aggregate(self, rows: list[dict[str, Any]], matched: list[Rule]) -> Any:
        if self.aggregation == "COUNT":
            return len(rows)
        name = self.outputs[0].name
        values = [row[name] for row in rows if row[name] is not None]  # nulls are skipped
        kinds = {_kind(value) for value in values}
        if self.aggregation == "SUM":
            if kinds - {"number"}:
                raise self._fail(f"SUM needs numbers but output '{name}' gave {sorted(kinds)}",
                                 tuple(rule.id for rule in matched))
            return sum(values)
        if len(kinds) > 1:
            raise self._fail(f"{self.aggregation} cannot compare {' and '.join(sorted(kinds))} values",
                             tuple(rule.id for rule in matched))
        if not values:
            return None
        return min(values) if self.aggregation == "MIN" else max(values)


def _check_output_value(output: Output, value: Any) -> None:
    expected = _TYPE_KINDS.get(output.type_ref)
    if expected and value is not None and _kind(value) != expected:
        raise _CellProblem(f"output '{output.name}' is {output.type_ref} but the value is {_kind(value)} "
                           f"{_show(value)}")
    if output.values is not None and value is not None and value not in output.values:
        allowed = ", ".join(_show(v) for v in output.values)
        raise _CellProblem(f"{_show(value)} is not one of the output values of '{output.name}' ({allowed})")


# --- XML ------------------------------------------------------------------------------------------


def parse_decisions(xml: bytes | str, file_name: str, *, sandbox: Sandbox | None = None) -> list[Decision]:
    """Parse every decision of a DMN file; any problem raises DefinitionError.

    XML is parsed without DTDs, entities or network access. Every cell is parsed now, so a cell we
    cannot evaluate exactly is refused at deploy. Given a sandbox, input expressions and computed
    outputs are also compiled with it (which checks that the functions they call exist).
    """
    root = _parse_xml(xml, file_name)
    namespace = root.tag[1:].partition("}")[0] if root.tag.startswith("{") else ""
    if namespace not in NAMESPACES or _local(root.tag) != "definitions":
        raise DefinitionError(file_name, None, f"not a DMN 1.1-1.3 definitions document (root {root.tag}); "
                                               f"supported namespaces: {', '.join(NAMESPACES)}")
    builder = _Builder(file_name, namespace, root.get("expressionLanguage"), sandbox)
    decisions = [builder.decision(element) for element in root.findall(f"{{{namespace}}}decision")]
    if not decisions:
        raise DefinitionError(file_name, root.get("id"), "the file has no decision")
    seen: set[str] = set()
    for decision in decisions:
        if decision.id in seen:
            raise DefinitionError(file_name, decision.id, "two decisions have this id")
        seen.add(decision.id)
    return decisions


def _parse_xml(xml: bytes | str, file_name: str) -> Element:
    try:
        return defusedxml.ElementTree.fromstring(xml, forbid_dtd=True, forbid_entities=True,
                                                 forbid_external=True)
    except defusedxml.DTDForbidden:
        raise DefinitionError(file_name, None, "a DOCTYPE is not allowed in a DMN file") from None
    except defusedxml.DefusedXmlException as exc:
        raise DefinitionError(file_name, None, f"refused unsafe XML: {exc}") from None
    except ParseError as exc:
        raise DefinitionError(file_name, None, f"not well-formed XML: {exc}") from None


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


class _Builder:
    """Turns the elements of one file into Decisions, raising DefinitionError at the first problem."""

    def __init__(self, file_name: str, namespace: str, language: str | None, sandbox: Sandbox | None) -> None:
        self.file = file_name
        self.ns = namespace
        self.language = language
        self.sandbox = sandbox

    def error(self, element: str | None, problem: str) -> DefinitionError:
        return DefinitionError(self.file, element, problem)

    def children(self, element: Element, tag: str) -> list[Element]:
        return element.findall(f"{{{self.ns}}}{tag}")

    def text(self, element: Element | None) -> str:
        if element is None:
            return ""
        node = element.find(f"{{{self.ns}}}text")
        return (node.text or "") if node is not None else ""

    def check_language(self, element: Element, owner: str | None) -> None:
        language = element.get("expressionLanguage") or self.language
        if language and language.lower() not in _FEEL_LANGUAGES:
            raise self.error(owner, f"expression language '{language}' is not supported; only FEEL is")

    def decision(self, element: Element) -> Decision:
        decision_id = element.get("id") or ""
        if not decision_id:
            raise self.error(None, "a decision has no id")
        logic = [_local(child.tag) for child in element if _local(child.tag) in _DECISION_LOGIC]
        if logic != ["decisionTable"]:
            found = f"'{logic[0]}'" if logic else "no decision logic"
            raise self.error(decision_id, f"only decision tables are supported, found {found}")
        for requirement in self.children(element, "informationRequirement"):
            if self.children(requirement, "requiredDecision"):
                raise self.error(decision_id, "decisions that require other decisions are not supported; "
                                              "call each decision from the process")
        table = self.children(element, "decisionTable")[0]
        hit_policy = table.get("hitPolicy") or "UNIQUE"
        if hit_policy not in SINGLE_HIT + MULTIPLE_HIT:
            raise self.error(decision_id, f"unknown hit policy '{hit_policy}'")
        aggregation = table.get("aggregation") or None
        inputs = tuple(self.input(child) for child in self.children(table, "input"))
        outputs = tuple(self.output(child, hit_policy) for child in self.children(table, "output"))
        self.check_table(decision_id, hit_policy, aggregation, inputs, outputs)
        rules = tuple(self.rule(child, index, inputs, outputs, hit_policy, aggregation)
                      for index, child in enumerate(self.children(table, "rule"), start=1))
        if not rules:
            raise self.error(decision_id, "the decision table has no rules")
        return Decision(decision_id, element.get("name") or decision_id, hit_policy, aggregation,
                        inputs, outputs, rules)

    def check_table(self, decision_id: str, hit_policy: str, aggregation: str | None,
                    inputs: tuple[Input, ...], outputs: tuple[Output, ...]) -> None:
        if not outputs:
            raise self.error(decision_id, "the decision table has no output")
        names = [output.name for output in outputs]
        if len(set(names)) != len(names):
            raise self.error(decision_id, f"output names must differ: {names}")
        if aggregation is not None:
            if hit_policy != "COLLECT":
                raise self.error(decision_id, f"aggregation {aggregation} needs hit policy COLLECT")
            if aggregation not in AGGREGATIONS:
                raise self.error(decision_id, f"unknown aggregation '{aggregation}'")
            if len(outputs) > 1:
                raise self.error(decision_id, f"COLLECT {aggregation} needs exactly one output")
        if hit_policy in ("PRIORITY", "OUTPUT ORDER") and all(output.values is None for output in outputs):
            raise self.error(decision_id, f"hit policy {hit_policy} orders rules by the outputs' "
                                          "output values; give the output a list of output values")

    def input(self, element: Element) -> Input:
        input_id = element.get("id") or None
        label = element.get("label") or input_id or "?"
        expression = element.find(f"{{{self.ns}}}inputExpression")
        if expression is None or not self.text(expression).strip():
            raise self.error(input_id, f"input '{label}' has no input expression")
        self.check_language(expression, input_id)
        type_ref = self.type_ref(expression, input_id)
        text = self.text(expression).strip()
        try:
            python, _ = _translate_expression(text)
        except _CellProblem as exc:
            raise self.error(input_id, f"input expression '{text}': {exc}") from None
        self.compile(python, input_id, f"input expression '{text}'")
        return Input(input_id or label, label, text, python, type_ref)

    def output(self, element: Element, hit_policy: str) -> Output:
        output_id = element.get("id") or None
        name = element.get("name") or ""
        label = element.get("label") or name
        if not name:
            raise self.error(output_id, f"output '{label}' has no name; the name becomes the result variable")
        type_ref = self.type_ref(element, output_id)
        values = None
        allowed = element.find(f"{{{self.ns}}}outputValues")
        if allowed is not None and self.text(allowed).strip():
            text = self.text(allowed)
            try:
                tests = _parse_unary_tests(text)
            except _CellProblem as exc:
                raise self.error(output_id, f"output values '{text.strip()}': {exc}") from None
            if tests.negated or len(tests.literals()) != len(tests.tests) or any(
                test.op != "=" for test in tests.tests
            ):
                raise self.error(output_id, f"output values '{text.strip()}' must be a list of values")
            values = tuple(tests.literals())
        output = Output(output_id or name, name, label, type_ref, values)
        default = element.find(f"{{{self.ns}}}defaultOutputEntry")
        if default is not None and self.text(default).strip():
            if hit_policy not in SINGLE_HIT:
                raise self.error(output_id, f"a default output value needs a single-hit hit policy, "
                                            f"not {hit_policy}")
            cell = self.cell(default, output, output_id)
            output = Output(output.id, name, label, type_ref, values, cell)
        return output

    def type_ref(self, element: Element, owner: str | None) -> str:
        type_ref = (element.get("typeRef") or "").strip()
        if type_ref.lower() in _UNCHECKED_TYPES:
            return ""
        if type_ref not in _TYPE_KINDS:
            raise self.error(owner, f"typeRef '{type_ref}' is not supported; use one of "
                                    f"{', '.join(_TYPE_KINDS)} or leave it empty")
        return type_ref

    def rule(self, element: Element, index: int, inputs: tuple[Input, ...], outputs: tuple[Output, ...],
             hit_policy: str, aggregation: str | None) -> Rule:
        rule_id = element.get("id") or f"rule #{index}"
        input_entries = self.children(element, "inputEntry")
        output_entries = self.children(element, "outputEntry")
        if len(input_entries) != len(inputs) or len(output_entries) != len(outputs):
            raise self.error(rule_id, f"the rule has {len(input_entries)} input and {len(output_entries)} "
                                      f"output entries; the table has {len(inputs)} and {len(outputs)}")
        tests = []
        for input_, entry in zip(inputs, input_entries, strict=True):
            self.check_language(entry, rule_id)
            text = self.text(entry)
            try:
                parsed = _parse_unary_tests(text)
                self.check_literals(input_, parsed)
            except _CellProblem as exc:
                raise self.error(rule_id, f"unsupported FEEL unary test '{text.strip()}' "
                                          f"(input '{input_.label}'): {exc}") from None
            for path in parsed.paths():
                self.compile(path, rule_id, f"input entry '{text.strip()}'")
            tests.append(parsed)
        cells = []
        for output, entry in zip(outputs, output_entries, strict=True):
            cell = self.cell(entry, output, rule_id)
            if aggregation == "SUM" and cell.python is None and _kind(cell.value) not in ("number", "null"):
                raise self.error(rule_id, f"COLLECT SUM needs numbers but output '{output.name}' is "
                                          f"{_show(cell.value)}")
            if (hit_policy in ("PRIORITY", "OUTPUT ORDER") and output.values is not None
                    and cell.python is None and cell.value is None):
                raise self.error(rule_id, f"output '{output.name}' is empty, so the rule has no priority")
            cells.append(cell)
        return Rule(rule_id, tuple(tests), tuple(cells))

    def check_literals(self, input_: Input, tests: UnaryTests) -> None:
        expected = _TYPE_KINDS.get(input_.type_ref)
        for value in tests.literals():
            if expected and _kind(value) != expected:
                raise _CellProblem(f"the input is {input_.type_ref} but the cell has {_kind(value)} "
                                   f"{_show(value)}")

    def cell(self, element: Element, output: Output, owner: str | None) -> _Cell:
        self.check_language(element, owner)
        text = self.text(element).strip()
        if not text:
            return _Cell(text)
        try:
            python, tree = _translate_expression(text)
            is_literal, value = _literal(tree)
            if is_literal:
                _check_output_value(output, value)
                return _Cell(text, value)
        except _CellProblem as exc:
            raise self.error(owner, f"output entry '{text}' (output '{output.name}'): {exc}") from None
        self.compile(python, owner, f"output entry '{text}' (output '{output.name}')")
        return _Cell(text, python=python)

    def compile(self, python: str, owner: str | None, what: str) -> None:
        if self.sandbox is not None:
            try:
                self.sandbox.check(python)
            except ExpressionError as exc:
                raise self.error(owner, f"{what}: {exc.problem}") from None

"""DMN 1.1–1.5 decision tables with FEEL cells, evaluated as the standard says.

SpiffWorkflow's DMN support treats cells as Python, so the FEEL an analyst types in a modeler
(``"a","b"``, ``[1..10]``, ``not("a")``) silently never matches. Here every cell is parsed by a
small, strict FEEL parser at deploy time: what we support behaves as the standard says, anything
else is refused with the file, the element id and the cell text. At run time, comparing values of
different kinds (the text "5" with the number 5) raises instead of quietly not matching.

Input expressions and computed output entries are FEEL that is also Python once ``true``,
``false``, ``null``, ``=`` and names with spaces are translated; they run in the Sandbox.

Numbers are decimals, as FEEL's are (DMN 1.5, 10.3.2.3.1: IEEE 754 decimal128, not binary
floating point): a cell ``0.3`` is ``Decimal("0.3")``, so ``0.1 * 3`` matches it, ``[1.1..2]``
holds ``1.10`` and COLLECT SUM of 0.1 and 0.2 is 0.3. A float that still reaches a table (case data
saved before numbers were decimals) is taken as the decimal it prints.
"""

from __future__ import annotations

import ast
import math
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
    "https://www.omg.org/spec/DMN/20191111/MODEL/",  # DMN 1.3 (Camunda Modeler 5, dmn-js)
    "https://www.omg.org/spec/DMN/20211108/MODEL/",  # DMN 1.4
    "https://www.omg.org/spec/DMN/20230324/MODEL/",  # DMN 1.5
)
# The FEEL of each DMN version, as files write it in expressionLanguage (DMN 1.5, 6.3.2: its default
# is that version's FEEL URI); compared without case, scheme or trailing slash (tools differ there).
_FEEL_LANGUAGES = {
    "feel",
    "www.omg.org/spec/feel/20140401",  # DMN 1.1
    "www.omg.org/spec/dmn/20180521/feel",  # DMN 1.2
    "www.omg.org/spec/dmn/20191111/feel",  # DMN 1.3
    "www.omg.org/spec/dmn/20211108/feel",  # DMN 1.4
    "www.omg.org/spec/dmn/20230324/feel",  # DMN 1.5
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
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_show(item) for item in value) + "]"
    return str(value)


class _CellProblem(Exception):
    """A cell that cannot be parsed (deploy) or compared (run time); the caller adds where."""


def _exact(value: Any) -> Any:
    """A number as FEEL has it: a float becomes the decimal it prints (0.1 stays 0.1, not
    0.1000000000000000055511151231257827); ints, Decimals and other values are kept."""
    if type(value) is float:
        if not math.isfinite(value):
            raise _CellProblem(f"{value} is not a number FEEL knows")
        return Decimal(repr(value))
    return value


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


# FEEL's reserved words (DMN 1.5, 10.3.1.2): never part of a name, so `a and b` stays three words.
_KEYWORDS = frozenset({"and", "or", "not", "in", "between", "instance", "of", "if", "then", "else", "for",
                       "return", "some", "every", "satisfies", "function", "true", "false", "null"})
# Temporal values FEEL has and we do not evaluate: refused by name, never half-understood.
_TEMPORAL = {("time",): "time", ("duration",): "duration", ("date", "and", "time"): "date and time",
             ("years", "and", "months", "duration"): "years and months duration"}


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            bad = text[position:].lstrip()[:1]
            hint = {"'": "; strings use double quotes",
                    "?": "; '?' (the input itself) is not supported: write the test alone, e.g. < 5"}.get(bad, "")
            raise _CellProblem(f"unexpected character {bad!r}{hint}")
        kind = match.lastgroup
        assert kind is not None
        raw = match.group(kind)
        tokens.append(_Token(kind, raw, _token_value(kind, raw)))
        position = match.end()
    _refuse_temporal(tokens)
    tokens.append(_Token("end", ""))
    return _join_names(tokens)


def _refuse_temporal(tokens: list[_Token]) -> None:
    words = [token.text if token.kind in ("name", "op") else None for token in tokens]
    for index in range(len(words)):
        for parts, name in _TEMPORAL.items():
            end = index + len(parts)
            if tuple(words[index:end]) == parts and end < len(words) and words[end] == "(":
                raise _CellProblem(f'{name}(...) is not supported; the only temporal values are dates, '
                                   'written date("YYYY-MM-DD")')


def _join_names(tokens: list[_Token]) -> list[_Token]:
    """FEEL names may contain spaces (DMN 1.5, 10.3.1.2, rules 27–30: `Another boolean`, `Line 2
    total`): words in a row that are not reserved are one name, single-spaced."""
    joined: list[_Token] = []
    for token in tokens:
        previous = joined[-1] if joined else None
        if (previous is not None and previous.kind == "name" and previous.text not in _KEYWORDS
                and (token.kind == "name" and token.text not in _KEYWORDS
                     or token.kind == "number" and token.text.isdigit())):
            joined[-1] = _Token("name", f"{previous.text} {token.text}")
        else:
            joined.append(token)
    return joined


def _token_value(kind: str, raw: str) -> Any:
    if kind == "number":
        # Integers stay int; anything with a fraction is an exact decimal (DMN 1.5, 10.3.2.3.1).
        return Decimal(raw) if "." in raw else int(raw)
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
    """A literal value, or a variable (a FEEL name or path) read from the context when the rule is
    evaluated."""

    value: Any = None
    path: tuple[str, ...] = ()

    def resolve(self, context: Mapping[str, Any]) -> Any:
        if not self.path:
            return self.value
        value = _read_path(self.path, context)
        if value is None:
            raise _CellProblem(f"'{'.'.join(self.path)}' is null, so nothing can be compared with it")
        return value


def _read_path(path: tuple[str, ...], context: Mapping[str, Any]) -> Any:
    """`a.b.c` as FEEL reads it: keys of contexts (mappings), or a date's year, month and day."""
    first, *rest = path
    if first not in context:
        raise _CellProblem(f"unknown name '{first}' (a text value needs double quotes)")
    value = context[first]
    for part in rest:
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, date) and part in ("year", "month", "day"):
            value = getattr(value, part)
        else:
            raise _CellProblem(f"'{'.'.join(path)}': {_show(value)} has no '{part}'")
    return _exact(value)


@dataclass(frozen=True)
class _Test:
    """One positive unary test: ``= v``, ``< v`` …, a range, or ``null``."""

    op: str  # "=", "<", "<=", ">", ">=", "range", "null"
    low: _Endpoint | None = None
    high: _Endpoint | None = None
    low_closed: bool = True
    high_closed: bool = True

    def matches(self, value: Any, context: Mapping[str, Any]) -> bool:
        # Only called with a non-null value: null is handled by UnaryTests.
        if self.op == "null":
            return False
        assert self.low is not None
        if self.op != "range":
            other = self.low.resolve(context)
            if self.op == "=" and isinstance(other, (list, tuple)):
                # FEEL (DMN 1.5, 10.3.2, unary tests): a test that is an expression e is satisfied
                # when the input is in e (`? in e`); for a list that is membership.
                return any(item is not None and _compare(value, "=", _exact(item)) for item in other)
            return _compare(value, self.op, other)
        assert self.high is not None
        return _compare(value, ">=" if self.low_closed else ">", self.low.resolve(context)) and (
            _compare(value, "<=" if self.high_closed else "<", self.high.resolve(context))
        )

    def literals(self) -> list[Any]:
        return [e.value for e in (self.low, self.high) if e is not None and not e.path]


def _compare(value: Any, op: str, other: Any) -> bool:
    kind, other_kind = _kind(value), _kind(other)
    if kind != other_kind:
        raise _CellProblem(f"the input is {kind} {_show(value)} but the cell compares it with {other_kind} "
                           f"{_show(other)}")
    if op != "=" and kind not in ("number", "string", "date"):
        raise _CellProblem(f"{kind} values cannot be ordered with '{op}'")
    return _COMPARISONS[op](_exact(value), _exact(other))


@dataclass(frozen=True)
class UnaryTests:
    """The content of an input entry cell: ``-``, a list of tests, or ``not(...)`` of a list."""

    text: str
    tests: tuple[_Test, ...] = ()  # empty = "-": matches anything
    negated: bool = False

    def matches(self, value: Any, context: Mapping[str, Any]) -> bool:
        if not self.tests:
            return True
        if value is None:
            # A null input matches only "-" and "null"; not(...) of anything does not match null.
            return not self.negated and any(test.op == "null" for test in self.tests)
        hit = any(test.matches(value, context) for test in self.tests)
        return hit != self.negated

    def literals(self) -> list[Any]:
        return [value for test in self.tests for value in test.literals()]


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
            if not endpoint.path and _kind(endpoint.value) == "boolean":
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
        if not low.path and not high.path:
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
            if token.text in _KEYWORDS:
                raise _CellProblem(f"unexpected '{token.text}'")
            return _Endpoint(path=self.path(token.text))
        shown = "the end of the cell" if token.kind == "end" else f"'{token.text}'"
        raise _CellProblem(f"expected a value but found {shown}")

    def path(self, first: str) -> tuple[str, ...]:
        parts = [first]
        while self.accept("op", "."):
            token = self.next()
            if token.kind != "name" or token.text in _KEYWORDS:
                raise _CellProblem("expected a name after '.'")
            parts.append(token.text)
        if self.peek().text == "(":
            raise _CellProblem(f"function calls such as {parts[-1]}(...) are not supported in input entries")
        for part in parts:
            if part.startswith("_"):
                raise _CellProblem(f"name '{part}' is not allowed")
        return tuple(parts)


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


# A FEEL name with spaces is a Python name with U+203F (a connector character Python allows in names
# and nobody types); the context gets an entry under that name (see _scope). Messages show spaces.
_SPACE = "\u203f"


@dataclass(frozen=True)
class _Expression:
    """A simple FEEL expression translated into Python for the sandbox."""

    python: str
    tree: ast.expr
    aliases: tuple[tuple[str, str], ...] = ()  # (Python name, FEEL name) of names with spaces
    name: str | None = None  # the FEEL name when the whole expression is one name


def _translate_expression(text: str) -> _Expression:
    """Translate a simple FEEL expression into Python text; refuse what is not in the subset."""
    parts: list[str] = []
    aliases: dict[str, str] = {}
    previous = ""
    tokens = _tokenize(text)
    for token in tokens:
        if token.kind == "string" and previous == "string":
            # Python would join "a" "b" into "ab"; in FEEL it is an error.
            raise _CellProblem("two strings in a row")
        after_dot = previous == "op" and parts and parts[-1] == "."
        previous = token.kind
        if token.kind == "string":
            parts.append(repr(token.value))
        elif token.kind == "number":
            parts.append(token.text)  # the sandbox reads a literal with a fraction as a Decimal
        elif token.kind == "name":
            if token.text in ("True", "False", "None"):
                raise _CellProblem(f"'{token.text}' is Python; FEEL writes true, false and null")
            if " " not in token.text:
                parts.append(_FEEL_NAMES.get(token.text, token.text))
            elif after_dot:
                parts[-1] = f"[{token.text!r}]"  # a context entry whose name has spaces
            else:
                python = token.text.replace(" ", _SPACE)
                aliases[python] = token.text
                parts.append(python)
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
    lone = tokens[0].text if len(tokens) == 2 and tokens[0].kind == "name" else None
    name = lone if lone is not None and lone not in _KEYWORDS and not lone.startswith("_") else None
    return _Expression(python, tree, tuple(aliases.items()), name)


def _check_feel_node(node: ast.AST) -> None:
    if isinstance(node, ast.Attribute):
        # Only paths: a.b.c on names, never methods or attributes of computed values.
        if not isinstance(node.value, (ast.Name, ast.Attribute, ast.Subscript)) or node.attr.startswith("_"):
            raise _CellProblem(f"'.{node.attr}' is only allowed in a path like applicant.age")
        return
    if isinstance(node, ast.Subscript):
        # Made by the translation only (FEEL has no a["b"] here): a path step whose name has spaces.
        if not (isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str)):
            raise _CellProblem("'[' is not supported in expressions")
        return
    if isinstance(node, ast.Name) and node.id.startswith("_"):
        raise _CellProblem(f"name '{node.id}' is not allowed")
    if isinstance(node, ast.Call) and (not isinstance(node.func, ast.Name) or node.keywords):
        raise _CellProblem("only plain function calls f(a, b) are allowed")
    if isinstance(node, ast.Compare) and len(node.ops) != 1:
        raise _CellProblem("chained comparisons are not FEEL; combine them with 'and'")
    if not isinstance(node, _FEEL_NODES):
        raise _CellProblem(f"'{type(node).__name__}' is not supported in a FEEL expression here")


def _literal(expression: _Expression) -> tuple[bool, Any]:
    """(True, value) when an output entry is a constant we can compute at deploy time."""
    return _literal_of(expression.tree, expression.python)


def _literal_of(tree: ast.expr, python: str) -> tuple[bool, Any]:
    if isinstance(tree, ast.Constant):
        if type(tree.value) is float:
            # exactly as written: "1.10" is Decimal("1.10"), never the float nearest to it
            return True, Decimal(ast.get_source_segment(python, tree) or repr(tree.value))
        return True, tree.value
    if isinstance(tree, ast.UnaryOp) and isinstance(tree.op, ast.USub):
        is_literal, value = _literal_of(tree.operand, python)
        if is_literal and _kind(value) == "number":
            return True, -value
    if (isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name) and tree.func.id == "date"
            and len(tree.args) == 1 and isinstance(tree.args[0], ast.Constant)
            and isinstance(tree.args[0].value, str)):
        return True, _parse_date(tree.args[0].value)
    return False, None


def _scope(context: Mapping[str, Any], aliases: tuple[tuple[str, str], ...]) -> Mapping[str, Any]:
    """The context with names that have spaces also under their Python spelling."""
    if not aliases:
        return context
    return {**context, **{python: context[name] for python, name in aliases if name in context}}


def _feel_text(problem: object) -> str:
    """A sandbox message about translated Python, with FEEL's spaced names shown as written."""
    return str(problem).replace(_SPACE, " ")


@dataclass(frozen=True)
class _Cell:
    """An output entry (or default output entry): a literal value, or Python for the sandbox."""

    text: str
    value: Any = None
    python: str | None = None
    aliases: tuple[tuple[str, str], ...] = ()

    def evaluate(self, context: Mapping[str, Any], sandbox: Sandbox) -> Any:
        if self.python is None:
            return self.value
        return _exact(sandbox.evaluate(self.python, _scope(context, self.aliases)))


# --- the model ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Input:
    id: str
    label: str
    expression: str  # the FEEL text as written
    python: str  # what the sandbox evaluates
    type_ref: str
    aliases: tuple[tuple[str, str], ...] = ()
    name: str | None = None  # the FEEL name when the expression is one name (read directly)


@dataclass(frozen=True)
class Output:
    id: str
    name: str  # "" when the table's only output is unnamed (DMN 1.5, 8.3.2)
    label: str
    type_ref: str
    values: tuple[Any, ...] | None  # outputValues, highest priority first
    default: _Cell | None = None

    @property
    def title(self) -> str:
        return self.name or self.label or self.id


@dataclass(frozen=True)
class Rule:
    id: str
    input_entries: tuple[UnaryTests, ...]
    output_entries: tuple[_Cell, ...]


# What a business rule task receives with camunda:resultVariable, named as camunda:mapDecisionResult
# names that shape: the decision's own result as the standard defines it.
_MAPPINGS = {"singleEntry": "the value itself", "singleResult": "one context (output name → value)",
             "collectEntries": "a list of values", "resultList": "a list of contexts"}


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
        """The outputs by name, to merge into the case data: {output name: value}, or for a multiple
        hit without aggregation {output name: [value per hit]}."""
        rows, ids = self._hits(context, sandbox)
        if self.aggregation:
            return {self.outputs[0].name: self._aggregate(rows, ids)}
        if self.hit_policy in SINGLE_HIT:
            return rows[0] if rows else {output.name: None for output in self.outputs}
        return {output.name: [row[output.name] for row in rows] for output in self.outputs}

    def result(self, context: Mapping[str, Any], sandbox: Sandbox) -> Any:
        """The decision's result as DMN defines it (DMN 1.5, 8.2.11 and 8.3.2): with one output the
        value itself (single hit, or an aggregation) or a list of values (multiple hit); with several
        outputs a context per hit, or a list of them. No hit and no default: null, or []."""
        rows, ids = self._hits(context, sandbox)
        if self.aggregation:
            return self._aggregate(rows, ids)
        values = [row[self.outputs[0].name] for row in rows] if len(self.outputs) == 1 else rows
        if self.hit_policy in SINGLE_HIT:
            return values[0] if values else None
        return values

    def outcome(self, context: Mapping[str, Any], sandbox: Sandbox, result_variable: str | None = None) -> dict:
        """What a business rule task adds to the case data: the result under its result variable
        (camunda:resultVariable), or else the outputs by name."""
        if result_variable:
            return {result_variable: self.result(context, sandbox)}
        return self.evaluate(context, sandbox)

    @property
    def mapping(self) -> str:
        """The camunda:mapDecisionResult that names the shape of `result`."""
        if self.aggregation or self.hit_policy in SINGLE_HIT:
            return "singleEntry" if len(self.outputs) == 1 else "singleResult"
        return "collectEntries" if len(self.outputs) == 1 else "resultList"

    def binding_problem(self, result_variable: str | None, mapping: str | None) -> str | None:
        """Why a business rule task cannot take this decision's result as it asks, or None."""
        if not result_variable:
            if any(not output.name for output in self.outputs):
                return (f"decision '{self.id}' has an unnamed output, so its result has no name in the case "
                        "data: give the business rule task a result variable (camunda:resultVariable)")
            return None
        if mapping and mapping != self.mapping:
            return (f"decision '{self.id}' gives {_MAPPINGS[self.mapping]} ({self.mapping}), as DMN defines "
                    f"its result; camunda:mapDecisionResult '{mapping}' asks for another shape: set "
                    f"'{self.mapping}' or leave it out")
        return None

    def _hits(self, context: Mapping[str, Any], sandbox: Sandbox) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
        """The hits the policy keeps, in order (at most one for a single hit), each {output name: value},
        and the ids of the rules behind them. No rule matching: the default output values as the one
        hit, if the table has any (DMN 1.5, 8.3.2: defaultOutputEntry), else none."""
        values = [self._input_value(input_, context, sandbox) for input_ in self.inputs]
        matched = [rule for rule in self.rules if self._matches(rule, values, context)]
        if not matched:
            if all(output.default is None for output in self.outputs):
                return [], ()
            return [self._defaults(context, sandbox)], ()
        ids = tuple(rule.id for rule in matched)
        if self.hit_policy in SINGLE_HIT:
            return [self._single_hit(matched, context, sandbox)], ids
        rows = [self._outputs_of(rule, context, sandbox) for rule in matched]
        if self.hit_policy == "OUTPUT ORDER":
            order = sorted(range(len(rows)), key=lambda i: self._priority(rows[i], matched[i]))
            rows, ids = [rows[i] for i in order], tuple(ids[i] for i in order)
        return rows, ids

    def _fail(self, problem: str, rule_ids: tuple[str, ...] = ()) -> DecisionError:
        label = self.id if self.name == self.id else f"{self.id} ('{self.name}')"
        return DecisionError(label, _feel_text(problem), rule_ids)

    def _input_value(self, input_: Input, context: Mapping[str, Any], sandbox: Sandbox) -> Any:
        try:
            if input_.name is not None:
                # FEEL (and Camunda): a variable the case does not have is null, e.g. the years of use
                # of a site the institution owns; a null input matches only "-" and "null".
                value = context.get(input_.name)
            else:
                value = sandbox.evaluate(input_.python, _scope(context, input_.aliases))
            value = _exact(value)
        except (ExpressionError, _CellProblem) as exc:
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

    def _matches(self, rule: Rule, values: list[Any], context: Mapping[str, Any]) -> bool:
        for input_, entry, value in zip(self.inputs, rule.input_entries, values, strict=True):
            try:
                if not entry.matches(value, context):
                    return False
            except _CellProblem as exc:
                raise self._fail(f"rule {rule.id}, input '{input_.label}', cell '{entry.text.strip()}': "
                                 f"{exc}", (rule.id,)) from exc
        return True

    def _outputs_of(self, rule: Rule, context: Mapping[str, Any], sandbox: Sandbox) -> dict[str, Any]:
        row = {}
        for output, cell in zip(self.outputs, rule.output_entries, strict=True):
            row[output.name] = self._cell_value(output, cell, context, sandbox, f"rule {rule.id}", (rule.id,))
        return row

    def _defaults(self, context: Mapping[str, Any], sandbox: Sandbox) -> dict[str, Any]:
        return {output.name: None if output.default is None
                else self._cell_value(output, output.default, context, sandbox, "default output", ())
                for output in self.outputs}

    def _cell_value(self, output: Output, cell: _Cell, context: Mapping[str, Any], sandbox: Sandbox,
                    where: str, ids: tuple[str, ...]) -> Any:
        try:
            value = cell.evaluate(context, sandbox)
            if cell.python is not None:
                _check_output_value(output, value)
        except (ExpressionError, _CellProblem) as exc:
            raise self._fail(f"{where}, output '{output.title}': {exc}", ids) from exc
        return value

    def _single_hit(self, matched: list[Rule], context: Mapping[str, Any], sandbox: Sandbox) -> dict:
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
                raise self._fail(f"rule {rule.id}: output '{output.title}' = {_show(value)} is not one of "
                                 "its output values, so it has no priority", (rule.id,))
            key.append(output.values.index(value))
        return tuple(key)

    def _aggregate(self, rows: list[dict[str, Any]], ids: tuple[str, ...]) -> Any:
        if self.aggregation == "COUNT":
            return len(rows)
        output = self.outputs[0]
        values = [row[output.name] for row in rows if row[output.name] is not None]  # nulls are skipped
        kinds = {_kind(value) for value in values}
        if self.aggregation == "SUM":
            if kinds - {"number"}:
                raise self._fail(f"SUM needs numbers but output '{output.title}' gave {sorted(kinds)}", ids)
            return sum(values)  # Decimals and ints: exact (0.1 + 0.2 is 0.3)
        if len(kinds) > 1:
            raise self._fail(f"{self.aggregation} cannot compare {' and '.join(sorted(kinds))} values", ids)
        if not values:
            return None
        return min(values) if self.aggregation == "MIN" else max(values)


def _check_output_value(output: Output, value: Any) -> None:
    expected = _TYPE_KINDS.get(output.type_ref)
    if expected and value is not None and _kind(value) != expected:
        raise _CellProblem(f"output '{output.title}' is {output.type_ref} but the value is {_kind(value)} "
                           f"{_show(value)}")
    if output.values is not None and value is not None and value not in output.values:
        allowed = ", ".join(_show(v) for v in output.values)
        raise _CellProblem(f"{_show(value)} is not one of the output values of '{output.title}' ({allowed})")


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
        raise DefinitionError(file_name, None, f"not a DMN 1.1–1.5 definitions document (root {root.tag}); "
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


def _language_key(uri: str) -> str:
    return uri.strip().lower().removeprefix("https://").removeprefix("http://").rstrip("/")


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
        if language and _language_key(language) not in _FEEL_LANGUAGES:
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
        outputs = tuple(self.output(child) for child in self.children(table, "output"))
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
        for output in outputs:
            if not output.name and len(outputs) > 1:
                # DMN 1.5, 8.3.2: an output's name is needed only when there are several outputs.
                raise self.error(output.id, f"output '{output.title}' has no name; a table with several "
                                            "outputs names each (the name becomes the result's entry)")
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
            if aggregation == "COUNT" and outputs[0].default is not None:
                raise self.error(outputs[0].id, "COLLECT COUNT counts the rules that match; a default output "
                                                "value has nothing to count, remove it")
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
            translated = _translate_expression(text)
        except _CellProblem as exc:
            raise self.error(input_id, f"input expression '{text}': {exc}") from None
        if translated.name is None:
            self.compile(translated.python, input_id, f"input expression '{text}'")
        return Input(input_id or label, label, text, translated.python, type_ref, translated.aliases,
                     translated.name)

    def output(self, element: Element) -> Output:
        output_id = element.get("id") or None
        name = (element.get("name") or "").strip()
        label = element.get("label") or name
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
        output = Output(output_id or name or "output", name, label, type_ref, values)
        default = element.find(f"{{{self.ns}}}defaultOutputEntry")
        if default is not None and self.text(default).strip():
            # DMN 1.5, 8.3.2: the value when no rule matches, whatever the hit policy (a multiple
            # hit then has the defaults as its one hit).
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
            tests.append(parsed)
        cells = []
        for output, entry in zip(outputs, output_entries, strict=True):
            cell = self.cell(entry, output, rule_id)
            if aggregation == "SUM" and cell.python is None and _kind(cell.value) not in ("number", "null"):
                raise self.error(rule_id, f"COLLECT SUM needs numbers but output '{output.title}' is "
                                          f"{_show(cell.value)}")
            if (hit_policy in ("PRIORITY", "OUTPUT ORDER") and output.values is not None
                    and cell.python is None and cell.value is None):
                raise self.error(rule_id, f"output '{output.title}' is empty, so the rule has no priority")
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
            translated = _translate_expression(text)
            is_literal, value = _literal(translated)
            if is_literal:
                _check_output_value(output, value)
                return _Cell(text, value)
        except _CellProblem as exc:
            raise self.error(owner, f"output entry '{text}' (output '{output.title}'): {exc}") from None
        self.compile(translated.python, owner, f"output entry '{text}' (output '{output.title}')")
        return _Cell(text, python=translated.python, aliases=translated.aliases)

    def compile(self, python: str, owner: str | None, what: str) -> None:
        if self.sandbox is not None:
            try:
                self.sandbox.check(python)
            except ExpressionError as exc:
                raise self.error(owner, f"{what}: {_feel_text(exc.problem)}") from None

"""Sandboxed evaluation of the expressions and scripts analysts write in BPMN and DMN.

Plain ``eval`` with restricted globals is escapable (``().__class__.__bases__[0].__subclasses__()``),
so the defence is structural: every expression is parsed with ``ast`` and refused unless each node
is on a whitelist. What remains can only read names from the context, call the functions we hand
in, call a few harmless methods, and read keys of mappings. Names and attributes starting with
``_`` never pass, which closes every dunder route to classes, frames and builtins.

An expression runs when the public submits a complaint, so it must also be cheap whatever it says
and whatever data it meets. Two bounds, both named in the error when they are hit:

- **Size**: no value an expression builds (by ``*``, ``+``, a comprehension, a slice, ``split``,
  ``str`` or an f-string) holds more than ``MAX_SEQUENCE_LENGTH`` items or characters; the size
  is checked before the value is built where it can be (``*``, ``+``, text).
- **Work**: one evaluation may spend ``MAX_OPERATIONS`` operations. Every comprehension item
  costs the nodes it runs; every value built costs its length; every value compared, hashed,
  passed to a function or turned into text costs its size all the way down (a list holding the
  same big list 10,000 times costs what comparing it would cost, not 10,000); ``sorted`` costs
  n·log n of that; a string method costs the string's length; model functions charge their own
  loops (``charge``). The walk that measures a value stops as soon as the budget is spent, so
  measuring never costs more than the budget either.

What can be known before anything runs is refused at deploy: constant sequences multiplied past
the size bound, constant numbers too large, ``sum`` with a list or text to start from, and
expressions whose constant parts alone need more than the budget (a comprehension over a constant
iterable costs its length times its body).
"""

from __future__ import annotations

import ast
import functools
import operator
import textwrap
from collections.abc import Callable, Mapping, MappingView
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import CodeType
from typing import Any

from service.engine.errors import ExpressionError

MAX_EXPRESSION_LENGTH = 10_000
MAX_SCRIPT_LENGTH = 100_000
MAX_SEQUENCE_LENGTH = 10_000  # longest str/list/tuple/set/dict an expression may build
MAX_INT_BITS = 10_000  # about 3,000 decimal digits, far beyond any business number
# Operations one evaluation may spend (see the module docstring for what costs what). The model
# expressions spend a few dozen; 100,000 is about 10 ms of the slowest kind of operation.
MAX_OPERATIONS = 100_000
_CACHE_SIZE = 4096

SIZE_EXCEEDED = f"构造的值超过上限：最多{MAX_SEQUENCE_LENGTH}项或{MAX_SEQUENCE_LENGTH}个字符"
BUDGET_EXCEEDED = f"运算量超过上限：一次求值最多{MAX_OPERATIONS}步"
NUMBER_TOO_LARGE = f"数值过大：最多{MAX_INT_BITS}位二进制"


class _Refused(Exception):
    """A forbidden construct or value; becomes an ExpressionError naming the expression."""


# --- the work budget ------------------------------------------------------------------------------


class _Meter:
    __slots__ = ("left",)

    def __init__(self) -> None:
        self.left = MAX_OPERATIONS


_meter: ContextVar[_Meter | None] = ContextVar("sandbox_meter", default=None)


def charge(operations: int) -> None:
    """Spend operations of the running evaluation's budget. Model functions that loop (e.g.
    counting working days) call it with the length of their loop; outside an evaluation it does
    nothing."""
    meter = _meter.get()
    if meter is not None and operations > 0:
        meter.left -= operations
        if meter.left < 0:
            raise _Refused(BUDGET_EXCEEDED)


def _left() -> int:
    meter = _meter.get()
    return meter.left if meter is not None else MAX_OPERATIONS


_FREE = frozenset({int, float, bool, type(None), Decimal, date})  # datetime is a date
_CONTAINERS = (list, tuple, set, frozenset, Mapping, MappingView)


_NESTED = (list, tuple, set, frozenset, dict)
_FLAT = frozenset({list, tuple, set, frozenset})
_NESTED_TYPES = frozenset(_NESTED)  # subclasses (rare in data) are seen by the slower look only


def _size(value: Any, limit: int) -> int:
    """Items in a value all the way down, shared parts counted each time they occur (what
    comparing or hashing it walks); stops counting once past `limit`, so measuring costs no more
    than the budget left. Only containers are visited; their scalars are counted by length."""
    size, stack = 1, [value]
    while stack:
        item = stack.pop()
        if type(item) in _FLAT or not isinstance(item, Mapping):
            size += len(item)
            if size > limit:
                return size
            if not _NESTED_TYPES.isdisjoint(map(type, item)):  # a C-speed look before a Python-speed one
                stack.extend([child for child in item if isinstance(child, _NESTED)])
        else:  # keys and values
            size += 2 * len(item) + 4  # a mapping is slower to walk than a list
            if size > limit:
                return size
            if not _NESTED_TYPES.isdisjoint(map(type, item.values())):
                stack.extend([child for child in item.values() if isinstance(child, _NESTED)])
            stack.extend([key for key in item if isinstance(key, tuple)])
    return size


def _text_size(value: Any, limit: int) -> int:
    """About the characters of ``str(value)``; stops once past `limit`."""
    size, stack = 0, [value]
    while stack and size <= limit:
        item = stack.pop()
        if isinstance(item, str):
            size += len(item) + 2
        elif isinstance(item, Mapping):
            size += 2 + 4 * len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset, MappingView)):
            size += 2 + 2 * len(item)
            stack.extend(item)
        else:
            size += item.bit_length() // 3 + 1 if isinstance(item, int) else 24
    return size


_MEASURING = 10  # what measuring even a small container costs, in operations


def _touch(value: Any) -> Any:
    """A value about to be compared, hashed or handed to a function: charged its size."""
    if type(value) in _FREE or type(value) is str:
        return value
    if isinstance(value, _CONTAINERS):
        charge(_size(value, _left() + 1) + _MEASURING)
    return value


def _member(value: Any) -> Any:
    """The right side of ``in`` as the last comparison: a set or mapping is looked up by hash
    (the left side was charged), anything else is searched through."""
    if isinstance(value, (set, frozenset, Mapping)):
        return value
    return _touch(value)


def _built(value: Any) -> Any:
    """A value an expression has just built: bounded in length and charged for it."""
    if isinstance(value, (str, list, tuple, set, frozenset, Mapping)):
        if len(value) > MAX_SEQUENCE_LENGTH:
            raise _Refused(SIZE_EXCEEDED)
        charge(len(value))
    return value


def _copied(value: Any) -> Any:
    """A slice: never longer than what it was cut from, charged for its length."""
    if isinstance(value, (str, list, tuple)):
        charge(len(value))
    return value


def _loop(iterable: Any, cost: int, limit: int | None):
    """A comprehension's items, each charged the nodes it runs; a list, set or dict it builds
    holds at most `limit` items."""
    meter = _meter.get() or _Meter()
    count = 0
    for item in iterable:
        meter.left -= cost
        if meter.left < 0:
            raise _Refused(BUDGET_EXCEEDED)
        count += 1
        if limit is not None and count > limit:
            raise _Refused(SIZE_EXCEEDED)
        yield item


def _text(value: Any, conversion: int = -1) -> str:
    """``str(value)`` (or ``repr``) when the text would not exceed the size bound."""
    if type(value) is str and conversion in (-1, ord("s")):
        charge(len(value))
        return value
    if _text_size(value, MAX_SEQUENCE_LENGTH) > MAX_SEQUENCE_LENGTH:
        raise _Refused(SIZE_EXCEEDED)
    result = repr(value) if conversion == ord("r") else ascii(value) if conversion == ord("a") else str(value)
    return _built(result)


def _str(*args: Any) -> str:
    if not args:
        return ""
    if len(args) > 1:
        raise _Refused("str() takes one value here")
    return _text(args[0])


def _sum(iterable: Any, /, start: Any = 0) -> Any:
    # Adding lists or text repeatedly copies them: quadratic. Rules add numbers.
    if not isinstance(start, (int, float, Decimal)):
        raise _Refused("sum 只用于数字求和（起始值须为数字）")
    _touch(iterable)
    return sum(iterable, start)


def _sorted(iterable: Any, /, **options: Any) -> list:
    items = list(iterable)  # a generator was charged item by item
    _built(items)
    # n·log n comparisons, each as costly as the values compared
    charge(_size(items, _left() + 1) * max(1, len(items).bit_length()))
    return sorted(items, **options)


_sum.__name__, _sorted.__name__, _str.__name__ = "sum", "sorted", "str"

# Pure functions over values. Left out on purpose: anything that inspects or reaches objects
# (type, getattr, vars, dir), runs code (eval, exec, compile, __import__), does I/O (open, print),
# or builds unbounded data (range). Containers come from literals and comprehensions, so
# list/dict/set/tuple are not needed either. sum, sorted and str are bounded versions.
SAFE_BUILTINS: Mapping[str, Callable[..., Any]] = {
    f.__name__: f for f in (abs, all, any, bool, float, int, len, max, min, round, _sorted, _str, _sum)
}

# Methods that may be called on values (dicts, strings). None of them runs user-chosen code,
# formats with attribute access (str.format, format_map) or grows data (replace, join).
METHODS = frozenset(
    {"get", "keys", "values", "items", "lower", "upper", "strip", "startswith", "endswith", "split"}
)
_TEXT_METHODS = frozenset({"lower", "upper", "strip", "startswith", "endswith", "split"})


def _method(receiver: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    if name in _TEXT_METHODS and isinstance(receiver, str):
        charge(len(receiver))  # before: split of a long text builds many strings
    result = getattr(receiver, name)(*args, **kwargs)
    if name == "split":
        _built(result)
    return result


# Read-only data attributes of dates and timedeltas. Any other ``a.b`` is a key lookup on a
# mapping, as in Camunda's JUEL and in FEEL paths: ``applicant.age`` means ``applicant["age"]``.
DATA_ATTRIBUTES = frozenset({"year", "month", "day", "days"})


def _read_attribute(value: Any, name: str) -> Any:
    if isinstance(value, Mapping):
        try:
            return value[name]
        except KeyError:
            raise _Refused(f"no key '{name}'") from None
    if value is None:
        raise _Refused(f"cannot read '{name}' of None")
    if name in DATA_ATTRIBUTES:
        return getattr(value, name)
    raise _Refused(f"cannot read '{name}' of a value of type {type(value).__name__}")


_NUMBERS = frozenset({int, float, bool, Decimal})


def _exact_pair(left: Any, right: Any) -> tuple[Any, Any]:
    """Arithmetic on a float (case data saved before numbers were decimals, len(x) / 2) is done on
    the decimal it prints, so 0.1 * 3 is 0.3 and a Decimal beside it is not refused by Python."""
    if type(left) is float or type(right) is float:
        if isinstance(left, (int, float, Decimal)) and isinstance(right, (int, float, Decimal)):
            return _decimal(left), _decimal(right)
    return left, right


def _decimal(value: int | float | Decimal) -> Decimal | int:
    return Decimal(repr(value)) if type(value) is float else value


def _binop(symbol: str, left: Any, right: Any) -> Any:
    left, right = _exact_pair(left, right)
    if type(left) in _NUMBERS and type(right) in _NUMBERS:
        if symbol == "*" and type(left) is int and type(right) is int:
            if left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise _Refused(NUMBER_TOO_LARGE)
        elif symbol == "**" and type(left) is int and type(right) is int and right > 0 and abs(left) > 1:
            if left.bit_length() * right > MAX_INT_BITS:
                raise _Refused(NUMBER_TOO_LARGE)
        return _OPERATIONS[symbol](left, right)
    if symbol == "*":
        for sequence, count in ((left, right), (right, left)):
            if isinstance(sequence, (str, list, tuple)) and isinstance(count, int):
                if len(sequence) * count > MAX_SEQUENCE_LENGTH:
                    raise _Refused(SIZE_EXCEEDED)
    elif symbol == "+" and isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
        if len(left) + len(right) > MAX_SEQUENCE_LENGTH:
            raise _Refused(SIZE_EXCEEDED)
    elif symbol == "%" and isinstance(left, str):
        # printf-style formatting can pad to any width ('%*d'); it is not needed in rules.
        raise _Refused("string formatting with '%' is not allowed")
    elif symbol in ("|", "^", "&", "-") and isinstance(left, _CONTAINERS):
        charge(len(left) + (len(right) if isinstance(right, _CONTAINERS) else 0))  # each item hashed
    return _built(_OPERATIONS[symbol](left, right))


_OPERATIONS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "//": operator.floordiv,
    "%": operator.mod, "**": operator.pow, "&": operator.and_, "|": operator.or_, "^": operator.xor,
}
_SYMBOLS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%",
            ast.Pow: "**", ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^"}

# Helpers inserted by the guard transformer. Their names start with "_", which source code may not
# use, so an expression cannot reach or replace them.
_HELPERS: dict[str, Any] = {
    "__sandbox_attr__": _read_attribute, "__sandbox_binop__": _binop, "__sandbox_touch__": _touch,
    "__sandbox_member__": _member, "__sandbox_built__": _built, "__sandbox_copied__": _copied,
    "__sandbox_loop__": _loop, "__sandbox_text__": _text, "__sandbox_method__": _method,
    "__sandbox_decimal__": Decimal,
    "__builtins__": {},
}

# --- compiling: the whitelist ---------------------------------------------------------------------

_CONSTANT_TYPES = (bool, int, float, str, type(None))

_OPERATORS = (
    ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow,
    ast.BitAnd, ast.BitOr, ast.BitXor,
    ast.And, ast.Or, ast.Not, ast.USub, ast.UAdd,
    ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is, ast.IsNot,
)
_EXPRESSION_NODES = (
    ast.Expression, ast.Constant, ast.Name, ast.Load, ast.Store,
    ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.Compare, ast.IfExp,
    ast.Call, ast.keyword, ast.Attribute, ast.Subscript, ast.Slice,
    ast.List, ast.Tuple, ast.Dict, ast.Set,
    ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.comprehension,
    ast.JoinedStr, ast.FormattedValue,
    *_OPERATORS,
)
_SCRIPT_NODES = (ast.Module, ast.Assign, ast.AugAssign, ast.If, ast.Pass, *_EXPRESSION_NODES)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


class Sandbox:
    """Compiles and runs analysts' expressions with only the given functions available."""

    def __init__(self, functions: Mapping[str, Callable[..., Any]]) -> None:
        for name in functions:
            if not name.isidentifier() or name.startswith("_"):
                raise ValueError(f"function name {name!r} cannot be called from an expression")
        # Functions are put after the context in the namespace so a variable can never replace them.
        self._callables: dict[str, Callable[..., Any]] = {**SAFE_BUILTINS, **functions}
        self._compile_expression = functools.lru_cache(maxsize=_CACHE_SIZE)(self._build_expression)
        self._compile_script = functools.lru_cache(maxsize=_CACHE_SIZE)(self._build_script)

    @property
    def function_names(self) -> frozenset[str]:
        return frozenset(self._callables)

    def compile(self, expression: str) -> CodeType:
        """Compile an expression (an optional ``${ … }`` wrapper is stripped); cached by text."""
        return self._compile_expression(expression)

    def check(self, expression: str) -> None:
        """Refuse a broken, forbidden or certainly too costly expression at deploy time."""
        self.compile(expression)

    def evaluate(self, expression: str, context: Mapping[str, Any]) -> Any:
        code = self.compile(expression)
        token = _meter.set(_Meter()) if _meter.get() is None else None
        try:
            # Safe because only whitelisted nodes were compiled and builtins are empty.
            return eval(code, self._namespace(context))
        except Exception as exc:
            raise ExpressionError(expression, _describe(exc)) from exc
        finally:
            if token is not None:
                _meter.reset(token)

    def budget(self):
        """One budget for several evaluations (the cells of a decision table)."""
        return _SharedBudget()

    def check_script(self, script: str) -> None:
        """Refuse a broken or forbidden script task at deploy time."""
        self._compile_script(script)

    def execute(self, script: str, context: dict[str, Any]) -> None:
        """Run a script task: assignments and if/else only; assigned names are written to context.

        Names are written back only when the whole script succeeds. Item assignments
        (``a["k"] = v``) change the object in place, as they would in Python.
        """
        code, assigned = self._compile_script(script)
        namespace = self._namespace(context)
        token = _meter.set(_Meter()) if _meter.get() is None else None
        try:
            exec(code, namespace)  # as safe as evaluate(): whitelisted nodes, empty builtins
        except Exception as exc:
            raise ExpressionError(script, _describe(exc)) from exc
        finally:
            if token is not None:
                _meter.reset(token)
        for name in assigned:
            if name in namespace:
                context[name] = namespace[name]

    def _namespace(self, context: Mapping[str, Any]) -> dict[str, Any]:
        # The context goes into globals (not locals) so comprehensions can see it too.
        return {**context, **self._callables, **_HELPERS}

    def _build_expression(self, expression: str) -> CodeType:
        text = _strip_wrapper(expression)
        if not text:
            raise ExpressionError(expression, "the expression is empty")
        if len(text) > MAX_EXPRESSION_LENGTH:
            raise ExpressionError(expression, f"longer than {MAX_EXPRESSION_LENGTH} characters")
        return _checked_compile(expression, text, "eval", _Checker(self.function_names))

    def _build_script(self, script: str) -> tuple[CodeType, tuple[str, ...]]:
        if len(script) > MAX_SCRIPT_LENGTH:
            raise ExpressionError(script, f"longer than {MAX_SCRIPT_LENGTH} characters")
        checker = _Checker(self.function_names, script=True)
        # Scripts in BPMN XML are usually indented as a block.
        code = _checked_compile(script, textwrap.dedent(script).strip(), "exec", checker)
        return code, tuple(dict.fromkeys(checker.assigned))


class _SharedBudget:
    def __enter__(self) -> None:
        self._token = _meter.set(_Meter()) if _meter.get() is None else None

    def __exit__(self, *exc_info: object) -> None:
        if self._token is not None:
            _meter.reset(self._token)


def _strip_wrapper(expression: str) -> str:
    # Camunda-style ``${ x > 3 }``; exactly one wrapper is removed.
    text = expression.strip()
    if text.startswith("${") and text.endswith("}"):
        text = text[2:-1].strip()
    return text


def _checked_compile(original: str, text: str, mode: str, checker: _Checker) -> CodeType:
    try:
        tree = ast.parse(text, mode=mode)
        checker.visit(tree)
        cost = _estimate(tree).cost
        if cost > MAX_OPERATIONS:
            raise _Refused(f"{BUDGET_EXCEEDED}，其中的常量部分已需约{cost}步")
        tree = ast.fix_missing_locations(_Guard(text).visit(tree))
        return compile(tree, "<expression>", mode)
    except SyntaxError as exc:
        raise ExpressionError(original, f"syntax error: {exc.msg}") from None
    except _Refused as exc:
        raise ExpressionError(original, str(exc)) from None
    except (RecursionError, MemoryError):
        # Long operator chains nest deeply; the visitors recurse per level.
        raise ExpressionError(original, "nested too deeply") from None


class _Checker(ast.NodeVisitor):
    """Walks the tree and raises _Refused at the first node outside the whitelist."""

    def __init__(self, functions: frozenset[str], script: bool = False) -> None:
        self._functions = functions
        self._allowed = _SCRIPT_NODES if script else _EXPRESSION_NODES
        self._in_comprehension = False
        self.assigned: list[str] = []

    def generic_visit(self, node: ast.AST) -> None:
        if not isinstance(node, self._allowed):
            raise _Refused(f"{_node_name(node)} is not allowed")
        super().generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if not isinstance(node.value, _CONSTANT_TYPES):
            raise _Refused(f"constant {node.value!r} is not allowed")

    def visit_Name(self, node: ast.Name) -> None:
        _check_name(node.id)
        if isinstance(node.ctx, ast.Store) and node.id in self._functions:
            # A comprehension variable named like a function would let data be called.
            raise _Refused(f"'{node.id}' is a function and cannot be assigned")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        # Reached only for reads (``a.b``); method calls are handled in visit_Call.
        _check_name(node.attr)
        if not isinstance(node.ctx, ast.Load):
            raise _Refused(f"assigning to attribute '{node.attr}' is not allowed")
        self.visit(node.value)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name):
            if func.id not in self._functions:
                raise _Refused(f"'{func.id}' is not a function available to expressions")
        elif isinstance(func, ast.Attribute):
            if func.attr not in METHODS:
                raise _Refused(f"method '{func.attr}' is not allowed")
            self.visit(func.value)
        else:
            self.visit(func)  # names the construct, e.g. lambda
            raise _Refused("only named functions and allowed methods can be called")
        for arg in node.args:
            self.visit(arg)
        for keyword in node.keywords:
            if keyword.arg is None:
                raise _Refused("'**' arguments are not allowed")
            _check_name(keyword.arg)
            self.visit(keyword.value)

    def visit_FormattedValue(self, node: ast.FormattedValue) -> None:
        # A format spec can be built from data (``f"{x:{n}}"``) and size the output.
        if node.format_spec is not None:
            raise _Refused("format specifications in f-strings are not allowed")
        self.visit(node.value)

    def _visit_comprehension(self, node: ast.AST) -> None:
        # One generator, no nesting: the work stays linear in the size of the data.
        if self._in_comprehension:
            raise _Refused("nested comprehensions are not allowed")
        generators = node.generators  # type: ignore[attr-defined]
        if len(generators) != 1 or generators[0].is_async:
            raise _Refused("a comprehension may have only one 'for'")
        self._in_comprehension = True
        try:
            self.generic_visit(node)
        finally:
            self._in_comprehension = False

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _visit_comprehension

    # Script statements.

    def visit_Assign(self, node: ast.Assign) -> None:
        if len(node.targets) != 1:
            raise _Refused("assign one target at a time")
        self._visit_target(node.targets[0])
        self.visit(node.value)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if not isinstance(node.target, ast.Name):
            raise _Refused("augmented assignment only to a plain name")
        self._visit_target(node.target)
        self.generic_visit(node.op)
        self.visit(node.value)

    def _visit_target(self, target: ast.expr) -> None:
        if isinstance(target, ast.Name):
            _check_name(target.id)
            if target.id in self._functions:
                raise _Refused(f"'{target.id}' is a function and cannot be assigned")
            self.assigned.append(target.id)
        elif isinstance(target, ast.Subscript):
            self.visit(target.value)
            self.visit(target.slice)
        else:
            raise _Refused("only names and items (a['k']) can be assigned")


def _check_name(name: str) -> None:
    if name.startswith("_"):
        raise _Refused(f"name '{name}' is not allowed (names starting with '_' are reserved)")


def _node_name(node: ast.AST) -> str:
    names = {
        ast.Lambda: "lambda", ast.NamedExpr: "':='", ast.Starred: "'*' unpacking",
        ast.Expr: "a bare expression statement", ast.Import: "import", ast.ImportFrom: "import",
    }
    return names.get(type(node), f"'{type(node).__name__}'")


# --- deploy time: what the constant parts of an expression certainly cost ------------------------


@dataclass
class _Static:
    cost: int = 0  # operations certainly spent
    length: int | None = None  # len() of a constant str/list/tuple/set/dict
    size: int | None = None  # what touching it costs (_size)
    number: int | None = None  # the value of a constant integer


def _estimate(node: ast.AST) -> _Static:
    """A lower bound of the run-time charges, from the parts known before anything runs; refuses
    constant values past the size bound the way the run time would."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, str):
            return _Static(length=len(node.value), size=1)
        if type(node.value) is int:
            return _Static(number=node.value, size=1)
        return _Static(size=1)
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        parts = [_estimate(e) for e in node.elts]
        return _Static(cost=sum(p.cost for p in parts), length=len(parts),
                       size=1 + sum(p.size or 1 for p in parts))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        operand = _estimate(node.operand)
        return _Static(cost=operand.cost, number=-operand.number if operand.number is not None else None)
    if isinstance(node, ast.BinOp):
        return _estimate_binop(node)
    if isinstance(node, _COMPREHENSIONS):
        return _estimate_comprehension(node)
    # anything else: what its parts cost; a value handed to a function or compared is touched
    parts = {child: _estimate(child) for child in ast.iter_child_nodes(node)}
    cost = sum(p.cost for p in parts.values())
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "sum":
        start = node.args[1] if len(node.args) > 1 else next(
            (k.value for k in node.keywords if k.arg == "start"), None)
        if isinstance(start, (ast.List, ast.Tuple, ast.ListComp, ast.JoinedStr)) or (
                isinstance(start, ast.Constant) and isinstance(start.value, str)):
            raise _Refused("sum 只用于数字求和（起始值须为数字）")
    if isinstance(node, (ast.Call, ast.Compare)):
        cost += sum(p.size for p in parts.values() if p.size is not None and p.length is not None and p.size > 1)
    return _Static(cost=cost)


def _estimate_binop(node: ast.BinOp) -> _Static:
    left, right = _estimate(node.left), _estimate(node.right)
    cost = left.cost + right.cost
    if left.number is not None and right.number is not None:
        a, b = left.number, right.number
        if isinstance(node.op, ast.Mult) and a.bit_length() + b.bit_length() > MAX_INT_BITS:
            raise _Refused(NUMBER_TOO_LARGE)
        if isinstance(node.op, ast.Pow) and b > 0 and abs(a) > 1 and a.bit_length() * b > MAX_INT_BITS:
            raise _Refused(NUMBER_TOO_LARGE)
        folds = {ast.Add: lambda: a + b, ast.Sub: lambda: a - b, ast.Mult: lambda: a * b,
                 ast.Pow: lambda: a**b if b >= 0 else None}
        fold = folds.get(type(node.op))
        return _Static(cost=cost, number=fold() if fold else None, size=1)
    if isinstance(node.op, ast.Mult):
        for sequence, count in ((left, right), (right, left)):
            if sequence.length is not None and count.number is not None:
                length = sequence.length * max(count.number, 0)
                if length > MAX_SEQUENCE_LENGTH:
                    raise _Refused(SIZE_EXCEEDED)
                inner = (sequence.size or 1) - 1
                return _Static(cost=cost + length, length=length, size=1 + inner * max(count.number, 0))
    if isinstance(node.op, ast.Add) and left.length is not None and right.length is not None:
        length = left.length + right.length
        if length > MAX_SEQUENCE_LENGTH:
            raise _Refused(SIZE_EXCEEDED)
        return _Static(cost=cost + length, length=length, size=(left.size or 1) + (right.size or 1))
    return _Static(cost=cost)


def _estimate_comprehension(node: ast.AST) -> _Static:
    generator = node.generators[0]  # type: ignore[attr-defined]
    iterable = _estimate(generator.iter)
    body = [_estimate(n) for n in (getattr(node, "elt", None), getattr(node, "key", None),
                                   getattr(node, "value", None)) if n is not None]
    per_item = _item_cost(node) + sum((b.size or 0) + b.cost for b in body)
    per_item += sum(_estimate(n).cost for n in generator.ifs)
    if iterable.length is None:
        return _Static(cost=iterable.cost)
    if not generator.ifs and not isinstance(node, ast.GeneratorExp) and iterable.length > MAX_SEQUENCE_LENGTH:
        raise _Refused(SIZE_EXCEEDED)
    return _Static(cost=iterable.cost + iterable.length * per_item,
                   length=None if generator.ifs or isinstance(node, ast.GeneratorExp) else iterable.length)


def _item_cost(node: ast.AST) -> int:
    """What one item of a comprehension is charged: one, and one per node it runs."""
    generator = node.generators[0]  # type: ignore[attr-defined]
    parts = [generator.target, *generator.ifs] + [
        n for n in (getattr(node, "elt", None), getattr(node, "key", None), getattr(node, "value", None))
        if n is not None]
    return 1 + sum(1 for part in parts for _ in ast.walk(part))


# --- run time: the guard transformer --------------------------------------------------------------


def _helper(name: str, *args: ast.expr) -> ast.Call:
    return ast.Call(ast.Name(f"__sandbox_{name}__", ast.Load()), list(args), [])


def _touched(node: ast.expr) -> ast.expr:
    return node if isinstance(node, ast.Constant) else _helper("touch", node)


class _Guard(ast.NodeTransformer):
    """Routes attribute reads, operators and everything that walks or builds a value through the
    checked helpers above."""

    def __init__(self, source: str = "") -> None:
        self._source = source

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        # Numbers are exact decimals, as in FEEL (DMN 1.5, 10.3.2.3.1) and in case data (JSON numbers
        # with a fraction are read as Decimal): 0.1 * 3 == 0.3. The literal as written ("1.10").
        if type(node.value) is not float:
            return node
        text = ast.get_source_segment(self._source, node) or repr(node.value)
        return _helper("decimal", ast.Constant(text))

    def visit_Call(self, node: ast.Call) -> ast.AST:
        args = [_touched(self.visit(arg)) for arg in node.args]
        keywords = [ast.keyword(k.arg, _touched(self.visit(k.value))) for k in node.keywords]
        if isinstance(node.func, ast.Attribute):
            # ``x.m(a)`` becomes ``method(x, "m", a)``: charged by the text it works through
            receiver = self.visit(node.func.value)
            return ast.Call(ast.Name("__sandbox_method__", ast.Load()),
                            [receiver, ast.Constant(node.func.attr), *args], keywords)
        return ast.Call(node.func, args, keywords)

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        return _helper("attr", node.value, ast.Constant(node.attr))

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        return _helper("binop", ast.Constant(_SYMBOLS[type(node.op)]), node.left, node.right)

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        node.left = _touched(node.left)
        last = len(node.comparators) - 1
        node.comparators = [
            _helper("member", c) if i == last and isinstance(node.ops[i], (ast.In, ast.NotIn))
            and not isinstance(c, ast.Constant) else _touched(c)
            for i, c in enumerate(node.comparators)]
        return node

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        self.generic_visit(node)
        if not isinstance(node.ctx, ast.Load):
            return node
        if isinstance(node.slice, ast.Slice):
            return _helper("copied", node)
        node.slice = _touched(node.slice)  # a key is hashed
        return node

    def visit_Set(self, node: ast.Set) -> ast.AST:
        self.generic_visit(node)
        node.elts = [_touched(e) for e in node.elts]  # hashed
        return node

    def visit_Dict(self, node: ast.Dict) -> ast.AST:
        self.generic_visit(node)
        node.keys = [_touched(k) if k is not None else None for k in node.keys]
        return node

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        values: list[ast.expr] = []
        for value in node.values:
            if isinstance(value, ast.FormattedValue):
                text = _helper("text", self.visit(value.value), ast.Constant(value.conversion))
                value = ast.FormattedValue(text, -1, None)
            values.append(value)
        return _helper("built", ast.JoinedStr(values))

    def _visit_comprehension(self, node: ast.AST) -> ast.AST:
        cost = _item_cost(node)
        limit = None if isinstance(node, ast.GeneratorExp) else MAX_SEQUENCE_LENGTH
        self.generic_visit(node)
        generator = node.generators[0]  # type: ignore[attr-defined]
        generator.iter = _helper("loop", generator.iter, ast.Constant(cost), ast.Constant(limit))
        for name in ("elt", "key", "value"):
            if getattr(node, name, None) is not None:
                setattr(node, name, _touched(getattr(node, name)))
        return node

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _visit_comprehension

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        # ``x *= n`` becomes ``x = x * n`` so the same guard applies.
        assert isinstance(node.target, ast.Name)
        value = ast.BinOp(ast.Name(node.target.id, ast.Load()), node.op, node.value)
        return self.visit(ast.Assign([ast.Name(node.target.id, ast.Store())], value))


def _describe(exc: Exception) -> str:
    if isinstance(exc, NameError) and getattr(exc, "name", None):
        return f"unknown name '{exc.name}'"
    if isinstance(exc, _Refused):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


"""Sandboxed evaluation of the expressions and scripts analysts write in BPMN and DMN.

Plain ``eval`` with restricted globals is escapable (``().__class__.__bases__[0].__subclasses__()``),
so the defence is structural: every expression is parsed with ``ast`` and refused unless each node
is on a whitelist. What remains can only read names from the context, call the functions we hand
in, call a few harmless methods, and read keys of mappings. Names and attributes starting with
``_`` never pass, which closes every dunder route to classes, frames and builtins. Operations that
could build huge values (``*``, ``**``, ``%``) run through size guards instead of the bare operator.
"""

from __future__ import annotations

import ast
import functools
import operator
import textwrap
from collections.abc import Callable, Mapping
from decimal import Decimal
from types import CodeType
from typing import Any

from service.engine.errors import ExpressionError

# Pure functions over values. Left out on purpose: anything that inspects or reaches objects
# (type, getattr, vars, dir), runs code (eval, exec, compile, __import__), does I/O (open, print),
# or builds unbounded data (range). Containers come from literals and comprehensions, so
# list/dict/set/tuple are not needed either.
SAFE_BUILTINS: Mapping[str, Callable[..., Any]] = {
    f.__name__: f for f in (abs, all, any, bool, float, int, len, max, min, round, sorted, str, sum)
}

# Methods that may be called on values (dicts, strings). None of them runs user-chosen code,
# formats with attribute access (str.format, format_map) or grows data (replace, join).
METHODS = frozenset(
    {"get", "keys", "values", "items", "lower", "upper", "strip", "startswith", "endswith", "split"}
)

# Read-only data attributes of dates and timedeltas. Any other ``a.b`` is a key lookup on a
# mapping, as in Camunda's JUEL and in FEEL paths: ``applicant.age`` means ``applicant["age"]``.
DATA_ATTRIBUTES = frozenset({"year", "month", "day", "days"})

MAX_EXPRESSION_LENGTH = 10_000
MAX_SCRIPT_LENGTH = 100_000
MAX_SEQUENCE_LENGTH = 10_000  # longest str/list/tuple that ``*`` may build
MAX_INT_BITS = 10_000  # about 3,000 decimal digits, far beyond any business number
_CACHE_SIZE = 4096

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

# Helpers inserted by the guard transformer. Their names start with "_", which source code may not
# use, so an expression cannot reach or replace them.
_ATTR = "__sandbox_attr__"
_BINOP = "__sandbox_binop__"
_DECIMAL = "__sandbox_decimal__"


class _Refused(Exception):
    """A forbidden construct or value; becomes an ExpressionError naming the expression."""


class Sandbox:
    """Compiles and runs analysts' expressions with only the given functions available."""

    def __init__(self, functions: Mapping[str, Callable[..., Any]]) -> None:
        for name in functions:
            if not name.isidentifier() or name.startswith("_"):
                raise ValueError(f"function name {name!r} cannot be called from an expression")
        # Functions are put after the context in the namespace so a variable can never replace them.
        self._callables: dict[str, Callable[..., Any]] = {**SAFE_BUILTINS, **functions}
        self._helpers = {_ATTR: _read_attribute, _BINOP: _guarded_binop, _DECIMAL: Decimal, "__builtins__": {}}
        self._compile_expression = functools.lru_cache(maxsize=_CACHE_SIZE)(self._build_expression)
        self._compile_script = functools.lru_cache(maxsize=_CACHE_SIZE)(self._build_script)

    @property
    def function_names(self) -> frozenset[str]:
        return frozenset(self._callables)

    def compile(self, expression: str) -> CodeType:
        """Compile an expression (an optional ``${ … }`` wrapper is stripped); cached by text."""
        return self._compile_expression(expression)

    def check(self, expression: str) -> None:
        """Refuse a broken or forbidden expression at deploy time, before anything runs it."""
        self.compile(expression)

    def evaluate(self, expression: str, context: Mapping[str, Any]) -> Any:
        code = self.compile(expression)
        try:
            # Safe because only whitelisted nodes were compiled and builtins are empty.
            return eval(code, self._namespace(context))
        except Exception as exc:
            raise ExpressionError(expression, _describe(exc)) from exc

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
        try:
            exec(code, namespace)  # as safe as evaluate(): whitelisted nodes, empty builtins
        except Exception as exc:
            raise ExpressionError(script, _describe(exc)) from exc
        for name in assigned:
            if name in namespace:
                context[name] = namespace[name]

    def _namespace(self, context: Mapping[str, Any]) -> dict[str, Any]:
        # The context goes into globals (not locals) so comprehensions can see it too.
        return {**context, **self._callables, **self._helpers}

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


class _Guard(ast.NodeTransformer):
    """Routes attribute reads and size-risky operators through checked helpers."""

    def __init__(self, source: str = "") -> None:
        self._source = source

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        # Numbers are exact decimals, as in FEEL (DMN 1.5, 10.3.2.3.1) and in case data (JSON numbers
        # with a fraction are read as Decimal): 0.1 * 3 == 0.3. The literal as written ("1.10").
        if type(node.value) is not float:
            return node
        text = ast.get_source_segment(self._source, node) or repr(node.value)
        return ast.Call(ast.Name(_DECIMAL, ast.Load()), [ast.Constant(text)], [])

    def visit_Call(self, node: ast.Call) -> ast.AST:
        if isinstance(node.func, ast.Attribute):
            # A whitelisted method call stays a real attribute; its receiver is still guarded.
            node.func.value = self.visit(node.func.value)
            node.args = [self.visit(arg) for arg in node.args]
            node.keywords = [self.visit(keyword) for keyword in node.keywords]
            return node
        return self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        return ast.Call(ast.Name(_ATTR, ast.Load()), [node.value, ast.Constant(node.attr)], [])

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        symbol = _GUARDED.get(type(node.op))
        if symbol is None:
            return node
        return ast.Call(ast.Name(_BINOP, ast.Load()), [ast.Constant(symbol), node.left, node.right], [])

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        # ``x *= n`` becomes ``x = x * n`` so the same guard applies.
        assert isinstance(node.target, ast.Name)
        value = ast.BinOp(ast.Name(node.target.id, ast.Load()), node.op, node.value)
        return self.visit(ast.Assign([ast.Name(node.target.id, ast.Store())], value))


_GUARDED = {ast.Mult: "*", ast.Pow: "**", ast.Mod: "%",
            # only so that a float meeting a Decimal is made exact first (see _exact_pair)
            ast.Add: "+", ast.Sub: "-", ast.Div: "/", ast.FloorDiv: "//"}
_PLAIN = {"+": operator.add, "-": operator.sub, "/": operator.truediv, "//": operator.floordiv}


def _exact_pair(left: Any, right: Any) -> tuple[Any, Any]:
    """Arithmetic on a float (case data saved before numbers were decimals, len(x) / 2) is done on
    the decimal it prints, so 0.1 * 3 is 0.3 and a Decimal beside it is not refused by Python."""
    if type(left) is float or type(right) is float:
        if isinstance(left, (int, float, Decimal)) and isinstance(right, (int, float, Decimal)):
            return _decimal(left), _decimal(right)
    return left, right


def _decimal(value: int | float | Decimal) -> Decimal | int:
    return Decimal(repr(value)) if type(value) is float else value


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


def _guarded_binop(symbol: str, left: Any, right: Any) -> Any:
    left, right = _exact_pair(left, right)
    if symbol in _PLAIN:
        return _PLAIN[symbol](left, right)
    if symbol == "*":
        for sequence, count in ((left, right), (right, left)):
            if isinstance(sequence, (str, list, tuple)) and isinstance(count, int):
                if len(sequence) * count > MAX_SEQUENCE_LENGTH:
                    raise _Refused(f"result longer than {MAX_SEQUENCE_LENGTH}")
        if isinstance(left, int) and isinstance(right, int):
            if left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise _Refused("number too large")
        return left * right
    if symbol == "**":
        if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
            if left.bit_length() * right > MAX_INT_BITS:
                raise _Refused("number too large")
        return left**right
    if isinstance(left, str):
        # printf-style formatting can pad to any width ('%*d'); it is not needed in rules.
        raise _Refused("string formatting with '%' is not allowed")
    return left % right


def _describe(exc: Exception) -> str:
    if isinstance(exc, NameError) and getattr(exc, "name", None):
        return f"unknown name '{exc.name}'"
    if isinstance(exc, _Refused):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"

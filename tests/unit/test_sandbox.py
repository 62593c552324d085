from datetime import date

import pytest

from service.engine.errors import ExpressionError
from service.engine.sandbox import Sandbox


def working_days_after(start, days):
    return f"{start}+{days}"


@pytest.fixture
def sandbox():
    return Sandbox({"working_days_after": working_days_after})


# --- ordinary expressions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "context", "expected"),
    [
        ("x > 3", {"x": 5}, True),
        ("${x > 3}", {"x": 2}, False),
        ("${ x > 3 }", {"x": 4}, True),
        ("a + b * 2", {"a": 1, "b": 3}, 7),
        ("status in ('approved', 'filed') and not late", {"status": "filed", "late": False}, True),
        ("score if score is not None else 0", {"score": None}, 0),
        ("applicant.age >= 18", {"applicant": {"age": 20}}, True),
        ("applicant['age']", {"applicant": {"age": 20}}, 20),
        ("items[1:]", {"items": [1, 2, 3]}, [2, 3]),
        ("name.strip().lower() == 'zhang'", {"name": " Zhang "}, True),
        ("data.get('missing', 0)", {"data": {}}, 0),
        ("sorted(d.keys())", {"d": {"b": 1, "a": 2}}, ["a", "b"]),
        ("any(s > 90 for s in scores)", {"scores": [50, 95]}, True),
        ("sum(s for s in scores if s >= 60)", {"scores": [50, 60, 70]}, 130),
        ("{k: v * 2 for k, v in d.items()}", {"d": {"a": 1}}, {"a": 2}),
        ("len(items) + max(items) + round(2.5)", {"items": [1, 4]}, 8),
        ("f'{a}-{b!r}'", {"a": 1, "b": "x"}, "1-'x'"),
        ("notice_start.year", {"notice_start": date(2024, 5, 1)}, 2024),
        ("2 ** 10", {}, 1024),
        ("'ab' * 3", {}, "ababab"),
        ("7 % 3", {}, 1),
    ],
)
def test_evaluates_expressions(sandbox, expression, context, expected):
    assert sandbox.evaluate(expression, context) == expected


def test_calls_provided_functions(sandbox):
    assert sandbox.evaluate("working_days_after(start, 5)", {"start": "d"}) == "d+5"


def test_comprehensions_see_the_context(sandbox):
    assert sandbox.evaluate("[x + offset for x in items]", {"items": [1, 2], "offset": 10}) == [11, 12]


def test_a_context_variable_cannot_replace_a_function(sandbox):
    assert sandbox.evaluate("len(items)", {"items": [1], "len": lambda _: "hijacked"}) == 1


def test_unknown_name_is_named(sandbox):
    with pytest.raises(ExpressionError, match="unknown name 'x'") as caught:
        sandbox.evaluate("x > 3", {})
    assert caught.value.expression == "x > 3"


def test_missing_key_in_path_is_an_error(sandbox):
    with pytest.raises(ExpressionError, match="no key 'agee'"):
        sandbox.evaluate("applicant.agee > 18", {"applicant": {"age": 20}})


def test_runtime_errors_are_wrapped(sandbox):
    with pytest.raises(ExpressionError, match="ZeroDivisionError"):
        sandbox.evaluate("1 / x", {"x": 0})


def test_syntax_error_is_an_expression_error(sandbox):
    with pytest.raises(ExpressionError, match="syntax error"):
        sandbox.check("x >")


def test_empty_expression_is_refused(sandbox):
    with pytest.raises(ExpressionError, match="empty"):
        sandbox.check("${ }")


def test_check_compiles_without_running(sandbox):
    sandbox.check("undefined_variable > 3")


def test_compiled_expressions_are_cached(sandbox):
    assert sandbox.compile("x + 1") is sandbox.compile("x + 1")


def test_unknown_function_is_refused_at_compile(sandbox):
    with pytest.raises(ExpressionError, match="'add_years' is not a function"):
        sandbox.check("add_years(d, 1)")


def test_very_long_operator_chains_are_refused_not_crashing(sandbox):
    with pytest.raises(ExpressionError):
        sandbox.check("+".join(["1"] * 4000))


# --- escapes: each refused at compile time -------------------------------------------------------------

COMPILE_TIME_ESCAPES = [
    "().__class__.__bases__[0].__subclasses__()",
    "__import__('os')",
    "open('/etc/passwd')",
    "eval('1')",
    "exec('x = 1')",
    "getattr(x, '__class__')",
    "'{0.__class__}'.format(1)",
    "'{a}'.format_map(d)",
    "[c for c in ().__class__.__mro__]",
    "(lambda: 1)()",
    "type(1)",
    "globals()",
    "vars()",
    "__builtins__",
    "x.__class__",
    "f'{x:{width}}'",
    "(y := 1)",
    "[a for a in l for b in l]",
    "[[a for a in l] for b in l]",
    "sorted(l, **options)",
    "b'bytes'",
    "print('x')",
    "[len for len in l]",
    "l.append(1)",
]


@pytest.mark.parametrize("expression", COMPILE_TIME_ESCAPES)
def test_escape_is_refused_at_compile(sandbox, expression):
    with pytest.raises(ExpressionError):
        sandbox.check(expression)


# --- escapes: compile, but fail safely when run ---------------------------------------------------------

RUNTIME_ESCAPES = [
    ("9**9**9", "number too large"),
    ("'a'*10**9", "longer than"),
    ("[0] * 10**9", "longer than"),
    ("10**9 * 'a'", "longer than"),
    ("'%*d' % (10**9, 1)", "'%' is not allowed"),
    ("(x for x in l).gi_frame", "cannot read 'gi_frame'"),
    ("x.real", "cannot read 'real'"),
]


@pytest.mark.parametrize(("expression", "problem"), RUNTIME_ESCAPES)
def test_escape_fails_safely_when_run(sandbox, expression, problem):
    with pytest.raises(ExpressionError, match=problem):
        sandbox.evaluate(expression, {"x": 1, "l": [1]})


def test_function_names_must_be_public():
    with pytest.raises(ValueError):
        Sandbox({"__import__": __import__})


# --- scripts -------------------------------------------------------------------------------------------


def test_script_assigns_into_context(sandbox):
    context = {"fee": {"base": 100}, "late": True}
    sandbox.execute(
        """
        total = fee['base']
        if late:
            total += 50
            fee['late'] = True
        else:
            total = 0
        label = 'late' if late else 'ok'
        """,
        context,
    )
    assert context == {"fee": {"base": 100, "late": True}, "late": True, "total": 150, "label": "late"}


def test_script_calls_functions(sandbox):
    context = {"start": "d"}
    sandbox.execute("due = working_days_after(start, 3)", context)
    assert context["due"] == "d+3"


def test_failed_script_writes_no_names(sandbox):
    context = {"x": 0}
    with pytest.raises(ExpressionError, match="ZeroDivisionError"):
        sandbox.execute("y = 1\nz = 1 / x", context)
    assert context == {"x": 0}


@pytest.mark.parametrize(
    "script",
    [
        "import os",
        "for i in l:\n    x = i",
        "while True:\n    pass",
        "def f():\n    pass",
        "working_days_after(1, 2)",
        "len = 3",
        "a.b = 1",
        "x, y = 1, 2",
        "a = b = 1",
        "__builtins__ = {}",
        "x = ().__class__",
        "del x",
        "try:\n    x = 1\nexcept Exception:\n    pass",
    ],
)
def test_script_constructs_are_refused(sandbox, script):
    with pytest.raises(ExpressionError):
        sandbox.check_script(script)

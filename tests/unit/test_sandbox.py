import time
from datetime import date

import pytest

from service.engine.errors import ExpressionError
from service.engine.sandbox import MAX_OPERATIONS, MAX_SEQUENCE_LENGTH, Sandbox, charge


def working_days_after(start, days):
    charge(days)  # as the service's own does: a day at a time
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
    ("n ** n", "数值过大"),
    ("'a' * n", "构造的值超过上限"),
    ("[0] * n", "构造的值超过上限"),
    ("n * 'a'", "构造的值超过上限"),
    ("'%*d' % (n, 1)", "'%' is not allowed"),
    ("(x for x in l).gi_frame", "cannot read 'gi_frame'"),
    ("x.real", "cannot read 'real'"),
]


@pytest.mark.parametrize(("expression", "problem"), RUNTIME_ESCAPES)
def test_escape_fails_safely_when_run(sandbox, expression, problem):
    with pytest.raises(ExpressionError, match=problem):
        sandbox.evaluate(expression, {"x": 1, "l": [1], "n": 10**9})


# --- bounds: time and memory (Art. 19 complaints are anonymous: an expression runs for anyone) ---------

# Known before anything runs: refused when the model is deployed, naming the bound.
REFUSED_AT_DEPLOY = [
    ("sum([[1]*10000 for c in 'a'*300], [])", "sum 只用于数字求和"),  # issue 11: 1.3 s per complaint
    ("sum([[1]*10000 for c in 'a'*300], 0)", f"一次求值最多{MAX_OPERATIONS}步"),
    ("sum([[1]] * 10000, [])", "sum 只用于数字求和"),
    ("len(str([[1]*10000]*10000))", f"一次求值最多{MAX_OPERATIONS}步"),
    ("[[1]*10000]*10000 == [[1]*10000]*10000", f"一次求值最多{MAX_OPERATIONS}步"),
    ("len([c for c in 'a'*10000 + 'b'])", f"最多{MAX_SEQUENCE_LENGTH}项"),
    ("'a' * 10**9", f"最多{MAX_SEQUENCE_LENGTH}项"),
    ("[0] * 10001", f"最多{MAX_SEQUENCE_LENGTH}项"),
    ("10**9 * 'a'", f"最多{MAX_SEQUENCE_LENGTH}项"),
    ("9**9**9", "数值过大"),
    ("[x * 2 for x in [1] * 10000] == [y for y in 'b' * 10000]", f"一次求值最多{MAX_OPERATIONS}步"),
    ("len([[0] * 5000 for c in 'a' * 100])", f"一次求值最多{MAX_OPERATIONS}步"),
]


@pytest.mark.parametrize(("expression", "bound"), REFUSED_AT_DEPLOY)
def test_a_costly_constant_expression_is_refused_at_deploy(sandbox, expression, bound):
    with pytest.raises(ExpressionError, match=bound) as caught:
        sandbox.check(expression)
    assert caught.value.expression == expression


LONG_TEXT = "申请 " * 50_000
MANY = list(range(5_000))
NESTED = [[1] * 5_000]

# Known only with the data (the due date of a complaint sees what the public typed): stopped
# after the budget or at the size bound, in milliseconds.
STOPPED_AT_RUN_TIME = [
    ("sum(len(x) for x in text)", "运算量超过上限"),
    ("len(text.split())", "运算量超过上限"),
    ("len(text.upper())", "运算量超过上限"),
    ("len(f'{many}')", "构造的值超过上限"),
    ("len(str(many))", "构造的值超过上限"),
    ("[many == many[:] for c in text]", "运算量超过上限"),
    ("[many[:] for c in text]", "运算量超过上限"),
    ("[len(many) for c in text]", "运算量超过上限"),
    ("[x in many for x in many]", "运算量超过上限"),
    ("[sum(many) for c in text]", "运算量超过上限"),
    ("[sorted(many) for c in text]", "运算量超过上限"),
    ("sorted([many] * 10000)", "运算量超过上限"),
    ("(nested * 10000) == (nested * 10000)", "运算量超过上限"),
    ("len({(t,) for t in [(tuple_ * 10000,) * 10000]})", "运算量超过上限"),
    ("str(nested * 2)", "构造的值超过上限"),
    ("[f'{s}{s}' for c in text]", "构造的值超过上限"),
    ("[s + s for c in text]", "构造的值超过上限"),
    ("len(" + "+".join(["s"] * 300) + ")", "构造的值超过上限"),
    ("len(f'" + "{s}" * 2000 + "')", "运算量超过上限"),
    ("sum([many, many], empty)", "sum 只用于数字求和"),
    ("[c for c in text]", "构造的值超过上限"),
    ("working_days_after(s, 10**9)", "运算量超过上限"),
    ("[working_days_after(s, 400) for c in text]", "运算量超过上限"),
]


@pytest.mark.parametrize(("expression", "bound"), STOPPED_AT_RUN_TIME)
def test_a_costly_expression_is_stopped_within_milliseconds(sandbox, expression, bound):
    context = {"text": LONG_TEXT, "many": MANY, "nested": NESTED, "s": "a" * 10_000, "tuple_": (0,), "empty": []}
    sandbox.check(expression)  # nothing in it is known before the data
    started = time.thread_time()
    with pytest.raises(ExpressionError, match=bound) as caught:
        sandbox.evaluate(expression, context)
    # CPU time of this thread, so a busy machine does not fail it; each took seconds before
    assert time.thread_time() - started < 0.5
    assert caught.value.expression == expression


def test_model_functions_charge_their_loops(sandbox):
    assert sandbox.evaluate("working_days_after(s, 5)", {"s": "d"}) == "d+5"
    with pytest.raises(ExpressionError, match="运算量超过上限"):
        sandbox.evaluate(f"working_days_after(s, {MAX_OPERATIONS + 1})", {"s": "d"})


def test_the_budget_is_per_evaluation_and_shared_within_a_decision(sandbox):
    half = "len([c for c in text])"  # about half the budget in items charged
    context = {"text": "a" * 9_000}
    for _ in range(3):
        assert sandbox.evaluate(half, context) == 9_000
    with pytest.raises(ExpressionError, match="运算量超过上限"):
        with sandbox.budget():
            for _ in range(10):
                sandbox.evaluate(half, context)


def test_ordinary_data_stays_far_inside_the_bounds(sandbox):
    scope = [{"occupation_code": f"6-31-01-{i:02}", "level": "三级", "assessors": 5} for i in range(200)]
    context = {"scope": scope, "unmet": [], "kind": "social_org", "opinion": "同意" * 500}
    assert sandbox.evaluate("len(unmet) > 0 or kind == 'social_org'", context) is True
    assert sandbox.evaluate("min(s.assessors for s in scope) >= 5", context) is True
    assert len(sandbox.evaluate("sorted({s.occupation_code for s in scope})", context)) == 200
    assert sandbox.evaluate("[s for s in scope if s.level == '三级'] == scope", context) is True
    assert sandbox.evaluate("f'{kind}：{opinion}'", context).startswith("social_org：同意")


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

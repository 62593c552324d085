from datetime import date
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from service.engine.dmn import parse_decisions
from service.engine.errors import DecisionError, DefinitionError
from service.engine.sandbox import Sandbox

DMN13 = "https://www.omg.org/spec/DMN/20191111/MODEL/"

# As Camunda Modeler 5 writes it (DMN 1.3, with diagram and a rule annotation).
CAMUNDA_FILE = b"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/"
    xmlns:dmndi="https://www.omg.org/spec/DMN/20191111/DMNDI/"
    xmlns:dc="http://www.omg.org/spec/DMN/20180521/DC/"
    xmlns:modeler="http://camunda.org/schema/modeler/1.0"
    xmlns:camunda="http://camunda.org/schema/1.0/dmn"
    id="Definitions_1" name="DRD" namespace="http://camunda.org/schema/1.0/dmn"
    exporter="Camunda Modeler" exporterVersion="5.16.0"
    modeler:executionPlatform="Camunda Platform" modeler:executionPlatformVersion="7.20.0">
  <decision id="exam_fee" name="Exam fee">
    <decisionTable id="DecisionTable_1">
      <input id="Input_1" label="Level" camunda:inputVariable="level">
        <inputExpression id="InputExpression_1" typeRef="string">
          <text>candidate.level</text>
        </inputExpression>
      </input>
      <input id="Input_2" label="Age">
        <inputExpression id="InputExpression_2" typeRef="integer">
          <text>candidate.age</text>
        </inputExpression>
      </input>
      <output id="Output_1" label="Fee" name="fee" typeRef="integer" />
      <rule id="rule_junior">
        <description>levels 4 and 5</description>
        <inputEntry id="UnaryTests_1"><text>"four","five"</text></inputEntry>
        <inputEntry id="UnaryTests_2"><text>-</text></inputEntry>
        <outputEntry id="LiteralExpression_1"><text>100</text></outputEntry>
      </rule>
      <rule id="rule_senior">
        <inputEntry id="UnaryTests_3"><text>not("four","five")</text></inputEntry>
        <inputEntry id="UnaryTests_4"><text>&lt; 60</text></inputEntry>
        <outputEntry id="LiteralExpression_2"><text>200</text></outputEntry>
      </rule>
    </decisionTable>
  </decision>
  <dmndi:DMNDI>
    <dmndi:DMNDiagram id="DMNDiagram_1">
      <dmndi:DMNShape id="DMNShape_1" dmnElementRef="exam_fee">
        <dc:Bounds height="80" width="180" x="160" y="100" />
      </dmndi:DMNShape>
    </dmndi:DMNDiagram>
  </dmndi:DMNDI>
</definitions>
"""


def table(inputs, outputs, rules, hit_policy=None, aggregation=None, namespace=DMN13, defaults=None, language=None):
    """A one-decision DMN file.

    inputs: [(expression, typeRef)], outputs: [(name, typeRef, output values or None)] (name "" as
    dmn-js writes an unnamed output), rules: [([input cells], [output cells])]; rule ids are r1, r2, ...
    defaults: {output index: default output entry}; language: the definitions' expressionLanguage.
    """
    attributes = ""
    if hit_policy:
        attributes += f' hitPolicy="{hit_policy}"'
    if aggregation:
        attributes += f' aggregation="{aggregation}"'
    language = f' expressionLanguage="{language}"' if language else ""
    parts = [f'<definitions xmlns="{namespace}" id="defs" name="DRD" namespace="http://camunda.org/schema/1.0/dmn"'
             f"{language}>",
             f'<decision id="d" name="Test decision"><decisionTable id="t"{attributes}>']
    for index, (expression, type_ref) in enumerate(inputs, start=1):
        type_attribute = f' typeRef="{type_ref}"' if type_ref else ""
        parts.append(f'<input id="in{index}" label="In {index}">'
                     f'<inputExpression id="ie{index}"{type_attribute}>'
                     f"<text>{escape(expression)}</text></inputExpression></input>")
    for index, (name, type_ref, values) in enumerate(outputs, start=1):
        type_attribute = f' typeRef="{type_ref}"' if type_ref else ""
        parts.append(f'<output id="out{index}" name="{name}"{type_attribute}>')
        if values:
            parts.append(f"<outputValues><text>{escape(values)}</text></outputValues>")
        if defaults and index - 1 in defaults:
            parts.append(f"<defaultOutputEntry><text>{escape(defaults[index - 1])}</text></defaultOutputEntry>")
        parts.append("</output>")
    for index, (input_cells, output_cells) in enumerate(rules, start=1):
        parts.append(f'<rule id="r{index}">')
        parts += [f"<inputEntry><text>{escape(cell)}</text></inputEntry>" for cell in input_cells]
        parts += [f"<outputEntry><text>{escape(cell)}</text></outputEntry>" for cell in output_cells]
        parts.append("</rule>")
    parts.append("</decisionTable></decision></definitions>")
    return "".join(parts).encode()


def decide(xml, context, sandbox=None):
    (decision,) = parse_decisions(xml, "dmn/d.dmn")
    return decision.evaluate(context, sandbox or Sandbox({}))


def refused(xml, element=None, match=None):
    with pytest.raises(DefinitionError, match=match) as caught:
        parse_decisions(xml, "dmn/d.dmn")
    assert caught.value.file == "dmn/d.dmn"
    if element is not None:
        assert caught.value.element == element
    return caught.value


# --- a file as the modeler writes it ---------------------------------------------------------------------


def test_parses_a_camunda_modeler_file():
    (decision,) = parse_decisions(CAMUNDA_FILE, "dmn/exam_fee.dmn")
    assert (decision.id, decision.name, decision.hit_policy, decision.aggregation) == (
        "exam_fee", "Exam fee", "UNIQUE", None)
    assert [(i.label, i.expression) for i in decision.inputs] == [("Level", "candidate.level"),
                                                                 ("Age", "candidate.age")]
    assert [o.name for o in decision.outputs] == ["fee"]
    assert [r.id for r in decision.rules] == ["rule_junior", "rule_senior"]


@pytest.mark.parametrize(("level", "age", "fee"), [("five", 70, 100), ("two", 40, 200), ("two", 70, None)])
def test_evaluates_a_camunda_modeler_file(level, age, fee):
    (decision,) = parse_decisions(CAMUNDA_FILE, "dmn/exam_fee.dmn")
    assert decision.evaluate({"candidate": {"level": level, "age": age}}, Sandbox({})) == {"fee": fee}


@pytest.mark.parametrize("namespace", ["http://www.omg.org/spec/DMN/20151101/dmn.xsd",
                                       "http://www.omg.org/spec/DMN/20180521/MODEL/"])
def test_older_dmn_namespaces(namespace):
    xml = table([("x", "")], [("y", "", None)], [(["1"], ['"one"'])], namespace=namespace)
    assert decide(xml, {"x": 1}) == {"y": "one"}


def test_unknown_namespace_is_refused():
    refused(table([("x", "")], [("y", "", None)], [(["1"], ["1"])], namespace="urn:other"), match="namespace")


# --- hit policies --------------------------------------------------------------------------------------

GRADES = [("score", "integer")]


def grade_rules(*rows):
    return [([cell], [f'"{grade}"']) for cell, grade in rows]


def test_unique_returns_the_single_match():
    xml = table(GRADES, [("grade", "string", None)], grade_rules(("< 60", "fail"), (">= 60", "pass")))
    assert decide(xml, {"score": 75}) == {"grade": "pass"}


def test_unique_without_match_gives_none():
    xml = table(GRADES, [("grade", "string", None), ("note", "", None)],
                [(["< 60"], ['"fail"', '"retake"'])])
    assert decide(xml, {"score": 75}) == {"grade": None, "note": None}


def test_unique_overlap_names_the_rules():
    xml = table(GRADES, [("grade", "string", None)], grade_rules(("< 60", "fail"), ("[50..100]", "pass")))
    with pytest.raises(DecisionError, match="r1, r2") as caught:
        decide(xml, {"score": 55})
    assert caught.value.rule_ids == ("r1", "r2")
    assert "UNIQUE" in str(caught.value) and caught.value.decision.startswith("d")


def test_first_returns_the_first_match():
    xml = table(GRADES, [("grade", "string", None)], grade_rules(("> 90", "excellent"), ("> 60", "pass")),
                hit_policy="FIRST")
    assert decide(xml, {"score": 95}) == {"grade": "excellent"}
    assert decide(xml, {"score": 70}) == {"grade": "pass"}


def test_priority_follows_output_values_not_rule_order():
    outputs = [("risk", "string", '"high","medium","low"')]
    rules = grade_rules(("-", "low"), ("> 50", "medium"), ("> 90", "high"), ("> 80", "medium"))
    xml = table(GRADES, outputs, rules, hit_policy="PRIORITY")
    assert decide(xml, {"score": 95}) == {"risk": "high"}
    assert decide(xml, {"score": 85}) == {"risk": "medium"}
    assert decide(xml, {"score": 10}) == {"risk": "low"}


def test_priority_without_output_values_is_refused():
    xml = table(GRADES, [("risk", "string", None)], grade_rules(("-", "low")), hit_policy="PRIORITY")
    refused(xml, element="d", match="output values")


def test_priority_output_must_be_an_output_value():
    xml = table(GRADES, [("risk", "string", '"high","low"')], grade_rules(("-", "medium")),
                hit_policy="PRIORITY")
    refused(xml, element="r1", match="not one of the output values")


def test_any_accepts_equal_outputs():
    xml = table(GRADES, [("grade", "string", None)], grade_rules(("> 50", "pass"), ("> 60", "pass")),
                hit_policy="ANY")
    assert decide(xml, {"score": 70}) == {"grade": "pass"}


def test_any_refuses_different_outputs():
    xml = table(GRADES, [("grade", "string", None)], grade_rules(("> 50", "pass"), ("> 60", "good")),
                hit_policy="ANY")
    with pytest.raises(DecisionError, match="different outputs") as caught:
        decide(xml, {"score": 70})
    assert caught.value.rule_ids == ("r1", "r2")


def test_collect_lists_outputs_in_rule_order():
    xml = table(GRADES, [("check", "string", None), ("points", "integer", None)],
                [(["> 10"], ['"b"', "2"]), (["> 0"], ['"a"', "1"]), (["> 100"], ['"c"', "3"])],
                hit_policy="COLLECT")
    assert decide(xml, {"score": 50}) == {"check": ["b", "a"], "points": [2, 1]}
    assert decide(xml, {"score": -1}) == {"check": [], "points": []}


def test_rule_order_is_collect_in_rule_order():
    xml = table(GRADES, [("check", "string", None)], grade_rules(("> 10", "b"), ("> 0", "a")),
                hit_policy="RULE ORDER")
    assert decide(xml, {"score": 50}) == {"check": ["b", "a"]}


def test_output_order_sorts_by_output_values():
    xml = table(GRADES, [("check", "string", '"a","b","c"')], grade_rules(("> 0", "c"), ("> 10", "a"),
                                                                          ("> 5", "b")),
                hit_policy="OUTPUT ORDER")
    assert decide(xml, {"score": 50}) == {"check": ["a", "b", "c"]}


POINTS = [(["> 0"], ["3"]), (["> 10"], ["5"]), (["> 20"], ["-2"]), (["> 100"], ["7"])]


@pytest.mark.parametrize(("aggregation", "score", "expected"), [
    ("SUM", 50, 6), ("MIN", 50, -2), ("MAX", 50, 5), ("COUNT", 50, 3),
    ("SUM", -5, 0), ("MIN", -5, None), ("MAX", -5, None), ("COUNT", -5, 0),
])
def test_collect_aggregations(aggregation, score, expected):
    xml = table(GRADES, [("points", "integer", None)], POINTS, hit_policy="COLLECT", aggregation=aggregation)
    assert decide(xml, {"score": score}) == {"points": expected}


def test_aggregation_with_two_outputs_is_refused():
    xml = table(GRADES, [("a", "", None), ("b", "", None)], [(["-"], ["1", "2"])],
                hit_policy="COLLECT", aggregation="SUM")
    refused(xml, element="d", match="exactly one output")


def test_aggregation_without_collect_is_refused():
    refused(table(GRADES, [("a", "", None)], [(["-"], ["1"])], hit_policy="FIRST", aggregation="SUM"),
            element="d", match="needs hit policy COLLECT")


def test_sum_of_text_is_refused():
    xml = table(GRADES, [("a", "", None)], [(["-"], ['"x"'])], hit_policy="COLLECT", aggregation="SUM")
    refused(xml, element="r1", match="SUM needs numbers")


def test_unknown_hit_policy_is_refused():
    refused(table(GRADES, [("a", "", None)], [(["-"], ["1"])], hit_policy="SOMETIMES"), match="hit policy")


# --- unary tests -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("cell", "value", "expected"), [
    ("-", 5, True),
    ("", "anything", True),
    ("5", 5, True),
    ("5", 5.0, True),
    ("5", 6, False),
    ("-5", -5, True),
    ("1.5", 1.5, True),
    ('"a"', "a", True),
    ('"a"', "A", False),
    ('"say \\"hi\\""', 'say "hi"', True),
    ("true", True, True),
    ("false", True, False),
    ("< 5", 4, True),
    ("< 5", 5, False),
    ("<= 5", 5, True),
    ("> 5", 5, False),
    (">= 5", 5, True),
    ("> -1.5", -1, True),
    ('< "m"', "k", True),
    ("[1..10]", 1, True),
    ("[1..10]", 10, True),
    ("[1..10]", 11, False),
    ("(1..10)", 1, False),
    ("(1..10)", 2, True),
    ("]1..10[", 10, False),
    ("[1..10)", 10, False),
    ("[1..10)", 9.5, True),
    ('"a","b"', "b", True),
    ('"a","b"', "c", False),
    ("< 3, > 10", 11, True),
    ("< 3, > 10", 5, False),
    ('not("a")', "a", False),
    ('not("a")', "b", True),
    ('not("a","b")', "b", False),
    ("not(< 5)", 7, True),
    ("not([1..3])", 2, False),
    ('date("2024-01-01")', date(2024, 1, 1), True),
    ('> date("2024-01-01")', date(2023, 12, 31), False),
    ('[date("2024-01-01")..date("2024-12-31")]', date(2024, 6, 1), True),
    ("null", None, True),
    ("null", 0, False),
    ("not(null)", 0, True),
])
def test_unary_test(cell, value, expected):
    xml = table([("x", "")], [("hit", "boolean", None)], [([cell], ["true"])])
    assert decide(xml, {"x": value}) == {"hit": True if expected else None}


@pytest.mark.parametrize(("cell", "expected"), [
    ("-", True), ("null", True), ('"a"', False), ("< 5", False), ("[1..5]", False),
    ('not("a")', False), ("not(null)", False), ("< limit", False),
])
def test_null_input_matches_only_null_and_any(cell, expected):
    xml = table([("x", "")], [("hit", "boolean", None)], [([cell], ["true"])])
    assert decide(xml, {"x": None, "limit": 5}) == {"hit": True if expected else None}


@pytest.mark.parametrize(("cell", "context", "expected"), [
    ("< limit", {"x": 3, "limit": 5}, True),
    ("< limit", {"x": 7, "limit": 5}, False),
    (">= limits.min", {"x": 7, "limits": {"min": 5}}, True),
    ("[low..high]", {"x": 7, "low": 1, "high": 6}, False),
    ("status", {"x": "ok", "status": "ok"}, True),
])
def test_unary_test_against_a_variable(cell, context, expected):
    xml = table([("x", "")], [("hit", "boolean", None)], [([cell], ["true"])])
    assert decide(xml, context) == {"hit": True if expected else None}


@pytest.mark.parametrize("cell", [
    "= 5",
    "!= 5",
    "'a'",
    '"a" "b"',
    "x + 1",
    "count(x) > 1",
    "f(x)",
    "< true",
    "< null",
    "[10..1]",
    "(5..5]",
    '[1.."z"]',
    "[1..5",
    "1..5",
    "1e3",
    '"a", -',
    'not("a"), "b"',
    "not",
    "in [1, 2]",
    "? > 3",
    'date("2024-1-1")',
    'date("2024-02-30")',
    "__class__",
    "x.__class__",
    '"\\q"',
    "${x}",
])
def test_unsupported_unary_test_is_refused_naming_the_rule(cell):
    xml = table([("x", "")], [("hit", "boolean", None)], [(["-"], ["true"]), ([cell], ["true"])])
    error = refused(xml, element="r2", match="unsupported FEEL unary test")
    assert cell.strip() in str(error)


def test_refusal_reads_well():
    xml = table([("x", "")], [("hit", "boolean", None)], [(["!= 5"], ["true"])])
    assert str(refused(xml)) == ("dmn/d.dmn, element r1: unsupported FEEL unary test '!= 5' (input 'In 1'): "
                                 "a unary test has no '!='; write not(5) or not(\"a\")")


@pytest.mark.parametrize(("type_ref", "cell"), [("integer", '"5"'), ("string", "5"), ("boolean", '"true"'),
                                                ("date", '"2024-01-01"'), ("double", "[1..true]")])
def test_cell_of_the_wrong_type_is_refused(type_ref, cell):
    refused(table([("x", type_ref)], [("hit", "", None)], [([cell], ["true"])]), element="r1")


def test_comparing_different_kinds_at_run_time_is_an_error():
    # Without a typeRef the cell cannot be checked at deploy; "5" must not silently miss 5.
    xml = table([("x", "")], [("hit", "", None)], [(["5"], ["true"])])
    with pytest.raises(DecisionError, match='string "5".*number 5'):
        decide(xml, {"x": "5"})


def test_input_of_the_wrong_type_is_an_error():
    xml = table([("x", "integer")], [("hit", "", None)], [(["5"], ["true"])])
    with pytest.raises(DecisionError, match="should be integer"):
        decide(xml, {"x": "5"})


def test_date_input_accepts_iso_text():
    xml = table([("x", "date")], [("hit", "", None)], [(['< date("2024-01-01")'], ["true"])])
    assert decide(xml, {"x": "2023-05-01"}) == {"hit": True}


def test_unquoted_text_in_a_cell_fails_with_a_hint():
    xml = table([("x", "string")], [("hit", "", None)], [(["approved"], ["true"])])
    with pytest.raises(DecisionError, match="r1.*unknown name 'approved'.*double quotes"):
        decide(xml, {"x": "approved"})


# --- input expressions and output entries -----------------------------------------------------------------


@pytest.mark.parametrize(("expression", "context", "value"), [
    ("applicant.age", {"applicant": {"age": 30}}, 30),
    ("age + 1", {"age": 29}, 30),
    ('status = "filed"', {"status": "filed"}, True),
    ("a > 1 and not(b)", {"a": 2, "b": False}, True),
    ("flag = true", {"flag": True}, True),
    ("x = null", {"x": None}, True),
    ("years(born)", {"born": 1990}, 34),
])
def test_input_expressions(expression, context, value):
    xml = table([(expression, "")], [("y", "", None)], [(["-"], ["v"])])
    sandbox = Sandbox({"years": lambda born: 2024 - born})
    assert decide(xml, {**context, "v": "ok"}, sandbox) == {"y": "ok"}
    (decision,) = parse_decisions(xml, "dmn/d.dmn")
    assert sandbox.evaluate(decision.inputs[0].python, context) == value


@pytest.mark.parametrize("expression", [
    "x[0]", "x.lower()", "if a then b else c", "a if b else c", "'a'", "a == b", "1 < x < 3", "x in [1, 2]",
    "True", "a % 2", "_x", "x.__class__",
])
def test_unsupported_input_expressions_are_refused(expression):
    refused(table([(expression, "")], [("y", "", None)], [(["-"], ["1"])]), element="in1")


@pytest.mark.parametrize(("cell", "value"), [
    ('"approved"', "approved"), ("12", 12), ("-3.5", -3.5), ("true", True), ("null", None), ("", None),
    ('date("2024-03-01")', date(2024, 3, 1)), ("fee * 2", 200), ('"a" + code', "ab"),
])
def test_output_entries(cell, value):
    xml = table([("x", "")], [("y", "", None)], [(["-"], [cell])])
    assert decide(xml, {"x": 1, "fee": 100, "code": "b"}) == {"y": value}


@pytest.mark.parametrize("cell", ["'x'", "x.get(\"a\")", "[1, 2]", "a if b else c", "-", '"a", "b"', "x[1]"])
def test_unsupported_output_entries_are_refused(cell):
    refused(table([("x", "")], [("y", "", None)], [(["-"], [cell])]), element="r1", match="output entry")


def test_output_of_the_wrong_type_is_refused():
    refused(table([("x", "")], [("y", "integer", None)], [(["-"], ['"5"'])]), element="r1", match="integer")


def test_output_outside_output_values_is_refused():
    xml = table([("x", "")], [("y", "string", '"a","b"')], [(["-"], ['"c"'])])
    refused(xml, element="r1", match="not one of the output values")


def test_default_output_entry_applies_when_nothing_matches():
    xml = table(GRADES, [("grade", "string", None)], grade_rules(("< 60", "fail"))).replace(
        b'<output id="out1" name="grade" typeRef="string">',
        b'<output id="out1" name="grade" typeRef="string"><defaultOutputEntry><text>"pass"</text>'
        b"</defaultOutputEntry>")
    assert decide(xml, {"score": 90}) == {"grade": "pass"}


def test_sandbox_at_parse_checks_function_names():
    xml = table([("years(born)", "")], [("y", "", None)], [(["-"], ["1"])])
    parse_decisions(xml, "dmn/d.dmn", sandbox=Sandbox({"years": len}))
    with pytest.raises(DefinitionError, match="'years' is not a function") as caught:
        parse_decisions(xml, "dmn/d.dmn", sandbox=Sandbox({}))
    assert caught.value.element == "in1"


def test_input_variable_missing_from_the_case_is_null():
    xml = table([("years", "")], [("y", "", None)], [(["< 3"], ['"short"']), (["null"], ['"none"'])])
    assert decide(xml, {}) == {"y": "none"}
    assert decide(xml, {"years": 2}) == {"y": "short"}


def test_failing_input_expression_names_the_decision_and_input():
    xml = table([("missing + 1", "")], [("y", "", None)], [(["-"], ["1"])])
    with pytest.raises(DecisionError, match="input 'In 1'.*unknown name 'missing'"):
        decide(xml, {})


# --- structure ---------------------------------------------------------------------------------------------


def test_literal_expression_decision_is_refused():
    xml = f"""<definitions xmlns="{DMN13}" id="defs" name="x" namespace="n">
      <decision id="total" name="Total">
        <variable name="total" typeRef="number" />
        <literalExpression id="e1"><text>a + b</text></literalExpression>
      </decision></definitions>""".encode()
    refused(xml, element="total", match="only decision tables")


def test_decision_requiring_another_decision_is_refused():
    xml = table(GRADES, [("a", "", None)], [(["-"], ["1"])]).replace(
        b'<decisionTable id="t">',
        b'<informationRequirement id="ir"><requiredDecision href="#other" /></informationRequirement>'
        b'<decisionTable id="t">')
    refused(xml, element="d", match="require other decisions")


@pytest.mark.parametrize(("old", "new", "match"), [
    (b'<inputExpression id="ie1" typeRef="integer">',
     b'<inputExpression id="ie1" typeRef="integer" expressionLanguage="juel">', "only FEEL"),
    (b'typeRef="integer"', b'typeRef="time"', "typeRef 'time'"),
    (b"<inputEntry><text>-</text></inputEntry>", b"", "input and 1 output entries"),
])
def test_structural_problems_are_refused(old, new, match):
    xml = table(GRADES, [("a", "", None)], [(["-"], ["1"])])
    assert old in xml
    refused(xml.replace(old, new), match=match)


def test_table_without_rules_is_refused():
    refused(table(GRADES, [("a", "", None)], []), element="d", match="no rules")


def test_not_well_formed_xml_is_refused():
    refused(b"<definitions", match="not well-formed")


# --- unsafe XML -------------------------------------------------------------------------------------------

BILLION_LAUGHS = f"""<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<definitions xmlns="{DMN13}" id="defs" name="&lol3;" namespace="n"/>""".encode()

XXE = f"""<?xml version="1.0"?>
<!DOCTYPE definitions [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<definitions xmlns="{DMN13}" id="defs" name="x" namespace="n">
  <decision id="d" name="&secret;"><decisionTable id="t"/></decision>
</definitions>""".encode()

PLAIN_DOCTYPE = f"""<?xml version="1.0"?>
<!DOCTYPE definitions>
<definitions xmlns="{DMN13}" id="defs" name="x" namespace="n"/>""".encode()


@pytest.mark.parametrize("xml", [BILLION_LAUGHS, XXE, PLAIN_DOCTYPE],
                         ids=["billion-laughs", "xxe", "doctype"])
def test_doctype_and_entities_are_refused(xml):
    refused(xml, element=None, match="DOCTYPE")


# --- numbers are decimals (DMN 1.5, 10.3.2.3.1) -------------------------------------------------------------
#
# "FEEL Numbers are based on IEEE 754-2008 Decimal128 format, with 34 decimal digits of precision":
# a number is a decimal, never the binary float nearest to it.

DECIMAL_VALUES = [("x", "number")]


def test_a_computed_input_of_0_1_times_3_matches_a_cell_0_3():
    """DMN 1.5, 10.3.2.3.1 (number is decimal128): 0.1 * 3 is exactly 0.3, in an input expression and
    with a case value read from JSON."""
    xml = table([("0.1 * 3", "number")], [("hit", "boolean", None)], [(["0.3"], ["true"])])
    assert decide(xml, {}) == {"hit": True}
    xml = table([("price * 3", "number")], [("hit", "boolean", None)], [(["0.3"], ["true"])])
    assert decide(xml, {"price": Decimal("0.1")}) == {"hit": True}


def test_a_range_of_decimals_holds_a_value_written_with_a_trailing_zero():
    """DMN 1.5, 10.3.2.3.1: [1.1..2] holds 1.10, the same number written with two digits."""
    xml = table(DECIMAL_VALUES, [("hit", "boolean", None)], [(["[1.1..2]"], ["true"])])
    assert decide(xml, {"x": Decimal("1.10")}) == {"hit": True}
    assert decide(xml, {"x": Decimal("1.0999")}) == {"hit": None}


def test_a_boundary_with_a_fraction_is_exact():
    """DMN 1.5, 10.3.2.3.1: 59.5 is 59.5; 59.49 stays below it and 59.50 is on it."""
    xml = table(DECIMAL_VALUES, [("grade", "string", None)],
                [(["< 59.5"], ['"fail"']), ([">= 59.5"], ['"pass"'])])
    assert decide(xml, {"x": Decimal("59.49")}) == {"grade": "fail"}
    assert decide(xml, {"x": Decimal("59.50")}) == {"grade": "pass"}


def test_collect_sum_of_0_1_and_0_2_is_exactly_0_3():
    """DMN 1.5, 8.2.11 (C+: the sum of the outputs) with numbers as decimals (10.3.2.3.1)."""
    xml = table(GRADES, [("points", "number", None)], [(["-"], ["0.1"]), (["-"], ["0.2"])],
                hit_policy="COLLECT", aggregation="SUM")
    (total,) = decide(xml, {"score": 1}).values()
    assert total == Decimal("0.3") and str(total) == "0.3"


def test_output_entries_with_a_fraction_keep_their_digits():
    """DMN 1.5, 10.3.2.3.1: an output entry 1.10 is the decimal 1.10, computed ones too."""
    xml = table(GRADES, [("a", "number", None), ("b", "number", None)], [(["-"], ["1.10", "fee * 1.5"])])
    result = decide(xml, {"score": 1, "fee": 100})
    assert result == {"a": Decimal("1.10"), "b": Decimal("150.0")}
    assert [type(value) for value in result.values()] == [Decimal, Decimal]


def test_whole_numbers_stay_integers():
    xml = table(GRADES, [("points", "integer", None)], [(["-"], ["3"]), (["-"], ["4"])],
                hit_policy="COLLECT", aggregation="SUM")
    assert decide(xml, {"score": 1}) == {"points": 7}
    assert type(decide(xml, {"score": 1})["points"]) is int


def test_a_float_in_the_case_data_is_the_decimal_it_prints():
    """Case data saved before numbers were decimals holds floats: 0.3 as a float means 0.3."""
    xml = table([("x * 1", "number")], [("hit", "boolean", None)], [(["0.3"], ["true"])])
    assert decide(xml, {"x": 0.3}) == {"hit": True}
    xml = table([("x * 3", "number")], [("hit", "boolean", None)], [(["0.3"], ["true"])])
    assert decide(xml, {"x": 0.1}) == {"hit": True}


def test_sandbox_numbers_with_a_fraction_are_decimals():
    """The input expressions run in the sandbox: its literals and its float operands are exact too."""
    sandbox = Sandbox({})
    assert sandbox.evaluate("0.1 + 0.2", {}) == Decimal("0.3")
    assert sandbox.evaluate("x + 0.2", {"x": 0.1}) == Decimal("0.3")
    assert sandbox.evaluate("len(x) / 2 + 0.5", {"x": "abc"}) == Decimal("2.0")
    assert sandbox.evaluate("1.10", {}).as_tuple().exponent == -2
    assert sandbox.evaluate("x * 2", {"x": 3}) == 6


# --- files as modelers write them today -------------------------------------------------------------------


@pytest.mark.parametrize("namespace", [
    "https://www.omg.org/spec/DMN/20211108/MODEL/",  # DMN 1.4
    "https://www.omg.org/spec/DMN/20230324/MODEL/",  # DMN 1.5
])
def test_dmn_1_4_and_1_5_namespaces_are_accepted(namespace):
    """DMN 1.4 and 1.5 (formal/23-..., DMN15.xsd) give the model these target namespaces."""
    xml = table([("x", "")], [("y", "", None)], [(["1"], ['"one"'])], namespace=namespace)
    assert decide(xml, {"x": 1}) == {"y": "one"}


@pytest.mark.parametrize(("namespace", "language"), [
    (DMN13, "https://www.omg.org/spec/DMN/20191111/FEEL/"),
    ("https://www.omg.org/spec/DMN/20211108/MODEL/", "https://www.omg.org/spec/DMN/20211108/FEEL/"),
    ("https://www.omg.org/spec/DMN/20230324/MODEL/", "https://www.omg.org/spec/DMN/20230324/FEEL/"),
    ("https://www.omg.org/spec/DMN/20230324/MODEL/", "http://www.omg.org/spec/DMN/20211108/FEEL"),
])
def test_the_feel_uri_of_each_version_is_feel(namespace, language):
    """DMN 1.5, 6.3.2 (Definitions): expressionLanguage defaults to the version's FEEL URI; files
    written by other tools state it, with http or https and with or without the final slash."""
    xml = table([("x", "")], [("y", "", None)], [(["1"], ['"one"'])], namespace=namespace, language=language)
    assert decide(xml, {"x": 1}) == {"y": "one"}


def test_another_expression_language_is_still_refused():
    xml = table([("x", "")], [("y", "", None)], [(["1"], ['"one"'])], language="https://www.omg.org/spec/DMN/20230324/B-FEEL/")
    refused(xml, match="only FEEL")


# --- a single output may be unnamed (DMN 1.5, 8.3.2) -----------------------------------------------------


STARS = [("score", "number")]
STAR_RULES = [(["[90..100]"], ["5"]), (["[80..90)"], ["4"]), (["< 80"], ["3"])]


def parse(xml):
    (decision,) = parse_decisions(xml, "dmn/d.dmn")
    return decision


def test_single_hit_with_an_unnamed_output_gives_the_value_itself():
    """DMN 1.5, 8.3.2: an output clause's name is "the name of the output component when the decision
    table contains more than one output clause"; with one output the result is the value."""
    decision = parse(table(STARS, [("", "integer", None)], STAR_RULES))
    assert decision.result({"score": Decimal("89.5")}, Sandbox({})) == 4
    assert decision.outcome({"score": 95}, Sandbox({}), "stars") == {"stars": 5}
    assert decision.result({"score": 101}, Sandbox({})) is None


def test_multiple_hit_with_an_unnamed_output_gives_a_list_of_values():
    """DMN 1.5, 8.2.11: a multiple-hit table's result is the list of the hits' outputs."""
    rules = [(["> 0"], ['"a"']), (["> 10"], ['"b"']), (["> 100"], ['"c"'])]
    decision = parse(table(GRADES, [("", "string", None)], rules, hit_policy="RULE ORDER"))
    assert decision.result({"score": 50}, Sandbox({})) == ["a", "b"]
    assert decision.outcome({"score": -1}, Sandbox({}), "checks") == {"checks": []}


def test_named_outputs_give_contexts_under_a_result_variable():
    decision = parse(table(GRADES, [("grade", "string", None), ("points", "integer", None)],
                           [(["> 0"], ['"pass"', "1"]), (["> 10"], ['"good"', "2"])], hit_policy="COLLECT"))
    assert decision.result({"score": 50}, Sandbox({})) == [{"grade": "pass", "points": 1},
                                                          {"grade": "good", "points": 2}]
    assert decision.mapping == "resultList"


def test_an_unnamed_output_among_several_is_refused():
    xml = table(GRADES, [("grade", "string", None), ("", "integer", None)], [(["-"], ['"a"', "1"])])
    refused(xml, element="out2", match="no name; a table with several outputs names each")


@pytest.mark.parametrize(("hit_policy", "aggregation", "outputs", "mapping"), [
    (None, None, 1, "singleEntry"), ("FIRST", None, 2, "singleResult"), ("COLLECT", None, 1, "collectEntries"),
    ("RULE ORDER", None, 2, "resultList"), ("COLLECT", "SUM", 1, "singleEntry"),
])
def test_the_result_shape_is_named_as_camunda_names_it(hit_policy, aggregation, outputs, mapping):
    names = [("a", "integer", None), ("b", "integer", None)][:outputs]
    decision = parse(table(GRADES, names, [(["-"], ["1"] * outputs)], hit_policy=hit_policy, aggregation=aggregation))
    assert decision.mapping == mapping
    assert decision.binding_problem("result", mapping) is None
    other = "resultList" if mapping != "resultList" else "collectEntries"
    assert "camunda:mapDecisionResult" in decision.binding_problem("result", other)


def test_an_unnamed_output_needs_a_result_variable():
    decision = parse(table(STARS, [("", "integer", None)], STAR_RULES))
    assert "camunda:resultVariable" in decision.binding_problem(None, None)
    assert decision.binding_problem("stars", None) is None


# --- default output values (DMN 1.5, 8.3.2: defaultOutputEntry) ------------------------------------------


@pytest.mark.parametrize(("hit_policy", "expected"), [
    (None, "none"), ("FIRST", "none"), ("ANY", "none"), ("PRIORITY", "none"),
])
def test_single_hit_default_applies_when_no_rule_matches(hit_policy, expected):
    """DMN 1.5, 8.3.2: defaultOutputEntry is the output's value when no rule matches."""
    xml = table(GRADES, [("grade", "string", '"top","none"')], grade_rules(("> 90", "top")), hit_policy=hit_policy,
                defaults={0: '"none"'})
    assert decide(xml, {"score": 10}) == {"grade": expected}
    assert decide(xml, {"score": 95}) == {"grade": "top"}


@pytest.mark.parametrize("hit_policy", ["RULE ORDER", "COLLECT", "OUTPUT ORDER"])
def test_multiple_hit_default_is_a_one_element_list(hit_policy):
    """DMN 1.5, 8.3.2 with 8.2.11: with no rule matching, a multiple-hit table has the default output
    values as its one hit, so its result is a list of one."""
    xml = table(GRADES, [("check", "string", '"a","b","none"')], grade_rules(("> 10", "a"), ("> 20", "b")),
                hit_policy=hit_policy, defaults={0: '"none"'})
    assert decide(xml, {"score": 1}) == {"check": ["none"]}
    assert parse(xml).result({"score": 1}, Sandbox({})) == ["none"]
    assert decide(xml, {"score": 30}) == {"check": ["a", "b"]}


def test_collect_sum_with_a_default_sums_the_default():
    xml = table(GRADES, [("points", "number", None)], [(["> 10"], ["2.5"])], hit_policy="COLLECT",
                aggregation="SUM", defaults={0: "0.5"})
    assert decide(xml, {"score": 1}) == {"points": Decimal("0.5")}
    assert decide(xml, {"score": 11}) == {"points": Decimal("2.5")}


def test_collect_count_with_a_default_is_refused():
    xml = table(GRADES, [("n", "integer", None)], [(["> 10"], ["1"])], hit_policy="COLLECT", aggregation="COUNT",
                defaults={0: "0"})
    refused(xml, element="out1", match="COLLECT COUNT")


def test_defaults_of_several_outputs_leave_the_others_null():
    xml = table(GRADES, [("grade", "string", None), ("note", "string", None)], [(["> 90"], ['"top"', '"ok"'])],
                hit_policy="RULE ORDER", defaults={0: '"none"'})
    assert parse(xml).result({"score": 1}, Sandbox({})) == [{"grade": "none", "note": None}]


def test_a_default_outside_the_output_values_is_refused():
    xml = table(GRADES, [("grade", "string", '"a","b"')], grade_rules(("> 90", "a")), hit_policy="PRIORITY",
                defaults={0: '"c"'})
    refused(xml, element="out1", match="not one of the output values")


# --- names with spaces, and variables in unary tests (DMN 1.5, 10.3.1.2) ---------------------------------


def test_an_input_expression_may_be_a_name_with_spaces():
    """DMN 1.5, 10.3.1.2 (grammar rules 27–30): a name may contain spaces, as `Another boolean`."""
    xml = table([("Another boolean", "boolean")], [("y", "string", None)], [(["true"], ['"yes"'])])
    assert decide(xml, {"Another boolean": True}) == {"y": "yes"}
    assert decide(xml, {}) == {"y": None}  # missing from the case: null, as any name


@pytest.mark.parametrize(("expression", "context", "value"), [
    ("Monthly income * 12", {"Monthly income": Decimal("1000.50")}, Decimal("12006.00")),
    ("Applicant data.Monthly income", {"Applicant data": {"Monthly income": 5}}, 5),
    ("Line 2 total + 1", {"Line 2 total": 1}, 2),
    ("Is member and age > 18", {"Is member": True, "age": 20}, True),
])
def test_names_with_spaces_in_input_expressions(expression, context, value):
    xml = table([(expression, "")], [("y", "", None)], [(["-"], ["v"])])
    (decision,) = parse_decisions(xml, "dmn/d.dmn")
    assert decision.evaluate({**context, "v": value}, Sandbox({})) == {"y": value}
    xml = table([(expression, "")], [("hit", "boolean", None)], [([_feel(value)], ["true"])])
    assert decide(xml, context) == {"hit": True}


def _feel(value):
    return "true" if value is True else str(value)


@pytest.mark.parametrize(("cell", "context", "expected"), [
    ("< Credit limit", {"x": 3, "Credit limit": 5}, True),
    ("[Lower bound..Upper bound]", {"x": 7, "Lower bound": 1, "Upper bound": 6}, False),
    (">= Applicant data.Minimum age", {"x": 18, "Applicant data": {"Minimum age": 18}}, True),
])
def test_names_with_spaces_in_unary_tests(cell, context, expected):
    xml = table([("x", "")], [("hit", "boolean", None)], [([cell], ["true"])])
    assert decide(xml, context) == {"hit": True if expected else None}


def test_a_missing_name_with_spaces_is_reported_with_its_spaces():
    xml = table([("Monthly income * 12", "")], [("y", "", None)], [(["-"], ["1"])])
    with pytest.raises(DecisionError, match="unknown name 'Monthly income'"):
        decide(xml, {})


@pytest.mark.parametrize(("cell", "value", "expected"), [
    ("allowed levels", "4", True), ("allowed levels", "1", False), ("not(allowed levels)", "1", True),
    ('allowed levels, "1"', "1", True), ("allowed", 5, True), ("allowed", Decimal("5.0"), True),
])
def test_a_list_variable_in_a_unary_test_matches_its_items(cell, value, expected):
    """DMN 1.5, 10.3.2 (unary tests): a test that is an expression e is satisfied when the input is in
    e; for a list, when it equals one of its items (Camunda's FEEL: "The expression evaluates to a
    list, and the input value is equal to at least one of the values")."""
    xml = table([("x", "")], [("hit", "boolean", None)], [([cell], ["true"])])
    context = {"x": value, "allowed levels": ["5", "4", "3"], "allowed": [Decimal("5"), 6]}
    assert decide(xml, context) == {"hit": True if expected else None}


def test_a_list_of_another_kind_is_an_error_not_a_miss():
    xml = table([("x", "")], [("hit", "boolean", None)], [(["allowed"], ["true"])])
    with pytest.raises(DecisionError, match='string "5" but the cell compares it with number 5'):
        decide(xml, {"x": "5", "allowed": [5]})


# --- still unsupported: refused at deploy, naming file, rule and cell -------------------------------------


@pytest.mark.parametrize("cell", [
    'time("10:00:00")', '< time("10:00:00")', 'date and time("2024-01-01T10:00:00")',
    '< duration("P1D")', 'years and months duration(date("2024-01-01"), today)', "count(x) > 1",
    "string length(x)", "? > 3",
])
def test_temporal_values_and_functions_in_input_entries_are_refused(cell):
    xml = table([("x", "")], [("hit", "boolean", None)], [(["-"], ["true"]), ([cell], ["true"])])
    error = refused(xml, element="r2", match="unsupported FEEL unary test")
    assert error.file == "dmn/d.dmn" and cell in str(error)


@pytest.mark.parametrize(("cell", "problem"), [
    ('time("10:00:00")', "time(...) is not supported"),
    ('date and time("2024-01-01T10:00:00")', "date and time(...) is not supported"),
    ('duration("P1D")', "duration(...) is not supported"),
])
def test_temporal_values_in_output_entries_are_refused(cell, problem):
    xml = table([("x", "")], [("y", "", None)], [(["-"], [cell])])
    error = refused(xml, element="r1", match="output entry")
    assert problem in str(error)


def test_temporal_input_expression_is_refused():
    refused(table([('date and time("2024-01-01T10:00:00")', "")], [("y", "", None)], [(["-"], ["1"])]),
            element="in1", match=r"date and time\(...\) is not supported")


# --- a table as dmn-js saves it -----------------------------------------------------------------------------

DMN_JS_FILE = Path(__file__).resolve().parents[1] / "fixtures" / "dmn_js_star_rating.dmn"


def test_a_table_saved_by_dmn_js_is_read_as_saved():
    """A DMN 1.3 file in the shape dmn-js writes (its own test fixtures): DRD elements around the
    table, an unnamed output, empty cells for "-", names with spaces, ranges written ]a..b[."""
    (decision,) = parse_decisions(DMN_JS_FILE.read_bytes(), "dmn/star_rating.dmn", sandbox=Sandbox({}))
    assert (decision.id, decision.hit_policy, [o.name for o in decision.outputs]) == ("star_rating", "UNIQUE", [""])
    sandbox = Sandbox({})
    for score, findings, stars in [("95", 0, 5), ("89.99", 0, 4), ("90.00", 0, 5), ("79.5", 0, 3), ("95", 2, 2),
                                   ("59.5", 0, 2), ("59.49", 0, 1)]:
        context = {"Total score": Decimal(score), "Open findings": findings}
        assert decision.result(context, sandbox) == stars, score

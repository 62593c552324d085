"""What a form's error says (usecases.forms), what pages show for times (web.format), and that no
form lets through a value longer than the column it is stored in."""
import json
from datetime import date, datetime
from pathlib import Path

import pytest

from service.store.models import Institution
from service.usecases import forms
from service.web.format import when

FORMS = Path(__file__).resolve().parents[2] / "forms"


def errors(prop: dict, value) -> dict:
    schema = {"type": "object", "properties": {"field": prop}}
    return forms.validate(None, None, None, schema, {"field": value}, {})


def test_a_pattern_error_says_the_analysts_hint():
    prop = {"type": "string", "pattern": r"^\d{6}$", "x-hint": "请填写6位邮政编码，如247000"}
    assert errors(prop, "2470") == {"field": "请填写6位邮政编码，如247000"}


def test_a_pattern_error_without_a_hint_names_the_description():
    prop = {"type": "string", "pattern": r"^\d{6}$", "description": "6位数字邮政编码"}
    assert errors(prop, "abc") == {"field": "格式不正确：6位数字邮政编码"}


@pytest.mark.parametrize(("prop", "value", "message"), [
    ({"type": "number"}, "八十", "请填写数字"),
    ({"type": "integer"}, 2.5, "请填写整数"),
    ({"type": "boolean"}, "是", "请选择“是”或“否”"),
    ({"type": "string", "maxLength": 5}, "长" * 7, "不超过5个字（现有7个字）"),
    ({"type": "string", "minLength": 2}, "短", "至少填写2个字"),
    ({"type": "number", "minimum": 0}, -1, "不能小于0"),
])
def test_type_and_limit_errors_say_what_is_expected(prop, value, message):
    assert errors(prop, value) == {"field": message}


def test_times_are_shown_without_iso_text():
    assert when("2024-10-11T00:00:00") == "2024-10-11 00:00"
    assert when(datetime(2024, 9, 2, 9, 30, 15)) == "2024-09-02 09:30"
    assert when(date(2027, 10, 10)) == "2027-10-10"
    assert when("2024-13-45T00:00") == "2024-13-45T00:00"  # not a time at all: left as it is
    assert when(None) == ""


# forms field → the column it ends up in (service/usecases/handlers.record_application)
STORED = {"name": Institution.name, "credit_code": Institution.credit_code, "address": Institution.address,
          "legal_representative": Institution.legal_representative, "contact_name": Institution.contact_name,
          "contact_phone": Institution.contact_phone}


@pytest.mark.parametrize("field", sorted(STORED))
def test_form_lengths_fit_the_columns(field):
    form = json.loads((FORMS / "filing_application.json").read_text(encoding="utf-8"))
    limit = form["properties"][field].get("maxLength")
    assert limit is not None and limit <= STORED[field].property.columns[0].type.length


@pytest.mark.parametrize("path", sorted(FORMS.glob("*.json")), ids=lambda p: p.stem)
def test_occupation_codes_fit_their_column(path):
    def walk(node):
        if isinstance(node, dict):
            if node.get("format") == "occupation-code":
                assert node.get("maxLength", 99) <= 12, path.name  # occupation.code is String(12)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(json.loads(path.read_text(encoding="utf-8")))

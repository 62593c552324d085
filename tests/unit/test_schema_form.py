"""Reading a posted form back into the data its JSON Schema validates, and the fields drawn."""
import json
from decimal import Decimal
from pathlib import Path

from werkzeug.datastructures import MultiDict

from service.web import schema_form

FORMS = Path(__file__).resolve().parents[2] / "forms"
APPLICATION = json.loads((FORMS / "filing_application.json").read_text(encoding="utf-8"))


def test_numbers_booleans_and_rows_are_typed_and_empty_fields_left_out():
    data = schema_form.read(APPLICATION, MultiDict({
        "name": "  某机构 ", "contact_phone": "", "office_area_m2": "80", "site_use_years": "2.5",
        "theory_seats": "40", "has_video_monitoring": "true", "site_owned": "false",
        "scope-0-occupation_code": "6-31-01-03", "scope-0-level": "4", "scope-0-assessors": "6",
        "scope-3-occupation_code": "", "scope-3-level": "", "scope-3-assessors": "",
        "scope-7-occupation_code": "4-07-02-05", "scope-7-level": "3", "scope-7-assessors": ""}))
    assert data["name"] == "某机构" and "contact_phone" not in data
    assert data["office_area_m2"] == 80 and data["site_use_years"] == 2.5 and data["theory_seats"] == 40
    assert data["has_video_monitoring"] is True and data["site_owned"] is False
    # the wholly empty row 3 is dropped; row 7 keeps what it has, so "required" names the gap
    assert data["scope"] == [{"occupation_code": "6-31-01-03", "level": "4", "assessors": 6},
                             {"occupation_code": "4-07-02-05", "level": "3"}]


def test_a_typed_number_with_a_fraction_is_an_exact_decimal():
    """Issue 19: decision tables compare exactly (FEEL numbers are decimals), so the form's numbers are
    Decimals with the digits typed; whole numbers stay int, and what is no number stays as typed."""
    data = schema_form.read(APPLICATION, MultiDict({
        "office_area_m2": "49.99", "theory_site_area_m2": "60.10", "site_use_years": "2.9999999999999999"}))
    assert data["office_area_m2"] == Decimal("49.99") and str(data["theory_site_area_m2"]) == "60.10"
    assert data["site_use_years"] == Decimal("2.9999999999999999") < 3
    refused = schema_form.read(APPLICATION, MultiDict({"office_area_m2": "1e999", "site_use_years": "NaN"}))
    assert (refused["office_area_m2"], refused["site_use_years"]) == ("1e999", "NaN")


def test_what_does_not_parse_stays_as_typed_for_the_error_message():
    data = schema_form.read(APPLICATION, MultiDict({"theory_seats": "四十", "office_area_m2": "80平方米"}))
    assert data["theory_seats"] == "四十" and data["office_area_m2"] == "80平方米"


def test_fields_follow_the_analysts_groups_with_the_opinion_last():
    review = json.loads((FORMS / "initial_review.json").read_text(encoding="utf-8"))
    groups = schema_form.groups(review)
    assert [f.name for g in groups for f in g.fields] == ["decision", "opinion"]
    assert groups[-1].title == "审批意见" and groups[-1].fields[0].kind == "textarea"
    decision = groups[0].fields[0]
    assert decision.kind == "choice" and ("correction", "退回补正") in decision.choices and decision.required

    application = schema_form.groups(APPLICATION)
    assert [g.title for g in application][:2] == ["基本信息", "申请备案范围"]
    fields = {f.name: f for g in application for f in g.fields}
    assert fields["jurisdiction"].kind == "jurisdiction" and fields["material_plan"].kind == "attachment"
    assert fields["office_area_m2"].show_when == {"kind": ["social_org"]}
    assert fields["office_area_m2"].required  # required for social organisations (allOf/if/then)
    assert [c.name for c in fields["scope"].columns] == ["occupation_code", "level", "assessors"]


def test_common_phrases_are_offered_with_the_opinion_only():
    review = json.loads((FORMS / "city_review.json").read_text(encoding="utf-8"))
    fields = {f.name: f for g in schema_form.groups(review) for f in g.fields}
    assert fields["opinion"].phrases == review["x-ui"]["phrases"] and fields["opinion"].phrases
    assert fields["decision"].phrases == []

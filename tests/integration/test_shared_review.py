"""Issue 12: filing, renewal and scope change go through one review (bpmn/review.bpmn, a call
activity), and the dates the receipt carries are the ones filing.bpmn computes. Each test
deploys an edited model and shows the edit reaching the user."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from service.engine.definitions import Bundle
from service.store.models import Institution
from service.usecases.context import unit_of_work
from service.usecases.definitions import deploy
from service.usecases.timers import fire_due_timers
from tests.helpers import Api, make_institution, make_staff
from tests.integration.test_definitions import edited
from tests.integration.test_filing_api import forward_and_approve, submit_application
from tests.integration.test_scope_change_api import ELECTRICIAN, WELDER, request_change

RENAMED = "县区初审（共用审查）"


@pytest.fixture
def people(app, ctx):
    make_staff(ctx)
    make_institution(ctx)
    return {name: Api(app, name) for name in ("inst1", "county", "city")}


def to_receipt(people, ctx, clock):
    county, city = people["county"], people["city"]
    forward_and_approve(people)
    clock.set(datetime(2024, 9, 3, 9, 0))
    assert county.complete(county.only_task("publish_notice")["id"], {"opinion": "同意公示"}).status_code == 200
    clock.set(datetime(2024, 9, 11, 9, 0))
    assert fire_due_timers(ctx).fired == 1
    assert city.complete(city.only_task("assign_code")["id"], {"opinion": "同意赋码"}).status_code == 200


def test_one_edit_of_the_review_reaches_filing_scope_change_and_renewal(people, ctx, clock):
    deploy(ctx, edited("bpmn/review.bpmn", 'name="县区初审"', f'name="{RENAMED}"'), "analyst")
    institution, county = people["inst1"], people["county"]

    started, _, response = submit_application(institution)  # a first filing
    assert response.status_code == 200, response.get_json()
    assert county.only_task("initial_review")["title"] == RENAMED
    case = county.get(f"/api/cases/{started['instance_id']}/timeline").get_json()
    assert {"review", "initial_review"} <= set(case["current_steps"])  # the call activity lights up on the diagram
    to_receipt(people, ctx, clock)

    clock.set(datetime(2024, 10, 14, 9, 0))  # a scope change
    request_change(institution, [ELECTRICIAN, WELDER])
    review = county.only_task("initial_review")
    assert review["title"] == RENAMED and "备案范围变更" in review["subject"]
    assert county.complete(review["id"], {"decision": "reject", "opinion": "焊工考核工位不足"}).status_code == 200

    clock.set(datetime(2027, 6, 14, 9, 0))  # 90 days before the validity ends: the renewal
    fire_due_timers(ctx)
    [renewal] = [t for t in institution.open_tasks() if t["name"] == "submit_application"]
    data = institution.get(f"/api/tasks/{renewal['id']}").get_json()["data"]
    assert data["purpose"] == "renewal"
    assert institution.complete(renewal["id"], data).status_code == 200
    assert county.only_task("initial_review")["title"] == RENAMED


def test_the_receipt_carries_the_dates_the_model_computes(people, ctx, clock):
    """Art. 7 says three years and a one-year pilot; the model says how they are counted. An
    analyst's edit of the expressions is what the receipt and the institution's record follow."""
    files = edited("bpmn/filing.bpmn", "${add_days(add_years(valid_from, 3), -1)}",
                   "${add_days(add_years(valid_from, 5), -1)}").files
    files["bpmn/filing.bpmn"] = files["bpmn/filing.bpmn"].replace(
        "${add_days(add_years(valid_from, 1), -1)}", "${add_days(add_years(valid_from, 2), -1)}")
    deploy(ctx, Bundle(files), "analyst")

    started, _, _ = submit_application(people["inst1"])
    to_receipt(people, ctx, clock)
    receipt = people["inst1"].get(f"/api/filings/{started['filing_id']}/receipt").get_json()
    assert (receipt["valid_from"], receipt["valid_until"], receipt["pilot_until"]) == (
        "2024-09-11", "2029-09-10", "2026-09-10")
    with unit_of_work(ctx) as session:
        row = session.query(Institution).one()
        assert (row.valid_until, row.pilot_until) == (date(2029, 9, 10), date(2026, 9, 10))

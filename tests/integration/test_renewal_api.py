"""Art. 7: a filing is valid three years. 90 days before the end the institution is handed a
renewal application; renewed, it stays listed with a new validity; not renewed, it expires and
leaves the public directory. The scheduler drives it; tests move the injected clock."""
from __future__ import annotations

from datetime import datetime

import pytest

from service.usecases.timers import fire_due_timers
from tests.helpers import Api, make_staff
from tests.integration.test_filing_api import forward_and_approve, submit_application

# Years the package does not know yet, as an analyst enters them once the State Council publishes.
YEARS = {2027: "2027-01-01 休\n2027-10-01..2027-10-07 休", 2028: "2028-01-01..2028-01-03 休"}


@pytest.fixture
def people(app, ctx):
    make_staff(ctx)
    from tests.helpers import make_institution
    make_institution(ctx)
    people = {name: Api(app, name) for name in ("inst1", "county", "city", "analyst")}
    for year, text in YEARS.items():
        assert people["analyst"].client.put(f"/api/admin/calendar/{year}", json={"text": text},
                                            headers=people["analyst"].headers).status_code == 200
    return people


def notice_and_code(people, ctx, clock, published: datetime, closed: datetime):
    county, city = people["county"], people["city"]
    clock.set(published)
    assert county.complete(county.only_task("publish_notice")["id"], {"opinion": "同意公示"}).status_code == 200
    clock.set(closed)
    fire_due_timers(ctx)
    assert city.complete(city.only_task("assign_code")["id"], {"opinion": "同意赋码"}).status_code == 200


@pytest.fixture
def filed_2025_03_03(people, ctx, clock):
    """Filed on Monday 3 March 2025: valid until 2 March 2028."""
    clock.set(datetime(2025, 2, 20, 9, 0))
    started, _, response = submit_application(people["inst1"])
    assert response.status_code == 200
    forward_and_approve(people)
    notice_and_code(people, ctx, clock, datetime(2025, 2, 21, 9, 0), datetime(2025, 3, 3, 9, 0))
    [entry] = people["inst1"].get("/api/public/institutions").get_json()["items"]
    assert entry["valid_until"] == "2028-03-02"
    return started


def renewal_tasks(api):
    return [t for t in api.open_tasks() if t["name"] == "submit_application"]


def test_unrenewed_filing_is_reminded_then_expires_and_leaves_the_directory(people, ctx, clock, filed_2025_03_03):
    institution = people["inst1"]
    clock.set(datetime(2027, 12, 2, 23, 0))
    fire_due_timers(ctx)
    assert renewal_tasks(institution) == []

    clock.set(datetime(2027, 12, 3, 0, 0))  # 90 days before 2 March 2028
    fire_due_timers(ctx)
    [task] = renewal_tasks(institution)
    assert "延续备案申请" in task["subject"]
    data = institution.get(f"/api/tasks/{task['id']}").get_json()["data"]
    assert data["purpose"] == "renewal" and data["office_area_m2"] == 80  # prefilled from the filing in force
    assert [(s["occupation_code"], s["level"], s["assessors"]) for s in data["scope"]] == [("6-31-01-03", "4", 6)]
    assert "待您办理：填写并提交备案申请" in institution.get("/messages").get_data(as_text=True)

    clock.set(datetime(2028, 3, 2, 23, 59))
    fire_due_timers(ctx)
    assert len(institution.get("/api/public/institutions").get_json()["items"]) == 1

    clock.set(datetime(2028, 3, 3, 0, 0))
    fire_due_timers(ctx)
    assert institution.get("/api/public/institutions").get_json()["items"] == []
    for name in ("inst1", "county", "city"):
        assert "备案已过期：池州市职业技能培训评价中心" in people[name].get("/messages").get_data(as_text=True), name


def test_renewed_filing_stays_listed_with_the_new_validity(people, ctx, clock, filed_2025_03_03):
    institution = people["inst1"]
    clock.set(datetime(2027, 12, 3, 0, 0))
    fire_due_timers(ctx)
    clock.set(datetime(2027, 12, 6, 9, 0))
    [task] = renewal_tasks(institution)
    data = institution.get(f"/api/tasks/{task['id']}").get_json()["data"]
    assert institution.complete(task["id"], data).status_code == 200  # as prefilled
    forward_and_approve(people)
    notice_and_code(people, ctx, clock, datetime(2027, 12, 7, 9, 0), datetime(2027, 12, 15, 9, 0))

    [entry] = institution.get("/api/public/institutions").get_json()["items"]
    assert (entry["valid_from"], entry["valid_until"], entry["filing_code"]) == (
        "2028-03-03", "2031-03-02", "S000034170001")  # the code stays, the period follows on

    clock.set(datetime(2028, 3, 3, 0, 0))  # the old period's end passes without expiring it
    fire_due_timers(ctx)
    [entry] = institution.get("/api/public/institutions").get_json()["items"]
    assert entry["status"] == "filed" and entry["valid_until"] == "2031-03-02"

    clock.set(datetime(2030, 12, 2, 0, 0))  # the new period is on the clock: reminded 90 days before its end
    fire_due_timers(ctx)
    assert len(renewal_tasks(institution)) == 1

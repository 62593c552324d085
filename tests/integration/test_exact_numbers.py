"""Numbers with a fraction stay exact decimals (FEEL's numbers, DMN 1.5, 10.3.2.3.1) from the JSON
body through the decision table, the stored state, the JSON columns and the audit chain, and back
out in responses as JSON numbers with their own digits."""
from __future__ import annotations

import json
import re
from decimal import Decimal

from sqlalchemy import select

from service.store.models import Filing
from service.usecases.audit import verify_chain
from service.usecases.context import unit_of_work
from tests.helpers import Api, application, demo_credit_code, make_institution, make_staff

# As a binary float this is 3.0, so "fewer than 3 years of use" would silently not hold.
JUST_UNDER_THREE = "2.9999999999999999"


def test_a_decimal_in_a_json_body_is_decided_exactly_and_answered_with_its_digits(app, ctx):
    make_staff(ctx)
    make_institution(ctx)
    institution = Api(app, "inst1")
    started = institution.post("/api/filings").get_json()
    data = application(demo_credit_code(1), "池州市职业技能培训评价中心", attachment_id=institution.upload(),
                       site_owned=False, site_use_years=5)
    body = json.dumps({"data": data}).replace('"site_use_years": 5', f'"site_use_years": {JUST_UNDER_THREE}')
    response = institution.client.post(f"/api/tasks/{started['task_id']}/complete", data=body,
                                       content_type="application/json", headers=institution.headers)
    assert response.status_code == 200, response.get_json()

    again = institution.only_task("submit_application")  # Art. 8.5: back, the site's use is under 3 years
    shown = institution.get(f"/api/tasks/{again['id']}")
    assert re.search(rf'"site_use_years": ?{JUST_UNDER_THREE}[,}}]', shown.get_data(as_text=True))
    assert shown.get_json()["data"]["site_use_years"] == Decimal(JUST_UNDER_THREE)
    assert any("3年以上使用权" in unmet for unmet in shown.get_json()["data"]["unmet"])
    with unit_of_work(ctx) as session:
        filing = session.scalars(select(Filing)).one()
        assert filing.application["site_use_years"] == Decimal(JUST_UNDER_THREE)
        assert verify_chain(session) is None  # the audit events with a Decimal read back alike


def test_a_number_too_large_for_any_reader_is_a_bad_request(app, ctx):
    make_institution(ctx)
    institution = Api(app, "inst1")
    started = institution.post("/api/filings").get_json()
    response = institution.client.post(f"/api/tasks/{started['task_id']}/complete",
                                       data='{"data": {"office_area_m2": 1e400}}',
                                       content_type="application/json", headers=institution.headers)
    assert response.status_code == 400
    assert "数字超出允许范围" in response.get_json()["message"]

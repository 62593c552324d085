"""Personal data shown only to whom needs it, kept out of logs and caches; the headers that keep
pages in their frame (issue 11, item 19)."""
from __future__ import annotations

import threading
import urllib.request

import pytest
from sqlalchemy.exc import IntegrityError
from werkzeug.serving import make_server

from service.app import CSP, SERVER, RequestHandler, create_app
from service.domain.privacy import mask_contact, mask_name
from service.store.models import Objection
from service.usecases import accounts
from tests.helpers import PASSWORD, Api
from tests.integration.test_hostile_input import notice_id  # noqa: F401 - fixture
from tests.integration.test_web_pages import Page, people  # noqa: F401 - fixture

PHONE = "13912345678"


def test_names_and_phones_are_masked_keeping_a_hint():
    assert (mask_name("王五六"), mask_name("王五"), mask_name("Li")) == ("王**", "王*", "L*")
    assert (mask_contact(PHONE), mask_contact("5551234"), mask_contact("")) == ("139****5678", "5******", "")


def test_objectors_are_named_only_to_the_county_and_city_staff_who_handle_them(app, ctx, people, notice_id):  # noqa: F811
    response = app.test_client().post(f"/api/public/notices/{notice_id}/objections", json={
        "name": "王五六", "contact": PHONE, "content": "场地面积不足六十平方米，请核实。"})
    assert response.status_code == 201
    accounts.create_user(ctx, "province", PASSWORD, "省中心复核员", "province")
    filing_id = people["inst1"].get("/api/filings").get_json()["items"][0]["id"]
    for username, shown in (("county", ("王五六", PHONE)), ("city", ("王五六", PHONE)),
                            ("province", ("王**", "139****5678")), ("analyst", ("王**", "139****5678"))):
        objection = Api(app, username).get(f"/api/filings/{filing_id}").get_json()["objections"][0]
        assert (objection["name"], objection["contact"]) == shown, username
        page = Page(app, username).text(f"/filings/{filing_id}")
        assert all(value in page for value in shown), username
        if username in ("province", "analyst"):
            assert "王五六" not in page and PHONE not in page


def test_sql_parameters_such_as_phones_never_reach_the_log(ctx):
    session = ctx.session_factory()
    session.add(Objection(notice_id=999_999, name="王五", contact=PHONE, content="x", created_at=ctx.clock.now()))
    with pytest.raises(IntegrityError) as refused:  # no such notice
        session.commit()
    session.rollback()
    session.close()
    assert PHONE not in str(refused.value) and "hidden" in str(refused.value)


def test_pages_and_answers_are_not_kept_in_any_cache(app, people):  # noqa: F811
    page = Page(app, "county")
    for response in (page.get("/inbox"), page.get("/"), people["county"].get("/api/tasks"),
                     Page(app).get("/directory"), app.test_client().get("/api/public/notices"),
                     Page(app).form("/complaint", {"name": "赵六", "contact": PHONE}, page="/complaint")):
        assert response.headers["Cache-Control"] == "no-store", response.request.path
    static = app.test_client().get("/static/app.css")
    assert "no-store" not in static.headers.get("Cache-Control", "")
    static.close()


def test_every_answer_carries_the_content_security_policy_and_names_no_framework(app, people):  # noqa: F811
    for response in (Page(app).get("/directory"), app.test_client().get("/api/public/notices"),
                     app.test_client().get("/no-such-page")):
        policy = response.headers["Content-Security-Policy"]
        assert policy == CSP and "form-action 'self'" in policy and "base-uri 'none'" in policy
        assert response.headers["Server"] == SERVER
        assert "Strict-Transport-Security" not in response.headers  # development: plain HTTP


def test_production_answers_ask_browsers_for_https_only(ctx):
    production = create_app({"DATABASE_URL": "unused", "SECRET_KEY": "9f2c4e7a1b8d3f6e0a5c9b2d7e4f1a8c",
                             "ENVIRONMENT": "production", "TESTING": True,
                             "AUDIT_KEY": "3f9c1e7a5b2d48c6a0e4f7b91d3c5e8a27b4f6d0c9e1a3b5"}, context=ctx)
    response = production.test_client().get("/directory")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_the_served_app_sends_one_server_header_naming_no_framework(app):
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=RequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/directory") as response:
            servers = response.headers.get_all("Server")
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
    assert servers == [SERVER]

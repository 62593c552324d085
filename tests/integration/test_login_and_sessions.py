"""Logging in and staying logged in: sessions that end when they should (logout, deactivation, a
new password) on every door, and password guessing throttled before any password is checked."""
from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from service.store.models import AuditEvent, LoginFailure
from service.usecases import accounts
from service.usecases.context import unit_of_work
from tests.helpers import PASSWORD, Api, make_staff
from tests.integration.test_web_pages import Page


@pytest.fixture
def staff(app, ctx):
    make_staff(ctx)


def _cookie(client):
    return client.get_cookie("session").value


def test_a_cookie_replayed_after_logout_opens_nothing(app, staff):
    county = Api(app, "county")
    kept = _cookie(county.client)
    assert county.get("/api/tasks").status_code == 200
    assert county.post("/api/logout").status_code == 200

    thief = app.test_client()
    thief.set_cookie("session", kept)
    assert thief.get("/api/tasks").status_code == 401
    assert thief.get("/api/me").status_code == 401
    response = thief.get("/inbox")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_page_cookie_replayed_after_logging_out_of_the_page_opens_nothing(app, staff):
    page = Page(app, "county")
    kept = _cookie(page.client)
    assert page.get("/inbox").status_code == 200
    assert page.form("/logout", {}, page="/inbox").status_code == 302

    thief = app.test_client()
    thief.set_cookie("session", kept)
    assert thief.get("/inbox").status_code == 302
    assert thief.get("/api/tasks").status_code == 401


def test_a_deactivated_user_is_out_at_their_next_request(app, ctx, staff):
    county, page = Api(app, "county"), Page(app, "county")
    accounts.set_active(ctx, "county", False)
    assert county.get("/api/tasks").status_code == 401
    assert page.get("/inbox").status_code == 302
    refused = app.test_client().post("/api/login", json={"username": "county", "password": PASSWORD})
    assert refused.status_code == 401
    accounts.set_active(ctx, "county", True)
    assert county.get("/api/tasks").status_code == 401  # the old session stays ended
    assert Api(app, "county").get("/api/tasks").status_code == 200


def test_a_user_made_inactive_in_the_database_is_out_at_once(app, ctx, staff):
    """Even without the use case (an operator's UPDATE), the session check reads is_active."""
    county = Api(app, "county")
    from sqlalchemy import update

    from service.store.models import User
    with unit_of_work(ctx) as session:
        session.execute(update(User).where(User.username == "county").values(is_active=False))
    assert county.get("/api/tasks").status_code == 401


def test_a_new_password_ends_every_session_opened_with_the_old_one(app, ctx, staff):
    first, second = Api(app, "city"), Page(app, "city")
    accounts.set_password(ctx, "city", "another-pass-2")
    assert first.get("/api/tasks").status_code == 401
    assert second.get("/inbox").status_code == 302
    fresh = app.test_client().post("/api/login", json={"username": "city", "password": "another-pass-2"})
    assert fresh.status_code == 200


def test_logging_in_again_gives_a_new_session_and_keeps_the_other_open(app, staff):
    one, two = Api(app, "county"), Api(app, "county")
    assert _cookie(one.client) != _cookie(two.client)
    one.post("/api/logout")
    assert one.get("/api/tasks").status_code == 401
    assert two.get("/api/tasks").status_code == 200


def _login(client, username, password):
    return client.post("/api/login", json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": client.address})


def _client(app, address="10.0.0.1"):
    client = app.test_client()
    client.address = address
    return client


def test_five_wrong_passwords_lock_the_account_before_the_password_is_checked(app, ctx, staff, clock, monkeypatch):
    client = _client(app)
    for _ in range(accounts.ACCOUNT_FAILURES):
        assert _login(client, "county", "wrong").status_code == 401
    checked = []
    monkeypatch.setattr(accounts, "_verify", lambda *args: checked.append(args) or True)
    refused = _login(_client(app, "10.0.0.2"), "county", PASSWORD)  # the right one, from elsewhere
    assert refused.status_code == 429 and checked == []
    message = refused.get_json()["message"]
    assert "该账号" in message and "09:01后再试" in message
    assert int(refused.headers["Retry-After"]) == 60
    monkeypatch.undo()

    clock.advance(timedelta(minutes=1))
    assert _login(client, "county", PASSWORD).status_code == 200


def test_the_lock_grows_with_each_further_wrong_password_and_a_success_clears_it(app, ctx, staff, clock):
    client = _client(app)
    for _ in range(accounts.ACCOUNT_FAILURES):
        _login(client, "county", "wrong")
    clock.advance(timedelta(minutes=1))
    assert _login(client, "county", "wrong").status_code == 401  # the sixth: two minutes now
    clock.advance(timedelta(minutes=1, seconds=59))
    assert _login(client, "county", PASSWORD).status_code == 429
    clock.advance(timedelta(seconds=1))
    assert _login(client, "county", PASSWORD).status_code == 200
    assert _login(client, "county", "wrong").status_code == 401  # counting starts again
    with unit_of_work(ctx) as session:
        assert session.scalars(select(LoginFailure.username)).all() == ["county"]


def test_one_address_guessing_many_accounts_is_paused(app, ctx, staff, clock):
    attacker = _client(app, "10.6.6.6")
    for n in range(accounts.ADDRESS_FAILURES):
        assert _login(attacker, f"guess{n % 4}", "wrong").status_code == 401
        clock.advance(timedelta(seconds=10))
    refused = _login(attacker, "city", PASSWORD)
    assert refused.status_code == 429 and "本机" in refused.get_json()["message"]
    assert _login(_client(app, "10.0.0.9"), "city", PASSWORD).status_code == 200  # others are not held up
    clock.advance(timedelta(minutes=10) - timedelta(seconds=10 * accounts.ADDRESS_FAILURES) + timedelta(seconds=1))
    assert _login(attacker, "city", PASSWORD).status_code == 200


def test_failures_and_locks_are_audited(app, ctx, staff):
    client = _client(app, "10.1.2.3")
    for _ in range(accounts.ACCOUNT_FAILURES):
        _login(client, "county", "wrong")
    with unit_of_work(ctx) as session:
        events = session.execute(select(AuditEvent.action, AuditEvent.data).where(
            AuditEvent.action.in_(("login_failed", "login_throttled"))).order_by(AuditEvent.id)).all()
    assert [action for action, _ in events] == ["login_failed"] * 5 + ["login_throttled"]
    assert events[0].data == {"username": "county", "address": "10.1.2.3"}
    assert events[-1].data["scope"] == "account" and events[-1].data["until"] == "2024-09-02T09:01:00"


def test_the_login_page_is_throttled_too_and_says_when_to_try_again(app, ctx, staff):
    page = Page(app)
    for _ in range(accounts.ACCOUNT_FAILURES):
        assert page.form("/login", {"username": "county", "password": "wrong"}).status_code == 401
    response = page.form("/login", {"username": "county", "password": PASSWORD})
    body = response.get_data(as_text=True)
    assert response.status_code == 429 and "请于09:01后再试" in body and 'value="county"' in body


def test_only_one_password_check_runs_at_a_time_in_a_process(app, staff, monkeypatch):
    """Argon2 takes a core for tens of milliseconds: a burst of logins queues for it instead of
    taking every core from the public pages."""
    running, most = [0], [0]
    lock = threading.Lock()
    real = accounts.hasher

    class Counting:
        def verify(self, hash_, password):
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            time.sleep(0.02)  # holds its turn long enough for the others to pile up (not a deadline)
            with lock:
                running[0] -= 1
            return real.verify(hash_, password)

        def __getattr__(self, name):
            return getattr(real, name)

    monkeypatch.setattr(accounts, "hasher", Counting())
    results = []
    threads = [threading.Thread(target=lambda address=f"10.2.0.{n}": results.append(
        _login(_client(app, address), "city", PASSWORD).status_code)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200] * 6 and most[0] == 1


def test_login_takes_json_only_so_a_cross_site_form_cannot_log_a_victim_in(app, staff):
    client = app.test_client()
    body = json.dumps({"username": "county", "password": PASSWORD})
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        response = client.post("/api/login", data=body, content_type=content_type)
        assert response.status_code == 415, content_type
        assert "application/json" in response.get_json()["message"]
        assert "Set-Cookie" not in response.headers
    assert client.post("/api/login", data=body, content_type="application/json").status_code == 200


def test_public_writes_take_json_only(app, staff):
    client = app.test_client()
    for url in ("/api/public/notices/1/objections", "/api/public/complaints"):
        response = client.post(url, data='{"name": "张三"}', content_type="text/plain")
        assert response.status_code == 415 and "JSON" in response.get_json()["message"]


def test_the_service_hashes_passwords_with_argon2id_at_the_recommended_cost():
    """The tests hash at argon2id's lowest cost to run fast (tests/conftest.py); the service keeps
    RFC 9106's recommended one, and a stored hash carries its cost, so both verify."""
    from tests.conftest import PRODUCTION_HASHER
    stored = PRODUCTION_HASHER.hash("secret-pass-1")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PRODUCTION_HASHER.verify(stored, "secret-pass-1")
    assert accounts.hasher.verify(stored, "secret-pass-1")  # a hash made at either cost verifies

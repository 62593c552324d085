"""When the service itself fails (issue 11, item 21): a Chinese page or answer with a reference
that is in the log, even with the database gone; never Werkzeug's English page, a traceback or
the internal error text."""
from __future__ import annotations

import logging
import re

import pytest

from service.app import create_app
from service.bootstrap import build_context
from service.engine.runtime import WorkflowError
from service.usecases import tasks
from tests.helpers import Api, make_staff

ENGLISH = ("Internal Server Error", "Traceback", "Werkzeug", "sqlalchemy", "psycopg", "Exception")


@pytest.fixture
def no_database(clock):
    """The app wired to a PostgreSQL server that is not there (nothing listens on port 9)."""
    context = build_context("postgresql+psycopg://nobody@127.0.0.1:9/gone?connect_timeout=2", clock=clock)
    yield create_app({"DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/gone", "SECRET_KEY": "t",
                      "TESTING": True}, context=context)
    context.session_factory.kw["bind"].dispose()


def _reference(text: str) -> str:
    return re.search(r"错误编号 ([0-9A-F]{8})", text).group(1)


def test_pages_and_the_api_answer_in_chinese_when_the_database_is_down(no_database, caplog):
    client = no_database.test_client()
    for url in ("/", "/directory", "/notices", "/no-such-page"):
        response = client.get(url)
        body = response.get_data(as_text=True)
        assert response.status_code in (404, 503), (url, response.status_code)
        assert "<html" in body and not any(word in body for word in ENGLISH), url
        if response.status_code == 503:
            assert "数据库" in body and _reference(body) in caplog.text
    for url in ("/api/public/notices", "/api/public/institutions"):
        response = client.get(url)
        assert response.status_code == 503
        answer = response.get_json()
        assert "数据库" in answer["message"] and answer["reference"] in caplog.text
        assert not any(word in answer["message"] for word in ENGLISH)
    response = client.post("/api/login", json={"username": "city", "password": "whatever-1"})
    assert response.status_code == 503 and "数据库" in response.get_json()["message"]


def test_an_unexpected_failure_is_a_chinese_500_with_a_reference_in_the_log(app, ctx, monkeypatch, caplog):
    make_staff(ctx)
    county = Api(app, "county")
    monkeypatch.setattr(tasks, "inbox_counts", lambda *args: 1 / 0)
    with caplog.at_level(logging.ERROR):
        response = county.get("/inbox")
    body = response.get_data(as_text=True)
    assert response.status_code == 500 and "系统出错" in body and not any(word in body for word in ENGLISH)
    assert _reference(body) in caplog.text and "ZeroDivisionError" in caplog.text


def test_a_failing_step_never_shows_its_internal_error_text(app, ctx, monkeypatch, caplog):
    make_staff(ctx)
    county = Api(app, "county")
    internal = "expression `notice_days > limit` failed: name 'limit' is not defined"

    def failing(*args, **kwargs):
        raise WorkflowError(internal)

    monkeypatch.setattr(tasks, "complete", failing)
    response = county.complete(1, {"opinion": "同意"})
    answer = response.get_json()
    assert response.status_code == 500 and internal not in answer["message"] and "limit" not in answer["message"]
    assert "流程执行出错" in answer["message"] and answer["reference"] in caplog.text and internal in caplog.text


def test_the_error_page_itself_needs_no_database(app):
    """message.html's menu reads the user and unread count; error.html answers when it cannot."""
    app.template_context_processors[None] = [lambda: 1 / 0]  # as when the database is gone
    response = app.test_client().get("/no-such-page")
    body = response.get_data(as_text=True)
    assert response.status_code == 404 and "页面不存在" in body and not any(word in body for word in ENGLISH)


"""HTML pages under /: Jinja templates in Simplified Chinese, a little JavaScript, no build step."""
from __future__ import annotations

import secrets
from pathlib import Path

from flask import Flask, current_app, flash, jsonify, redirect, render_template, request, send_from_directory
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError, TimeoutError
from werkzeug.exceptions import HTTPException

from .. import edge
from ..clock import TrainingClock
from ..usecases import attachments, notifications, reference
from ..usecases.errors import Forbidden, NotFound
from . import format as formatting
from . import labels
from .auth import current_user
from .work import LARGEST_TASK_FORM

# bpmn-js comes from npm (`./dev setup` runs `npm ci`); it is served from there, never copied in.
BPMN_JS = Path(__file__).resolve().parents[2] / "node_modules" / "bpmn-js" / "dist"


def register(app: Flask) -> None:
    from .admin import admin
    from .auth import auth
    from .batches import pages as batch_pages
    from .calendar import pages as calendar_pages
    from .delegations import pages as delegation_pages
    from .health import health
    from .home import home
    from .institution import institution
    from .lists import pages as list_pages
    from .metrics import metrics, time_requests
    from .public import public
    from .revocations import pages as revocation_pages
    from .statistics import pages as statistics_pages
    from .supervision import pages as supervision_pages
    from .work import work
    for blueprint in (auth, home, work, list_pages, institution, batch_pages, supervision_pages, revocation_pages,
                      calendar_pages, statistics_pages, delegation_pages, public, admin, health, metrics):
        app.register_blueprint(blueprint)
    app.context_processor(_globals)
    time_requests(app)
    app.add_template_filter(formatting.when, "when")
    app.add_template_test(formatting.is_instant, "instant")

    @app.get("/vendor/bpmn-js/<path:name>")
    def bpmn_js(name):
        return send_from_directory(BPMN_JS, name, max_age=86400)

    @app.get("/reference/occupations.json")
    def occupations():
        # the picker offers only what may be filed: skill-type (Art. 4), not access-type (Art. 8.2, 9.2)
        response = jsonify([{"code": o["code"], "name": o["name"]} for o in _reference(app)["occupations"]
                            if o["fileable"]])
        response.cache_control.max_age = 3600
        return response

    for error, status in ((NotFound, 404), (Forbidden, 403)):
        app.register_error_handler(error, _page_error(status))
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(DataError, _out_of_range)
    app.register_error_handler(Exception, _server_error)


def _page_error(status: int):
    def handler(error):
        if request.path.startswith("/api/"):
            return jsonify(message=error.message), status
        return render_template("message.html", message=error.message), status
    return handler


MB = 1024 * 1024
HTTP_MESSAGES = {400: "请求有误，请返回上一页重试", 404: "页面不存在", 405: "不支持该操作",
                 413: f"上传的文件过大：单个文件不超过{attachments.MAX_ATTACHMENT // MB}MB",
                 500: "系统出错，已记录，请稍后重试或联系管理员"}
# without JavaScript the files of a task form go with it (web/work.py)
TOO_LARGE_WITH_THE_FORM = (f"提交的内容过大，未能提交：单个文件不超过{attachments.MAX_ATTACHMENT // MB}MB，"
                           f"随表单一次提交的文件合计不超过{LARGEST_TASK_FORM // MB}MB。请逐个选择文件上传后再提交")


def _http_error(error: HTTPException):
    """Pages answer in Chinese too when Flask itself refuses (unknown address, expired form)."""
    if error.code is not None and error.code >= 500:  # Flask's own 500 wraps the failure: handled as one
        return _server_error(getattr(error, "original_exception", None) or error)
    message = HTTP_MESSAGES.get(error.code, error.description)
    if isinstance(error, CSRFError):
        message = "页面已过期（安全校验失败），请刷新页面后重新提交"
    elif isinstance(error, edge.Refused) or error.code == 415:  # our own refusals say what is wrong
        message = error.description
    if request.path.startswith("/api/"):
        return jsonify(message=message), error.code
    if error.code == 413 and request.method == "POST" and current_user() is not None:
        # back to the form it came from, saying the limit: never a dead end
        flash(TOO_LARGE_WITH_THE_FORM if request.endpoint == "work.act_on_task" else HTTP_MESSAGES[413], "error")
        return redirect(request.path, 303)
    return _message_page(message, error.code)


def _message_page(message: str, status: int):
    """message.html; when that cannot be drawn (its menu reads the database), error.html, which
    needs nothing: no context processor, so no user and no unread count read from the database."""
    try:
        return render_template("message.html", message=message), status
    except Exception:  # whatever broke the page must not break the answer too
        current_app.logger.exception("message page failed; the bare error page answers")
        return current_app.jinja_env.get_template("error.html").render(
            message=message, bureau=current_app.extensions["context"].bureau), status


def log_failure(what: str) -> str:
    """Logs the failure being handled, with its traceback, under a short reference the user can quote."""
    reference = secrets.token_hex(4).upper()
    current_app.logger.exception("%s [%s] %s %s", what, reference, request.method, request.path)
    return reference


# The database itself is unreachable or overloaded: the same request may work in a moment.
DATABASE_DOWN = "系统暂时无法访问数据库，请稍后再试；如持续出现请联系管理员（错误编号 {reference}）"
FAILED = "系统出错，已记录，请稍后重试或联系管理员（错误编号 {reference}）"


def _server_error(error: Exception):
    """Any failure no door handled: a Chinese page or JSON with a reference, never internal text."""
    if isinstance(error, HTTPException) and (error.code or 500) < 500:
        return _http_error(error)
    down = isinstance(error, OperationalError | InterfaceError | TimeoutError) or (
        isinstance(error, DBAPIError) and error.connection_invalidated)
    reference = log_failure("database unavailable" if down else "request failed")
    message, status = (DATABASE_DOWN, 503) if down else (FAILED, 500)
    message = message.format(reference=reference)
    if request.path.startswith("/api/"):
        return jsonify(message=message, reference=reference), status
    return _message_page(message, status)


def _out_of_range(error: DataError):
    """A value the database refuses (PostgreSQL: text longer than its column, a number out of
    range). The doors validate lengths first; this catches what slipped through, as a 400."""
    reference = log_failure("value refused by the database")
    message = f"提交的内容超出系统允许的范围（如文字过长或数值过大），请修改后重试（错误编号 {reference}）"
    if request.path.startswith("/api/"):
        return jsonify(message=message, reference=reference), 400
    return _message_page(message, 400)


def _reference(app: Flask) -> dict:
    """Jurisdictions and occupations, read once per process."""
    if "reference" not in app.extensions:
        ctx = app.extensions["context"]
        occupations = reference.occupations(ctx)
        app.extensions["reference"] = {"jurisdictions": reference.jurisdictions(ctx), "occupations": occupations,
                                       "occupation_names": {o["code"]: o["name"] for o in occupations}}
    return app.extensions["reference"]


def _globals() -> dict:
    ctx = current_app.extensions["context"]
    now = ctx.clock.now()
    user = current_user()
    return {
        "bureau": ctx.bureau, "user": user, "unread": notifications.unread_count(ctx, user.id) if user else 0,
        "roles": labels.ROLES, "kinds": labels.KINDS, "actions": labels.ACTIONS,
        "max_attachment": attachments.MAX_ATTACHMENT,
        "labels": labels, "jurisdictions": _reference(current_app)["jurisdictions"], "now": now,
        "training_now": now if isinstance(ctx.clock, TrainingClock) else None,
        "occupation_name": lambda code: _reference(current_app)["occupation_names"].get(code, ""),
        "due": lambda task: formatting.due_label(ctx.current_calendar(), now, task.due_at, task.due_note),
    }

"""The Flask application factory: nothing is built at import time."""
from __future__ import annotations

import re
import secrets
import uuid

from flask import Flask, g, request
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.serving import WSGIRequestHandler

from . import config as configuration
from . import edge, logs
from .bootstrap import build_context
from .json_provider import JSONProvider
from .usecases.attachments import MAX_ATTACHMENT

SERVER = "skill-eval"  # the Server header: names no framework or version
# default-src 'self' and no inline script (the browser tests check it); forms post only here, no <base>
REQUEST_ID_FORM = re.compile(r"[A-Za-z0-9._-]{8,64}")  # what a proxy's X-Request-ID may be, to be carried on
CSP = "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"


def create_app(test_config: dict | None = None, context=None) -> Flask:
    app = Flask(__name__, instance_relative_config=True, static_folder="web/static",
                template_folder="web/templates")
    settings = configuration.from_env()
    settings.update(test_config or {})
    configuration.check(settings)
    if not settings["SECRET_KEY"]:  # outside production only (check): this process's sessions end with it
        settings["SECRET_KEY"] = secrets.token_hex(32)
    if settings.get("PROXY_COUNT"):  # the client's address for login throttling, as the proxies saw it
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings["PROXY_COUNT"], x_proto=settings["PROXY_COUNT"])
    app.url_map.converters["int"] = edge.IdConverter  # before any route is added
    app.config.update(
        SECRET_KEY=settings["SECRET_KEY"],
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings["ENVIRONMENT"] == "production",  # behind HTTPS there
        WTF_CSRF_TIME_LIMIT=None,
        # one file per request (the task page uploads each as it is chosen) and its form around it
        MAX_CONTENT_LENGTH=MAX_ATTACHMENT + 1024 * 1024,
    )
    logs.configure(json_lines=settings.get("LOG_FORMAT") == "json")
    app.json = JSONProvider(app)  # numbers with a fraction are exact Decimals, in and out
    app.json.ensure_ascii = False  # Chinese stays readable in responses
    app.config.update({k: v for k, v in settings.items() if k not in ("SECRET_KEY",)})
    app.extensions["context"] = context or build_context(settings["DATABASE_URL"],
                                                         clock_kind=settings["CLOCK"],
                                                         audit_key=settings.get("AUDIT_KEY"),
                                                         bureau=settings.get("BUREAU", "chizhou"))
    @app.before_request
    def request_id():
        """The caller's X-Request-ID if it is one (a proxy's), else a new one: in every log line and
        audit entry of this request, and in the answer."""
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if REQUEST_ID_FORM.fullmatch(given) else uuid.uuid4().hex
        g.request_id_token = logs.REQUEST_ID.set(g.request_id)

    @app.teardown_request
    def forget_request_id(error=None):
        if "request_id_token" in g:
            logs.REQUEST_ID.reset(g.request_id_token)

    from .web.work import allow_files_with_the_form
    app.before_request(allow_files_with_the_form)  # before CSRF protection reads the body
    app.before_request(edge.check_request)  # input the database cannot take is refused before anything reads it
    csrf = CSRFProtect(app)

    from .api import routes
    app.register_blueprint(routes.api)
    # No session to ride on: logging in, and the public objection form (anyone, no login).
    csrf.exempt(routes.login)
    csrf.exempt(routes.objection)
    csrf.exempt(routes.result_objection)
    csrf.exempt(routes.submit_complaint)

    from . import web
    web.register(app)

    from . import cli
    cli.register(app)

    production = settings["ENVIRONMENT"] == "production"

    @app.after_request
    def security_headers(response):
        if "request_id" in g:
            response.headers["X-Request-ID"] = g.request_id
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", CSP)
        # Pages and API answers may carry personal data or a user's cases: no cache keeps them (the
        # back button of a shared computer included). Static files and reference data set their own.
        if "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "no-store"
        if production:  # served over HTTPS there (SESSION_COOKIE_SECURE too)
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        response.headers["Server"] = SERVER
        return response

    return app


class RequestHandler(WSGIRequestHandler):
    """Werkzeug's development server without its own `Server: Werkzeug/… Python/…` header (the
    app sets SERVER); for the browser tests' server. `flask run` cannot take it: production runs
    behind a WSGI server and a proxy that set their own (see README)."""

    def send_response(self, code, message=None):
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

"""The Flask application factory: nothing is built at import time."""
from __future__ import annotations

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from . import config as configuration
from .bootstrap import build_context
from .json_provider import JSONProvider
from .usecases.filing import MAX_ATTACHMENT


def create_app(test_config: dict | None = None, context=None) -> Flask:
    app = Flask(__name__, instance_relative_config=True, static_folder="web/static",
                template_folder="web/templates")
    settings = configuration.from_env()
    settings.update(test_config or {})
    configuration.check(settings)
    app.config.update(
        SECRET_KEY=settings["SECRET_KEY"],
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings["ENVIRONMENT"] == "production",  # behind HTTPS there
        WTF_CSRF_TIME_LIMIT=None,
        # one file per request (the task page uploads each as it is chosen) and its form around it
        MAX_CONTENT_LENGTH=MAX_ATTACHMENT + 1024 * 1024,
    )
    app.json = JSONProvider(app)  # numbers with a fraction are exact Decimals, in and out
    app.json.ensure_ascii = False  # Chinese stays readable in responses
    app.config.update({k: v for k, v in settings.items() if k not in ("SECRET_KEY",)})
    app.extensions["context"] = context or build_context(settings["DATABASE_URL"],
                                                         clock_kind=settings["CLOCK"])
    from .web.work import allow_files_with_the_form
    app.before_request(allow_files_with_the_form)  # before CSRF protection reads the body
    csrf = CSRFProtect(app)

    from .api import routes
    app.register_blueprint(routes.api)
    # No session to ride on: logging in, and the public objection form (anyone, no login).
    csrf.exempt(routes.login)
    csrf.exempt(routes.objection)
    csrf.exempt(routes.submit_complaint)

    from . import web
    web.register(app)

    from . import cli
    cli.register(app)

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
        return response

    return app

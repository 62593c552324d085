"""Logging in and out of the pages, and who is asking (for the pages and the JSON API alike).

The signed cookie holds a session token; the session's row decides on every request whether it
still holds, so logging out, deactivating a user or changing a password ends it at once."""
from __future__ import annotations

import math
from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for

from ..usecases import accounts

auth = Blueprint("auth", __name__)


def ctx():
    return current_app.extensions["context"]


def current_user():
    """The logged-in user, read once per request (None for the public and for an ended session)."""
    if "user" not in g:
        g.user = accounts.session_user(ctx(), session.get("sid")) if "user_id" in session else None
        if g.user is None or g.user.id != session.get("user_id"):
            if "user_id" in session:  # ended elsewhere (logout, deactivated, new password): forget it here too
                session.clear()
            g.user = None
    return g.user


def open_session(user) -> None:
    """A new login: a fresh cookie (nothing carried over from before), bound to a new session row."""
    session.clear()
    session["sid"] = accounts.start_session(ctx(), user.id)
    session["user_id"] = user.id  # the doors read it; current_user checks it against the session row
    g.user = user


def close_session() -> None:
    accounts.end_session(ctx(), session.get("sid"))
    session.clear()
    g.user = None


def client_address() -> str:
    """The client's address as the server sees it (behind PROXY_COUNT trusted proxies, see create_app)."""
    return request.remote_addr or "unknown"


def login_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if current_user() is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)
    return wrapper


def safe_path(target: str | None, fallback: str | None = None) -> str:
    """Only a path on this site: a link or a form must not send the user elsewhere."""
    if not target or urlsplit(target).netloc or urlsplit(target).scheme or not target.startswith("/") \
            or target.startswith("//") or "\\" in target or any(ord(c) < 32 for c in target):
        return fallback or url_for("home.index")
    return target


@auth.route("/login", methods=["GET", "POST"])
def login():
    username = request.form.get("username", "").strip()
    if request.method == "POST":
        try:
            user = accounts.authenticate(ctx(), username, request.form.get("password", ""), client_address())
        except accounts.LoginThrottled as refused:
            current_app.logger.warning("login refused (throttled): %s from %s", username[:50], client_address())
            flash(refused.message, "error")
            response = current_app.make_response((render_template("login.html", username=username), 429))
            response.headers["Retry-After"] = retry_after(refused.until)
            return response
        except accounts.LoginBusy as busy:
            flash(busy.message, "error")
            return render_template("login.html", username=username), 503
        if user is not None:
            open_session(user)
            return redirect(safe_path(request.args.get("next")))
        flash("用户名或密码错误", "error")
        return render_template("login.html", username=username), 401
    return render_template("login.html", username=username)


def retry_after(until) -> str:
    """Seconds until the lock ends, rounded up (Retry-After header)."""
    return str(max(1, math.ceil((until - ctx().clock.now()).total_seconds())))


@auth.post("/logout")
def logout():
    close_session()
    flash("已退出登录", "info")
    return redirect(url_for("home.index"))

"""Logging in and out of the pages, and who is asking."""
from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for

from ..usecases import accounts

auth = Blueprint("auth", __name__)


def ctx():
    return current_app.extensions["context"]


def current_user():
    """The logged-in user, read once per request (None for the public)."""
    if "user" not in g:
        user_id = session.get("user_id")
        g.user = accounts.get_user(ctx(), user_id) if user_id else None
        if g.user is not None and not g.user.is_active:
            session.clear()
            g.user = None
    return g.user


def login_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if current_user() is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)
    return wrapper


def _safe_next(target: str | None) -> str:
    """Only a path on this site: a login link must not send the user elsewhere."""
    if not target or urlsplit(target).netloc or urlsplit(target).scheme or not target.startswith("/") \
            or target.startswith("//"):
        return url_for("home.index")
    return target


@auth.route("/login", methods=["GET", "POST"])
def login():
    username = request.form.get("username", "").strip()
    if request.method == "POST":
        user = accounts.authenticate(ctx(), username, request.form.get("password", ""))
        if user is not None:
            session.clear()
            session["user_id"] = user.id
            return redirect(_safe_next(request.args.get("next")))
        flash("用户名或密码错误", "error")
        return render_template("login.html", username=username), 401
    return render_template("login.html", username=username)


@auth.post("/logout")
def logout():
    session.clear()
    flash("已退出登录", "info")
    return redirect(url_for("home.index"))

"""/healthz (the process answers) and /readyz (it can serve: usecases/health.py), for load
balancers and operators; no login, no data."""
from __future__ import annotations

from flask import Blueprint, jsonify

from ..usecases import health as checks
from .auth import ctx

health = Blueprint("health", __name__)


@health.get("/healthz")
def healthz():
    return jsonify(status="ok")


@health.get("/readyz")
def readyz():
    found = checks.readiness(ctx())
    ready = all(value == "ok" for value in found.values())
    return jsonify(status="ready" if ready else "not ready", checks=found), 200 if ready else 503

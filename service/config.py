"""Configuration from the environment; short keys."""
from __future__ import annotations

import os
import secrets


def from_env() -> dict:
    return {
        "DATABASE_URL": os.environ.get("DATABASE_URL", "sqlite:///instance/app.db"),
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_hex(32),
        # system | training. A training clock can be moved by operators: never in production.
        "CLOCK": os.environ.get("CLOCK", "system"),
        "ENVIRONMENT": os.environ.get("ENVIRONMENT", "development"),
    }


def check(config: dict) -> None:
    if config["CLOCK"] == "training" and config["ENVIRONMENT"] == "production":
        raise RuntimeError("a training clock is refused in production (ENVIRONMENT=production)")
    if config["CLOCK"] not in ("system", "training"):
        raise RuntimeError(f"unknown CLOCK {config['CLOCK']!r}")

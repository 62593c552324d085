"""Configuration from the environment; short keys."""
from __future__ import annotations

import hashlib
import os
import secrets


def from_env() -> dict:
    return {
        "DATABASE_URL": os.environ.get("DATABASE_URL", "sqlite:///instance/app.db"),
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_hex(32),
        # system | training. A training clock can be moved by operators: never in production.
        "CLOCK": os.environ.get("CLOCK", "system"),
        "ENVIRONMENT": os.environ.get("ENVIRONMENT", "development"),
        # HMAC key of the audit chain (usecases/audit.py); never stored in the database. Required
        # in production; development and tests sign with a derived development key.
        "AUDIT_KEY": os.environ.get("AUDIT_KEY", ""),
    }


def check(config: dict) -> None:
    if config["CLOCK"] == "training" and config["ENVIRONMENT"] == "production":
        raise RuntimeError("a training clock is refused in production (ENVIRONMENT=production)")
    if config["CLOCK"] not in ("system", "training"):
        raise RuntimeError(f"unknown CLOCK {config['CLOCK']!r}")
    _check_audit_key(config)


MIN_AUDIT_KEY_LENGTH = 32
# Signs the audit chain where no AUDIT_KEY is set (development, tests); derived, so it is the
# same in every process of a development install, and refused in production.
DEVELOPMENT_AUDIT_KEY = hashlib.sha256(b"skill-eval audit chain: development and tests only").hexdigest()


def _check_audit_key(config: dict) -> None:
    """Art. 16, 18: without its own strong key, anyone able to write the database could rewrite
    the audit log and recompute its chain."""
    if config.get("ENVIRONMENT") != "production":
        return
    key = config.get("AUDIT_KEY") or ""
    if len(key) < MIN_AUDIT_KEY_LENGTH or key == DEVELOPMENT_AUDIT_KEY or len(set(key)) < 8:
        raise RuntimeError(f"production needs AUDIT_KEY: a random secret of at least {MIN_AUDIT_KEY_LENGTH} "
                           "characters, kept outside the database (e.g. `python -c 'import secrets; "
                           "print(secrets.token_hex(32))'`); keep it: a new key breaks every chain signed before")

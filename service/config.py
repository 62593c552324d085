"""Configuration from the environment; short keys."""
from __future__ import annotations

import hashlib
import os

# Keys that were ever published (the demo's, examples, the tests'): anyone can sign a session with them.
KNOWN_KEYS = frozenset({"demo-only-secret", "test", "bench", "secret", "changeme", "change-me", "dev",
                        "development", "secret-key", "your-secret-key"})
MIN_KEY_LENGTH = 32


def from_env() -> dict:
    production = os.environ.get("ENVIRONMENT") == "production"
    return {
        # production names its database; elsewhere an SQLite file in instance/ will do
        "DATABASE_URL": os.environ.get("DATABASE_URL", "" if production else "sqlite:///instance/app.db"),
        # production on SQLite only when an operator says so (one machine, one worker process)
        "ALLOW_SQLITE_IN_PRODUCTION": os.environ.get("ALLOW_SQLITE_IN_PRODUCTION", "") == "1",
        # empty outside production: create_app makes a random one for the process (sessions end on restart)
        "SECRET_KEY": os.environ.get("SECRET_KEY", ""),
        # system | training. A training clock can be moved by operators: never in production.
        "CLOCK": os.environ.get("CLOCK", "system"),
        "ENVIRONMENT": os.environ.get("ENVIRONMENT", "development"),
        # reverse proxies in front of the service whose X-Forwarded-For is trusted (login throttling per address)
        "PROXY_COUNT": int(os.environ.get("PROXY_COUNT", "0") or 0),
        # HMAC key of the audit chain (usecases/audit.py); never stored in the database. Required
        # in production; development and tests sign with a derived development key.
        "AUDIT_KEY": os.environ.get("AUDIT_KEY", ""),
        # the city running this install: data/bureaus/<BUREAU>.json (name, codes, receipt prefix, jurisdictions)
        "BUREAU": os.environ.get("BUREAU", "chizhou"),
        # json | text: log lines as JSON objects (production's default) or plain text; masked either way
        "LOG_FORMAT": os.environ.get("LOG_FORMAT", "json" if production else "text"),
    }


def check(config: dict) -> None:
    if config["CLOCK"] == "training" and config["ENVIRONMENT"] == "production":
        raise RuntimeError("a training clock is refused in production (ENVIRONMENT=production)")
    if config["CLOCK"] not in ("system", "training"):
        raise RuntimeError(f"unknown CLOCK {config['CLOCK']!r}")
    if config["ENVIRONMENT"] == "production":
        url = config.get("DATABASE_URL") or ""
        if not url:
            raise RuntimeError("DATABASE_URL is required in production (ENVIRONMENT=production), e.g. "
                               "postgresql+psycopg://user@db-host:5432/skill_eval")
        if url.startswith("sqlite") and not config.get("ALLOW_SQLITE_IN_PRODUCTION"):
            raise RuntimeError("SQLite is refused in production (ENVIRONMENT=production): several workers and "
                               "schedulers need PostgreSQL. Set ALLOW_SQLITE_IN_PRODUCTION=1 only for a single-"
                               "process install")
        # The key signs the session cookie: who knows it can log in as anyone.
        key = config.get("SECRET_KEY") or ""
        if not key:
            raise RuntimeError("SECRET_KEY is required in production (ENVIRONMENT=production): set it to a random "
                               "value of at least 32 characters, e.g. `python -c 'import secrets; "
                               "print(secrets.token_hex(32))'`")
        if key in KNOWN_KEYS:
            raise RuntimeError("SECRET_KEY is a published key (the demo's or an example's) and is refused in "
                               "production (ENVIRONMENT=production): set a random value of at least 32 characters")
        if len(key) < MIN_KEY_LENGTH:
            raise RuntimeError(f"SECRET_KEY is {len(key)} characters long; production (ENVIRONMENT=production) "
                               f"needs at least {MIN_KEY_LENGTH} random characters")
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

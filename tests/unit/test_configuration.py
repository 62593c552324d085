"""What the service refuses to start with (service/config.py)."""
from __future__ import annotations

import pytest

from service import config

STRONG = "9f2c4e7a1b8d3f6e0a5c9b2d7e4f1a8c"


AUDIT_KEY = "3f9c1e7a5b2d48c6a0e4f7b91d3c5e8a27b4f6d0c9e1a3b5"  # a strong one: these tests are about SECRET_KEY


def production(**settings):
    return {"CLOCK": "system", "ENVIRONMENT": "production", "AUDIT_KEY": AUDIT_KEY,
            "DATABASE_URL": "postgresql+psycopg://skill@db:5432/skill_eval", **settings}


@pytest.mark.parametrize("key", ["", None])
def test_production_refuses_to_start_without_a_secret_key(key):
    with pytest.raises(RuntimeError, match="SECRET_KEY is required in production"):
        config.check(production(SECRET_KEY=key))


@pytest.mark.parametrize("key", sorted(config.KNOWN_KEYS))
def test_production_refuses_a_published_secret_key(key):
    with pytest.raises(RuntimeError, match="published key"):
        config.check(production(SECRET_KEY=key))


def test_production_refuses_a_short_secret_key():
    with pytest.raises(RuntimeError, match="at least 32"):
        config.check(production(SECRET_KEY=STRONG[:31]))


def test_production_starts_with_a_long_random_key_and_development_with_none():
    config.check(production(SECRET_KEY=STRONG))
    config.check({"CLOCK": "training", "ENVIRONMENT": "development", "SECRET_KEY": ""})


def test_the_demo_key_is_refused_by_the_app_factory_in_production(monkeypatch):
    from service.app import create_app
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SECRET_KEY", "demo-only-secret")
    with pytest.raises(RuntimeError, match="published key"):
        create_app({"DATABASE_URL": "postgresql+psycopg://skill@db:5432/skill_eval"}, context=object())


def test_production_names_its_database_and_is_refused_sqlite_unless_an_operator_allows_it():
    with pytest.raises(RuntimeError, match="DATABASE_URL is required in production"):
        config.check(production(SECRET_KEY=STRONG, DATABASE_URL=""))
    with pytest.raises(RuntimeError, match="SQLite is refused in production"):
        config.check(production(SECRET_KEY=STRONG, DATABASE_URL="sqlite:////srv/skill/app.db"))
    config.check(production(SECRET_KEY=STRONG, DATABASE_URL="sqlite:////srv/skill/app.db",
                            ALLOW_SQLITE_IN_PRODUCTION=True))


def test_without_database_url_production_has_no_default_and_development_has_sqlite(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("ENVIRONMENT", "production")
    assert config.from_env()["DATABASE_URL"] == ""
    monkeypatch.setenv("ENVIRONMENT", "development")
    assert config.from_env()["DATABASE_URL"].startswith("sqlite:///")

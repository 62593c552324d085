"""Shared fixtures: a real database (SQLite by default, PostgreSQL with TEST_DATABASE_URL),
migrated once per run; a fixed clock that tests move; the app wired to both."""
from __future__ import annotations

import io
import os
import tempfile
from datetime import date, datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_engine, text

from service.app import create_app
from service.bootstrap import build_context
from service.clock import FixedClock
from service.engine.definitions import Bundle, read_bundle
from service.reference import load_reference_data
from service.store.files import DiskStore
from service.store.migrate import upgrade
from service.store.models import Base, Institution, ScopeItem
from service.usecases import accounts
from service.usecases.context import unit_of_work
from service.usecases.definitions import deploy
from tests.batches import ASSESSOR_HEADER, ELECTRICIAN, assessor_rows, xlsx
from tests.helpers import PASSWORD, Api, make_institution, make_staff

ROOT = Path(__file__).resolve().parent.parent
KEEP = {"jurisdiction", "occupation", "definition_version", "alembic_version"}


PRODUCTION_HASHER = accounts.hasher


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hashing():
    """Argon2id at the service's cost takes about 0.2 s a hash on this machine, and the tests create
    and log in users by the thousand: they hash with argon2id at its lowest cost instead (the same
    scheme and library; tests/integration/test_login_and_sessions.py checks the service's cost)."""
    accounts.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    accounts.hasher = PRODUCTION_HASHER


@pytest.fixture(scope="session")
def database_url():
    url = os.environ.get("TEST_DATABASE_URL")
    if url is None:
        folder = tempfile.mkdtemp(prefix="skill-eval-test-")
        url = f"sqlite:///{folder}/test.db"
    else:
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    upgrade(url)
    return url


def without_schedules() -> Bundle:
    """The shipped bundle less the processes that start on a schedule (the weekly inactivity scan,
    the quarterly draw): deployed with the tests' clock in 2024, they would start every occurrence
    up to whatever date a test moves to. The tests of a schedule deploy it themselves."""
    return Bundle({path: text for path, text in read_bundle(ROOT).files.items() if "timeCycle" not in text})


@pytest.fixture(scope="session")
def prepared(database_url):
    ctx = build_context(database_url, clock=FixedClock(datetime(2024, 9, 2, 9, 0)))
    with unit_of_work(ctx) as session:
        load_reference_data(session, ctx.bureau)
    version_id, _ = deploy(ctx, without_schedules(), "tests")
    ctx.session_factory.kw["bind"].dispose()
    return database_url, version_id


@pytest.fixture
def clock():
    return FixedClock(datetime(2024, 9, 2, 9, 0))


@pytest.fixture
def ctx(prepared, clock, tmp_path):
    url, version_id = prepared
    context = build_context(url, clock=clock)
    context.files = DiskStore(tmp_path / "files")  # each test its own file store, as its own rows
    yield context
    with unit_of_work(context) as session:
        tables = [t.name for t in reversed(Base.metadata.sorted_tables) if t.name not in KEEP]
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                session.execute(text(f"DELETE FROM {table}"))
        # versions a test deployed must not leak into the next test
        session.execute(text("DELETE FROM definition_version WHERE id <> :id"), {"id": version_id})
    context.session_factory.kw["bind"].dispose()


@pytest.fixture
def app(ctx):
    return create_app({"DATABASE_URL": ctx.session_factory.kw["bind"].url.render_as_string(False),
                       "SECRET_KEY": "test", "TESTING": True}, context=ctx)


@pytest.fixture
def batch_people(app, ctx, clock):
    """Issue 13: a filed institution (电工 四级 and 二级 in scope) on Fri 26 Sep 2025, staff of two
    counties, the city and the province, and the city's assessor registry imported."""
    clock.set(datetime(2025, 9, 26, 9, 0))  # a Friday; National Day 2025 is Oct 1–8, Sep 28 and Oct 11 worked
    institution_id, _ = make_institution(ctx)
    with unit_of_work(ctx) as session:
        row = session.get(Institution, institution_id)
        row.status, row.filing_code = "filed", "S000034170001"
        row.valid_from, row.valid_until = date(2024, 9, 2), date(2027, 9, 1)
        row.scope = [ScopeItem(occupation_code=ELECTRICIAN, level=level) for level in ("4", "2")]
    make_staff(ctx)
    accounts.create_user(ctx, "province", PASSWORD, "省中心", "province")
    users = {name: Api(app, name) for name in ("inst1", "county", "county_dz", "city", "province")}
    imported = users["city"].client.post("/api/admin/assessors", headers=users["city"].headers,
                                         data={"file": (io.BytesIO(xlsx(ASSESSOR_HEADER, assessor_rows())),
                                                        "考评员.xlsx")})
    assert imported.status_code == 200 and imported.get_json() == {"added": 4, "updated": 0}
    return users

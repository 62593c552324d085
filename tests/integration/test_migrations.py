"""Migrations carry existing data forward (SQLite file of its own; the schema itself is tested
by every other test, which runs on a database `upgrade` built)."""
from __future__ import annotations

from datetime import datetime

from alembic import command
from sqlalchemy import create_engine, text

from service.store.migrate import alembic_config


def test_receipt_counters_start_after_the_numbers_already_issued(tmp_path):
    """Issue 11.1: receipts issued before one sequence existed were numbered from filing or
    institution ids; the counters begin after the highest of each year, so none is issued twice."""
    url = f"sqlite:///{tmp_path}/old.db"
    command.upgrade(alembic_config(url), "0009")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO jurisdiction (code, name, city_code) "
                                "VALUES ('341702', '贵池区', '341700')"))
        connection.execute(text("INSERT INTO institution (id, credit_code, name, kind, jurisdiction_code, address, "
                                "legal_representative, contact_name, contact_phone, status, is_province_wide) "
                                "VALUES (5, '52341702MJ0000090X', '甲', 'social_org', '341702', '', '', '', '', "
                                "'filed', 0)"))
        for filing_id, number in ((1, "CZBA2024000005"), (2, "CZBA2024000002"), (3, "CZBA2025000007"), (4, None)):
            connection.execute(text("INSERT INTO filing (id, institution_id, jurisdiction_code, status, purpose, "
                                    "requested_scope, receipt_number) VALUES (:id, 5, '341702', 'filed', 'initial', "
                                    "'[]', :number)"), {"id": filing_id, "number": number})
        connection.execute(text("INSERT INTO notice (filing_id, jurisdiction_code, title, text, opens_at, closes_at) "
                                "VALUES (4, '341702', '公示', '', '2024-09-02 09:00:00', '2024-09-10 00:00:00')"))
    command.upgrade(alembic_config(url), "head")
    with engine.begin() as connection:
        counters = dict(connection.execute(text("SELECT key, value FROM setting WHERE key LIKE 'receipt%'")).all())
        closes = dict(connection.execute(text("SELECT id, notice_closes_at FROM filing")).all())
    engine.dispose()
    assert counters == {"receipt_serial_2024": "5", "receipt_serial_2025": "7"}
    assert closes[1] is None and str(closes[4]).startswith(str(datetime(2024, 9, 10)))


def test_the_migrations_build_exactly_the_tables_the_models_describe(tmp_path):
    """A column added to a model and forgotten in its migration (or the other way round) would work
    in tests built from the models and fail on a real upgrade: the two must not differ."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from service.store.models import Base
    url = f"sqlite:///{tmp_path}/head.db"
    command.upgrade(alembic_config(url), "head")
    engine = create_engine(url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []

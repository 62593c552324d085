"""Loading reference data (jurisdictions, occupation catalogue) into the database."""
from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import select

from .domain.occupations import index_by_code, load_catalogue
from .store.models import Jurisdiction, Occupation

DATA = Path(__file__).resolve().parent.parent / "data"


def load_reference_data(session) -> None:
    """Idempotent: rows already present are left alone."""
    if session.scalar(select(Jurisdiction.code).limit(1)) is None:
        with open(DATA / "jurisdictions.csv", encoding="utf-8") as f:
            session.add_all(Jurisdiction(**row) for row in csv.DictReader(f))
    if session.scalar(select(Occupation.code).limit(1)) is None:
        catalogue = index_by_code(load_catalogue(DATA / "occupations-2022.csv", DATA / "occupations-demo.csv"))
        session.add_all(Occupation(code=o.code, name=o.name, level=o.level, definition=o.definition or "",
                                   is_digital=o.is_digital, is_green=o.is_green, access_type=o.access_type)
                        for o in catalogue.values())
    session.flush()

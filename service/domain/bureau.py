"""Who runs this system: the city's bureau, set at install (data/bureaus/<id>.json, chosen by the
BUREAU setting). Nothing of one city is written in code, so another city of the province installs
the same system with its own file: its name on every page, its receipt prefix, its jurisdictions,
and its part of the filing code, so two cities never issue the same code."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Bureau:
    id: str
    city: str  # 池州市
    city_short: str  # 池州: how addresses and other cities' filings name it
    city_code: str  # GB/T 2260, 341700
    province: str
    province_code: str  # 34: the filing code's province part
    bureau: str  # the 备案机关 that signs receipts
    receipt_prefix: str  # CZBA
    system_name: str
    regulation: str  # the city's own regulation, cited on pages and documents
    regulation_number: str
    jurisdictions: Path  # code,name,city_code rows of the city's counties and zones

    @property
    def city_part(self) -> str:
        """The city within the province (341700 → 17): the filing code's serial starts with it."""
        return self.city_code[2:4]


def load_bureau(path: Path) -> Bureau:
    data = json.loads(path.read_text(encoding="utf-8"))
    data["jurisdictions"] = path.parent / data["jurisdictions"]
    bureau = Bureau(**data)
    if not re.fullmatch(r"\d{2}", bureau.province_code) or not re.fullmatch(r"\d{6}", bureau.city_code) \
            or not bureau.city_code.startswith(bureau.province_code):
        raise ValueError(f"{path}: city_code must be 6 digits beginning with the 2-digit province_code")
    if not re.fullmatch(r"[A-Z]{2,6}", bureau.receipt_prefix):
        raise ValueError(f"{path}: receipt_prefix must be 2 to 6 capital letters")
    return bureau

"""dmn/star_rating.dmn (Art. 21): the total score's thresholds compared exactly, at and around each
boundary, and a suspension in the year keeping a 70s score below three stars. Every rule fires."""
from __future__ import annotations

from decimal import Decimal

import pytest

from service.engine.dmn import parse_decisions
from service.engine.sandbox import Sandbox
from tests.conftest import ROOT

(TABLE,) = parse_decisions((ROOT / "dmn" / "star_rating.dmn").read_bytes(), "dmn/star_rating.dmn")


def stars(total: str, suspended: int = 0) -> int:
    return TABLE.evaluate({"total_score": Decimal(total), "suspended_this_year": suspended}, Sandbox({}))["stars"]


@pytest.mark.parametrize(("total", "expected"), [
    ("100", 5), ("90", 5), ("89.99", 4), ("80", 4), ("79.99", 3), ("70", 3), ("69.99", 2), ("60", 2),
    ("59.99", 1), ("0", 1), ("90.01", 5), ("80.01", 4), ("70.01", 3), ("60.01", 2)])
def test_each_boundary_belongs_to_the_higher_star(total, expected):
    assert stars(total) == expected


def test_a_suspension_in_the_year_keeps_a_score_in_the_seventies_below_three_stars():
    assert (stars("75", 1), stars("70", 2), stars("79.99", 1)) == (2, 2, 2)
    assert (stars("80", 1), stars("69.99", 1)) == (4, 2)  # the other bands do not weigh it


def test_every_rule_is_fired_by_a_case_above():
    fired = set()
    for total, suspended in (("95", 0), ("85", 0), ("75", 0), ("75", 1), ("65", 0), ("10", 0)):
        _, ids = TABLE._hits({"total_score": Decimal(total), "suspended_this_year": suspended}, Sandbox({}))
        fired |= set(ids)
    assert fired == {rule.id for rule in TABLE.rules}

"""双随机 (Art. 21): the draw is a function of its seed and inputs alone, so a published plan can be
drawn again and checked; an inspector never checks an institution of their own jurisdiction
when the plan says so."""
from __future__ import annotations

import pytest

from service.domain.spot_checks import Candidate, DrawError, Inspector, draw, sample_size

INSTITUTIONS = [Candidate(i, ("341702", "341721", "341722")[i % 3]) for i in range(1, 31)]
INSPECTORS = [Inspector(101, "341702"), Inspector(102, "341721"), Inspector(103, "341722"), Inspector(104, None)]


def test_the_same_seed_and_inputs_give_the_same_pairs_whatever_order_they_are_read_in():
    first = draw("2027Q1", INSTITUTIONS, INSPECTORS, 5, True)
    assert first == draw("2027Q1", list(reversed(INSTITUTIONS)), list(reversed(INSPECTORS)), 5, True)
    assert len({institution for institution, _ in first}) == 5
    assert draw("2027Q2", INSTITUTIONS, INSPECTORS, 5, True) != first


def test_no_inspector_checks_their_own_jurisdiction_when_the_plan_says_so():
    where = {c.id: c.jurisdiction_code for c in INSTITUTIONS}
    home = {i.id: i.jurisdiction_code for i in INSPECTORS}
    for seed in range(50):
        for institution, inspector in draw(str(seed), INSTITUTIONS, INSPECTORS, 10, True):
            assert home[inspector] != where[institution]
    mixed = [home[i] == where[c] for seed in range(50) for c, i in draw(str(seed), INSTITUTIONS, INSPECTORS, 10, False)]
    assert any(mixed)  # without 回避 they may


def test_an_institution_with_only_its_own_inspectors_left_cannot_be_drawn():
    with pytest.raises(DrawError, match="没有可抽取的督查员"):
        draw("x", [Candidate(1, "341702")], [Inspector(101, "341702")], 1, True)
    with pytest.raises(DrawError, match="督查员库为空"):
        draw("x", [Candidate(1, "341702")], [], 1, True)


@pytest.mark.parametrize(("population", "count", "rate", "size"), [
    (30, None, 10, 3), (21, None, 10, 3), (5, None, 1, 1), (30, 4, None, 4), (3, 10, None, 3), (0, None, 10, 0)])
def test_a_rate_rounds_up_and_a_number_is_capped_by_the_population(population, count, rate, size):
    assert sample_size(population, count=count, rate=rate) == size


def test_a_number_or_a_rate_not_both():
    with pytest.raises(DrawError):
        sample_size(10, count=2, rate=10)

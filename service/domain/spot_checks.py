"""双随机 (Art. 21): draw institutions at random from a population, and for each an inspector at
random from a pool, reproducibly. The draw is a pure function of its seed and its inputs, so
anyone holding the published seed, population and pool can draw again and get the same pairs."""
from __future__ import annotations

import math
import random
from dataclasses import dataclass


class DrawError(ValueError):
    pass


@dataclass(frozen=True)
class Candidate:
    id: int
    jurisdiction_code: str


@dataclass(frozen=True)
class Inspector:
    id: int
    jurisdiction_code: str | None  # the bureau that appointed them; None for the city's own


def sample_size(population: int, *, count: int | None = None, rate: int | None = None) -> int:
    """How many to draw: a number, or a rate in percent rounded up (a rate never draws nobody)."""
    if (count is None) == (rate is None):
        raise DrawError("请填写抽查数量或抽查比例（二选一）")
    size = count if count is not None else math.ceil(population * rate / 100)
    return min(size, population)


def draw(seed: str, institutions: list[Candidate], inspectors: list[Inspector], size: int,
         exclude_own_jurisdiction: bool) -> list[tuple[int, int]]:
    """(institution id, inspector id) pairs, in the order drawn. Inputs are sorted by id first, so
    the order they were read in does not change the result. An inspector of the institution's own
    jurisdiction is left out when the plan says so (回避); no inspector left is an error."""
    rng = random.Random(f"spot-check:{seed}")
    population = sorted(institutions, key=lambda c: c.id)
    pool = sorted(inspectors, key=lambda i: i.id)
    if size > len(population):
        raise DrawError(f"抽查数量{size}超过可抽查的机构数{len(population)}")
    if size and not pool:
        raise DrawError("督查员库为空，无法抽取督查员")
    pairs = []
    for institution in rng.sample(population, size):
        eligible = [i for i in pool
                    if not (exclude_own_jurisdiction and i.jurisdiction_code == institution.jurisdiction_code)]
        if not eligible:
            raise DrawError(f"机构（编号{institution.id}）所在县区以外没有可抽取的督查员，请扩大督查员库或取消回避")
        pairs.append((institution.id, rng.choice(eligible).id))
    return pairs

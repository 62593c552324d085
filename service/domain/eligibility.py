"""The facts the eligibility decisions (dmn/*_eligibility.dmn) read that are derived from a
requested scope, not typed: one computation for a filing and for a scope change (变更)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from .levels import LEVELS


def scope_facts(kind: str, scope: Iterable[Mapping], highest_level_by_education: str | None = None) -> dict:
    """Art. 8.4, 9.4(3): the fewest own certified assessors of any (occupation, level); Art. 5: the
    highest level asked for; Art. 12: whether a school asks above its education level."""
    scope = list(scope)
    ranks = [LEVELS[s["level"]].rank for s in scope if s.get("level") in LEVELS]
    highest = max(ranks, default=0)
    allowed = highest_level_by_education
    return {
        "kind": kind,
        "min_assessors": min((int(s.get("assessors") or 0) for s in scope), default=0),
        "occupation_count": len({s["occupation_code"] for s in scope}),
        "highest_requested_level_rank": highest,
        "level_above_education": bool(allowed in LEVELS and highest > LEVELS[allowed].rank),
    }

"""Deploying process, decision and form files as a new immutable version."""
from __future__ import annotations

from sqlalchemy import select

from ..engine.definitions import Bundle
from ..store.models import DefinitionVersion
from .context import Context, unit_of_work


def deploy(ctx: Context, bundle: Bundle, deployed_by: str) -> tuple[int, bool]:
    """Validate everything, then store it; returns (version id, whether it is new).
    A broken file raises DefinitionError naming file, element and problem; nothing is stored."""
    definitions = ctx.compile(bundle)
    with unit_of_work(ctx) as session:
        existing = session.scalar(select(DefinitionVersion).where(DefinitionVersion.hash == bundle.hash))
        if existing is not None:
            return existing.id, False
        row = DefinitionVersion(hash=bundle.hash, files=bundle.files, deployed_at=ctx.clock.now(),
                                deployed_by=deployed_by)
        session.add(row)
        session.flush()
        ctx._definitions[row.id] = definitions
        return row.id, True

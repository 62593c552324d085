"""Deploying process, decision and form files as a new immutable version."""
from __future__ import annotations

from sqlalchemy import select

from ..engine.definitions import FOLDERS, Bundle
from ..engine.errors import DefinitionError
from ..store.models import DefinitionVersion, User
from .context import Context, unit_of_work
from .errors import Forbidden


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
        ctx.remember(row.id, definitions)
        return row.id, True


def deploy_changes(ctx: Context, user_id: int, changed: dict[str, str]) -> tuple[int, bool]:
    """An analyst uploads changed files (e.g. a process saved in the modeler); they replace
    the same paths of the newest version and the whole bundle is validated again."""
    with unit_of_work(ctx) as session:
        user = session.get(User, user_id)
        if user.role != "analyst":
            raise Forbidden("只有分析员可以发布流程和决策表")
        current = session.get(DefinitionVersion, ctx.latest_version_id(session))
        files = dict(current.files)
    for path in changed:
        folder, _, name = path.partition("/")
        if folder not in FOLDERS or "/" in name or not name.endswith(FOLDERS[folder]):
            raise DefinitionError(path, None, "files go to bpmn/*.bpmn, dmn/*.dmn or forms/*.json")
    files.update(changed)
    return deploy(ctx, Bundle(files), user.username)


def versions(ctx: Context, user_id: int) -> list[DefinitionVersion]:
    """Deployed versions, newest first, with their files (what an analyst opens in the modeler)."""
    with unit_of_work(ctx) as session:
        if session.get(User, user_id).role != "analyst":
            raise Forbidden("只有分析员可以查看流程版本")
        return list(session.scalars(select(DefinitionVersion).order_by(DefinitionVersion.id.desc())))

"""Deploying process, decision and form files as a new immutable version, and making a version
current: the one new cases start on. Deploying files makes their version current, also when
they are an earlier version's files again, so redeploying the good files rolls back a broken
deploy. Who made which version current, and when, is in the audit log and on the version."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import jsonschema
import referencing.exceptions
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..engine.definitions import FOLDERS, NOTHING_REMOTE, Bundle
from ..engine.errors import DefinitionError
from ..store.models import DefinitionVersion, User
from . import audit
from .context import Context, unit_of_work
from .errors import Forbidden, Invalid


def deploy(ctx: Context, bundle: Bundle, deployed_by: str, user_id: int | None = None) -> tuple[int, bool]:
    """Validate everything, then store it and make it current; returns (version id, whether it
    is new). A broken file raises DefinitionError naming file, element and problem; nothing is
    stored and the current version stays."""
    definitions = ctx.compile(bundle)
    with unit_of_work(ctx) as session:
        row = session.scalar(select(DefinitionVersion).where(DefinitionVersion.hash == bundle.hash))
        is_new = row is None
        if is_new:
            row = DefinitionVersion(hash=bundle.hash, files=bundle.files, deployed_at=ctx.clock.now(),
                                    deployed_by=deployed_by)
            session.add(row)
            session.flush()
            ctx.remember(row.id, definitions)
        _make_current(ctx, session, row, deployed_by, user_id, is_new)
        return row.id, is_new


def _make_current(ctx: Context, session: Session, row: DefinitionVersion, by: str, user_id: int | None,
                  is_new: bool) -> None:
    previous = ctx.latest_version_id(session) if not is_new else _current_before(session, row.id)
    if previous == row.id:
        return  # the same files again: nothing changes
    row.activation = (session.scalar(select(func.max(DefinitionVersion.activation))) or 0) + 1
    row.activated_at, row.activated_by = ctx.clock.now(), by
    session.flush()
    actor = session.get(User, user_id) if user_id is not None else None
    audit.record(session, row.activated_at, actor, "definitions_activated",
                 data={"version": row.id, "hash": row.hash, "previous": previous, "new": is_new, "by": by})


def _current_before(session: Session, new_id: int) -> int | None:
    return session.scalar(select(DefinitionVersion.id).where(DefinitionVersion.id != new_id)
                          .order_by(DefinitionVersion.activation.desc(), DefinitionVersion.id.desc()).limit(1))


def deploy_changes(ctx: Context, user_id: int, changed: dict[str, str]) -> tuple[int, bool]:
    """An analyst uploads changed files (e.g. a process saved in the modeler); they replace
    the same paths of the current version and the whole bundle is validated again."""
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
    return deploy(ctx, Bundle(files), user.username, user.id)


@dataclass
class Version:
    id: int
    hash: str
    files: dict
    deployed_at: datetime
    deployed_by: str
    activated_at: datetime | None
    activated_by: str | None
    is_current: bool  # new cases start on it


def versions(ctx: Context, user_id: int) -> list[Version]:
    """Deployed versions, newest first, with their files (what an analyst opens in the modeler)
    and which one is current."""
    with unit_of_work(ctx) as session:
        if session.get(User, user_id).role != "analyst":
            raise Forbidden("只有分析员可以查看流程版本")
        rows = list(session.scalars(select(DefinitionVersion).order_by(DefinitionVersion.id.desc())))
        current = ctx.latest_version_id(session) if rows else None
        return [Version(r.id, r.hash, r.files, r.deployed_at, r.deployed_by, r.activated_at, r.activated_by,
                        r.id == current) for r in rows]

class FormValidator:
    """Draft 2020-12 validation of a submit whose `$ref`s are looked up only inside the form
    (`NOTHING_REMOTE`): never a URL or a file, even for a version stored before deploys refused
    such references. A reference that leads nowhere is said, not a 500."""

    def __init__(self, schema: dict, format_checker: jsonschema.FormatChecker) -> None:
        self._validator = jsonschema.Draft202012Validator(schema, format_checker=format_checker,
                                                          registry=NOTHING_REMOTE)

    def iter_errors(self, data) -> Iterator[jsonschema.ValidationError]:
        try:
            yield from self._validator.iter_errors(data)
        except referencing.exceptions.Unresolvable as error:
            raise Invalid({"_": f"本环节的表单定义有误：引用“{error.ref}”不在表单之内，系统不会去读取外部网址或文件。"
                                "请联系流程分析员修正表单后重新部署"}) from None

    def __getattr__(self, name: str):
        return getattr(self._validator, name)


def form_validator(schema: dict, format_checker: jsonschema.FormatChecker) -> FormValidator:
    return FormValidator(schema, format_checker)

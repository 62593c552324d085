"""Importing an Excel sheet as a use case: read it against its layout, check every row, and
either take all of it or refuse it whole, naming each problem by row and column and keeping the
user's own file with the problems marked for them to download, fix and import again."""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from .. import sheets
from ..store.models import Attachment, User
from .context import Context, unit_of_work
from .errors import Invalid, SheetRejected

MAX_SHEET = 20 * 1024 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Rows = list[tuple[int, dict]]


def check_sheet(content: bytes, columns: Sequence[sheets.Column],
                check: Callable[[Rows], list[sheets.RowError]]) -> tuple[Rows, list[sheets.RowError]]:
    """The sheet's rows and every problem with them: of reading (a cell that is not what its column
    holds) and of the rules (`check`, given the rows that read cleanly)."""
    if not content:
        raise Invalid({"file": "请选择要导入的 Excel 文件"})
    if len(content) > MAX_SHEET:
        raise Invalid({"file": "文件超过20MB，请分批导入"})
    try:
        rows, errors = sheets.read(content, columns)
    except sheets.SheetError as error:
        raise SheetRejected([e.as_dict() for e in error.errors], None, error.errors[0].message) from error
    if not rows and not errors:
        raise Invalid({"file": "表中没有数据行（示例行不计）"})
    unreadable = {e.row for e in errors}
    errors += check([(n, r) for n, r in rows if n not in unreadable])
    return rows, sorted(errors, key=lambda e: e.row)


def refuse(ctx: Context, user_id: int, filename: str, content: bytes, columns: Sequence[sheets.Column],
           rows: Rows, errors: list[sheets.RowError]) -> None:
    """Nothing was imported: keep the user's file with the problems marked (a transaction of its
    own, the import's was rolled back) and say so."""
    copy = sheets.annotated(content, errors, columns)
    stem = (filename or "导入").rsplit(".", 1)[0]
    with unit_of_work(ctx) as session:
        user = session.get(User, user_id)
        kept = Attachment(owner_id=user.id, institution_id=user.institution_id,
                          filename=f"{stem}（错误标注）.xlsx"[:200], content_type=XLSX, size=len(copy),
                          sha256=hashlib.sha256(copy).hexdigest(), content=copy, created_at=ctx.clock.now())
        session.add(kept)
        session.flush()
        kept_id = kept.id
    wrong = len({e.row for e in errors})
    raise SheetRejected([e.as_dict() for e in errors], kept_id,
                        f"共{len(rows)}行，其中{wrong}行有误，未导入任何数据；请按错误说明修改后重新导入")

"""A batch's archive (评价档案, Art. 16): the checklist of the article, each document an electronic
file kept by its hash outside the database (ctx.files) or a paper original recorded with where it
is kept; kept 3 years (paper) or 5 years (electronic, video) from the batch's end, and not
deletable before. The county sees how complete it is."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import BinaryIO

from sqlalchemy import func, select

from ...domain import batches as rules
from ...domain import calendar as cal
from ...store.db import read_only
from ...store.files import TooLarge
from ...store.models import ArchiveItem, Batch, User
from ...usecases import audit
from ...usecases.context import Context, unit_of_work
from ...usecases.errors import Conflict, Forbidden, Invalid, NotFound
from .common import visible

MAX_ARCHIVE_FILE = 4 * 1024 ** 3  # an exam day's video monitoring
# What an archive file may be, and the bytes it starts with (the browser's claim alone is not trusted)
ARCHIVE_TYPES = {".pdf": (b"%PDF",), ".jpg": (b"\xff\xd8\xff",), ".jpeg": (b"\xff\xd8\xff",), ".png": (b"\x89PNG",),
                 ".xlsx": (b"PK\x03\x04",), ".docx": (b"PK\x03\x04",), ".mp4": (), ".mov": ()}
CONTENT_TYPES = {".pdf": "application/pdf", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png",
                 ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                 ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                 ".mp4": "video/mp4", ".mov": "video/quicktime"}


def _looks_like(extension: str, head: bytes) -> bool:
    if extension in (".mp4", ".mov"):
        return head[4:8] == b"ftyp"  # ISO base media files open with a 'ftyp' box
    return any(head.startswith(magic) for magic in ARCHIVE_TYPES[extension])


def _retain_until(batch: Batch, medium: str, today: date) -> date:
    """Art. 16: counted from the batch's end (its certificates, else its last exam day)."""
    end = batch.certified_on or batch.last_exam_day or today
    return cal.add_years(end, rules.RETENTION_YEARS[medium])


def _own_batch(session, user_id: int, batch_id: int) -> tuple[User, Batch]:
    user = session.get(User, user_id)
    batch = visible(session, user, batch_id)
    if user.institution_id != batch.institution_id:
        raise Forbidden("评价档案由评价机构自行归档（第十六条）")
    if batch.status == "draft":
        raise Conflict("批次计划报备后才能归档")
    return user, batch


def archive_file(ctx: Context, user_id: int, batch_id: int, item: str, filename: str, stream: BinaryIO) -> int:
    """Store an electronic document of the archive, streamed a chunk at a time to the file store."""
    if item not in rules.ARCHIVE_CHECKLIST:
        raise Invalid({"item": "请选择档案类别"})
    extension = "." + (filename or "").rsplit(".", 1)[-1].lower() if "." in (filename or "") else ""
    if extension not in ARCHIVE_TYPES:
        raise Invalid({"file": "只接受 PDF、JPG、PNG、Word、Excel 或 MP4/MOV 视频文件"})
    with unit_of_work(ctx) as session:
        _own_batch(session, user_id, batch_id)  # refused before a byte is stored
    try:
        stored = ctx.files.put(stream, MAX_ARCHIVE_FILE)
    except TooLarge:
        raise Invalid({"file": "单个档案文件不超过4GB"}) from None
    if stored.size == 0 or not _looks_like(extension, stored.head):
        _forget(ctx, stored.sha256)
        raise Invalid({"file": "文件为空或内容与扩展名不符，请上传原始文件"})
    medium = "video" if extension in (".mp4", ".mov") else "electronic"
    with unit_of_work(ctx) as session:
        user, batch = _own_batch(session, user_id, batch_id)
        row = ArchiveItem(batch_id=batch.id, item=item, medium=medium, filename=filename[:200],
                          content_type=CONTENT_TYPES[extension], size=stored.size, sha256=stored.sha256,
                          uploaded_by=user.id, uploaded_at=ctx.clock.now(),
                          retain_until=_retain_until(batch, medium, ctx.today()))
        session.add(row)
        session.flush()
        audit.record(session, ctx.clock.now(), user, "archived", institution_id=batch.institution_id,
                     data={"batch_id": batch.id, "item": item, "file": row.filename, "sha256": stored.sha256})
        return row.id


def archive_paper(ctx: Context, user_id: int, batch_id: int, item: str, place: str) -> int:
    """Record that a paper original is filed, and where."""
    if item not in rules.ARCHIVE_CHECKLIST:
        raise Invalid({"item": "请选择档案类别"})
    if not (place or "").strip():
        raise Invalid({"place": "请填写纸质原件的存放位置，如 档案室A柜3层"})
    with unit_of_work(ctx) as session:
        user, batch = _own_batch(session, user_id, batch_id)
        row = ArchiveItem(batch_id=batch.id, item=item, medium="paper", note=place.strip()[:300], uploaded_by=user.id,
                          uploaded_at=ctx.clock.now(), retain_until=_retain_until(batch, "paper", ctx.today()))
        session.add(row)
        session.flush()
        audit.record(session, ctx.clock.now(), user, "archived", institution_id=batch.institution_id,
                     data={"batch_id": batch.id, "item": item, "paper": row.note})
        return row.id


@dataclass
class ChecklistLine:
    item: str
    name: str
    kept_as: str  # paper | electronic | video: what the article asks it to be kept as
    documents: list[ArchiveItem]

    @property
    def complete(self) -> bool:
        return bool(self.documents)


def checklist(ctx: Context, user_id: int, batch_id: int) -> list[ChecklistLine]:
    with unit_of_work(ctx) as session:
        read_only(session)
        batch = visible(session, session.get(User, user_id), batch_id)
        rows = session.scalars(select(ArchiveItem).where(ArchiveItem.batch_id == batch.id)
                               .order_by(ArchiveItem.uploaded_at, ArchiveItem.id)).all()
        return [ChecklistLine(item, name, kept_as, [r for r in rows if r.item == item])
                for item, (name, kept_as) in rules.ARCHIVE_CHECKLIST.items()]


def open_archive_file(ctx: Context, user_id: int, archive_id: int) -> tuple[ArchiveItem, BinaryIO]:
    """Whoever may see the batch reads its archive (the institution, its county, the city)."""
    with unit_of_work(ctx) as session:
        read_only(session)
        row = session.get(ArchiveItem, archive_id)
        if row is None or row.sha256 is None:
            raise NotFound("档案文件不存在")
        visible(session, session.get(User, user_id), row.batch_id)
    return row, ctx.files.open(row.sha256)


def delete_archive(ctx: Context, user_id: int, archive_id: int) -> None:
    """Art. 16: nothing leaves the archive before its retention date."""
    with unit_of_work(ctx) as session:
        row = session.get(ArchiveItem, archive_id)
        if row is None:
            raise NotFound("档案不存在")
        _own_batch(session, user_id, row.batch_id)
        if ctx.today() <= row.retain_until:
            years = rules.RETENTION_YEARS[row.medium]
            raise Conflict(f"第十六条：{rules.MEDIA[row.medium]}至少保存{years}年，"
                           f"{row.retain_until:%Y年%m月%d日}前不得删除")
        sha256 = row.sha256
        audit.record(session, ctx.clock.now(), session.get(User, user_id), "archive_deleted",
                     data={"batch_id": row.batch_id, "item": row.item, "sha256": sha256})
        session.delete(row)
    if sha256:
        _forget(ctx, sha256)


def _forget(ctx: Context, sha256: str) -> None:
    """A stored file goes only when no archive entry holds it any more (the same content may be
    archived twice, for two batches)."""
    with unit_of_work(ctx) as session:
        held = session.scalar(select(func.count()).where(ArchiveItem.sha256 == sha256))
    if not held:
        ctx.files.delete(sha256)

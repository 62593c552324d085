"""Files users attach to a form (materials, proofs, evidence): stored before the form is
validated, so an error never loses them; read back only by whoever may see their institution."""
from __future__ import annotations

import hashlib

from ..store.db import read_only
from ..store.models import Attachment, Institution, User
from . import access
from .context import Context, unit_of_work
from .errors import Invalid, NotFound

MAX_ATTACHMENT = 20 * 1024 * 1024
# Accepted types and the bytes their files start with: the browser's claim alone is not trusted.
# Shown in the browser (预览) rather than saved: their type was checked against their first bytes at
# upload, and none of them runs script. Word and Excel files are always downloaded.
PREVIEWABLE = frozenset({"application/pdf", "image/jpeg", "image/png"})
ATTACHMENT_TYPES = {"application/pdf": b"%PDF", "image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG",
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": b"PK\x03\x04",
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": b"PK\x03\x04"}


def upload_attachment(ctx: Context, user_id: int, filename: str, content_type: str, content: bytes) -> int:
    if not content:
        raise Invalid({"file": "文件为空"})
    if len(content) > MAX_ATTACHMENT:
        raise Invalid({"file": "文件超过20MB"})
    if content_type not in ATTACHMENT_TYPES:
        raise Invalid({"file": "只接受PDF、JPG、PNG、Word或Excel文件"})
    if not content.startswith(ATTACHMENT_TYPES[content_type]):
        raise Invalid({"file": "文件内容与文件类型不符，请上传原始文件"})
    with unit_of_work(ctx) as session:
        user = session.get(User, user_id)
        row = Attachment(owner_id=user.id, institution_id=user.institution_id, filename=filename[:200],
                         content_type=content_type, size=len(content),
                         sha256=hashlib.sha256(content).hexdigest(), content=content,
                         created_at=ctx.clock.now())
        session.add(row)
        session.flush()
        return row.id


def download_attachment(ctx: Context, user_id: int, attachment_id: int) -> tuple[Attachment, bytes]:
    """The uploader, its institution, and staff who may see that institution."""
    with unit_of_work(ctx) as session:
        read_only(session)
        user = session.get(User, user_id)
        row = session.get(Attachment, attachment_id)
        institution = session.get(Institution, row.institution_id) if row and row.institution_id else None
        if row is None or not (row.owner_id == user.id or (
                institution is not None and access.can_see_institution(user, institution))):
            raise NotFound("附件不存在")
        return row, row.content


def own_uploads(session, user: User, keys: list[str]) -> list[Attachment] | None:
    """The files `keys` name, if every one is the user's own upload; None if any is not."""
    files = [session.get(Attachment, int(key)) if str(key).isdigit() else None for key in keys]
    return None if any(row is None or row.owner_id != user.id for row in files) else files


def give_to_case(files: list[Attachment], institution_id: int) -> None:
    """Evidence a bureau attaches to a case belongs to its institution from then on: whoever works
    on the case (the city that decides) reads it."""
    for row in files:
        row.institution_id = institution_id

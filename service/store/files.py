"""Where large files live: outside the database, by content hash (Art. 16 archives: photos and
exam videos of every batch, kept five years). One small interface, so an S3-compatible store can
take the disk's place without the use cases noticing."""
from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

CHUNK = 1024 * 1024


class TooLarge(Exception):
    pass


@dataclass(frozen=True)
class Stored:
    sha256: str
    size: int
    head: bytes  # the first bytes, to tell what the file really is


class FileStore(Protocol):
    def put(self, stream: BinaryIO, limit: int) -> Stored: ...
    def open(self, sha256: str) -> BinaryIO: ...
    def delete(self, sha256: str) -> None: ...


class DiskStore:
    """<root>/<aa>/<bb>/<sha256>. A file is written to a temporary name beside its place while it
    is hashed, a chunk at a time (never whole in memory), then renamed into place: a reader never
    sees half a file, and the same content uploaded twice is kept once."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, stream: BinaryIO, limit: int) -> Stored:
        self.root.mkdir(parents=True, exist_ok=True)
        digest, size, head = hashlib.sha256(), 0, b""
        handle, temporary = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise TooLarge(limit)
                    head = head or chunk[:16]
                    digest.update(chunk)
                    out.write(chunk)
            final = self._path(digest.hexdigest())
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temporary, final)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return Stored(digest.hexdigest(), size, head)

    def open(self, sha256: str) -> BinaryIO:
        return self._path(sha256).open("rb")

    def delete(self, sha256: str) -> None:
        self._path(sha256).unlink(missing_ok=True)


def default_root(database_url: str) -> Path:
    """Beside an SQLite database file (the embedded default: one folder holds the install), else
    instance/files; FILE_STORE overrides both."""
    if os.environ.get("FILE_STORE"):
        return Path(os.environ["FILE_STORE"])
    if database_url.startswith("sqlite:///") and not database_url.startswith("sqlite:///:"):
        return Path(database_url.removeprefix("sqlite:///")).parent / "files"
    return Path("instance") / "files"

"""The file store of large files (Art. 16 videos): read a chunk at a time, never whole; stored
under its hash; a file over the limit leaves nothing behind."""
from __future__ import annotations

import hashlib

import pytest

from service.store.files import CHUNK, DiskStore, TooLarge


class Stream:
    """A large upload that is never in memory as a whole: records the largest read asked of it."""

    def __init__(self, size: int):
        self.left, self.largest, self.digest = size, 0, hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        assert n > 0, "the whole stream was asked for at once"
        self.largest = max(self.largest, n)
        chunk = bytes([self.left % 251]) * min(n, self.left)
        self.left -= len(chunk)
        self.digest.update(chunk)
        return chunk


def test_a_large_file_is_stored_a_chunk_at_a_time_under_its_hash(tmp_path):
    store = DiskStore(tmp_path)
    stream = Stream(64 * CHUNK + 123)
    stored = store.put(stream, limit=100 * CHUNK)
    assert stream.largest == CHUNK
    assert stored.sha256 == stream.digest.hexdigest() and stored.size == 64 * CHUNK + 123
    path = tmp_path / stored.sha256[:2] / stored.sha256[2:4] / stored.sha256
    assert path.stat().st_size == stored.size
    with store.open(stored.sha256) as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == stored.sha256
    store.delete(stored.sha256)
    assert not path.exists()


def test_a_file_over_the_limit_leaves_nothing_behind(tmp_path):
    store = DiskStore(tmp_path)
    with pytest.raises(TooLarge):
        store.put(Stream(3 * CHUNK), limit=2 * CHUNK)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_a_name_that_is_not_a_hash_never_reaches_the_disk(tmp_path):
    with pytest.raises(ValueError):
        DiskStore(tmp_path).open("../../etc/passwd")

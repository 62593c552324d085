"""Backup and restore of an install (issue 18): the database and the files it names, in one folder,
with a manifest that lets a restore prove it got back exactly what was saved.

The manifest is taken from the same snapshot as the dump, while the service keeps working: on
PostgreSQL the backup's transaction exports its snapshot to pg_dump and counts in it; on SQLite the
backup API copies the file and the copy is counted. A file reaches the store before the row that
names it commits (store/files.py), so every file the snapshot names is in the store when it is read.

The audit chains' key (AUDIT_KEY) is not in the backup: it is kept apart from the data by design,
and the restored chains verify only with the same key.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import Session

from ..store.files import CHUNK, FileStore
from ..store.migrate import head
from ..store.models import ArchiveItem, Base
from .audit import KEY, verify
from .context import Context

FORMAT = 1
MANIFEST = "manifest.json"
PG_DUMP = "database.dump"  # pg_dump's custom format: compressed, restored with pg_restore
SQLITE_COPY = "database.sqlite"
FILES = "files"


class BackupError(Exception):
    """What stopped a backup or a restore, in words an operator acts on."""


@dataclass
class Outcome:
    folder: Path
    manifest: dict
    problems: list[str] = field(default_factory=list)  # a restore's checks that failed

    def summary(self) -> str:
        m = self.manifest
        rows = sum(m["tables"].values())
        line = (f"{m['database']}，{len(m['tables'])}张表共{rows}行，{m['files']['count']}个文件"
                f"（{m['files']['bytes']}字节），审计链{'完好' if m['audit']['intact'] else '有改动'}"
                f"（{m['audit']['events']}条记录），备份于{m['created_at']}")
        if self.problems:
            return line + "\n恢复后核对不符：\n" + "\n".join(f"- {p}" for p in self.problems)
        return line


# --- backup ---------------------------------------------------------------------------------------

def backup(ctx: Context, folder: Path) -> Outcome:
    """Write the database, the files it names and the manifest into `folder` (new or empty)."""
    if folder.exists() and any(folder.iterdir()):
        raise BackupError(f"备份目录 {folder} 不是空的：请换一个新目录，不覆盖已有的备份")
    folder.mkdir(parents=True, exist_ok=True)
    url = _url(ctx)
    with _snapshot(url, folder) as (connection, dump):
        manifest = _describe(ctx, connection)
        names = _named_files(connection)
    manifest["dump"] = {"file": dump.name, "sha256": _digest(dump), "bytes": dump.stat().st_size}
    manifest["files"] = _copy_files(ctx.files, names, folder / FILES)
    (folder / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return Outcome(folder, manifest)


@contextmanager
def _snapshot(url: str, folder: Path) -> Iterator[tuple[Connection, Path]]:
    """A connection seeing exactly what the dump holds, and the dump's path."""
    if url.startswith("sqlite"):
        dump = folder / SQLITE_COPY
        source = sqlite3.connect(_sqlite_path(url))
        try:
            with sqlite3.connect(dump) as target:
                source.backup(target)
            target.close()
        finally:
            source.close()
        engine = create_engine(f"sqlite:///{dump}")
        try:
            with engine.connect() as connection:
                yield connection, dump
        finally:
            engine.dispose()
        return
    dump = folder / PG_DUMP
    engine = create_engine(url, isolation_level="REPEATABLE READ")
    try:
        with engine.connect() as connection:
            snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            # the exporting transaction stays open until pg_dump has taken the snapshot and finished
            _run(["pg_dump", "--format=custom", f"--snapshot={snapshot}", "--no-owner", "--no-privileges",
                  f"--file={dump}"], url)
            yield connection, dump
            connection.rollback()
    finally:
        engine.dispose()


def _describe(ctx: Context, connection: Connection) -> dict:
    session = Session(bind=connection, info={KEY: ctx.session_factory.kw["info"][KEY]})
    tables = sorted(t.name for t in Base.metadata.sorted_tables)
    counts = {name: connection.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one() for name in tables}
    revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    report = verify(session)
    return {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),  # the real time, not a training clock
        "database": connection.dialect.name,
        "revision": revision,
        "tables": counts,
        "audit": {"intact": report.intact, "events": report.events, "global_head": report.global_head,
                  "case_heads": _heads_digest(report.heads)},
    }


def _named_files(connection: Connection) -> list[str]:
    query = select(ArchiveItem.sha256).where(ArchiveItem.sha256.is_not(None)).distinct()
    return sorted(connection.execute(query).scalars())


def _copy_files(store: FileStore | None, names: list[str], into: Path) -> dict:
    into.mkdir()
    size = 0
    for name in names:
        try:
            source = store.open(name) if store else None
        except FileNotFoundError:
            source = None
        if source is None:
            raise BackupError(f"文件库中缺少数据库记载的文件 {name}（档案文件）：请先查明原因，本次备份未完成")
        with source, (into / name).open("wb") as out:
            shutil.copyfileobj(source, out, CHUNK)
        size += (into / name).stat().st_size
    return {"count": len(names), "bytes": size}


# --- restore --------------------------------------------------------------------------------------

def restore(ctx: Context, folder: Path, replace: bool = False) -> Outcome:
    """Put a backup into this install's database and file store, then check that what is there now
    is what the manifest says was saved. An install that holds data is refused unless `replace`."""
    manifest = _read_manifest(folder)
    url = _url(ctx)
    database = "sqlite" if url.startswith("sqlite") else "postgresql"
    if manifest["database"] != database:
        raise BackupError(f"这份备份来自 {manifest['database']}，不能恢复到 {database} 数据库")
    dump = folder / manifest["dump"]["file"]
    if not dump.is_file() or _digest(dump) != manifest["dump"]["sha256"]:
        raise BackupError(f"{dump.name} 缺失或与清单中的校验值不符：备份已损坏，未作任何恢复")
    files = _checked_files(folder / FILES, manifest)
    engine = ctx.session_factory.kw["bind"]
    engine.dispose()  # nothing of ours may hold the database while it is replaced
    with engine.connect() as connection:
        tables = inspect(connection).get_table_names()
    if tables and not replace:
        raise BackupError(f"目标数据库已有{len(tables)}张表：确认要用备份替换其全部内容时加 --replace")

    if database == "sqlite":
        _restore_sqlite(dump, _sqlite_path(url))
    else:
        _restore_postgresql(dump, url, drop_first=bool(tables))
    engine.dispose()
    for name in files:
        with (folder / FILES / name).open("rb") as stream:
            ctx.files.put(stream, limit=1 << 62)
    return Outcome(folder, manifest, _compare(ctx, manifest))


def _read_manifest(folder: Path) -> dict:
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{folder} 中没有 {MANIFEST}：这不是本系统的备份目录") from None
    except ValueError:
        raise BackupError(f"{folder / MANIFEST} 无法读取：清单已损坏") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"备份格式 {manifest.get('format')} 不是本版本能恢复的格式 {FORMAT}")
    return manifest


def _checked_files(files: Path, manifest: dict) -> list[str]:
    """Every file the backup holds, each checked against its name (its hash) before anything is restored."""
    names = sorted(p.name for p in files.iterdir()) if files.is_dir() else []
    if len(names) != manifest["files"]["count"]:
        raise BackupError(f"备份中有{len(names)}个文件，清单记载{manifest['files']['count']}个：备份不完整")
    for name in names:
        if _digest(files / name) != name:
            raise BackupError(f"备份中的文件 {name} 内容与其校验值不符：备份已损坏，未作任何恢复")
    return names


def _restore_sqlite(dump: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(dump)
    try:
        with sqlite3.connect(target) as destination:
            source.backup(destination)  # page by page under the destination's write lock
        destination.close()
    finally:
        source.close()


def _restore_postgresql(dump: Path, url: str, drop_first: bool) -> None:
    if drop_first:
        engine = create_engine(url)
        try:
            with engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        finally:
            engine.dispose()
    # one transaction: a restore that fails half way leaves the (emptied) database empty, not half full
    _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
          str(dump)], url)


def _compare(ctx: Context, manifest: dict) -> list[str]:
    """What differs between the restored install and the manifest, in words; empty when all agree."""
    problems = []
    with ctx.session_factory() as session:
        connection = session.connection()
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        if revision != manifest["revision"]:
            problems.append(f"数据库版本为 {revision}，备份时为 {manifest['revision']}")
        for name, saved in manifest["tables"].items():
            found = connection.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one()
            if found != saved:
                problems.append(f"表 {name} 有{found}行，备份时{saved}行")
        for name in _named_files(connection):
            try:
                ctx.files.open(name).close()
            except FileNotFoundError:
                problems.append(f"文件库中缺少档案文件 {name}")
        report = verify(session)
        saved_audit = manifest["audit"]
        if report.intact != saved_audit["intact"] or report.events != saved_audit["events"]:
            problems.append(f"审计链：{report.summary()}（备份时{saved_audit['events']}条记录，"
                            f"{'完好' if saved_audit['intact'] else '有改动'}）")
        if (report.global_head, _heads_digest(report.heads)) != (saved_audit["global_head"], saved_audit["case_heads"]):
            problems.append("审计链的链头与备份时不同：恢复的记录不是备份的那一份（或 AUDIT_KEY 不是备份时的密钥）")
    if manifest["revision"] != head():
        problems.append(f"备份的数据库版本 {manifest['revision']} 不是本程序的 {head()}：请运行 upgrade-db")
    return problems


# --- helpers --------------------------------------------------------------------------------------

def _url(ctx: Context) -> str:
    return ctx.session_factory.kw["bind"].url.render_as_string(hide_password=False)


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("内存中的 SQLite 数据库无法备份或恢复")
    return Path(database)


def _libpq(url: str) -> tuple[str, dict]:
    """A libpq address without the password, and the environment that carries it (never on the
    command line, where `ps` shows it to every user of the machine)."""
    parsed = make_url(url)
    env = {"PGPASSWORD": parsed.password} if parsed.password else {}
    return parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def _run(command: list[str], url: str) -> None:
    address, env = _libpq(url)
    command = [*command, f"--dbname={address}"]
    try:
        subprocess.run(command, check=True, capture_output=True, text=True, env={**os.environ, **env})
    except FileNotFoundError:
        raise BackupError(f"找不到 {command[0]}：请安装与服务器同一主版本的 PostgreSQL 客户端") from None
    except subprocess.CalledProcessError as failed:
        raise BackupError(f"{command[0]} 失败（退出码 {failed.returncode}）：{failed.stderr.strip()[:2000]}") from None


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _heads_digest(heads: dict[int, tuple[int, str]]) -> str:
    """Every case's chain (its count and head) in one value, so the manifest stays small."""
    return hashlib.sha256(json.dumps(sorted(heads.items())).encode()).hexdigest()

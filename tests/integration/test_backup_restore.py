"""The restore drill (issue 18): back up, write more, restore into a scratch database with its own
file store; what comes back is the backup's state, the archive files with it, and every audit chain
verifies. A damaged backup is refused before anything is touched; an install holding data is
replaced only when the operator says so. On both databases (pg_dump/pg_restore on PostgreSQL)."""
from __future__ import annotations

import hashlib
import io
import json

import pytest
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.engine import make_url

from service.app import create_app
from service.bootstrap import build_context
from service.store.files import DiskStore
from service.store.models import ArchiveItem, AuditEvent, HumanTask, Institution, ProcessInstance
from service.usecases import backup
from service.usecases.audit import verify_chain
from service.usecases.context import unit_of_work
from tests.batches import CANDIDATE_HEADER, candidates, plan, upload, xlsx
from tests.helpers import Api

VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(64 * 1024) + b"before the backup"
LATER = b"\x00\x00\x00\x18ftypmp42" + bytes(64 * 1024) + b"after the backup"
COUNTED = (Institution, ProcessInstance, HumanTask, AuditEvent, ArchiveItem)


@pytest.fixture
def scratch(database_url, tmp_path):
    """An empty database of the same kind, beside the test database."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path}/restored.db"
        return
    url = make_url(database_url)
    name = f"{url.database}_restore"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")

    def fresh():
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))

    fresh()
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def with_archive(batch_people, ctx):
    """A batch whose plan the county accepted, with an exam video in its archive (the file store)."""
    institution, county = batch_people["inst1"], batch_people["county"]
    started = institution.post("/api/batches").get_json()
    upload(institution, f"/api/batches/{started['batch_id']}/candidates", xlsx(CANDIDATE_HEADER, candidates(2)))
    assert institution.complete(started["task_id"], plan("2025-10-16")).status_code == 200
    county.complete(county.only_task("county_accept_plan")["id"], {"decision": "accept", "opinion": "同意备案。"})
    assert send(institution, started["batch_id"], VIDEO, "考场监控.mp4").status_code == 201
    return started["batch_id"]


def send(api, batch_id, content, filename):
    return api.client.post(f"/api/batches/{batch_id}/archive", headers=api.headers,
                           data={"item": "video", "file": (io.BytesIO(content), filename)})


def counts(context) -> dict[str, int]:
    with unit_of_work(context) as session:
        return {model.__tablename__: session.scalar(select(func.count()).select_from(model)) for model in COUNTED}


@pytest.fixture
def target(scratch, tmp_path):
    """The install a backup is restored into: the scratch database and a file store of its own.
    Its connections are closed before the scratch database is dropped."""
    made = []

    def make(**settings):
        context = build_context(scratch, **settings)
        context.files = DiskStore(tmp_path / "restored-files")
        made.append(context)
        return context

    yield make
    for context in made:
        context.session_factory.kw["bind"].dispose()


def test_a_restore_brings_back_the_backups_state_its_files_and_intact_audit_chains(
        batch_people, with_archive, ctx, scratch, target, tmp_path):
    saved = counts(ctx)
    outcome = backup.backup(ctx, tmp_path / "backup")
    assert outcome.manifest["audit"]["intact"] and outcome.manifest["files"]["count"] == 1
    assert outcome.manifest["database"] == ctx.session_factory.kw["bind"].dialect.name  # pg_dump on PostgreSQL
    assert {name: outcome.manifest["tables"][name] for name in saved} == saved

    # the service goes on after the backup: another video, a new case's rows and audit entries
    assert send(batch_people["inst1"], with_archive, LATER, "复核录像.mp4").status_code == 201
    assert batch_people["inst1"].post("/api/batches").status_code in (200, 201)
    assert counts(ctx) != saved

    restored = target()
    result = backup.restore(restored, tmp_path / "backup")
    assert result.problems == []
    assert counts(restored) == saved  # the rows written after the backup are not there
    with unit_of_work(restored) as session:
        assert verify_chain(session) is None
        files = session.scalars(select(ArchiveItem.sha256)).all()
    assert files == [hashlib.sha256(VIDEO).hexdigest()]
    with restored.files.open(files[0]) as stream:
        assert stream.read() == VIDEO

    # the restored install serves: the county downloads the archived video from it
    app = create_app({"DATABASE_URL": scratch, "SECRET_KEY": "test", "TESTING": True}, context=restored)
    with unit_of_work(restored) as session:
        item_id = session.scalar(select(ArchiveItem.id))
    answer = Api(app, "county").get(f"/api/archive/{item_id}")
    assert answer.status_code == 200 and answer.data == VIDEO
    answer.close()


def test_a_damaged_backup_is_refused_and_the_database_left_untouched(with_archive, ctx, target, tmp_path):
    folder = tmp_path / "backup"
    outcome = backup.backup(ctx, folder)
    dump = folder / outcome.manifest["dump"]["file"]
    damaged = bytearray(dump.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    dump.write_bytes(bytes(damaged))
    restored = target()
    with pytest.raises(backup.BackupError, match="备份已损坏"):
        backup.restore(restored, folder)
    with restored.session_factory() as session:
        assert inspect(session.connection()).get_table_names() == []


def test_a_changed_archive_file_in_the_backup_is_refused(with_archive, ctx, target, tmp_path):
    folder = tmp_path / "backup"
    backup.backup(ctx, folder)
    (video,) = (folder / backup.FILES).iterdir()
    video.write_bytes(LATER)
    with pytest.raises(backup.BackupError, match="内容与其校验值不符"):
        backup.restore(target(), folder)


def test_chains_restored_under_another_audit_key_are_reported(with_archive, ctx, target, tmp_path):
    backup.backup(ctx, tmp_path / "backup")
    result = backup.restore(target(audit_key="k" * 40), tmp_path / "backup")
    assert any("AUDIT_KEY" in problem for problem in result.problems)


def test_the_cli_replaces_an_install_holding_data_only_when_told(with_archive, ctx, scratch, tmp_path, monkeypatch):
    monkeypatch.setenv("FILE_STORE", str(tmp_path / "cli-files"))
    source = create_app({"DATABASE_URL": ctx.session_factory.kw["bind"].url.render_as_string(False),
                         "SECRET_KEY": "test", "TESTING": True}, context=ctx)
    backed = source.test_cli_runner().invoke(args=["backup", "--to", str(tmp_path / "backup")])
    assert backed.exit_code == 0, backed.output
    assert "备份完成" in backed.output
    assert json.loads((tmp_path / "backup" / backup.MANIFEST).read_text())["files"]["count"] == 1
    again = source.test_cli_runner().invoke(args=["backup", "--to", str(tmp_path / "backup")])
    assert again.exit_code == 1 and "不是空的" in again.output  # a backup is never overwritten

    app = create_app({"DATABASE_URL": scratch, "SECRET_KEY": "test", "TESTING": True})
    runner = app.test_cli_runner()
    first = runner.invoke(args=["restore", "--from", str(tmp_path / "backup")])
    assert first.exit_code == 0, first.output
    refused = runner.invoke(args=["restore", "--from", str(tmp_path / "backup")])
    assert refused.exit_code == 1 and "--replace" in refused.output
    replaced = runner.invoke(args=["restore", "--from", str(tmp_path / "backup"), "--replace"])
    assert replaced.exit_code == 0, replaced.output
    assert "已恢复" in replaced.output and "恢复后核对不符" not in replaced.output
    assert (tmp_path / "cli-files").is_dir()
    app.extensions["context"].session_factory.kw["bind"].dispose()

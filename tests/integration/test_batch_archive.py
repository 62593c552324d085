"""A batch's archive (Art. 16): files stored by their hash outside the database and streamed in,
paper originals recorded with their place, the checklist's completeness seen by the county, and
nothing deleted before its retention date (3 years paper, 5 years electronic and video)."""
from __future__ import annotations

import hashlib
import io
from datetime import date, datetime

import pytest
from sqlalchemy import select

from service.processes.batch import archive
from service.store.files import DiskStore
from service.store.models import ArchiveItem, Batch
from service.usecases.context import unit_of_work
from tests.batches import CANDIDATE_HEADER, candidates, plan, upload, xlsx

# an MP4's opening box; kept under the test client's in-memory body limit (the store's streaming
# of large files is tested in tests/unit/test_file_store.py)
VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(300 * 1024)

@pytest.fixture
def people(batch_people):
    return batch_people



@pytest.fixture
def planned(people, ctx):  # noqa: F811
    """A batch whose plan the county accepted, last exam day 2025-10-16."""
    institution, county = people["inst1"], people["county"]
    started = institution.post("/api/batches").get_json()
    upload(institution, f"/api/batches/{started['batch_id']}/candidates", xlsx(CANDIDATE_HEADER, candidates(2)))
    assert institution.complete(started["task_id"], plan("2025-10-16")).status_code == 200
    county.complete(county.only_task("county_accept_plan")["id"], {"decision": "accept", "opinion": "同意备案。"})
    return started["batch_id"]


def send(api, batch_id, item, content, filename):
    return api.client.post(f"/api/batches/{batch_id}/archive", headers=api.headers,
                           data={"item": item, "file": (io.BytesIO(content), filename)})


def test_a_video_is_stored_outside_the_database_by_its_hash_and_kept_five_years(people, planned, ctx):
    institution, county = people["inst1"], people["county"]
    answer = send(institution, planned, "video", VIDEO, "考场监控.mp4")
    assert answer.status_code == 201
    digest = hashlib.sha256(VIDEO).hexdigest()
    assert isinstance(ctx.files, DiskStore)
    path = ctx.files.root / digest[:2] / digest[2:4] / digest
    assert path.read_bytes() == VIDEO
    with unit_of_work(ctx) as session:
        row = session.get(ArchiveItem, answer.get_json()["id"])
        assert (row.medium, row.size, row.retain_until) == ("video", len(VIDEO), date(2030, 10, 16))
    downloaded = county.get(f"/api/archive/{row.id}")  # the county reads the institution's archive
    assert downloaded.status_code == 200 and downloaded.data == VIDEO
    downloaded.close()  # the file is streamed from the store: the response holds it open until closed
    assert people["county_dz"].get(f"/api/archive/{row.id}").status_code == 404

    # the same file again (a second copy for another item) is kept once
    assert send(institution, planned, "photos", b"\xff\xd8\xff\xe0 photo", "现场.jpg").status_code == 201
    assert sum(1 for p in ctx.files.root.rglob("*") if p.is_file()) == 2


def test_a_file_that_is_not_what_its_name_says_is_refused_and_not_kept(people, planned, ctx):
    institution = people["inst1"]
    refused = send(institution, planned, "video", b"MZ\x90\x00 an executable", "监控.mp4")
    assert refused.status_code == 422 and "内容与扩展名不符" in refused.get_json()["errors"]["file"]
    assert send(institution, planned, "video", b"data", "监控.exe").status_code == 422
    assert [p for p in ctx.files.root.rglob("*") if p.is_file()] == []


def test_the_checklist_shows_what_is_missing_and_paper_is_kept_three_years(people, planned, ctx):
    institution, county = people["inst1"], people["county"]
    archive_id = archive.archive_paper(ctx, institution.user["id"], planned, "signup_sheet", "档案室A柜3层")
    lines = {line["item"]: line for line in county.get(f"/api/batches/{planned}/archive").get_json()["items"]}
    assert len(lines) == 11 and lines["signup_sheet"]["complete"] and not lines["video"]["complete"]
    assert lines["signup_sheet"]["documents"][0]["retain_until"] == "2028-10-16"
    assert lines["signup_sheet"]["documents"][0]["note"] == "档案室A柜3层"
    with pytest.raises(archive.Conflict) as refused:
        archive.delete_archive(ctx, institution.user["id"], archive_id)
    assert "2028年10月16日前不得删除" in refused.value.message


def test_after_its_retention_date_a_document_may_go_and_its_file_with_it(people, planned, ctx, clock):
    institution = people["inst1"]
    archive_id = send(institution, planned, "photos", b"\x89PNG\r\n site", "现场.png").get_json()["id"]
    clock.set(datetime(2030, 10, 17, 9, 0))  # 5 years after the last exam day
    archive.delete_archive(ctx, institution.user["id"], archive_id)
    with unit_of_work(ctx) as session:
        assert session.scalars(select(ArchiveItem)).all() == []
    assert [p for p in ctx.files.root.rglob("*") if p.is_file()] == []


def test_only_the_institution_archives_and_not_before_its_plan_is_filed(people, planned, ctx):
    county = people["county"]
    assert send(county, planned, "photos", b"\xff\xd8\xff photo", "现场.jpg").status_code == 403
    started = people["inst1"].post("/api/batches").get_json()  # a second batch, still a draft
    refused = send(people["inst1"], started["batch_id"], "photos", b"\xff\xd8\xff photo", "现场.jpg")
    assert refused.status_code == 409
    with unit_of_work(ctx) as session:
        assert session.get(Batch, started["batch_id"]).status == "draft"

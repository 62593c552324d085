"""Batches in tests (issue 13): ID numbers with their check digit, .xlsx files as users send them,
and a plan that passes every check on 26 Sep 2025 for an exam on 16 Oct."""
from __future__ import annotations

import io

from openpyxl import Workbook

from service.domain.codes import id_number_check_char
from service.processes import batch as batches
from service.usecases import assessors

ELECTRICIAN = "6-31-01-03"  # 电工


def person(serial: int, born: str = "19900101") -> str:
    first17 = f"341702{born}{serial:03d}"
    return first17 + id_number_check_char(first17)


def xlsx(header: list[str], rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


CANDIDATE_HEADER = [c.title for c in batches.CANDIDATE_COLUMNS]
ASSESSOR_HEADER = [c.title for c in assessors.COLUMNS]


def candidates(n: int, level: str = "四级", start: int = 1) -> list[list]:
    digit = {"四级": "4", "二级": "2"}[level]
    return [[f"学员{i}", person(i), "13800000000", ELECTRICIAN, level, f"{digit}-1", "", ""]
            for i in range(start, start + n)]


def assessor_rows(valid_until: str = "2027-12-31", level: str = "二级") -> list[list]:
    return [[f"考评员{i}", person(500 + i, "19700101"), f"KP{i:04d}", ELECTRICIAN, level, valid_until, "否"]
            for i in range(1, 5)]


def upload(api, url: str, content: bytes, filename: str = "名单.xlsx"):
    return api.client.post(url, headers=api.headers, data={"file": (io.BytesIO(content), filename)})


def plan(day: str, assessors: int = 3) -> dict:
    return {"title": "2025年第1批电工认定", "overview": "电工四级理论知识考试和操作技能考核，共3人。",
            "place": "池州市贵池区长江中路1号实训楼", "place_jurisdiction": "341702",
            "modules": [{"kind": "theory", "day": day, "starts": "09:00", "ends": "10:30"},
                        {"kind": "practical", "day": day, "starts": "14:00", "ends": "16:00"}],
            "invigilators": [{"name": "监考甲", "id_number": person(800)}],
            "assessors": [{"name": f"考评员{i}", "id_number": person(500 + i, "19700101")}
                          for i in range(1, assessors + 1)],
            "quality_supervisors": [{"name": "督导乙", "id_number": person(801)}]}


def to_the_scores(people, ctx, clock, count: int = 2) -> int:
    """A batch of `count` candidates planned, accepted by the county, its exam day over: the
    institution enters the scores now. Its id."""
    from datetime import datetime

    from service.usecases.timers import fire_due_timers
    institution, county = people["inst1"], people["county"]
    started = institution.post("/api/batches").get_json()
    upload(institution, f"/api/batches/{started['batch_id']}/candidates", xlsx(CANDIDATE_HEADER, candidates(count)))
    assert institution.complete(started["task_id"], plan("2025-10-16")).status_code == 200
    county.complete(county.only_task("county_accept_plan")["id"], {"decision": "accept", "opinion": "同意备案。"})
    clock.set(datetime(2025, 10, 17, 9, 0))
    fire_due_timers(ctx)
    return started["batch_id"]

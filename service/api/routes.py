"""JSON endpoints under /api. Each route parses, calls one use case and maps its errors."""
from __future__ import annotations

import re
from functools import wraps
from urllib.parse import quote

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, current_app, jsonify, request, send_file, session
from flask_wtf.csrf import generate_csrf
from marshmallow import ValidationError

from ..domain.errors import DomainError
from ..edge import MAX_ID, json_body
from ..engine.errors import DefinitionError
from ..engine.runtime import WorkflowError
from ..processes import (
    batch,
    complaint,
    filing,
    inspection,
    pilot,
    rating,
    revocation,
    scope_change,
    spot_check,
    supervision,
)
from ..processes.batch import archive
from ..usecases import accounts, assessors, assignment, attachments, delegations, tasks, worklists
from ..usecases.errors import Conflict, Forbidden, Invalid, NotFound, SheetRejected, StepFailed
from ..web import log_failure
from ..web.auth import client_address, close_session, current_user, open_session, retry_after
from ..web.batches import xlsx_download
from . import schemas

api = Blueprint("api", __name__, url_prefix="/api")
# Schemas are stateless once built; the hot paths reuse one instance instead of building one per request.
COMPLETE_IN, TASK_OUT, INBOX_QUERY_IN, INBOX_OUT = (schemas.CompleteIn(), schemas.TaskOut(),
                                                     schemas.InboxQueryIn(), schemas.InboxOut())


def ctx():
    return current_app.extensions["context"]


@api.errorhandler(ValidationError)
def _bad_request(error):
    return jsonify(message="请求格式有误，请按 errors 所列修改", errors=_chinese(error.normalized_messages())), 400


# marshmallow's own messages, for the fields whose schema gives none of ours
FIELD_MESSAGES = {"Missing data for required field.": "此项必填", "Field may not be null.": "此项不能为 null",
                  "Not a valid string.": "应为文本", "Not a valid integer.": "应为整数",
                  "Not a valid boolean.": "应为 true 或 false", "Not a valid mapping type.": "应为 JSON 对象",
                  "Not a valid list.": "应为列表", "Not a valid datetime.": "应为日期时间，如 2024-09-02T09:00:00",
                  "Not a valid utf-8 string.": "应为 UTF-8 文本", "Unknown field.": "不接受此字段",
                  "Invalid input type.": "应为 JSON 对象", "Invalid value.": "取值无效"}


def _chinese(messages):
    if isinstance(messages, dict):
        return {key: _chinese(value) for key, value in messages.items()}
    if isinstance(messages, list):
        return [_chinese(value) for value in messages]
    return FIELD_MESSAGES.get(messages, messages)


@api.errorhandler(Invalid)
def _invalid(error):
    return jsonify(message=error.message, errors=error.errors), 422


@api.errorhandler(SheetRejected)
def _sheet_rejected(error):
    """Nothing imported: each problem by row and column, and the user's file with them marked."""
    annotated = f"/api/attachments/{error.annotated_id}" if error.annotated_id else None
    return jsonify(message=error.message, errors=error.errors, rows=error.rows, annotated=annotated), 422


@api.errorhandler(DomainError)
def _domain(error):
    return jsonify(message=error.message, errors={error.field or "_": error.message}), 422


@api.errorhandler(NotFound)
def _not_found(error):
    return jsonify(message=error.message), 404


@api.errorhandler(Forbidden)
def _forbidden(error):
    return jsonify(message=error.message), 403


@api.errorhandler(Conflict)
def _conflict(error):
    return jsonify(message=error.message), 409


@api.errorhandler(StepFailed)
def _step_failed(error):
    """Not the user's fault and not theirs to fix: nothing was submitted, what was sent is kept
    as the task's draft, and the incident is for the city and the analysts."""
    return jsonify(message=error.message, incident_id=error.incident_id, draft_kept=error.incident_id is not None), 500


@api.errorhandler(DefinitionError)
def _definition(error):
    return jsonify(message=str(error), file=error.file, element=error.element, problem=error.problem), 422


@api.errorhandler(WorkflowError)
def _workflow(error):
    cause = error.__cause__
    while cause is not None and not isinstance(cause, DomainError):
        cause = cause.__cause__
    if cause is not None:  # e.g. a calendar year not entered yet: staff must see why, nothing is saved
        return jsonify(message=cause.message), 409
    reference = log_failure("workflow step failed")  # the cause is for the log, never for the user
    return jsonify(message=f"流程执行出错，已记录（错误编号 {reference}），请联系管理员", reference=reference), 500


def login_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if current_user() is None:  # checks the session is still open, not only that the cookie is signed
            return jsonify(message="请先登录"), 401
        return view(*args, **kwargs)
    wrapper.login_required = True
    return wrapper


def doc(*, body=None, query=None, out=None, many=False, status=200, files=(), download=False):
    """What a route takes and answers, for the OpenAPI document (`openapi` below): the schemas
    the route itself loads and dumps."""
    def mark(view):
        view.openapi = {"body": body, "query": query, "out": out, "many": many, "status": status, "files": files,
                        "download": download}
        return view
    return mark


@api.post("/login")
@doc(body=schemas.LoginIn, out=schemas.LoginOut)
def login():
    body = schemas.LoginIn().load(json_body())  # JSON only: a cross-site form cannot log a victim in
    try:
        user = accounts.authenticate(ctx(), body["username"], body["password"], client_address())
    except accounts.LoginThrottled as refused:
        current_app.logger.warning("login refused (throttled): %s from %s", body["username"], client_address())
        return jsonify(message=refused.message, until=refused.until.isoformat()), 429, \
            {"Retry-After": retry_after(refused.until)}
    except accounts.LoginBusy as busy:
        return jsonify(message=busy.message), 503, {"Retry-After": "5"}
    if user is None:
        return jsonify(message="用户名或密码错误"), 401
    open_session(user)
    return jsonify(user=schemas.UserOut().dump(user), csrf_token=generate_csrf())


@api.post("/logout")
@doc(out=schemas.OkOut)
def logout():
    close_session()
    return jsonify(ok=True)


@api.get("/me")
@doc(out=schemas.LoginOut)
@login_required
def me():
    return jsonify(user=schemas.UserOut().dump(accounts.get_user(ctx(), session["user_id"])),
                   csrf_token=generate_csrf())


@api.post("/filings")
@doc(out=schemas.StartedOut, status=201)
@login_required
def start_filing():
    started = filing.start_filing(ctx(), session["user_id"])
    return jsonify(schemas.StartedOut().dump(started)), 201


@api.get("/filings")
@doc(query=schemas.StatusQueryIn, out=schemas.FilingOut, many=True)
@login_required
def list_filings():
    query = schemas.StatusQueryIn().load(request.args)
    rows = filing.list_filings(ctx(), session["user_id"], query["status"], page=query["page"])
    return jsonify(items=schemas.FilingOut(many=True).dump(rows))


@api.get("/filings/<int:filing_id>")
@doc(out=schemas.FilingDetailOut)
@login_required
def filing_detail(filing_id):
    return jsonify(schemas.FilingDetailOut().dump(filing.filing_detail(ctx(), session["user_id"], filing_id)))


@api.post("/attachments")
@doc(files=("file",), out=schemas.IdOut, status=201)
@login_required
def upload_attachment():
    upload = request.files.get("file")
    if upload is None:
        raise Invalid({"file": "请选择文件"})
    attachment_id = attachments.upload_attachment(ctx(), session["user_id"], upload.filename or "file",
                                             upload.mimetype, upload.read())
    return jsonify(id=attachment_id), 201


@api.get("/attachments/<int:attachment_id>")
@doc(download=True)
@login_required
def download_attachment(attachment_id):
    row, content = attachments.download_attachment(ctx(), session["user_id"], attachment_id)
    shown = request.args.get("inline") == "1" and row.content_type in attachments.PREVIEWABLE
    return current_app.response_class(content, mimetype=row.content_type, headers={
        "Content-Disposition": f"{'inline' if shown else 'attachment'}; filename*=UTF-8''{quote(row.filename)}"})


@api.get("/tasks")
@doc(query=schemas.InboxQueryIn, out=schemas.InboxOut)
@login_required
def inbox():
    query = INBOX_QUERY_IN.load(request.args)
    rows, total = tasks.inbox(ctx(), session["user_id"], tasks.InboxQuery(**query))
    return jsonify(INBOX_OUT.dump(
        {"items": rows, "total": total, "page": query["page"], "per_page": query["per_page"]}))


@api.get("/tasks/<int:task_id>")
@doc(out=schemas.TaskDetailOut)
@login_required
def open_task(task_id):
    opened = tasks.open_task(ctx(), session["user_id"], task_id)
    return jsonify(schemas.TaskDetailOut().dump({
        "task": opened.task, "form": opened.form, "data": opened.data}))


@api.post("/tasks/<int:task_id>/claim")
@doc(out=schemas.OkOut)
@login_required
def claim(task_id):
    tasks.claim(ctx(), session["user_id"], task_id)
    return jsonify(ok=True)


@api.post("/tasks/<int:task_id>/unclaim")
@doc(out=schemas.OkOut)
@login_required
def unclaim(task_id):
    tasks.unclaim(ctx(), session["user_id"], task_id)
    return jsonify(ok=True)


@api.post("/tasks/<int:task_id>/transfer")
@doc(body=schemas.TransferIn, out=schemas.OkOut)
@login_required
def transfer(task_id):
    body = schemas.TransferIn().load(json_body())
    assignment.transfer(ctx(), session["user_id"], task_id, body["to_user"], body["reason"])
    return jsonify(ok=True)


@api.post("/tasks/<int:task_id>/copy")
@doc(body=schemas.CopyIn, out=schemas.OkOut)
@login_required
def copy(task_id):
    body = schemas.CopyIn().load(json_body())
    assignment.copy(ctx(), session["user_id"], task_id, body["to_users"], body["note"])
    return jsonify(ok=True)


@api.post("/delegations")
@doc(body=schemas.DelegationIn, out=schemas.IdOut, status=201)
@login_required
def delegate():
    body = schemas.DelegationIn().load(json_body())
    row = delegations.create(ctx(), session["user_id"], body["to_user"], body["starts_on"], body["ends_on"],
                             body["reason"])
    return jsonify(id=row.id), 201


@api.post("/delegations/<int:delegation_id>/end")
@doc(out=schemas.OkOut)
@login_required
def end_delegation(delegation_id):
    delegations.end(ctx(), session["user_id"], delegation_id)
    return jsonify(ok=True)


@api.get("/lists/<any(done, started, copied, cases, overdue):name>")
@doc(query=schemas.ListQueryIn, out=schemas.ListOut)
@login_required
def worklist(name):
    """已办, 我发起的, 抄送我的, 案件查询 and 超期督办, as the pages show them (service/usecases/worklists.py)."""
    query = schemas.ListQueryIn().load(request.args)
    found = worklists.LISTS[name].page(ctx(), session["user_id"], worklists.ListQuery(
        text=query["q"], process=query["process"] or None, step=query["step"] or None,
        status=query["status"] or None, date_from=query["date_from"], date_to=query["date_to"], due=query["due"],
        page=query["page"], per_page=20))
    items = [{key: value.isoformat() if hasattr(value, "isoformat") else value for key, value in row.items()}
             for row in found.rows]
    return jsonify(items=items, total=found.total, page=query["page"])


@api.post("/tasks/<int:task_id>/urge")
@doc(body=schemas.UrgeIn, out=schemas.OkOut)
@login_required
def urge(task_id):
    body = schemas.UrgeIn().load(json_body())
    assignment.urge(ctx(), session["user_id"], task_id, body["note"])
    return jsonify(ok=True)


@api.post("/tasks/<int:task_id>/complete")
@doc(body=schemas.CompleteIn, out=schemas.CompletedOut)
@login_required
def complete(task_id):
    body = COMPLETE_IN.load(json_body())
    task = tasks.complete(ctx(), session["user_id"], task_id, body["data"])
    return jsonify(task=TASK_OUT.dump(task))


@api.put("/tasks/<int:task_id>/draft")
@doc(body=schemas.CompleteIn, out=schemas.OkOut)
@login_required
def save_draft(task_id):
    body = schemas.CompleteIn().load(json_body())
    tasks.save_draft(ctx(), session["user_id"], task_id, body["data"])
    return jsonify(ok=True)


@api.get("/cases/<int:instance_id>/timeline")
@doc(out=schemas.TimelineOut)
@login_required
def timeline(instance_id):
    found = tasks.timeline(ctx(), session["user_id"], instance_id)
    return jsonify(schemas.TimelineOut().dump({
        "instance_id": found.instance.id, "process_id": found.instance.process_id,
        "status": found.instance.status, "institution": found.institution, "events": found.events,
        "next": found.next_tasks,
        "completed_steps": found.completed_steps, "current_steps": found.current_steps}))


@api.get("/filings/<int:filing_id>/receipt")
@doc(out=schemas.ReceiptOut)
@login_required
def receipt(filing_id):
    return jsonify(schemas.ReceiptOut().dump(filing.receipt(ctx(), session["user_id"], filing_id)))


@api.get("/public/institutions")
@doc(query=schemas.DirectoryQueryIn, out=schemas.DirectoryEntryOut, many=True)
def directory():
    args = schemas.DirectoryQueryIn().load(request.args)
    rows = filing.directory(ctx(), args["q"], args["occupation"], args["jurisdiction"], args["kind"],
                            page=args["page"])
    return jsonify(items=schemas.DirectoryEntryOut(many=True).dump(rows))


@api.get("/public/notices")
@doc(query=schemas.PageQueryIn, out=schemas.NoticeOut, many=True)
def notices():
    page = schemas.PageQueryIn().load(request.args)["page"]
    return jsonify(items=schemas.NoticeOut(many=True).dump(filing.open_notices(ctx(), page)))


@api.post("/public/notices/<int:notice_id>/objections")
@doc(body=schemas.ObjectionIn, out=schemas.IdOut, status=201)
def objection(notice_id):
    body = schemas.ObjectionIn().load(json_body())
    objection_id = filing.submit_objection(ctx(), notice_id, body["name"], body["contact"], body["content"])
    return jsonify(id=objection_id), 201


@api.post("/public/results/<int:batch_id>/objections")
@doc(body=schemas.ObjectionIn, out=schemas.IdOut, status=201)
def result_objection(batch_id):
    """Anyone objects to a batch's results while they are in notice (Art. 15.3)."""
    body = schemas.ObjectionIn().load(json_body())
    objection_id = batch.submit_result_objection(ctx(), batch_id, body["name"], body["contact"], body["content"])
    return jsonify(id=objection_id), 201


@api.post("/public/complaints")
@doc(body=schemas.ComplaintIn, out=schemas.IdOut, status=201)
def submit_complaint():
    """投诉举报 (Art. 19): anyone, no login; the county of the jurisdiction gets the case."""
    body = schemas.ComplaintIn().load(json_body())
    complaint_id = complaint.submit_complaint(ctx(), body["jurisdiction_code"], body["institution_id"],
                                              body["institution_name"], body["name"], body["contact"],
                                              body["content"])
    return jsonify(id=complaint_id), 201


@api.post("/scope-changes")
@doc(out=schemas.ScopeChangeStartedOut, status=201)
@login_required
def start_scope_change():
    """变更 (Art. 7): a filed institution asks to add or remove occupations and levels."""
    started = scope_change.start_scope_change(ctx(), session["user_id"])
    return jsonify(schemas.ScopeChangeStartedOut().dump(started)), 201


@api.get("/scope-changes")
@doc(query=schemas.StatusQueryIn, out=schemas.ScopeChangeOut, many=True)
@login_required
def list_scope_changes():
    query = schemas.StatusQueryIn().load(request.args)
    rows = scope_change.list_scope_changes(ctx(), session["user_id"], query["status"], page=query["page"])
    return jsonify(items=schemas.ScopeChangeOut(many=True).dump(rows))


@api.get("/scope-changes/<int:scope_change_id>")
@doc(out=schemas.ScopeChangeDetailOut)
@login_required
def scope_change_detail(scope_change_id):
    found = scope_change.scope_change_detail(ctx(), session["user_id"], scope_change_id)
    return jsonify(schemas.ScopeChangeDetailOut().dump(found))


@api.get("/institution/other-city-filings")
@doc(out=schemas.OtherCityFilingOut, many=True)
@login_required
def other_city_filings():
    """Filings in other cities (Art. 7): an institution sees its own."""
    rows = pilot.other_city_filings(ctx(), session["user_id"])
    return jsonify(items=schemas.OtherCityFilingOut(many=True).dump(rows))


@api.post("/institution/other-city-filings")
@doc(body=schemas.OtherCityFilingIn, out=schemas.IdOut, status=201)
@login_required
def record_other_city_filing():
    """An institution records the filing it obtained in another city, for certifying there (Art. 7)."""
    body = schemas.OtherCityFilingIn().load(json_body())
    row_id = pilot.record_other_city_filing(ctx(), session["user_id"], body["city"], body["filing_code"],
                                            body["valid_until"], body["attachment_id"])
    return jsonify(id=row_id), 201


@api.post("/admin/clock")
@doc(body=schemas.ClockIn, out=schemas.ClockOut)
@login_required
def move_clock():
    """Training instances only: set or advance the shared clock."""
    from ..usecases import clock as clock_case
    body = schemas.ClockIn().load(json_body())
    now = clock_case.move(ctx(), session["user_id"], body["set"], body["advance_days"])  # role first, then values
    return jsonify(now=now.isoformat())


@api.post("/admin/definitions")
@doc(body=schemas.DeployIn, out=schemas.DeployedOut, status=201)
@login_required
def deploy_definitions():
    """Analysts deploy changed BPMN, DMN or form files: {"files": {"bpmn/filing.bpmn": "<xml…>"}}."""
    from ..usecases.definitions import deploy_changes
    body = schemas.DeployIn().load(json_body())
    version_id, is_new = deploy_changes(ctx(), session["user_id"], body["files"])
    return jsonify(version_id=version_id, is_new=is_new), 201 if is_new else 200


@api.get("/admin/definitions")
@doc(query=schemas.DefinitionsQueryIn, out=schemas.DefinitionVersionOut, many=True)
@login_required
def definition_versions():
    from ..usecases.definitions import versions
    rows = versions(ctx(), session["user_id"])
    newest = schemas.DefinitionsQueryIn().load(request.args)["files"] == "latest"
    return jsonify(items=[{"id": v.id, "hash": v.hash, "deployed_at": v.deployed_at.isoformat(),
                           "deployed_by": v.deployed_by, "is_current": v.is_current,
                           "activated_at": v.activated_at.isoformat() if v.activated_at else None,
                           "activated_by": v.activated_by, **({"files": v.files} if newest and i == 0 else {})}
                          for i, v in enumerate(rows)])


@api.get("/admin/schedules")
@doc(out=schemas.ScheduleOut, many=True)
@login_required
def schedules():
    """The processes that start on a schedule (timer start events), when next, and their last occurrences."""
    from ..usecases.schedules import overview
    return jsonify(items=schemas.ScheduleOut(many=True).dump(overview(ctx(), session["user_id"])))


@api.put("/admin/calendar/<int:year>")
@doc(body=schemas.CalendarYearIn, out=schemas.OkOut)
@login_required
def enter_calendar_year(year):
    """An analyst enters a year's State Council holiday arrangement (lines `2027-01-01 休`)."""
    from ..usecases import calendar as calendar_case
    body = schemas.CalendarYearIn().load(json_body())
    calendar_case.enter_year(ctx(), session["user_id"], year, body["text"])
    return jsonify(ok=True)


@api.get("/admin/incidents")
@doc(out=schemas.IncidentOut, many=True)
@login_required
def incidents():
    """Timers that failed after their retries and steps that failed on a submit (city and analysts)."""
    from ..usecases import incidents as incident_cases
    return jsonify(items=schemas.IncidentOut(many=True).dump(incident_cases.open_incidents(ctx(), session["user_id"])))


@api.post("/admin/incidents/<int:timer_id>/retry")
@doc(out=schemas.IncidentOut)
@login_required
def retry_incident(timer_id):
    """A failed timer: back to waiting, attempts 0, due now: the scheduler's next pass fires it."""
    from ..usecases import timers
    return jsonify(schemas.IncidentOut().dump(timers.retry(ctx(), session["user_id"], timer_id)))


@api.post("/admin/incidents/steps/<int:incident_id>/resolve")
@doc(out=schemas.IncidentOut)
@login_required
def resolve_incident(incident_id):
    """A failed step whose cause is fixed: off the list; whoever submitted is told to submit again."""
    from ..usecases import incidents as incident_cases
    return jsonify(schemas.IncidentOut().dump(incident_cases.resolve(ctx(), session["user_id"], incident_id)))


# --- batches (Art. 15) --------------------------------------------------------------------------

def _sheet():
    upload = request.files.get("file")
    if upload is None:
        raise Invalid({"file": "请选择要导入的 Excel 文件"})
    return upload.filename or "导入.xlsx", upload.read()


@api.post("/batches")
@doc(out=schemas.BatchStartedOut, status=201)
@login_required
def start_batch():
    """认定批次 (Art. 15.1): an institution opens a batch; its first task is the plan."""
    started = batch.start_batch(ctx(), session["user_id"])
    return jsonify(schemas.BatchStartedOut().dump(started)), 201


@api.get("/batches")
@doc(query=schemas.StatusQueryIn, out=schemas.BatchOut, many=True)
@login_required
def list_batches():
    query = schemas.StatusQueryIn().load(request.args)
    rows = batch.list_batches(ctx(), session["user_id"], query["status"], page=query["page"])
    return jsonify(items=schemas.BatchOut(many=True).dump(rows))


@api.get("/batches/<int:batch_id>")
@doc(query=schemas.SearchQueryIn, out=schemas.BatchDetailOut)
@login_required
def batch_detail(batch_id):
    """A batch and a page of its candidates (50 a page), searchable by name or ID number."""
    query = schemas.SearchQueryIn().load(request.args)
    found = batch.batch_detail(ctx(), session["user_id"], batch_id, query["q"], query["page"])
    return jsonify(schemas.BatchDetailOut().dump(found))


@api.get("/batches/<int:batch_id>/candidates/template")
@doc(download=True)
@login_required
def candidate_template(batch_id):
    """The candidate sheet to fill in (.xlsx)."""
    return xlsx_download("参加认定人员导入模板.xlsx", batch.candidate_template(ctx(), session["user_id"], batch_id))


@api.post("/batches/<int:batch_id>/candidates")
@doc(files=("file",), out=schemas.ImportedOut)
@login_required
def import_candidates(batch_id):
    """Import the candidates (.xlsx): all rows or none; a refusal names each row and column."""
    imported = batch.import_candidates(ctx(), session["user_id"], batch_id, *_sheet())
    return jsonify(imported=imported)


@api.get("/batches/<int:batch_id>/scores/template")
@doc(download=True)
@login_required
def score_template(batch_id):
    """The score sheet (.xlsx), one row per candidate."""
    return xlsx_download(f"成绩导入-批次{batch_id}.xlsx", batch.score_template(ctx(), session["user_id"], batch_id))


@api.post("/batches/<int:batch_id>/scores")
@doc(files=("file",), out=schemas.ImportedOut)
@login_required
def import_scores(batch_id):
    """Import the scores (.xlsx): all rows or none."""
    imported = batch.import_scores(ctx(), session["user_id"], batch_id, *_sheet())
    return jsonify(imported=imported)


@api.post("/batches/<int:batch_id>/scores/entries")
@doc(body=schemas.ScoreEntriesIn, out=schemas.ImportedOut)
@login_required
def enter_scores(batch_id):
    """Scores typed in, by candidate row: {"scores": {"2": {"theory": "88", "practical": "缺考"}}}; all or none."""
    body = schemas.ScoreEntriesIn().load(json_body())
    entries = {int(row): {k: str(v) for k, v in marks.items()} for row, marks in body["scores"].items()}
    return jsonify(imported=batch.enter_scores(ctx(), session["user_id"], batch_id, entries))


@api.get("/batches/<int:batch_id>/export/<any(signup, results, certificates):table>")
@doc(download=True)
@login_required
def export_batch(batch_id, table):
    """报名汇总表 (signup), 结果汇总表 (results) or 合格人员证书信息表 (certificates) as .xlsx."""
    return xlsx_download(*batch.export(ctx(), session["user_id"], batch_id, table))


@api.post("/batches/<int:batch_id>/archive")
@doc(files=("file",), out=schemas.IdOut, status=201)
@login_required
def archive_file(batch_id):
    """Art. 16: archive a document of the batch (form field `item`, a checklist key; up to 4 GB, streamed)."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise Invalid({"file": "请选择文件"})
    archive_id = archive.archive_file(ctx(), session["user_id"], batch_id, request.form.get("item", ""),
                                      upload.filename, upload.stream)
    return jsonify(id=archive_id), 201


@api.get("/batches/<int:batch_id>/archive")
@doc(out=schemas.ChecklistLineOut, many=True)
@login_required
def archive_checklist(batch_id):
    """The batch's archive against the Art. 16 checklist: what is kept, and what is missing."""
    return jsonify(items=schemas.ChecklistLineOut(many=True).dump(archive.checklist(ctx(), session["user_id"],
                                                                                       batch_id)))


@api.get("/archive/<int:archive_id>")
@doc(download=True)
@login_required
def archive_download(archive_id):
    row, stream = archive.open_archive_file(ctx(), session["user_id"], archive_id)
    return send_file(stream, mimetype=row.content_type, as_attachment=True, download_name=row.filename)


@api.post("/batches/<int:batch_id>/inspections")
@doc(body=schemas.InspectorIn, out=schemas.IdOut, status=201)
@login_required
def assign_inspector(batch_id):
    """Art. 15.2: the county or the city sends an inspector to a batch; the task is the inspector's own."""
    body = schemas.InspectorIn().load(json_body())
    return jsonify(id=inspection.assign_inspector(ctx(), session["user_id"], batch_id, body["inspector_id"])), 201


@api.get("/batches/<int:batch_id>/inspections")
@doc(out=schemas.InspectionOut, many=True)
@login_required
def list_inspections(batch_id):
    rows = inspection.inspections_of(ctx(), session["user_id"], batch_id)
    return jsonify(items=schemas.InspectionOut(many=True).dump(rows))


@api.post("/supervision")
@doc(body=schemas.SupervisionCaseIn, out=schemas.IdOut, status=201)
@login_required
def open_supervision_case():
    """Art. 19: the county (its own) or the city opens a case: a media report, a data check, daily supervision."""
    body = schemas.SupervisionCaseIn().load(json_body())
    case_id = supervision.open_case(ctx(), session["user_id"], body["institution_id"], body["source"], body["facts"],
                                    body["evidence"])
    return jsonify(id=case_id), 201


@api.get("/supervision")
@doc(out=schemas.SupervisionCaseOut, many=True)
@login_required
def supervision_cases():
    return jsonify(items=schemas.SupervisionCaseOut(many=True).dump(supervision.cases(ctx(), session["user_id"])))


@api.get("/institutions/<int:institution_id>/measures")
@doc(out=schemas.MeasureOut, many=True)
@login_required
def institution_measures(institution_id):
    """The measures on an institution's record (Art. 20): its county, the city, the institution itself."""
    rows = supervision.measures_of(ctx(), session["user_id"], institution_id)
    return jsonify(items=schemas.MeasureOut(many=True).dump(rows))


@api.get("/public/measures")
@doc(out=schemas.PublicMeasureOut, many=True)
def public_measures():
    """一公开 (Art. 21): criticisms and suspensions, for everyone."""
    return jsonify(items=schemas.PublicMeasureOut(many=True).dump(supervision.public_measures(ctx())))


@api.post("/spot-checks")
@doc(body=schemas.SpotCheckDrawIn, out=schemas.IdOut, status=201)
@login_required
def draw_spot_checks():
    """双随机 (Art. 21): the city across the city, a county within its own; the plan is public at once."""
    body = schemas.SpotCheckDrawIn().load(json_body())
    title = body.pop("title")
    return jsonify(id=spot_check.draw_plan(ctx(), session["user_id"], title, **body)), 201


@api.get("/public/spot-checks/<int:plan_id>")
@doc(out=schemas.SpotCheckPlanOut)
def spot_check_plan(plan_id):
    """一公开 (Art. 21): a plan, its seed and inputs, the institutions drawn and their results."""
    return jsonify(schemas.SpotCheckPlanOut().dump(spot_check.plan_view(ctx(), plan_id)))


@api.post("/revocations")
@doc(body=schemas.RevocationCaseIn, out=schemas.IdOut, status=201)
@login_required
def open_revocation():
    """Art. 22.3, .4, .5, .8: the county (its own) or the city proposes; the city decides."""
    body = schemas.RevocationCaseIn().load(json_body())
    return jsonify(id=revocation.open_case(ctx(), session["user_id"], body["institution_id"], body["ground"],
                                           body["facts"], body["evidence"])), 201


@api.post("/institution/withdrawal")
@doc(body=schemas.WithdrawalIn, out=schemas.IdOut, status=201)
@login_required
def apply_withdrawal():
    """Art. 22.1 自愿退出: the institution applies; its county and the city decide."""
    body = schemas.WithdrawalIn().load(json_body())
    return jsonify(id=revocation.apply_withdrawal(ctx(), session["user_id"], body["reason"])), 201


@api.get("/revocations")
@doc(out=schemas.RevocationCaseOut, many=True)
@login_required
def revocation_cases():
    return jsonify(items=schemas.RevocationCaseOut(many=True).dump(revocation.cases(ctx(), session["user_id"])))


@api.get("/ratings")
@doc(out=schemas.RatingOut, many=True)
@login_required
def ratings():
    """Art. 21: the ratings a user may see, by year and stars (an institution its own history)."""
    year = request.args.get("year", type=int)
    return jsonify(items=schemas.RatingOut(many=True).dump(rating.ratings(ctx(), session["user_id"], year)))


@api.post("/admin/assessors")
@doc(files=("file",), out=schemas.AssessorsImportedOut)
@login_required
def import_assessors():
    """The city imports the assessor registry (.xlsx): all rows or none."""
    done = assessors.import_assessors(ctx(), session["user_id"], *_sheet())
    return jsonify(added=done.added, updated=done.updated)


@api.get("/admin/assessors")
@doc(query=schemas.SearchQueryIn, out=schemas.AssessorOut, many=True)
@login_required
def list_assessors():
    query = schemas.SearchQueryIn().load(request.args)
    rows, total = assessors.list_assessors(ctx(), session["user_id"], query["q"], query["page"])
    return jsonify(items=schemas.AssessorOut(many=True).dump(rows), total=total)


@api.get("/public/certificates")
@doc(query=schemas.CertificateQueryIn, out=schemas.CertificateOut)
def look_up_certificate():
    """Anyone checks a certificate by its number and the holder's name (no ID number shown)."""
    query = schemas.CertificateQueryIn().load(request.args)
    found = batch.look_up_certificate(ctx(), query["number"], query["name"])
    return jsonify(schemas.CertificateOut().dump(found))


@api.get("/openapi.json")
def openapi():
    """This API as OpenAPI 3: paths with their parameters, bodies and answers, from the schemas."""
    return jsonify(openapi_document(current_app.url_map, current_app.view_functions))


PATH_PARAMETER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
ERRORS = {"description": "拒绝或出错：message 说明原因（中文）；errors 按字段列出问题；reference 为错误编号",
          "content": {"application/json": {"schema": "ErrorOut"}}}


def openapi_document(url_map, views) -> dict:
    spec = APISpec(title="技能人才评价机构管理 API", version="1.0.0", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()],
                   info={"description": "登录后（POST /api/login）以 Cookie 保持会话；写操作须带请求头 "
                                        "X-CSRFToken（登录返回的 csrf_token）。请求体一律为 JSON"
                                        "（Content-Type: application/json）。"})
    spec.components.schema("ErrorOut", schema=schemas.ErrorOut)
    spec.components.security_scheme("session", {"type": "apiKey", "in": "cookie", "name": "session"})
    for rule in sorted(url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith("/api/"):
            continue
        view = views[rule.endpoint]
        described = getattr(view, "openapi", {})
        parameters = [{"in": "path", "name": name, "required": True,
                       "schema": {"type": "integer", "minimum": 0, "maximum": MAX_ID} if kind == "int"
                       else {"type": "string"}} for kind, name in PATH_PARAMETER.findall(rule.rule)]
        if described.get("query"):
            parameters.append({"in": "query", "schema": described["query"]})
        operations = {}
        for method in sorted(m.lower() for m in rule.methods - {"HEAD", "OPTIONS"}):
            operation = {"operationId": rule.endpoint.removeprefix("api."),
                         "summary": (view.__doc__ or rule.endpoint).strip().splitlines()[0],
                         "parameters": parameters, "responses": {**_answer(described), "default": ERRORS}}
            if described.get("body"):
                operation["requestBody"] = {"required": True,
                                            "content": {"application/json": {"schema": described["body"]}}}
            elif described.get("files"):
                operation["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": {
                    "type": "object", "required": list(described["files"]),
                    "properties": {name: {"type": "string", "format": "binary"} for name in described["files"]}}}}}
            if getattr(view, "login_required", False):
                operation["security"] = [{"session": []}]
            operations[method] = operation
        spec.path(path=PATH_PARAMETER.sub(lambda m: "{" + m.group(2) + "}", rule.rule), operations=operations)
    return spec.to_dict()


def _answer(described: dict) -> dict:
    if described.get("download"):
        return {"200": {"description": "文件内容", "content": {"application/octet-stream": {
            "schema": {"type": "string", "format": "binary"}}}}}
    out = described.get("out")
    if out is None:
        return {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}}
    schema = {"type": "object", "properties": {"items": {"type": "array", "items": out}}} if described["many"] else out
    return {str(described["status"]): {"description": "OK", "content": {"application/json": {"schema": schema}}}}

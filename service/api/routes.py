"""JSON endpoints under /api. Each route parses, calls one use case and maps its errors."""
from __future__ import annotations

from datetime import timedelta
from functools import wraps
from urllib.parse import quote

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, current_app, jsonify, request, session
from flask_wtf.csrf import generate_csrf
from marshmallow import ValidationError

from ..domain.errors import DomainError
from ..engine.errors import DefinitionError
from ..engine.runtime import WorkflowError
from ..usecases import accounts, complaint, filing, pilot, scope_change, tasks
from ..usecases.errors import Conflict, Forbidden, Invalid, NotFound
from . import schemas

api = Blueprint("api", __name__, url_prefix="/api")
# Schemas are stateless once built; the hot paths reuse one instance instead of building one per request.
COMPLETE_IN, TASK_OUT, INBOX_QUERY_IN, INBOX_OUT = (schemas.CompleteIn(), schemas.TaskOut(),
                                                     schemas.InboxQueryIn(), schemas.InboxOut())


def ctx():
    return current_app.extensions["context"]


@api.errorhandler(ValidationError)
def _bad_request(error):
    return jsonify(message="请求格式有误", errors=error.normalized_messages()), 400


@api.errorhandler(Invalid)
def _invalid(error):
    return jsonify(message=error.message, errors=error.errors), 422


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
    current_app.logger.exception("workflow step failed")
    return jsonify(message=f"流程执行出错，已记录，请联系管理员：{error}"), 500


def login_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if "user_id" not in session:
            return jsonify(message="请先登录"), 401
        return view(*args, **kwargs)
    return wrapper


@api.post("/login")
def login():
    body = schemas.LoginIn().load(request.get_json(force=True, silent=True) or {})
    user = accounts.authenticate(ctx(), body["username"], body["password"])
    if user is None:
        return jsonify(message="用户名或密码错误"), 401
    session.clear()
    session["user_id"] = user.id
    return jsonify(user=schemas.UserOut().dump(user), csrf_token=generate_csrf())


@api.post("/logout")
def logout():
    session.clear()
    return jsonify(ok=True)


@api.get("/me")
@login_required
def me():
    return jsonify(user=schemas.UserOut().dump(accounts.get_user(ctx(), session["user_id"])),
                   csrf_token=generate_csrf())


@api.post("/filings")
@login_required
def start_filing():
    started = filing.start_filing(ctx(), session["user_id"])
    return jsonify(schemas.StartedOut().dump(started)), 201


@api.get("/filings")
@login_required
def list_filings():
    rows = filing.list_filings(ctx(), session["user_id"], request.args.get("status", ""),
                               page=max(1, request.args.get("page", 1, type=int)))
    return jsonify(items=schemas.FilingOut(many=True).dump(rows))


@api.get("/filings/<int:filing_id>")
@login_required
def filing_detail(filing_id):
    return jsonify(schemas.FilingDetailOut().dump(filing.filing_detail(ctx(), session["user_id"], filing_id)))


@api.post("/attachments")
@login_required
def upload_attachment():
    upload = request.files.get("file")
    if upload is None:
        raise Invalid({"file": "请选择文件"})
    attachment_id = filing.upload_attachment(ctx(), session["user_id"], upload.filename or "file",
                                             upload.mimetype, upload.read())
    return jsonify(id=attachment_id), 201


@api.get("/attachments/<int:attachment_id>")
@login_required
def download_attachment(attachment_id):
    row, content = filing.download_attachment(ctx(), session["user_id"], attachment_id)
    return current_app.response_class(content, mimetype=row.content_type, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(row.filename)}"})


@api.get("/tasks")
@login_required
def inbox():
    query = INBOX_QUERY_IN.load(request.args)
    rows, total = tasks.inbox(ctx(), session["user_id"], tasks.InboxQuery(**query))
    return jsonify(INBOX_OUT.dump(
        {"items": rows, "total": total, "page": query["page"], "per_page": query["per_page"]}))


@api.get("/tasks/<int:task_id>")
@login_required
def open_task(task_id):
    opened = tasks.open_task(ctx(), session["user_id"], task_id)
    return jsonify(schemas.TaskDetailOut().dump({
        "task": opened.task, "form": opened.form, "data": opened.data}))


@api.post("/tasks/<int:task_id>/claim")
@login_required
def claim(task_id):
    tasks.claim(ctx(), session["user_id"], task_id)
    return jsonify(ok=True)


@api.post("/tasks/<int:task_id>/unclaim")
@login_required
def unclaim(task_id):
    tasks.unclaim(ctx(), session["user_id"], task_id)
    return jsonify(ok=True)


@api.post("/tasks/<int:task_id>/complete")
@login_required
def complete(task_id):
    body = COMPLETE_IN.load(request.get_json(force=True, silent=True) or {})
    task = tasks.complete(ctx(), session["user_id"], task_id, body["data"])
    return jsonify(task=TASK_OUT.dump(task))


@api.put("/tasks/<int:task_id>/draft")
@login_required
def save_draft(task_id):
    body = schemas.CompleteIn().load(request.get_json(force=True, silent=True) or {})
    tasks.save_draft(ctx(), session["user_id"], task_id, body["data"])
    return jsonify(ok=True)


@api.get("/cases/<int:instance_id>/timeline")
@login_required
def timeline(instance_id):
    found = tasks.timeline(ctx(), session["user_id"], instance_id)
    return jsonify(schemas.TimelineOut().dump({
        "instance_id": found.instance.id, "process_id": found.instance.process_id,
        "status": found.instance.status, "events": found.events, "next": found.next_tasks,
        "completed_steps": found.completed_steps, "current_steps": found.current_steps}))


@api.get("/filings/<int:filing_id>/receipt")
@login_required
def receipt(filing_id):
    return jsonify(schemas.ReceiptOut().dump(filing.receipt(ctx(), session["user_id"], filing_id)))


@api.get("/public/institutions")
def directory():
    args = request.args
    rows = filing.directory(ctx(), args.get("q", ""), args.get("occupation", ""), args.get("jurisdiction", ""),
                            args.get("kind", ""), page=max(1, args.get("page", 1, type=int)))
    return jsonify(items=schemas.DirectoryEntryOut(many=True).dump(rows))


@api.get("/public/notices")
def notices():
    page = max(1, request.args.get("page", 1, type=int))
    return jsonify(items=schemas.NoticeOut(many=True).dump(filing.open_notices(ctx(), page)))


@api.post("/public/notices/<int:notice_id>/objections")
def objection(notice_id):
    body = schemas.ObjectionIn().load(request.get_json(force=True, silent=True) or {})
    objection_id = filing.submit_objection(ctx(), notice_id, body["name"], body["contact"], body["content"])
    return jsonify(id=objection_id), 201


@api.post("/public/complaints")
def submit_complaint():
    """投诉举报 (Art. 19): anyone, no login; the county of the jurisdiction gets the case."""
    body = schemas.ComplaintIn().load(request.get_json(force=True, silent=True) or {})
    complaint_id = complaint.submit_complaint(ctx(), body["jurisdiction_code"], body["institution_id"],
                                              body["institution_name"], body["name"], body["contact"],
                                              body["content"])
    return jsonify(id=complaint_id), 201


@api.post("/scope-changes")
@login_required
def start_scope_change():
    """变更 (Art. 7): a filed institution asks to add or remove occupations and levels."""
    started = scope_change.start_scope_change(ctx(), session["user_id"])
    return jsonify(schemas.ScopeChangeStartedOut().dump(started)), 201


@api.get("/scope-changes")
@login_required
def list_scope_changes():
    rows = scope_change.list_scope_changes(ctx(), session["user_id"], request.args.get("status", ""),
                                           page=max(1, request.args.get("page", 1, type=int)))
    return jsonify(items=schemas.ScopeChangeOut(many=True).dump(rows))


@api.get("/scope-changes/<int:scope_change_id>")
@login_required
def scope_change_detail(scope_change_id):
    found = scope_change.scope_change_detail(ctx(), session["user_id"], scope_change_id)
    return jsonify(schemas.ScopeChangeDetailOut().dump(found))


@api.get("/institution/other-city-filings")
@login_required
def other_city_filings():
    """Filings in other cities (Art. 7): an institution sees its own."""
    rows = pilot.other_city_filings(ctx(), session["user_id"])
    return jsonify(items=schemas.OtherCityFilingOut(many=True).dump(rows))


@api.post("/institution/other-city-filings")
@login_required
def record_other_city_filing():
    """An institution records the filing it obtained in another city, for certifying there (Art. 7)."""
    body = schemas.OtherCityFilingIn().load(request.get_json(force=True, silent=True) or {})
    row_id = pilot.record_other_city_filing(ctx(), session["user_id"], body["city"], body["filing_code"],
                                            body["valid_until"], body["attachment_id"])
    return jsonify(id=row_id), 201


@api.post("/admin/clock")
@login_required
def move_clock():
    """Training instances only: set or advance the shared clock."""
    from ..usecases import clock as clock_case
    body = schemas.ClockIn().load(request.get_json(force=True, silent=True) or {})
    now = clock_case.move(ctx(), session["user_id"], body["set"],
                          timedelta(days=body["advance_days"]) if body["advance_days"] else None)
    return jsonify(now=now.isoformat())


@api.post("/admin/definitions")
@login_required
def deploy_definitions():
    """Analysts deploy changed BPMN, DMN or form files: {"files": {"bpmn/filing.bpmn": "<xml…>"}}."""
    from ..usecases.definitions import deploy_changes
    body = schemas.DeployIn().load(request.get_json(force=True, silent=True) or {})
    version_id, is_new = deploy_changes(ctx(), session["user_id"], body["files"])
    return jsonify(version_id=version_id, is_new=is_new), 201 if is_new else 200


@api.get("/admin/definitions")
@login_required
def definition_versions():
    from ..usecases.definitions import versions
    rows = versions(ctx(), session["user_id"])
    newest = request.args.get("files") == "latest"
    return jsonify(items=[{"id": v.id, "hash": v.hash, "deployed_at": v.deployed_at.isoformat(),
                           "deployed_by": v.deployed_by, "is_current": v.is_current,
                           "activated_at": v.activated_at.isoformat() if v.activated_at else None,
                           "activated_by": v.activated_by, **({"files": v.files} if newest and i == 0 else {})}
                          for i, v in enumerate(rows)])


@api.put("/admin/calendar/<int:year>")
@login_required
def enter_calendar_year(year):
    """An analyst enters a year's State Council holiday arrangement (lines `2027-01-01 休`)."""
    from ..usecases import calendar as calendar_case
    body = schemas.CalendarYearIn().load(request.get_json(force=True, silent=True) or {})
    calendar_case.enter_year(ctx(), session["user_id"], year, body["text"])
    return jsonify(ok=True)


@api.get("/admin/incidents")
@login_required
def incidents():
    """Timers that failed after their retries (city and analysts)."""
    from ..usecases import timers
    return jsonify(items=schemas.IncidentOut(many=True).dump(timers.incidents(ctx(), session["user_id"])))


@api.post("/admin/incidents/<int:timer_id>/retry")
@login_required
def retry_incident(timer_id):
    """Back to waiting, attempts 0, due now: the scheduler's next pass fires it."""
    from ..usecases import timers
    return jsonify(schemas.IncidentOut().dump(timers.retry(ctx(), session["user_id"], timer_id)))


@api.get("/openapi.json")
def openapi():
    spec = APISpec(title="技能人才评价机构管理 API", version="1.0.0", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()])
    for name in ("LoginIn", "UserOut", "InboxOut", "TaskDetailOut", "CompleteIn", "StartedOut",
                 "TimelineOut", "DirectoryEntryOut", "NoticeOut", "ObjectionIn", "ComplaintIn", "ReceiptOut", "ClockIn",
                 "CalendarYearIn", "DeployIn", "FilingOut", "FilingDetailOut", "IncidentOut", "OtherCityFilingIn",
                 "OtherCityFilingOut", "ScopeChangeStartedOut", "ScopeChangeOut", "ScopeChangeDetailOut"):
        spec.components.schema(name, schema=getattr(schemas, name))
    for rule in current_app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            methods = sorted(m.lower() for m in rule.methods - {"HEAD", "OPTIONS"})
            path = rule.rule.replace("<int:", "{").replace(">", "}")
            spec.path(path=path, operations={m: {"summary": rule.endpoint,
                                                 "responses": {"200": {"description": "OK"}}}
                                             for m in methods})
    return jsonify(spec.to_dict())

"""Staff and institution clerks at work: the task inbox, a task's page, a case's page."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for

from ..processes.batch import archive
from ..usecases import assignment, attachments, notifications, tasks
from ..usecases.access import HIDDEN_FROM_INSTITUTIONS, PERSONAL_ROLES
from ..usecases.errors import Conflict, Invalid, StepFailed
from . import schema_form
from .auth import ctx, current_user, login_required, safe_path

work = Blueprint("work", __name__)
PER_PAGE = 20


def _inbox_query(args) -> tasks.InboxQuery:
    return tasks.InboxQuery(
        process=args.get("process") or None, step=args.get("step") or None,
        jurisdiction=args.get("jurisdiction") or None,
        due=args.get("due") if args.get("due") in ("soon", "overdue") else None,
        mine=args.get("mine") == "1", sort="due" if args.get("sort") == "due" else "created",
        page=max(1, args.get("page", 1, type=int)), per_page=PER_PAGE)


@work.get("/inbox")
@login_required
def inbox():
    user = current_user()
    query = _inbox_query(request.args)
    rows, total = tasks.inbox(ctx(), user.id, query)
    counts = tasks.inbox_counts(ctx(), user.id)
    filters = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("inbox.html", rows=rows, total=total, query=query, counts=counts, filters=filters,
                           pages=max(1, -(-total // PER_PAGE)), messages=notifications.recent(ctx(), user.id, 5))


@work.get("/messages")
@login_required
def messages():
    return render_template("messages.html", messages=notifications.recent(ctx(), current_user().id))


@work.get("/messages/<int:message_id>")
@login_required
def open_message(message_id):
    """A message opened is read; it leads to what it is about."""
    link = notifications.open_message(ctx(), current_user().id, message_id)
    return redirect(safe_path(link, url_for("work.messages")))


@work.get("/cases/<int:instance_id>/next")
@login_required
def next_step(instance_id):
    """Where a message about a case leads: the user's own open task in it, else the case."""
    user = current_user()
    task_id = tasks.my_open_task(ctx(), user.id, instance_id)
    if task_id is not None:
        return redirect(url_for("work.task", task_id=task_id))
    return redirect(url_for("work.case", instance_id=instance_id))


@work.post("/messages/read")
@login_required
def read_messages():
    notifications.mark_all_read(ctx(), current_user().id)
    return redirect(url_for("work.messages"))


@work.post("/tasks/<int:task_id>/claim")
@login_required
def claim(task_id):
    _act(lambda: tasks.claim(ctx(), current_user().id, task_id), "已签收，其他同事将看到由您办理")
    return redirect(safe_path(request.form.get("back"), url_for("work.task", task_id=task_id)))


@work.post("/tasks/<int:task_id>/unclaim")
@login_required
def unclaim(task_id):
    _act(lambda: tasks.unclaim(ctx(), current_user().id, task_id), "已取消签收，任务回到本岗位待办")
    return redirect(safe_path(request.form.get("back"), url_for("work.task", task_id=task_id)))


@work.post("/tasks/<int:task_id>/transfer")
@login_required
def transfer(task_id):
    """转办: on success the task has left the user's hands, so back to the inbox."""
    to_user = request.form.get("to_user", type=int) or 0
    if _act(lambda: assignment.transfer(ctx(), current_user().id, task_id, to_user, request.form.get("reason", "")),
            "已转办，对方已收到消息"):
        return redirect(url_for("work.inbox"))
    return redirect(url_for("work.task", task_id=task_id))


@work.post("/tasks/<int:task_id>/copy")
@login_required
def copy(task_id):
    recipients = [int(v) for v in request.form.getlist("to_users") if v.isdigit()]
    _act(lambda: assignment.copy(ctx(), current_user().id, task_id, recipients, request.form.get("note", "")),
         "已抄送，对方可在“抄送我的”中查看本案件")
    return redirect(url_for("work.task", task_id=task_id))


@work.post("/tasks/<int:task_id>/urge")
@login_required
def urge(task_id):
    _act(lambda: assignment.urge(ctx(), current_user().id, task_id, request.form.get("note", "")),
         "已催办，办理人已收到消息")
    return redirect(safe_path(request.form.get("back"), url_for("lists.show", name="overdue")))


def _act(action, done: str) -> bool:
    try:
        action()
        flash(done, "info")
        return True
    except Conflict as error:
        flash(error.message, "error")
    except Invalid as invalid:
        flash("；".join(invalid.errors.values()), "error")
    return False


def _task_page(task_id: int, typed: dict | None = None, errors: dict | None = None, status: int = 200):
    opened = tasks.open_task(ctx(), current_user().id, task_id, typed)
    prefill = opened.form.get("x-ui", {}).get("prefill", {})
    data = dict(opened.data)
    for target, source in prefill.items():  # e.g. the city's approved scope starts as the requested one
        if typed is None and target not in data and source in data:
            data[target] = data[source]
    user = current_user()
    can_transfer = (opened.task.state == "open" and user.role in ("county", "city", "province")
                    and opened.task.role not in PERSONAL_ROLES and opened.task.claimed_by in (None, user.id))
    return render_template("task.html", t=opened, data=data, errors=errors or {}, attachments=opened.attachments,
                           groups=schema_form.groups(opened.form),
                           colleagues=assignment.colleagues(ctx(), user.id, task_id) if can_transfer else [],
                           recipients=assignment.copy_recipients(ctx(), user.id, task_id)
                           if user.role in assignment.COPY_ROLES else []), status


@work.get("/tasks/<int:task_id>")
@login_required
def task(task_id):
    return _task_page(task_id)


@work.post("/tasks/<int:task_id>")
@login_required
def act_on_task(task_id):
    """Submit (提交) or keep as a draft (暂存). Whatever fails, the page comes back with
    everything the user typed and each problem next to its field."""
    user = current_user()
    opened = tasks.open_task(ctx(), user.id, task_id)
    typed = schema_form.read(opened.form, request.form)
    errors = _upload_attachments(opened.form, typed)
    try:
        if request.form.get("action") == "draft":
            tasks.save_draft(ctx(), user.id, task_id, typed)
            if errors:  # kept, but a file that was refused must be said
                flash("已暂存；以下附件未能上传，请重新选择", "error")
                return _task_page(task_id, typed, errors, 422)
            flash("已暂存，下次打开时可继续填写", "info")
            return redirect(url_for("work.task", task_id=task_id))
        if errors:
            raise Invalid(errors)
        tasks.complete(ctx(), user.id, task_id, typed)
    except Invalid as invalid:
        _keep_as_draft(user.id, task_id, typed)
        flash("提交未成功：请按提示修改标红的项目，已填写的内容均已保留", "error")
        return _task_page(task_id, typed, {**invalid.errors, **errors}, 422)
    except Conflict as conflict:  # someone acted first, or a rule such as a calendar year not entered
        _keep_as_draft(user.id, task_id, typed)
        flash(conflict.message, "error")
        return _task_page(task_id, typed, errors, 409)
    except StepFailed as failed:  # not the user's fault: the use case kept the draft and recorded an incident
        flash(failed.message, "error")
        return _task_page(task_id, typed, errors, 500)
    if user.role == "institution" and opened.task.process_id in HIDDEN_FROM_INSTITUTIONS:
        flash(f"“{opened.task.title}”已提交", "info")
        return redirect(url_for("work.inbox"))  # the case's record is the bureaus' own (a supervision case)
    back = _back_with(user.id, opened.task)
    if back is not None:  # e.g. bounced by the eligibility rules: it is not "submitted" to anyone
        flash(f"“{opened.task.title}”已退回您补正：请按页面列出的原因修改后重新提交，已填写的内容均已保留", "error")
        return redirect(url_for("work.task", task_id=back))
    flash(f"“{opened.task.title}”已提交", "info")
    return redirect(url_for("work.case", instance_id=opened.task.instance_id))


def _back_with(user_id: int, done) -> int | None:
    """The same step open again for the same user right after submitting: the case came back."""
    found = tasks.timeline(ctx(), user_id, done.instance_id)
    return next((n.id for n in found.next_tasks if n.id in found.actionable and n.name == done.name), None)


def _keep_as_draft(user_id: int, task_id: int, typed: dict) -> None:
    """A refused submit is kept as a draft, so a reload (or tomorrow) shows what was typed."""
    try:
        tasks.save_draft(ctx(), user_id, task_id, typed)
    except Conflict:
        pass  # the task moved on meanwhile: the page says so and still shows what was typed


# The task page uploads each file as it is chosen (app.js, POST /api/attachments), so a request
# carries one file and the limit is the file's own (attachments.MAX_ATTACHMENT). Without JavaScript the
# files go with the form: as many as a form has (the filing application's five materials).
FILES_WITH_A_FORM = 5
LARGEST_TASK_FORM = FILES_WITH_A_FORM * attachments.MAX_ATTACHMENT + 1024 * 1024


# Art. 16 archives take an exam day's video; werkzeug spools the upload to a temporary file, and
# the file store reads it from there a chunk at a time.
ARCHIVE_UPLOADS = ("batches.archive_file", "api.archive_file")


def allow_files_with_the_form() -> None:
    """Run before CSRF protection reads the body (service/app.py)."""
    if request.endpoint == "work.act_on_task":
        request.max_content_length = LARGEST_TASK_FORM
    elif request.endpoint in ARCHIVE_UPLOADS:
        request.max_content_length = archive.MAX_ARCHIVE_FILE + 1024 * 1024


def _upload_attachments(form: dict, typed: dict) -> dict[str, str]:
    """Files posted with the form (a browser without JavaScript) are stored first, so a later
    error never loses them."""
    errors = {}
    for name, prop in form.get("properties", {}).items():
        upload = request.files.get(f"{name}__file")
        if prop.get("format") != "attachment" or upload is None or not upload.filename:
            continue
        try:
            typed[name] = str(attachments.upload_attachment(ctx(), current_user().id, upload.filename,
                                                       upload.mimetype, upload.read()))
        except Invalid as invalid:
            errors[name] = invalid.errors.get("file", "上传失败")
    return errors


@work.get("/cases/<int:instance_id>")
@login_required
def case(instance_id):
    found = tasks.timeline(ctx(), current_user().id, instance_id)
    return render_template("case.html", t=found, previewable=attachments.PREVIEWABLE)


@work.get("/cases/<int:instance_id>/diagram.bpmn")
@login_required
def diagram(instance_id):
    found = tasks.timeline(ctx(), current_user().id, instance_id)
    if not found.bpmn:
        abort(404)
    return Response(found.bpmn, mimetype="application/xml")


@work.get("/cases/<int:instance_id>/diagram/<process_id>.bpmn")
@login_required
def called_diagram(instance_id, process_id):
    """The diagram of a process a call activity of this case runs now (备案审查)."""
    found = tasks.timeline(ctx(), current_user().id, instance_id)
    if process_id not in found.called:
        abort(404)
    return Response(found.called[process_id][1], mimetype="application/xml")


@work.get("/cases/<int:instance_id>/record")
@login_required
def record(instance_id):
    """The printable record of a case (Art. 16, 18: every step recorded and traceable)."""
    return render_template("record.html", t=tasks.timeline(ctx(), current_user().id, instance_id))

"""Tables. Business facts are columns; workflow state is one JSON text per instance."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Jurisdiction(Base):
    __tablename__ = "jurisdiction"
    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    city_code: Mapped[str] = mapped_column(String(6))


class Occupation(Base):
    __tablename__ = "occupation"
    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    level: Mapped[int] = mapped_column(Integer)  # 4 = 细类, a fileable occupation
    definition: Mapped[str] = mapped_column(Text, default="")
    is_digital: Mapped[bool] = mapped_column(Boolean, default=False)
    is_green: Mapped[bool] = mapped_column(Boolean, default=False)
    access_type: Mapped[bool] = mapped_column(Boolean, default=False)  # 准入类: not fileable (Art. 8.2, 9.2)
    is_skill: Mapped[bool] = mapped_column(Boolean, default=False)  # Art. 4: 技能类职业（工种）, fileable


class User(Base):
    __tablename__ = "user_account"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(50), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(String(50))
    role: Mapped[str] = mapped_column(String(20))
    jurisdiction_code: Mapped[str | None] = mapped_column(ForeignKey("jurisdiction.code"))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class Institution(Base):
    __tablename__ = "institution"
    id: Mapped[int] = mapped_column(primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # enterprise | school | social_org
    jurisdiction_code: Mapped[str] = mapped_column(ForeignKey("jurisdiction.code"), index=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    legal_representative: Mapped[str] = mapped_column(String(50), default="")
    contact_name: Mapped[str] = mapped_column(String(50), default="")
    contact_phone: Mapped[str] = mapped_column(String(30), default="")
    # draft | under_review | filed_pilot | filed | suspended | revoked | expired | withdrawn
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    filing_code: Mapped[str | None] = mapped_column(String(13), unique=True)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    pilot_until: Mapped[date | None] = mapped_column(Date)
    is_province_wide: Mapped[bool] = mapped_column(Boolean, default=False)
    last_certified_on: Mapped[date | None] = mapped_column(Date)  # Art. 22.2: a year without a batch
    stars: Mapped[int | None] = mapped_column(Integer)  # Art. 21: the last confirmed annual rating, public
    stars_year: Mapped[int | None] = mapped_column(Integer)
    scope: Mapped[list[ScopeItem]] = relationship(order_by="ScopeItem.id", cascade="all, delete-orphan")


# An institution in these states is filed: listed in the directory and counted for the quota.
FILED_STATUSES = ("filed_pilot", "filed", "suspended")


class ScopeItem(Base):
    """A filed (occupation, level) pair of an institution."""

    __tablename__ = "scope_item"
    __table_args__ = (UniqueConstraint("institution_id", "occupation_code", "level"),
                      Index("ix_scope_occupation", "occupation_code", "is_active"))
    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    occupation_code: Mapped[str] = mapped_column(ForeignKey("occupation.code"))
    level: Mapped[str] = mapped_column(String(10))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    occupation: Mapped[Occupation] = relationship(lazy="joined")


class Filing(Base):
    __tablename__ = "filing"
    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    jurisdiction_code: Mapped[str] = mapped_column(ForeignKey("jurisdiction.code"))
    # draft | under_review | correction (待补正: back with the institution) | notice | filed | rejected
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    purpose: Mapped[str] = mapped_column(String(10), default="initial")  # initial | renewal (Art. 7: 三年)
    # the application as submitted, to prefill a renewal; deferred, as lists of filings never need it
    application: Mapped[dict | None] = mapped_column(JSON, deferred=True)
    requested_scope: Mapped[list] = mapped_column(JSON, default=list)
    approved_scope: Mapped[list | None] = mapped_column(JSON)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    receipt_number: Mapped[str | None] = mapped_column(String(30), unique=True)
    filing_code: Mapped[str | None] = mapped_column(String(13))
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    # when its public notice ends (Art. 7): a filing still in "notice" after it is 公示期满, not 公示中
    notice_closes_at: Mapped[datetime | None] = mapped_column(DateTime)
    institution: Mapped[Institution] = relationship()


class Notice(Base):
    """公示 (Art. 7): open to objections from anyone until closes_at."""

    __tablename__ = "notice"
    id: Mapped[int] = mapped_column(primary_key=True)
    filing_id: Mapped[int] = mapped_column(ForeignKey("filing.id"), index=True)
    jurisdiction_code: Mapped[str] = mapped_column(ForeignKey("jurisdiction.code"))
    title: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text, default="")
    opens_at: Mapped[datetime] = mapped_column(DateTime)
    closes_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    filing: Mapped[Filing] = relationship()


class Objection(Base):
    __tablename__ = "objection"
    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    contact: Mapped[str] = mapped_column(String(100))
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | upheld | dismissed


class Complaint(Base):
    """投诉举报 (Art. 19): anyone may report an institution, filed or only named; the county of the
    jurisdiction investigates. Who complained is kept here and in the county's task, never shown
    to the institution."""

    __tablename__ = "complaint"
    id: Mapped[int] = mapped_column(primary_key=True)
    jurisdiction_code: Mapped[str] = mapped_column(ForeignKey("jurisdiction.code"), index=True)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"), index=True)
    institution_name: Mapped[str] = mapped_column(String(200))  # as typed; the directory's if left blank
    complainant_name: Mapped[str] = mapped_column(String(50))
    complainant_contact: Mapped[str] = mapped_column(String(100))
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    # open | substantiated | unsubstantiated (COMPLAINT_FINDINGS)
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    finding: Mapped[str | None] = mapped_column(Text)  # the county's written conclusion (its opinion)
    measures: Mapped[str | None] = mapped_column(Text)  # taken or proposed (Art. 20); decided in supervision
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)


COMPLAINT_FINDINGS = ("substantiated", "unsubstantiated")


class Attachment(Base):
    __tablename__ = "attachment"
    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class DefinitionVersion(Base):
    """An immutable bundle of BPMN, DMN and form files, identified by their hash."""

    __tablename__ = "definition_version"
    id: Mapped[int] = mapped_column(primary_key=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    files: Mapped[dict] = mapped_column(JSON)
    deployed_at: Mapped[datetime] = mapped_column(DateTime)
    deployed_by: Mapped[str] = mapped_column(String(50))
    # Deploying makes a version current, an earlier one again included (a rollback): the highest
    # activation is current (ties, e.g. 0 before anything was activated, by the newest id).
    activation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    activated_at: Mapped[datetime | None] = mapped_column(DateTime)
    activated_by: Mapped[str | None] = mapped_column(String(50))


class ProcessInstance(Base):
    __tablename__ = "process_instance"
    __table_args__ = (Index("ix_instance_business", "business_key"),
                      Index("ix_instance_started_by", "started_by", "id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(50))
    definition_id: Mapped[int] = mapped_column(ForeignKey("definition_version.id"))
    business_key: Mapped[str] = mapped_column(String(50))  # e.g. "filing:12" for message correlation
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"), index=True)
    jurisdiction_code: Mapped[str | None] = mapped_column(ForeignKey("jurisdiction.code"))
    status: Mapped[str] = mapped_column(String(20), default="running")  # running | completed | error | ended
    state: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)  # optimistic concurrency
    audit_hash: Mapped[str | None] = mapped_column(String(64))  # head of the case's audit chain
    started_at: Mapped[datetime] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    started_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", name="fk_instance_started_by"))
    __mapper_args__ = {"version_id_col": version}


class HumanTask(Base):
    """An open or finished user task: the inbox reads only this table."""

    __tablename__ = "human_task"
    __table_args__ = (
        Index("ix_task_inbox", "state", "role", "jurisdiction_code", "created_at"),
        Index("ix_task_institution", "state", "institution_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    process_id: Mapped[str] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(50))  # BPMN id
    title: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(200), default="")  # what the case is about, for the list
    role: Mapped[str] = mapped_column(String(20))
    form_key: Mapped[str] = mapped_column(String(50))
    jurisdiction_code: Mapped[str | None] = mapped_column(String(12))
    institution_id: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(12), default="open")  # open | completed | cancelled
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    due_at: Mapped[datetime | None] = mapped_column(DateTime)
    due_note: Mapped[str | None] = mapped_column(String(200))  # why there is no due_at (a year without holidays)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)
    completed_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class Timer(Base):
    """A waiting timer of an instance; the scheduler fires the due ones."""

    __tablename__ = "timer"
    __table_args__ = (Index("ix_timer_due", "state", "due_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(50))
    due_at: Mapped[datetime] = mapped_column(DateTime)
    state: Mapped[str] = mapped_column(String(12), default="waiting")  # waiting | fired | failed | cancelled
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class ScheduledStart(Base):
    """One occurrence of a process's schedule (a timer start event's timeCycle) and the case it
    started. The unique key is the exactly-once guarantee: two schedulers reaching the same
    occurrence insert the same row, and the second one's transaction fails and starts nothing."""

    __tablename__ = "scheduled_start"
    __table_args__ = (UniqueConstraint("process_id", "occurrence", name="uq_scheduled_start_occurrence"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(100))
    occurrence: Mapped[datetime] = mapped_column(DateTime)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    error: Mapped[str | None] = mapped_column(Text)  # the start failed: for analysts, as an incident's


class Incident(Base):
    """A step that failed on a user's submit for a reason not the user's (a service task raising,
    an expression failing): the submit was rolled back, what was typed kept as the task's draft.
    The city and the analysts see it until one of them marks it resolved; `error` is for them
    only, never shown to institutions or the public. (Timers failing after their retries are
    incidents too; they stay on their own row, `timer.state = failed`.)"""

    __tablename__ = "incident"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("human_task.id"))  # the task being submitted
    step_name: Mapped[str] = mapped_column(String(50))  # BPMN id of the element that failed
    step_title: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))  # who submitted
    created_at: Mapped[datetime] = mapped_column(DateTime)
    error: Mapped[str] = mapped_column(Text)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class Notification(Base):
    """An in-app message to one user: what became theirs to do, what was decided."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user", "user_id", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    read_at: Mapped[datetime | None] = mapped_column(DateTime)


class AuditEvent(Base):
    """Append-only; each row carries the hash of the one before it (tamper-evident, Art. 8.3, 18)."""

    __tablename__ = "audit_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str] = mapped_column(String(50))
    action: Mapped[str] = mapped_column(String(50))
    instance_id: Mapped[int | None] = mapped_column(Integer, index=True)
    institution_id: Mapped[int | None] = mapped_column(Integer, index=True)
    task_name: Mapped[str | None] = mapped_column(String(50))
    task_title: Mapped[str | None] = mapped_column(String(100))
    opinion: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # 1: plain SHA-256 (rows written before migration 0013); 2: HMAC-SHA256 with AUDIT_KEY
    hash_version: Mapped[int] = mapped_column(Integer, default=2, server_default="1")
    # the web request that wrote it (its X-Request-ID, in the log lines too); outside the hash: it
    # says where to look in the logs, not what happened
    request_id: Mapped[str | None] = mapped_column(String(64))
    # a chain's newest event (the global chain's head is read under its lock on every append)
    __table_args__ = (Index("ix_audit_chain", "instance_id", "id"), Index("ix_audit_actor", "actor_id", "action", "id"))


class CaseCopy(Base):
    """抄送: a case copied to a user for their information (issue 17); they read it, they do not act."""

    __tablename__ = "case_copy"
    __table_args__ = (Index("ix_case_copy_user", "user_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    task_title: Mapped[str] = mapped_column(String(100))  # the step it was copied from
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    by_user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    note: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Delegation(Base):
    """委托: while a user is away (starts_on..ends_on, days inclusive) a colleague acts on the tasks
    the user holds; ended early by setting ended_at."""

    __tablename__ = "delegation"
    __table_args__ = (Index("ix_delegation_to", "to_user_id", "ends_on"),
                      Index("ix_delegation_from", "from_user_id", "ends_on"))
    id: Mapped[int] = mapped_column(primary_key=True)
    from_user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    to_user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)


class CalendarYear(Base):
    """A year's State Council holiday arrangement entered by an analyst."""

    __tablename__ = "calendar_year"
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    entered_by: Mapped[str] = mapped_column(String(50))
    entered_at: Mapped[datetime] = mapped_column(DateTime)


class Setting(Base):
    """Rules kept as data an analyst may change (quota per occupation, filing code serials…)."""

    __tablename__ = "setting"
    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


class Revocation(Base):
    """取消备案 (Art. 22; Art. 7 a failed pilot): why a filing ended, who ended it. Written by
    usecases.register.end_filing, the one place a filing is ended."""

    __tablename__ = "revocation"
    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    ground: Mapped[str] = mapped_column(String(30))  # a key of usecases.register.GROUNDS
    reason: Mapped[str] = mapped_column(Text)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime] = mapped_column(DateTime)


class OtherCityFiling(Base):
    """A filing obtained in another city for certifying there (Art. 7: 异地开展认定服务须经拟开展
    认定地市级人力资源社会保障部门备案), recorded by the institution itself."""

    __tablename__ = "other_city_filing"
    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    city: Mapped[str] = mapped_column(String(50))
    filing_code: Mapped[str] = mapped_column(String(50))
    valid_until: Mapped[date] = mapped_column(Date)
    attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachment.id"))
    recorded_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime)
    institution: Mapped[Institution] = relationship()
    attachment: Mapped[Attachment | None] = relationship()  # the other city's proof, if uploaded


class ScopeChange(Base):
    """变更 (Art. 7: 动态调整): a filed institution asks to add or remove (occupation, level) pairs;
    county and city review it. Lists read this row, never the workflow."""

    __tablename__ = "scope_change"
    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    jurisdiction_code: Mapped[str] = mapped_column(ForeignKey("jurisdiction.code"), index=True)
    # draft | under_review | approved | rejected (SCOPE_CHANGE_OPEN while not decided)
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    reason: Mapped[str | None] = mapped_column(Text)  # the institution's, why it changes its scope
    scope_before: Mapped[list] = mapped_column(JSON, default=list)  # in force when it was opened
    requested_scope: Mapped[list] = mapped_column(JSON, default=list)  # the whole scope wanted, with assessors
    approved_scope: Mapped[list | None] = mapped_column(JSON)  # what the city approved: the scope now in force
    opinion: Mapped[str | None] = mapped_column(Text)  # the deciding opinion (approval or rejection)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    institution: Mapped[Institution] = relationship()


SCOPE_CHANGE_OPEN = ("draft", "under_review")


class UserSession(Base):
    """A login. The signed cookie carries a random token; this row says whether it still holds, so
    logging out, deactivating the user or changing the password ends it at once, on every worker."""

    __tablename__ = "user_session"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the cookie's token
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime)  # refreshed at most every few minutes
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class LoginFailure(Base):
    """A refused password, counted per account and per client address to throttle guessing; in the
    database, so every worker sees the same count."""

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_username", "username", "at"),
                      Index("ix_login_failure_address", "address", "at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    username: Mapped[str] = mapped_column(String(50))  # as typed (cut to the column), known or not
    address: Mapped[str] = mapped_column(String(45))  # the client's IP address (IPv6 at most 45 characters)


class Assessor(Base):
    """考评员 registry kept by the city (Art. 8.4, 15.1): one row per certificate a person holds,
    so one person may assess several occupations. A batch plan names its assessors by ID number
    and is checked against these rows."""

    __tablename__ = "assessor"
    __table_args__ = (UniqueConstraint("id_number", "occupation_code", "level"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    id_number: Mapped[str] = mapped_column(String(18), index=True)
    certificate_number: Mapped[str] = mapped_column(String(50))
    occupation_code: Mapped[str] = mapped_column(ForeignKey("occupation.code"))
    level: Mapped[str] = mapped_column(String(10))  # the highest level the certificate lets them assess
    valid_until: Mapped[date] = mapped_column(Date)
    dishonest: Mapped[bool] = mapped_column(Boolean, default=False)  # on a dishonesty list (Art. 8.4)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class Batch(Base):
    """评价批次 (Art. 15): one certification batch of an institution, from its plan to its
    certificates. Lists and the batch page read this row; the plan's details are kept here when
    the plan is filed, the candidates in their own table."""

    __tablename__ = "batch"
    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    jurisdiction_code: Mapped[str] = mapped_column(ForeignKey("jurisdiction.code"), index=True)
    # draft | submitted | planned | results | notice | filing_results | certified
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    place: Mapped[str] = mapped_column(String(300), default="")
    first_exam_day: Mapped[date | None] = mapped_column(Date)
    last_exam_day: Mapped[date | None] = mapped_column(Date)
    plan: Mapped[dict] = mapped_column(JSON, default=dict)  # modules and people as filed
    route: Mapped[str | None] = mapped_column(String(20))  # who files the plan (dmn/batch_routing.dmn)
    candidate_count: Mapped[int] = mapped_column(Integer, default=0)
    opinion: Mapped[str | None] = mapped_column(Text)  # the last deciding opinion on the plan
    created_at: Mapped[datetime] = mapped_column(DateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime)
    planned_at: Mapped[datetime | None] = mapped_column(DateTime)
    notice_closes_at: Mapped[datetime | None] = mapped_column(DateTime)  # the results' public notice (Art. 15.3)
    results_due_on: Mapped[date | None] = mapped_column(Date)  # the 10th working day after the notice
    results_filed_at: Mapped[datetime | None] = mapped_column(DateTime)
    results_late: Mapped[bool] = mapped_column(Boolean, default=False)  # kept for the annual rating (Art. 21)
    certified_on: Mapped[date | None] = mapped_column(Date)
    institution: Mapped[Institution] = relationship()



class Candidate(Base):
    """参加认定人员 of a batch, as imported (Art. 13, 15.1); `row` is their row in the imported sheet."""

    __tablename__ = "candidate"
    __table_args__ = (UniqueConstraint("batch_id", "id_number", "occupation_code", "level"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), index=True)
    row: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(50), index=True)
    id_number: Mapped[str] = mapped_column(String(18), index=True)
    phone: Mapped[str] = mapped_column(String(30))
    occupation_code: Mapped[str] = mapped_column(ForeignKey("occupation.code"))
    level: Mapped[str] = mapped_column(String(10))
    basis: Mapped[str] = mapped_column(String(20))  # 申报条件: the applicable condition of the standard, as a code
    category: Mapped[str | None] = mapped_column(String(20))  # enterprises (Art. 13) and schools (Art. 12)
    commissioned_by: Mapped[str | None] = mapped_column(String(200))  # the commissioning unit (Art. 13)
    scores: Mapped[dict | None] = mapped_column(JSON)  # per module; None for a module missed (缺考)
    passed: Mapped[bool | None] = mapped_column(Boolean)  # by dmn/module_pass.dmn, every module passed


class Certificate(Base):
    """职业技能等级证书 issued to a candidate of a batch; its 22-character number is never reused."""

    __tablename__ = "certificate"
    __table_args__ = (Index("ix_certificate_person", "id_number", "occupation_code", "level"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(22), unique=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    id_number: Mapped[str] = mapped_column(String(18))
    occupation_code: Mapped[str] = mapped_column(ForeignKey("occupation.code"))
    level: Mapped[str] = mapped_column(String(10))
    issued_on: Mapped[date] = mapped_column(Date)


class ArchiveItem(Base):
    """评价档案 (Art. 16): one document of a batch's archive, an electronic file (stored by its
    hash outside the database, store/files.py) or a paper original recorded with where it is kept.
    Kept until `retain_until`; deleting it before is refused."""

    __tablename__ = "archive_item"
    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), index=True)
    item: Mapped[str] = mapped_column(String(40))  # a key of domain.batches.ARCHIVE_CHECKLIST
    medium: Mapped[str] = mapped_column(String(12))  # paper | electronic | video
    filename: Mapped[str | None] = mapped_column(String(200))
    content_type: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    note: Mapped[str | None] = mapped_column(String(300))  # where a paper original is kept
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime)
    retain_until: Mapped[date] = mapped_column(Date)


class Inspection(Base):
    """督查 (Art. 15.2, 17): a bureau appoints an inspector to a batch; the inspector records the
    checks before, during and after the exam (the checklist is forms/inspection.json), the findings
    and photos; a finding may be handed over to supervision (Art. 19, 20)."""

    __tablename__ = "inspection"
    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    jurisdiction_code: Mapped[str] = mapped_column(ForeignKey("jurisdiction.code"))
    inspector_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    assigned_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    assigned_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(12), default="assigned")  # assigned | recorded
    results: Mapped[dict] = mapped_column(JSON, default=dict)  # checklist item -> ok | problem | na
    findings: Mapped[str | None] = mapped_column(Text)
    problems: Mapped[int] = mapped_column(Integer, default=0)
    handed_over: Mapped[bool] = mapped_column(Boolean, default=False)  # to supervision (a message)
    recorded_at: Mapped[datetime | None] = mapped_column(DateTime)
    inspector: Mapped[User] = relationship(foreign_keys=[inspector_id])


class ResultObjection(Base):
    """异议 to a batch's results in their public notice (Art. 15.3: 经公示无异议的 results are filed)."""

    __tablename__ = "result_objection"
    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    contact: Mapped[str] = mapped_column(String(50))
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open | upheld | dismissed


class SchedulerHeartbeat(Base):
    """Each scheduler process's last pass (issue 18): /readyz tells whether timers are being fired."""

    __tablename__ = "scheduler_heartbeat"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)  # host:pid
    beat_at: Mapped[datetime] = mapped_column(DateTime)  # the pass's end, by the service's clock


class SupervisionCase(Base):
    """监督检查案件 (Art. 17–20): one matter about one institution, from wherever it came (a
    substantiated complaint, a media report, an inspector's finding, a spot check, a data check,
    staff). The county investigates and proposes a measure; the city decides (Art. 20)."""

    __tablename__ = "supervision_case"
    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    jurisdiction_code: Mapped[str] = mapped_column(ForeignKey("jurisdiction.code"), index=True)
    source: Mapped[str] = mapped_column(String(20))  # a key of domain.supervision.SOURCES
    source_ref: Mapped[str | None] = mapped_column(String(50))  # "complaint:3", "inspection:7"
    facts: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list] = mapped_column(JSON, default=list)  # attachment keys
    opened_at: Mapped[datetime] = mapped_column(DateTime)
    opened_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    # investigating | no_violation | proposed | decided | closed
    status: Mapped[str] = mapped_column(String(20), default="investigating", index=True)
    violation: Mapped[str | None] = mapped_column(String(20))  # domain.supervision.VIOLATIONS
    severity: Mapped[str | None] = mapped_column(String(10))  # domain.supervision.SEVERITIES
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    institution: Mapped[Institution] = relationship()


class Measure(Base):
    """A measure the city decided on a case (Art. 20), kept on the institution's record and counted
    for the annual rating (Art. 21). The public sees 通报批评 and 暂停评价."""

    __tablename__ = "measure"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("supervision_case.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # a key of domain.supervision.MEASURES
    proposed_kind: Mapped[str | None] = mapped_column(String(20))  # the county's proposal; None on escalation
    matter: Mapped[str] = mapped_column(String(300))  # what for, in one line (the public notice says it)
    reason: Mapped[str | None] = mapped_column(Text)  # why the city chose another measure than proposed
    opinion: Mapped[str] = mapped_column(Text)  # the city's decision
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime] = mapped_column(DateTime)
    # in_effect | done | escalated | lifted | handed_over
    status: Mapped[str] = mapped_column(String(12), default="in_effect", index=True)
    effective_from: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    deadline: Mapped[date | None] = mapped_column(Date)  # 限期整改
    status_before: Mapped[str | None] = mapped_column(String(20))  # 暂停评价: the status a lift restores
    details: Mapped[dict] = mapped_column(JSON, default=dict)  # 约谈: date, attendees, minutes, record
    institution: Mapped[Institution] = relationship()


class Rectification(Base):
    """限期整改 (Art. 20, 21): a deadline, the institution's report with evidence, the county's
    verification. One loop (bpmn/rectification.bpmn) for a supervision measure and, later, a
    rating below three stars: `origin` says which ("measure:5")."""

    __tablename__ = "rectification"
    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    origin: Mapped[str] = mapped_column(String(30))
    matter: Mapped[str] = mapped_column(Text)
    due_on: Mapped[date] = mapped_column(Date)
    # open | submitted | accepted | rejected | overdue
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)
    report: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[list] = mapped_column(JSON, default=list)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime)
    verified_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    verified_at: Mapped[datetime | None] = mapped_column(DateTime)
    verification: Mapped[str | None] = mapped_column(Text)


class SpotCheckPlan(Base):
    """双随机、一公开 (Art. 21): a draw of institutions and inspectors, with everything needed to draw
    it again (seed, population, pool), published when drawn."""

    __tablename__ = "spot_check_plan"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    jurisdiction_code: Mapped[str | None] = mapped_column(ForeignKey("jurisdiction.code"))  # None: city-wide
    kind: Mapped[str | None] = mapped_column(String(20))  # only institutions of this kind
    occupation_code: Mapped[str | None] = mapped_column(String(20))  # only those with it in scope
    rate: Mapped[int | None] = mapped_column(Integer)  # percent of the population
    count: Mapped[int | None] = mapped_column(Integer)
    exclude_own: Mapped[bool] = mapped_column(Boolean, default=True)  # 回避: not of the inspector's jurisdiction
    seed: Mapped[str] = mapped_column(String(64))
    population: Mapped[list] = mapped_column(JSON)  # [[institution id, jurisdiction code], ...] at the draw
    pool: Mapped[list] = mapped_column(JSON)  # [[inspector id, jurisdiction code or null], ...]
    pairs: Mapped[list] = mapped_column(JSON)  # [[institution id, inspector id], ...] in the order drawn
    drawn_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))  # None: the schedule drew it
    drawn_at: Mapped[datetime] = mapped_column(DateTime)


class SpotCheck(Base):
    """One drawn pair: an inspector checks an institution against Art. 17's key links."""

    __tablename__ = "spot_check"
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("spot_check_plan.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    inspector_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="assigned")  # assigned | recorded
    results: Mapped[dict] = mapped_column(JSON, default=dict)
    findings: Mapped[str | None] = mapped_column(Text)
    problems: Mapped[int] = mapped_column(Integer, default=0)
    handed_over: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_at: Mapped[datetime | None] = mapped_column(DateTime)
    institution: Mapped[Institution] = relationship()
    inspector: Mapped[User] = relationship()


class RevocationCase(Base):
    """取消备案 (Art. 22): a case to end an institution's filing on one of the eight grounds, from
    the institution itself (ground 1), the inactivity scan (2), staff (3, 4, 5, 8), supervision (7) or
    the annual rating (6). The county proposes, the city decides (备案机关); a decision to revoke
    ends the filing through usecases.register.end_filing, whose record is `revocation`."""

    __tablename__ = "revocation_case"
    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    jurisdiction_code: Mapped[str] = mapped_column(ForeignKey("jurisdiction.code"), index=True)
    ground: Mapped[str] = mapped_column(String(30))  # a key of usecases.register.GROUNDS
    source: Mapped[str] = mapped_column(String(20))  # institution | scan | staff | supervision | rating
    source_ref: Mapped[str | None] = mapped_column(String(50))
    facts: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list] = mapped_column(JSON, default=list)
    sponsor: Mapped[str | None] = mapped_column(String(200))  # 主管部门或举办单位, told of the revocation
    opened_at: Mapped[datetime] = mapped_column(DateTime)
    opened_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    # open | dismissed | not_revoked | revoked
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    opinion: Mapped[str | None] = mapped_column(Text)  # the last word: the city's decision or the county's dismissal
    revocation_id: Mapped[int | None] = mapped_column(ForeignKey("revocation.id"))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    institution: Mapped[Institution] = relationship()


class Rating(Base):
    """年度评估 (Art. 21): one institution's rating for one year and round (2: the re-rating after a
    rectification), its indicators as collected and scored, the stars the table gave and the city
    confirmed."""

    __tablename__ = "rating"
    __table_args__ = (UniqueConstraint("institution_id", "year", "round"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    round: Mapped[int] = mapped_column(Integer, default=1)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    indicators: Mapped[dict] = mapped_column(JSON, default=dict)
    total: Mapped[str | None] = mapped_column(String(10))  # a decimal as text: exact, as the table compares it
    stars: Mapped[int | None] = mapped_column(Integer)  # as the city confirmed it
    suggested_stars: Mapped[int | None] = mapped_column(Integer)  # as dmn/star_rating.dmn gave it
    status: Mapped[str] = mapped_column(String(12), default="scoring")  # scoring | confirming | rated
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime)
    institution: Mapped[Institution] = relationship()

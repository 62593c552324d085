"""Who may see and act on what: decided here and nowhere else.

An institution sees only its own; a county only its jurisdiction; the city everything in
the city. Things a user may not see are reported as not found, never as forbidden.
"""
from __future__ import annotations

from sqlalchemy import false, true

from ..store.models import HumanTask, ProcessInstance, User

# A complaint (Art. 19) names who complained, so the institution it is about never sees its case; a
# supervision or revocation case is the bureaus' deliberation (Art. 20, 22): the institution reads what
# was decided on it (/supervision, /revocations) and works its own tasks, not the case's record.
HIDDEN_FROM_INSTITUTIONS = frozenset({"complaint", "supervision", "revocation"})
# A role whose tasks go to one person, named by the case (`<role>_id`), not to everyone of the role:
# a bureau appoints an inspector (督查员, Art. 15.2, 17) to a batch.
PERSONAL_ROLES = frozenset({"inspector"})


def assignee(role: str, data) -> int | None:
    """Whose a new task is from the start: the person the case names for a personal role."""
    return int(data[f"{role}_id"]) if role in PERSONAL_ROLES and data.get(f"{role}_id") else None


def task_filter(user: User, acting_for: tuple[int, ...] = ()):
    """The tasks in the user's inbox; `acting_for`: colleagues who delegated their tasks to the user
    (委托) for today, whose held tasks join it."""
    own = _own_tasks(user)
    if acting_for:
        return own | ((HumanTask.role == user.role) & HumanTask.claimed_by.in_(acting_for))
    return own


def _own_tasks(user: User):
    if user.role == "institution":
        return (HumanTask.role == "institution") & (HumanTask.institution_id == user.institution_id)
    if user.role == "county":
        return (HumanTask.role == "county") & (HumanTask.jurisdiction_code == user.jurisdiction_code)
    if user.role in ("city", "province"):
        return HumanTask.role == user.role
    if user.role in PERSONAL_ROLES:
        return (HumanTask.role == user.role) & (HumanTask.claimed_by == user.id)
    return false()


def inbox_scope(role: str, jurisdiction_code: str | None, institution_id: int | None) -> tuple:
    """What decides whose inbox a task lands in: its role and, for some roles, where it is."""
    return role, jurisdiction_code if role == "county" else None, institution_id if role == "institution" else None


def task_assignees(role: str, jurisdiction_code: str | None, institution_id: int | None):
    """The users whose inbox holds a task of this role and scope: `task_filter` turned round."""
    if role == "institution":
        return (User.role == "institution") & (User.institution_id == institution_id)
    if role == "county":
        return (User.role == "county") & (User.jurisdiction_code == jurisdiction_code)
    if role in ("city", "province"):
        return User.role == role
    return false()  # a personal role's task is told to its person by whoever names them


def scope_filter(user: User, institution_id, jurisdiction_code):
    """Rows of institutions and cases (any table with these two columns) the user may see."""
    if user.role == "institution":
        return institution_id == user.institution_id
    if user.role == "county":
        return jurisdiction_code == user.jurisdiction_code
    if user.role in ("city", "province", "analyst"):
        return true()
    return false()


def can_see_task(user: User, task: HumanTask, acting_for: tuple[int, ...] = ()) -> bool:
    if acting_for and task.role == user.role and task.claimed_by in acting_for:
        return True  # 委托: a colleague's task for the period they delegated it
    return _sees_task(user, task)


def _sees_task(user: User, task: HumanTask) -> bool:
    if user.role == "institution":
        return task.role == "institution" and task.institution_id == user.institution_id
    if user.role == "county":
        return task.role == "county" and task.jurisdiction_code == user.jurisdiction_code
    if user.role in PERSONAL_ROLES:
        return task.role == user.role and task.claimed_by == user.id
    return user.role in ("city", "province") and task.role == user.role


def can_see_instance(user: User, instance: ProcessInstance) -> bool:
    if user.role == "institution":
        return (instance.institution_id == user.institution_id
                and instance.process_id not in HIDDEN_FROM_INSTITUTIONS)
    if user.role == "county":
        return instance.jurisdiction_code == user.jurisdiction_code
    return user.role in ("city", "province", "analyst")


def instance_filter(user: User):
    """`can_see_instance` as a condition on process_instance rows, for lists and search."""
    if user.role == "institution":
        return (ProcessInstance.institution_id == user.institution_id) & (
            ProcessInstance.process_id.not_in(HIDDEN_FROM_INSTITUTIONS))
    if user.role == "county":
        return ProcessInstance.jurisdiction_code == user.jurisdiction_code
    return true() if user.role in ("city", "province", "analyst") else false()


def oversight_filter(user: User):
    """Open tasks a bureau watches for their deadlines (督办): the city every task in the city, a
    county every task in its jurisdiction, whoever's inbox they are in. Nobody else."""
    if user.role == "city":
        return true()
    if user.role == "county":
        return HumanTask.jurisdiction_code == user.jurisdiction_code
    return false()


def can_see_institution(user: User, institution) -> bool:
    if user.role == "institution":
        return institution.id == user.institution_id
    if user.role == "county":
        return institution.jurisdiction_code == user.jurisdiction_code
    return user.role in ("city", "province", "analyst")


def sees_personal_data(user: User) -> bool:
    """Who objected or complained, and how to reach them: the county that investigates and the
    city that decides. Others who see the case (province, analysts) see it masked."""
    return user.role in ("county", "city")


def can_handle_incidents(user: User) -> bool:
    """Timers that failed after their retries (incidents): the city and the analysts see and retry them."""
    return user.role in ("city", "analyst")

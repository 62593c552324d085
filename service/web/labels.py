"""The Chinese words pages show for the codes the system stores."""
from __future__ import annotations

from ..domain.batches import ARCHIVE_CHECKLIST, CATEGORY_NAMES, MEDIA, MODULES  # noqa: F401 — batch pages
from ..domain.levels import LEVELS
from ..usecases.access import HIDDEN_FROM_INSTITUTIONS, PERSONAL_ROLES  # noqa: F401 — for the task page

KINDS = {"enterprise": "企业", "school": "技工院校", "social_org": "社会培训评价组织"}
ROLES = {"institution": "评价机构", "county": "县区人社部门", "city": "市人社局", "province": "省技能人才管理服务中心",
         "inspector": "督查员", "analyst": "流程分析员"}
ACTIONS = {"start": "发起", "complete": "办理", "return": "退回", "claim": "签收", "unclaim": "取消签收",
           "draft": "暂存", "decision": "规则判定", "service": "系统处理", "objection": "收到异议",
           "complaint": "收到投诉举报", "reported_to_province": "上报省中心",
           "timer_failed": "定时事件异常", "timer_retried": "重试定时事件", "scope_changed": "变更备案范围",
           "step_failed": "步骤出错（已撤销本次提交）", "incident_resolved": "异常已处理",
           "institution_changed": "变更机构信息", "case_ended": "案件终止（备案已终止）",
           "transfer": "转办", "urge": "催办", "deadline_recounted": "按新录入的节假日安排重新计算办理期限",
           "delegate": "委托办理", "delegation_ended": "提前结束委托", "copy": "抄送"}
FILING_STATUSES = {"draft": "填写中", "under_review": "审核中", "correction": "待补正", "notice": "公示中",
                   "filed": "已备案", "rejected": "不予备案", "withdrawn": "已撤回"}
# 我的备案's filter: "notice" holds a filing from its notice until the code is assigned
FILING_FILTERS = {**FILING_STATUSES, "notice": "公示"}
INSTITUTION_STATUSES = {"draft": "未备案", "under_review": "备案审核中", "filed_pilot": "已备案（试点期）",
                        "filed": "已备案", "suspended": "暂停评价", "revoked": "已取消备案", "expired": "已过期",
                        "withdrawn": "已撤回", "rejected": "不予备案"}
SCOPE_CHANGE_STATUSES = {"draft": "填写中", "under_review": "审核中", "approved": "已变更", "rejected": "不予变更"}
BATCH_STATUSES = {"draft": "计划编制中", "submitted": "计划报备中", "planned": "已备案待实施", "results": "成绩录入中",
                  "notice": "结果公示中", "filing_results": "待报备结果", "certified": "已发证"}
TASK_STATES = {"open": "待办", "completed": "已办", "cancelled": "已取消"}
INSTANCE_STATUSES = {"running": "办理中", "completed": "已办结", "error": "出错", "ended": "已终止"}
LEVEL_NAMES = {code: level.name for code, level in LEVELS.items()}


def filing_status(filing, now) -> str:
    """A filing's state as people read it. Art. 7: 公示中 only while its public notice runs; after
    it ends and until the code is assigned (or the filing refused) it is 公示期满, not 公示中."""
    if filing.status == "notice" and filing.notice_closes_at is not None and now >= filing.notice_closes_at:
        return "公示期满"
    return FILING_STATUSES.get(filing.status, filing.status)


def notice_state(notice, filing, now) -> str:
    """A notice's own state: 公示中 only while opens_at ≤ now < closes_at and its filing is still
    in notice; after it, 公示期满 and what came of the filing once decided (已备案, 不予备案); an
    objection upheld during it ends it early (公示终止)."""
    if now < notice.opens_at:
        return "未开始"
    outcome = {"filed": "已备案", "rejected": "不予备案", "withdrawn": "已撤回"}.get(filing.status)
    if now < notice.closes_at:
        if filing.status == "notice":
            return "公示中"
        return f"公示终止，{outcome}" if outcome else "公示终止"
    return f"公示期满，{outcome}" if outcome else "公示期满"

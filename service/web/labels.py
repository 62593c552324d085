"""The Chinese words pages show for the codes the system stores."""
from __future__ import annotations

from ..domain.levels import LEVELS

KINDS = {"enterprise": "企业", "school": "技工院校", "social_org": "社会培训评价组织"}
ROLES = {"institution": "评价机构", "county": "县区人社部门", "city": "市人社局", "province": "省技能人才管理服务中心",
         "inspector": "督查员", "analyst": "流程分析员"}
ACTIONS = {"start": "发起", "complete": "办理", "return": "退回", "claim": "签收", "unclaim": "取消签收",
           "draft": "暂存", "decision": "规则判定", "service": "系统处理", "objection": "收到异议",
           "complaint": "收到投诉举报", "reported_to_province": "上报省中心",
           "timer_failed": "定时事件异常", "timer_retried": "重试定时事件", "scope_changed": "变更备案范围",
           "step_failed": "步骤出错（已撤销本次提交）", "incident_resolved": "异常已处理",
           "institution_changed": "变更机构信息"}
FILING_STATUSES = {"draft": "填写中", "under_review": "审核中", "correction": "待补正", "notice": "公示中",
                   "filed": "已备案", "rejected": "不予备案", "withdrawn": "已撤回"}
INSTITUTION_STATUSES = {"draft": "未备案", "under_review": "备案审核中", "filed_pilot": "已备案（试点期）",
                        "filed": "已备案", "suspended": "暂停评价", "revoked": "已取消备案", "expired": "已过期",
                        "withdrawn": "已撤回", "rejected": "不予备案"}
SCOPE_CHANGE_STATUSES = {"draft": "填写中", "under_review": "审核中", "approved": "已变更", "rejected": "不予变更"}
TASK_STATES = {"open": "待办", "completed": "已办", "cancelled": "已取消"}
INSTANCE_STATUSES = {"running": "办理中", "completed": "已办结", "error": "出错"}
LEVEL_NAMES = {code: level.name for code, level in LEVELS.items()}

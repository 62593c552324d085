"""Batch certification (评价批次, Art. 12–16), with bpmn/batch_certification.bpmn: a filed institution
plans a batch and files the plan (计划报备, Art. 15.1) with the county, or for 技师/高级技师 with the
city, which reports it to the province (dmn/batch_routing.dmn says which); after the exam it
enters the scores (pass or fail per module by dmn/module_pass.dmn), publishes the results for at
least 7 days and files them within 10 working days (Art. 15.3; late is flagged and kept); the
certificates are numbered then.

Candidates and scores are rows (`candidate`), imported from Excel all or nothing; the workflow
carries only the batch's id and its plan. A plan is checked when it is filed (FORM_CHECKS)."""
from __future__ import annotations

from ...usecases.topics import Topic
from .candidates import (
    CANDIDATE_COLUMNS,
    candidate_template,
    enter_scores,
    import_candidates,
    import_scores,
    score_template,
)
from .common import PROCESS, business_key, held
from .objections import (
    correct_results,
    count_result_objections,
    resolve_result_objections,
    submit_result_objection,
)
from .plan import Started, accept_plan, check_batch_plan, record_plan, report_plan, return_plan, start_batch
from .results import (
    check_batch_scores,
    flag_results_late,
    grade_results,
    hand_over_late_results,
    issue_certificates,
    notice_over,
    open_results,
    publish_results,
)
from .views import (
    BatchDetail,
    CandidateView,
    CertificateView,
    batch_detail,
    batches_in_notice,
    certificate_list,
    export,
    list_batches,
    look_up_certificate,
    results_in_notice,
)

__all__ = ["CANDIDATE_COLUMNS", "PROCESS", "BatchDetail", "CandidateView", "CertificateView", "Started",
           "batch_detail", "batches_in_notice", "certificate_list", "business_key", "candidate_template", "export",
           "enter_scores", "import_candidates", "import_scores", "issue_certificates", "list_batches",
           "look_up_certificate", "results_in_notice", "score_template", "start_batch", "submit_result_objection"]

HOLDS = {PROCESS: held}
ENDS_WITH_THE_FILING = (PROCESS,)  # Art. 22: a revoked institution certifies nothing more
FORM_CHECKS = {"batch_plan": check_batch_plan, "batch_scores": check_batch_scores}

TOPICS = {
    "record_plan": Topic.of(record_plan),
    "return_plan": Topic.of(return_plan, ("reason",)),
    "accept_plan": Topic.of(accept_plan),
    "report_plan": Topic.of(report_plan),
    "open_results": Topic.of(open_results),
    "grade_results": Topic.of(grade_results),
    "publish_results": Topic.of(publish_results, ("closes_at", "due_on")),
    "notice_over": Topic.of(notice_over),
    "flag_results_late": Topic.of(flag_results_late),
    "hand_over_late_results": Topic.of(hand_over_late_results),
    "issue_certificates": Topic.of(issue_certificates),
    "count_result_objections": Topic.of(count_result_objections),
    "resolve_result_objections": Topic.of(resolve_result_objections, ("finding",)),
    "correct_results": Topic.of(correct_results),
}


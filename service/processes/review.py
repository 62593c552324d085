"""The review every filing, renewal and scope change goes through (bpmn/review.bpmn, a call
activity): the Art. 8, 9, 12 eligibility decisions, the county's initial review and the city's
review (Art. 7). Its one topic hands the conclusion back to the calling process, which does what
follows (return the application, reject, publish the notice, apply the scope)."""
from __future__ import annotations

from ..usecases.errors import Invalid
from ..usecases.topics import Topic

OUTCOMES = {"unmet", "correction", "reject", "approve"}


def conclude_review(ctx, session, instance, actor, data, inputs):
    """A conclusion the callers do not route on would leave the case nowhere: refuse it here,
    where the step fails visibly as an incident, rather than at the caller's gateway."""
    outcome = inputs["outcome"]
    if outcome not in OUTCOMES:
        raise Invalid(f"审查结论“{outcome}”无效，应为 {sorted(OUTCOMES)} 之一")
    return {"review_outcome": outcome}


TOPICS = {"conclude_review": Topic.of(conclude_review, {"outcome"})}

"""Parsing BPMN the way Camunda Modeler writes it, with our task specs swapped in."""
from __future__ import annotations

from SpiffWorkflow.bpmn.parser.util import first, full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent, IntermediateCatchEvent, StartEvent
from SpiffWorkflow.camunda.parser.CamundaParser import NSMAP, CamundaParser
from SpiffWorkflow.camunda.parser.event_parsers import (
    CamundaBoundaryEventParser,
    CamundaIntermediateCatchEventParser,
    CamundaStartEventParser,
)
from SpiffWorkflow.camunda.parser.task_spec import CAMUNDA_MODEL_NS, CamundaTaskParser

from .specs import ClockDuration, ClockTimeDate, DecisionTask, ExternalServiceTask, ScheduledStart


class ExternalServiceTaskParser(CamundaTaskParser):
    def create_task(self):
        topic = self.node.get(f"{{{CAMUNDA_MODEL_NS}}}topic")
        if self.node.get(f"{{{CAMUNDA_MODEL_NS}}}type") != "external" or not topic:
            self.raise_validation_exception(
                'service task needs Implementation "External" with a topic (camunda:type="external")')
        inputs = [(p.get("name"), (p.text or "").strip())
                  for p in self.xpath(".//camunda:inputOutput/camunda:inputParameter")]
        return self.spec_class(self.spec, self.bpmn_id, topic=topic, parameters=inputs, **self.bpmn_attributes)


class DecisionTaskParser(CamundaTaskParser):
    def create_task(self):
        return self.spec_class(self.spec, self.bpmn_id, decision_ref=self.get_decision_ref(self.node),
                               result_variable=self.node.get(f"{{{CAMUNDA_MODEL_NS}}}resultVariable") or None,
                               **self.bpmn_attributes)

    @staticmethod
    def get_decision_ref(node):
        ref = node.get(f"{{{CAMUNDA_MODEL_NS}}}decisionRef")
        if not ref:
            raise ValidationException("business rule task needs a decision reference (camunda:decisionRef)",
                                      node=node)
        return ref


class ClockTimerMixin:
    """Timers read the injected clock (SpiffWorkflow's read datetime.now())."""

    STARTS_ON_SCHEDULE = False

    def parse_timer_event(self, event):
        name = self.node.get("name", self.node.get("id"))
        time_date = first(self.xpath(".//bpmn:timeDate"))
        if time_date is not None:
            return ClockTimeDate(name, (time_date.text or "").strip())
        duration = first(self.xpath(".//bpmn:timeDuration"))
        if duration is not None:
            return ClockDuration(name, (duration.text or "").strip())
        cycle = first(self.xpath(".//bpmn:timeCycle"))
        if cycle is not None and self.STARTS_ON_SCHEDULE:
            return ScheduledStart(name, (cycle.text or "").strip())
        raise ValidationException("定时器只支持 timeDate、timeDuration；timeCycle（周期）只能用在开始事件上，"
                                  "表示按周期定时启动流程", node=self.node, file_name=self.filename)


class StartEventParser(ClockTimerMixin, CamundaStartEventParser):
    STARTS_ON_SCHEDULE = True


class IntermediateCatchEventParser(ClockTimerMixin, CamundaIntermediateCatchEventParser):
    pass


class BoundaryEventParser(ClockTimerMixin, CamundaBoundaryEventParser):
    pass


class ProcessParser(CamundaParser):
    OVERRIDE_PARSER_CLASSES = {
        **CamundaParser.OVERRIDE_PARSER_CLASSES,
        full_tag("serviceTask"): (ExternalServiceTaskParser, ExternalServiceTask),
        full_tag("businessRuleTask"): (DecisionTaskParser, DecisionTask),
        full_tag("startEvent"): (StartEventParser, StartEvent),
        full_tag("intermediateCatchEvent"): (IntermediateCatchEventParser, IntermediateCatchEvent),
        full_tag("boundaryEvent"): (BoundaryEventParser, BoundaryEvent),
    }

    def __init__(self, validator=None):
        super().__init__(namespaces=NSMAP, validator=validator)

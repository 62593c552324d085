"""Definition bundles: every BPMN, DMN and form file, validated together at deploy time.

A bundle is identified by the hash of its files, so a version is immutable: running
instances keep the bundle they started on, new instances take the newest.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Set
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import referencing
import referencing.exceptions
from lxml import etree
from referencing.jsonschema import DRAFT202012
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.camunda.parser.task_spec import CAMUNDA_MODEL_NS

from ..domain.schedules import Schedule, ScheduleError, parse_schedule
from .dmn import Decision, parse_decisions
from .errors import DefinitionError, ExpressionError
from .parser import ProcessParser
from .sandbox import Sandbox

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NS = {"bpmn": BPMN_NS, "camunda": CAMUNDA_MODEL_NS}
FOLDERS = {"bpmn": ".bpmn", "dmn": ".dmn", "forms": ".json"}


@dataclass(frozen=True)
class Bundle:
    files: dict[str, str]  # "bpmn/filing.bpmn" -> text

    @property
    def hash(self) -> str:
        digest = hashlib.sha256()
        for path in sorted(self.files):
            digest.update(path.encode() + b"\0" + self.files[path].encode() + b"\0")
        return digest.hexdigest()


def read_bundle(root: Path) -> Bundle:
    files = {}
    for folder, suffix in FOLDERS.items():
        for path in sorted((root / folder).glob(f"*{suffix}")):
            files[f"{folder}/{path.name}"] = path.read_text(encoding="utf-8")
    return Bundle(files)


@dataclass
class UserTaskInfo:
    name: str  # BPMN id
    title: str
    role: str
    form_key: str
    due_date: str | None = None  # camunda:dueDate, an expression giving a date or datetime


@dataclass
class Definitions:
    """A compiled bundle: what the engine runs and what the doors show."""

    hash: str
    bundle: Bundle
    processes: dict[str, Any] = field(default_factory=dict)  # process id -> (spec, subprocess specs)
    decisions: dict[str, Decision] = field(default_factory=dict)
    forms: dict[str, dict] = field(default_factory=dict)
    user_tasks: dict[tuple[str, str], UserTaskInfo] = field(default_factory=dict)  # (process, task)
    process_names: dict[str, str] = field(default_factory=dict)
    start_messages: dict[str, set[str]] = field(default_factory=dict)  # message -> processes it starts
    schedules: dict[str, Schedule] = field(default_factory=dict)  # process -> when it starts by itself


def parse_xml(text: str, file_name: str) -> etree._Element:
    """XML from analysts' uploads: no DTD, no entities, no network (XXE and billion laughs)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        tree = etree.fromstring(text.encode("utf-8"), parser)
    except etree.XMLSyntaxError as error:
        raise DefinitionError(file_name, None, f"not well-formed XML: {error}") from None
    if tree.getroottree().docinfo.doctype:
        raise DefinitionError(file_name, None, "a DOCTYPE is not allowed in a model file")
    return tree


def compile_bundle(bundle: Bundle, *, roles: set[str], topics: Mapping[str, Set[str]], sandbox: Sandbox,
                   form_checks: set[str] = frozenset(), deploying: bool = True) -> Definitions:
    """Parse and validate everything; the first problem found is raised as DefinitionError.
    `topics` names each service topic a handler is registered for, with the input parameters
    that handler reads.

    A version stored earlier (`deploying=False`) is loaded as it was accepted then: a form's
    references are not checked again, since validation never follows one out of the form
    (`NOTHING_REMOTE`), so a running case still opens and a submit says what is wrong."""
    result = Definitions(hash=bundle.hash, bundle=bundle)
    for path, text in bundle.files.items():
        if path.startswith("forms/"):
            result.forms[Path(path).stem] = _check_form(path, text, form_checks)
            if deploying:
                _check_references(path, result.forms[Path(path).stem])
        elif path.startswith("dmn/"):
            for decision in parse_decisions(text.encode("utf-8"), path, sandbox=sandbox):
                if decision.id in result.decisions:
                    raise DefinitionError(path, decision.id, "a decision with this id exists in another file")
                result.decisions[decision.id] = decision
    parser = ProcessParser(validator=BpmnValidator())
    documents = {}
    for path, text in bundle.files.items():
        if path.startswith("bpmn/"):
            root = parse_xml(text, path)
            documents[path] = root
            try:
                parser.add_bpmn_xml(root, filename=path)
            except ValidationException as error:
                raise _definition_error(error, path) from None
    processes_in_bundle = {p.get("id") for root in documents.values() for p in root.iterfind(f"{{{BPMN_NS}}}process")}
    for path, root in documents.items():
        _check_document(path, root, result, roles, topics, sandbox, processes_in_bundle)
        for process in root.iterfind(f"{{{BPMN_NS}}}process"):
            process_id = process.get("id")
            if process.get("isExecutable") != "true":
                continue
            try:
                spec = parser.get_spec(process_id)
                subprocesses = parser.get_subprocess_specs(process_id)
            except ValidationException as error:
                raise _definition_error(error, path) from None
            result.processes[process_id] = (spec, subprocesses)
            result.process_names[process_id] = process.get("name") or process_id
    return result


def _definition_error(error: ValidationException, path: str) -> DefinitionError:
    return DefinitionError(error.file_name or path, getattr(error, "id", None) or None, str(error))


def _check_form(path: str, text: str, form_checks) -> dict:
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as error:
        raise DefinitionError(path, None, f"not valid JSON: {error}") from None
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as error:
        where = "/".join(str(p) for p in error.absolute_path) or None
        raise DefinitionError(path, where, f"not a valid JSON Schema: {error.message}") from None
    for check in schema.get("x-checks", []):
        if check not in form_checks:
            raise DefinitionError(path, "x-checks", f"unknown check '{check}'; known: {sorted(form_checks)}")
    _check_hints(path, schema)
    return schema


# The form hints the pages and the task use case read (service/web/schema_form.py, usecases/forms.py);
# a misspelt one would be ignored without a word, so it is refused.
FORM_HINTS = {"x-checks", "x-ui", "x-enum-titles", "x-widget", "x-hint"}
UI_HINTS = {"groups", "order", "opinion", "fresh", "phrases", "prefill", "readonly_when", "readonly_context",
            "context_titles", "show_when"}


def _check_hints(path: str, schema: Any, pointer: str = "") -> None:
    if isinstance(schema, dict):
        for key, value in schema.items():
            here = f"{pointer}/{key}"
            if isinstance(key, str) and key.startswith("x-") and key not in FORM_HINTS:
                raise DefinitionError(path, here, f"表单提示“{key}”不存在，不会起作用；可用：{sorted(FORM_HINTS)}")
            if key == "x-ui" and isinstance(value, dict):
                for hint in value:
                    if hint not in UI_HINTS:
                        raise DefinitionError(path, f"{here}/{hint}", f"x-ui 中的“{hint}”不存在，不会起作用；"
                                              f"可用：{sorted(UI_HINTS)}")
            elif key != "enum" and key != "const" and key != "default":
                _check_hints(path, value, here)
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            _check_hints(path, value, f"{pointer}/{index}")


DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _never_retrieve(uri: str):
    raise referencing.exceptions.NoSuchResource(ref=uri)


# SSRF: jsonschema's default registry fetches any `$ref` it does not hold (http://, file://…) in
# the worker that validates a submit. This one holds only the form itself and never fetches.
NOTHING_REMOTE: referencing.Registry = referencing.Registry(retrieve=_never_retrieve)  # type: ignore[call-arg]


def _references(schema: Any, pointer: str = "") -> Iterator[tuple[str, str, Any]]:
    """(JSON pointer, keyword, value) of every `$ref`, `$dynamicRef`, `$id` and `$schema`."""
    if isinstance(schema, dict):
        for key, value in schema.items():
            here = f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}"
            if key in ("$ref", "$dynamicRef", "$id", "$schema") and isinstance(value, str):
                yield here, key, value
            else:
                yield from _references(value, here)
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            yield from _references(value, f"{pointer}/{index}")


def _check_references(path: str, schema: dict) -> None:
    """A form is one file: a reference leads only inside it (`#…`) and to a definition that is
    there. Anything else would make the server fetch a URL or read a file when a user submits."""
    resolver = NOTHING_REMOTE.with_resource("", DRAFT202012.create_resource(schema)).resolver()
    for pointer, keyword, value in _references(schema):
        if keyword == "$schema":
            if value.rstrip("#") != DIALECT:
                raise DefinitionError(path, pointer,
                                      f"$schema 只能是 {DIALECT}（JSON Schema 2020-12），不能是“{value}”")
        elif keyword == "$id":
            raise DefinitionError(path, pointer, f"表单中不能使用 $id（“{value}”）：它改变引用的基准地址，"
                                  "表单的引用只能指向本文件内的定义")
        elif not value.startswith("#"):
            raise DefinitionError(path, pointer, f"{keyword} 只能引用本表单内的定义（以 # 开头，如 #/$defs/地址），"
                                  f"不能引用外部网址或文件“{value}”：服务器不会去读取它")
        else:
            try:
                resolver.lookup(value)
            except referencing.exceptions.Unresolvable:
                raise DefinitionError(path, pointer, f"{keyword}“{value}”指向的定义在本表单中不存在") from None


def lane_role(lane) -> str | None:
    prop = lane.find(f"{{{BPMN_NS}}}extensionElements/{{{CAMUNDA_MODEL_NS}}}properties/"
                     f"{{{CAMUNDA_MODEL_NS}}}property[@name='role']")
    return prop.get("value") if prop is not None else None


def _check_document(path, root, result: Definitions, roles, topics, sandbox: Sandbox, called_processes):
    """What SpiffWorkflow does not check: lanes, forms, decisions, topics, expressions."""
    stem = Path(path).stem
    process_ids = [p.get("id") for p in root.iterfind(f"{{{BPMN_NS}}}process")]
    if stem not in process_ids:
        raise DefinitionError(path, None, f"file name must be the process id; found processes {process_ids}")
    lane_of = {}
    for lane in root.iter(f"{{{BPMN_NS}}}lane"):
        # the lane's name is for people (县（区）人社部门); the role that acts in it is a property
        role = lane_role(lane)
        if role not in roles:
            raise DefinitionError(path, lane.get("id"), f"泳道“{lane.get('name') or lane.get('id')}”的角色属性 "
                                  f"role 应为 {sorted(roles)} 之一，现为“{role or '（未设置）'}”"
                                  "（camunda:properties 中的 camunda:property name=\"role\"）")
        for ref in lane.iterfind(f"{{{BPMN_NS}}}flowNodeRef"):
            lane_of[ref.text.strip()] = role
    _check_camunda_extensions(path, root)
    for process in root.iterfind(f"{{{BPMN_NS}}}process"):
        process_id = process.get("id")
        for node in process.iter(f"{{{BPMN_NS}}}scriptTask"):
            raise DefinitionError(path, node.get("id"), "script tasks are not allowed; use a service task "
                                  "(External, topic) or a business rule task")
        for node in process.iter(f"{{{BPMN_NS}}}userTask"):
            task_id = node.get("id")
            form_key = node.get(f"{{{CAMUNDA_MODEL_NS}}}formKey")
            if task_id not in lane_of:
                raise DefinitionError(path, task_id, "user task lies in no lane, so no role may act on it")
            if not form_key:
                raise DefinitionError(path, task_id, "user task has no form key (camunda:formKey)")
            if form_key not in result.forms:
                raise DefinitionError(path, task_id, f"form '{form_key}' does not exist (forms/{form_key}.json)")
            due_date = node.get(f"{{{CAMUNDA_MODEL_NS}}}dueDate")
            if due_date:
                try:
                    sandbox.check(due_date)
                except ExpressionError as error:
                    raise DefinitionError(path, task_id, str(error)) from None
            result.user_tasks[(process_id, task_id)] = UserTaskInfo(
                task_id, node.get("name") or task_id, lane_of[task_id], form_key, due_date)
        for node in process.iter(f"{{{BPMN_NS}}}businessRuleTask"):
            ref = node.get(f"{{{CAMUNDA_MODEL_NS}}}decisionRef")
            if ref not in result.decisions:
                raise DefinitionError(path, node.get("id"), f"decision '{ref}' does not exist in dmn/")
            problem = result.decisions[ref].binding_problem(node.get(f"{{{CAMUNDA_MODEL_NS}}}resultVariable"),
                                                            node.get(f"{{{CAMUNDA_MODEL_NS}}}mapDecisionResult"))
            if problem:
                raise DefinitionError(path, node.get("id"), problem)
        for node in process.iter(f"{{{BPMN_NS}}}serviceTask"):
            topic = node.get(f"{{{CAMUNDA_MODEL_NS}}}topic")
            if topic not in topics:
                raise DefinitionError(path, node.get("id"), f"unknown topic '{topic}'; known: {sorted(topics)}")
            for parameter in node.iterfind(f".//{{{CAMUNDA_MODEL_NS}}}inputParameter"):
                # an input its handler never reads would look like a rule and do nothing
                if parameter.get("name") not in topics[topic]:
                    raise DefinitionError(path, node.get("id"), f"topic '{topic}' does not read input "
                                          f"'{parameter.get('name')}'; it reads: {sorted(topics[topic]) or 'none'}")
        for node in process.iter(f"{{{BPMN_NS}}}callActivity"):
            called = node.get("calledElement")
            if not called or called not in called_processes:
                raise DefinitionError(path, node.get("id"), f"调用活动调用的流程“{called or ''}”不存在；"
                                      f"可调用：{sorted(called_processes)}")
        messages = {m.get("id"): m.get("name") for m in root.iterfind(f"{{{BPMN_NS}}}message")}
        for node in process.iterfind(f"{{{BPMN_NS}}}startEvent"):
            for cycle in node.iterfind(f"{{{BPMN_NS}}}timerEventDefinition/{{{BPMN_NS}}}timeCycle"):
                if process_id in result.schedules:
                    raise DefinitionError(path, node.get("id"), "一个流程只能有一个定时启动的开始事件")
                try:
                    result.schedules[process_id] = parse_schedule(cycle.text or "")
                except ScheduleError as error:
                    raise DefinitionError(path, node.get("id"), str(error)) from None
            for definition in node.iterfind(f"{{{BPMN_NS}}}messageEventDefinition"):
                name = messages.get(definition.get("messageRef"))
                if not name:
                    raise DefinitionError(path, node.get("id"), "message start event names no message")
                result.start_messages.setdefault(name, set()).add(process_id)
        _check_expressions(path, process, sandbox)


def _check_expressions(path, process, sandbox: Sandbox):
    def owner(node):
        while node is not None and node.get("id") is None:
            node = node.getparent()
        return node.get("id") if node is not None else None

    tags = [f"{{{BPMN_NS}}}conditionExpression", f"{{{BPMN_NS}}}timeDate", f"{{{BPMN_NS}}}timeDuration",
            f"{{{CAMUNDA_MODEL_NS}}}inputParameter"]
    for tag in tags:
        for node in process.iter(tag):
            text = (node.text or "").strip()
            if not text:
                raise DefinitionError(path, owner(node), "empty expression")
            try:
                sandbox.check(text)
            except ExpressionError as error:  # the sandbox names the construct it refuses
                raise DefinitionError(path, owner(node), str(error)) from None


# What each element may carry from the Camunda namespace: exactly what this engine reads. Anything
# else a modeler offers (assignee, listeners, output mappings…) would look like a rule and do
# nothing, so it is refused with the reason. The process-level three are descriptions Camunda
# Modeler writes into every new model; they change no case, and nobody expects them to.
CAMUNDA_ATTRIBUTES = {
    "process": {"historyTimeToLive", "versionTag", "isStartableInTasklist"},
    "userTask": {"formKey", "dueDate"},
    "serviceTask": {"type", "topic"},
    "businessRuleTask": {"decisionRef", "resultVariable", "mapDecisionResult"},
}
WHY_NOT = {
    "assignee": "办理人由泳道的角色属性 role 和辖区决定",
    "candidateGroups": "办理人由泳道的角色属性 role 和辖区决定",
    "candidateUsers": "办理人由泳道的角色属性 role 和辖区决定",
    "outputParameter": "服务任务的结果由其主题的处理程序返回，决策的结果由 resultVariable 接收",
    "in": "调用活动带入调用方的全部数据，结束时带回全部数据",
    "out": "调用活动带入调用方的全部数据，结束时带回全部数据",
    "executionListener": "本系统不执行脚本和监听器",
    "taskListener": "本系统不执行脚本和监听器",
    "asyncBefore": "每一步都在同一事务中提交",
    "asyncAfter": "每一步都在同一事务中提交",
}


def _check_camunda_extensions(path: str, root) -> None:
    def local(node) -> str:
        return etree.QName(node).localname

    def owner(node):
        while node is not None and node.get("id") is None:
            node = node.getparent()
        return node.get("id") if node is not None else None

    def refuse(node, name, where):
        reason = WHY_NOT.get(name, "本系统不读取它")
        raise DefinitionError(path, owner(node), f"{where}上的 camunda:{name} 在本系统中不起作用，请删除（{reason}）")

    for process in root.iterfind(f"{{{BPMN_NS}}}process"):
        for node in process.iter(etree.Element):
            for attribute in node.attrib:
                name = etree.QName(attribute)
                if name.namespace == CAMUNDA_MODEL_NS and name.localname not in CAMUNDA_ATTRIBUTES.get(local(node), ()):
                    refuse(node, name.localname, local(node))
            if local(node) == "serviceTask" and node.get(f"{{{CAMUNDA_MODEL_NS}}}type") != "external":
                raise DefinitionError(path, node.get("id"), "服务任务应为外部任务（camunda:type=\"external\"，"
                                      "并以 camunda:topic 指定主题）")
            if etree.QName(node).namespace != CAMUNDA_MODEL_NS:
                continue
            parent = node.getparent()
            allowed = (
                (local(node) == "inputOutput" and local(parent.getparent()) == "serviceTask")
                or (local(node) == "inputParameter" and local(parent) == "inputOutput" and len(node) == 0)
                or (local(node) == "properties" and local(parent.getparent()) == "lane")
                or (local(node) == "property" and local(parent) == "properties" and node.get("name") == "role")
            )
            if not allowed:
                refuse(node, local(node) if local(node) != "property" else f"property “{node.get('name')}”",
                       local(parent.getparent()) if local(parent) == "extensionElements" else local(parent))

"""A task's form, from its JSON Schema in forms/: the fields to draw, and the posted values
read back into the data the schema validates.

The server is the only judge of what is valid (usecases.forms); this module never drops what
the user typed: a number that does not parse stays the text it was, so the page can show it
again next to its error.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from werkzeug.datastructures import MultiDict

from ..domain.numbers import parse_decimal

OPINION = "opinion"


@dataclass
class Field:
    name: str
    title: str
    kind: str  # text | textarea | number | integer | date | choice | jurisdiction | boolean | attachment | table
    required: bool = False
    description: str = ""
    choices: list[tuple[str, str]] = field(default_factory=list)
    columns: list[Field] = field(default_factory=list)
    show_when: dict = field(default_factory=dict)  # {"kind": ["social_org"]}: shown only then
    phrases: list[str] = field(default_factory=list)  # 常用语 offered beside the opinion (x-ui phrases)
    readonly_when: dict = field(default_factory=dict)  # {"identity_fixed": ["true"]}: shown, not edited, then

    def is_readonly(self, data: dict) -> bool:
        """x-ui readonly_when: the value is the case's, shown and posted back as it is (e.g. the
        credit code and kind of a filed institution); the server refuses a different one anyway."""
        return bool(self.readonly_when) and all(
            _as_text(data.get(name)) in [_as_text(v) for v in allowed] for name, allowed in self.readonly_when.items())


@dataclass
class Group:
    title: str
    fields: list[Field]


def _kind(prop: dict, name: str) -> str:
    if prop.get("type") == "array":
        return "table"
    if "enum" in prop:
        return "choice"
    if prop.get("format") == "attachment":
        return "attachment"
    if prop.get("format") in ("date", "jurisdiction"):
        return prop["format"]
    if name == OPINION or prop.get("x-widget") == "textarea":
        return "textarea"
    return {"number": "number", "integer": "integer", "boolean": "boolean"}.get(prop.get("type"), "text")


def _required(schema: dict) -> set[str]:
    """Required always, or under a condition (allOf/if/then): marked for the user either way,
    since the server tells them precisely when it applies."""
    names = set(schema.get("required", []))
    for rule in schema.get("allOf", []):
        names.update(rule.get("then", {}).get("required", []))
    return names


def make_field(name: str, prop: dict, required: bool, show_when: dict | None = None) -> Field:
    kind = _kind(prop, name)
    choices = list(zip(prop.get("enum", []), prop.get("x-enum-titles", prop.get("enum", [])), strict=False))
    columns = []
    if kind == "table":
        items = prop.get("items", {})
        columns = [make_field(col, sub, col in items.get("required", []))
                   for col, sub in items.get("properties", {}).items()]
    return Field(name, prop.get("title", name), kind, required, prop.get("description", ""), choices, columns,
                 show_when or {})


def groups(schema: dict) -> list[Group]:
    """The fields to draw, in the analyst's groups and order (x-ui), the opinion last."""
    ui = schema.get("x-ui", {})
    props = schema.get("properties", {})
    required = _required(schema)
    order = [n for n in ui.get("order", list(props)) if n in props]
    order += [n for n in props if n not in order]
    build = {n: make_field(n, props[n], n in required, ui.get("show_when", {}).get(n)) for n in order}
    for name, rule in ui.get("readonly_when", {}).items():
        if name in build:
            build[name].readonly_when = rule
    result = [Group(g["title"], [build[n] for n in g["fields"] if n in build]) for g in ui.get("groups", [])]
    placed = {f.name for g in result for f in g.fields}
    rest = [build[n] for n in order if n not in placed and n != OPINION]
    if rest:
        result.insert(0, Group("", rest)) if not result else result.append(Group("其他", rest))
    if OPINION in build:
        build[OPINION].phrases = list(ui.get("phrases", []))
        result.append(Group("审批意见", [build[OPINION]]))
    return result


def _as_text(value) -> str:
    # as a posted field says it: a yes/no answer is "true"/"false"
    return ("true" if value else "false") if isinstance(value, bool) else "" if value is None else str(value)


def _value(kind: str, raw: str):
    raw = raw.strip()
    if raw == "":
        return None
    if kind == "integer":
        try:
            return int(raw)
        except ValueError:
            return raw
    if kind == "number":
        try:
            number = parse_decimal(raw)  # exact: 50.5 is Decimal("50.5"), never a binary float
        except ValueError:
            return raw
        return int(number) if number == number.to_integral_value() and "." not in raw else number
    if kind == "boolean":
        return {"true": True, "false": False}.get(raw, raw)
    return raw


def read(schema: dict, form: MultiDict) -> dict:
    """Posted form values → data for the schema. Empty fields are left out, so "required"
    names them; a table's rows are `<table>-<row>-<column>`, rows left wholly empty dropped."""
    data: dict = {}
    for group in groups(schema):
        for f in group.fields:
            if f.kind == "table":
                data[f.name] = _rows(f, form)
            else:
                value = _value(f.kind, form.get(f.name, ""))
                if value is not None:
                    data[f.name] = value
    return data


def _rows(table: Field, form: MultiDict) -> list[dict]:
    prefix = f"{table.name}-"
    indexes = sorted({int(key.split("-")[1]) for key in form if key.startswith(prefix)
                      and key.count("-") >= 2 and key.split("-")[1].isdigit()})
    rows = []
    for i in indexes:
        row = {}
        for column in table.columns:
            value = _value(column.kind, form.get(f"{table.name}-{i}-{column.name}", ""))
            if value is not None:
                row[column.name] = value
        if row:
            rows.append(row)
    return rows


"""What every request must be before a door reads it: input that the database or the parser
cannot take is refused here with a 400 and a Chinese message, never left to become a 500.

- NUL characters: PostgreSQL refuses them in text, in any field, query string or file name.
- Nameless multipart fields, which no form of ours sends.
- Ids in URLs and page numbers beyond what the database's integers hold.
- JSON bodies: only `application/json` (a cross-site form cannot send it without CORS, so the
  CSRF-exempt endpoints are safe from login CSRF), an object, nested at most a few levels.
"""
from __future__ import annotations

from flask import current_app, request
from werkzeug.exceptions import BadRequest, UnsupportedMediaType
from werkzeug.routing import IntegerConverter

from .domain.numbers import MAX_MAGNITUDE, NotANumber

MAX_ID = 2**31 - 1  # ids are INTEGER columns
MAX_PAGE = 100_000
MAX_DEPTH = 20  # our deepest body (a form's data with its scope rows) is 4 levels


class Refused(BadRequest):
    """A 400 whose description is the Chinese message the user reads."""


class IdConverter(IntegerConverter):
    """`<int:…>` in our URLs: a number beyond the database's ids is an unknown address (404), not a 500."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def check_request() -> None:
    """Runs before every view (see create_app)."""
    if "\x00" in request.path or any("\x00" in key or "\x00" in value
                                     for key, value in request.args.items(multi=True)):
        raise Refused("地址或查询条件中含有不可见的空字符（\\0），请删除后重试")
    for key in ("page", "per_page"):
        value = request.args.get(key, "").strip().lstrip("+")
        if value.isdecimal() and int(value) > MAX_PAGE:
            raise Refused(f"页码应为1至{MAX_PAGE}之间的整数")
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        if None in request.form or None in request.files:
            raise Refused("提交的表单中有未命名的字段，请使用页面上的表单提交")
        if any("\x00" in key or "\x00" in value for key, value in request.form.items(multi=True)) or any(
                "\x00" in (upload.filename or "") for upload in request.files.values()):
            raise Refused("提交的内容中含有不可见的空字符（\\0），请删除后重试")


def json_body() -> dict:
    """The request's JSON object. Refused: another content type (415), text that is not JSON, a
    body that is not an object, nesting deeper than MAX_DEPTH, a NUL character (400)."""
    if not request.is_json:
        raise UnsupportedMediaType("请以 JSON 格式提交（请求头 Content-Type: application/json）")
    try:
        body = current_app.json.loads(request.get_data(cache=True) or b"{}")  # numbers as the app reads them
    except NotANumber:
        raise Refused(f"请求体中有数字超出允许范围（绝对值不超过1e{MAX_MAGNITUDE}），请核对后重试") from None
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
        raise Refused("请求体不是有效的 JSON，或嵌套层数过多") from None
    if not isinstance(body, dict):
        raise Refused("请求体应为 JSON 对象（{…}）")
    _check_value(body)
    return body


def _check_value(value) -> None:
    """Depth and NUL characters, without recursion (the body may be deeper than Python's stack)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise Refused(f"请求体嵌套层数过多（不超过{MAX_DEPTH}层）")
        if isinstance(item, dict):
            for key, inner in item.items():
                if "\x00" in key:
                    raise Refused("提交的内容中含有不可见的空字符（\\0），请删除后重试")
                pending.append((inner, depth + 1))
        elif isinstance(item, list):
            pending.extend((inner, depth + 1) for inner in item)
        elif isinstance(item, str) and "\x00" in item:
            raise Refused("提交的内容中含有不可见的空字符（\\0），请删除后重试")

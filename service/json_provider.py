"""Flask's JSON with exact decimals: a number with a fraction in a request body is read as a
Decimal (service/domain/numbers.py), and a Decimal in a response is written as a JSON number with
its own digits (2.9999999999999999 stays that, 0.30 stays 0.30), where Flask's default writes a
string and a float would round it.

The standard json cannot write a number it did not format itself, so a Decimal goes in as a
placeholder string carrying a random token, and the placeholder is swapped for the digits after."""
from __future__ import annotations

import re
import secrets
from decimal import Decimal
from typing import Any

from flask.json.provider import DefaultJSONProvider

from .domain.numbers import parse_decimal


class JSONProvider(DefaultJSONProvider):
    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        kwargs.setdefault("parse_float", parse_decimal)
        return super().loads(s, **kwargs)

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        token = secrets.token_hex(8)
        decimals: list[str] = []
        text = super().dumps(_with_placeholders(obj, token, decimals), **kwargs)
        if not decimals:
            return text
        # json writes the placeholder "\x00<n>:<token>\x00" as "\u0000<n>:<token>\u0000"
        return re.sub(rf'"\\u0000(\d+):{token}\\u0000"', lambda found: decimals[int(found[1])], text)


def _with_placeholders(value: Any, token: str, decimals: list[str]) -> Any:
    if isinstance(value, Decimal):
        if not value.is_finite():
            return None
        decimals.append(str(value))
        return f"\x00{len(decimals) - 1}:{token}\x00"
    if isinstance(value, dict):
        return {key: _with_placeholders(item, token, decimals) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_with_placeholders(item, token, decimals) for item in value]
    return value

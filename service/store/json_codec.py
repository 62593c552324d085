"""JSON columns (applications, scopes, audit data) keep Decimals exact: written as numbers with
their digits, read back as Decimal (service/domain/numbers.py). SQLAlchemy's default json.dumps
cannot write a Decimal at all."""
from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import orjson


def _exact(value: Any) -> Any:
    if isinstance(value, Decimal) and value.is_finite():
        return orjson.Fragment(str(value))  # "50.50", as it was written
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _rounded(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(value: Any) -> str:
    try:
        return orjson.dumps(value, default=_exact, option=orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError:  # an integer beyond 64 bits: json writes it, Decimals as floats
        return json.dumps(value, default=_rounded, ensure_ascii=False)


def loads(text: str | bytes) -> Any:
    return json.loads(text, parse_float=Decimal)


# create_engine(..., **JSON_COLUMNS)
JSON_COLUMNS = {"json_serializer": dumps, "json_deserializer": loads}

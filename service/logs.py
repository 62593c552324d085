"""Logs as an operator's tools read them (issue 18): one JSON object a line, each with the request
it belongs to, so a line in the log, the answer's X-Request-ID and the audit entry of the step it
took lead to one another. ID-card and mobile numbers never reach a log: they are masked in every
message and traceback, whatever wrote them."""
from __future__ import annotations

import json
import logging
import re
from contextvars import ContextVar
from datetime import UTC, datetime

# The request being answered (web) or None (scheduler, CLI): set by the web layer, read by the
# log lines and by the audit entries the request writes.
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)

ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[0-9Xx])(?![0-9A-Za-z])")  # GB 11643
MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")


def mask(text: str) -> str:
    """341702199001010034 → 341702********0034; 13812345678 → 138****5678."""
    return MOBILE.sub(r"\1****\2", ID_NUMBER.sub(r"\1********\2", text))


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                "level": record.levelname, "logger": record.name, "message": mask(record.getMessage()),
                "request_id": REQUEST_ID.get()}
        if record.exc_info:
            line["exception"] = mask(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)


class Masked(logging.Formatter):
    """Plain text for a developer's terminal, masked all the same."""

    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record))


class Ours(logging.StreamHandler):
    """The handler `configure` installs (and replaces when called again); others are left alone."""


def configure(json_lines: bool, level: int = logging.INFO) -> None:
    """The root logger's handler: JSON lines (production) or plain text, masked either way."""
    handler = Ours()
    handler.setFormatter(JsonLines() if json_lines else Masked("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if not isinstance(h, Ours)] + [handler]
    root.setLevel(level)

"""A checklist an inspector fills (督查 of a batch, 双随机 spot checks: Art. 17's key links): each item
answered ok | problem | na, the problems described, up to three photos. One reading of it for every
process that has one, so a finding counts the same wherever it was made."""
from __future__ import annotations

PROBLEM = "problem"
PHOTOS = ("photo_1", "photo_2", "photo_3")


def check_findings(data: dict, prefixes: tuple[str, ...]) -> dict[str, str]:
    """A problem found is described; a hand-over needs a problem to hand over."""
    problems = [key for key, value in data.items() if key.startswith(prefixes) and value == PROBLEM]
    if problems and len((data.get("findings") or "").strip()) < 10:
        return {"findings": "有“发现问题”的检查项，请写明发现的问题（不少于10个字）"}
    if data.get("hand_over") and not problems:
        return {"hand_over": "没有“发现问题”的检查项，无需移交"}
    return {}


def record(row, data: dict, prefixes: tuple[str, ...], now) -> None:
    """The answers, the problems counted and described, on the row (Inspection, SpotCheck)."""
    row.results = {key: value for key, value in data.items() if key.startswith(prefixes)}
    row.problems = sum(1 for value in row.results.values() if value == PROBLEM)
    row.findings = data.get("findings") or None
    row.status, row.recorded_at = "recorded", now


def photos(data: dict) -> list[str]:
    return [data[key] for key in PHOTOS if data.get(key)]


def outcome(row) -> str:
    """What was found, in a few words, for whoever is told."""
    return f"发现问题{row.problems}项：{row.findings}" if row.problems else "未发现问题"

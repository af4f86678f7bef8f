"""The lint finding: what is wrong, where, and the concrete fix."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")


@dataclass(frozen=True, slots=True)
class Finding:
    """One lint finding.

    :param rule: the rule id, e.g. ``timestamp-text``.
    :param severity: ``error``, ``warning`` or ``info``.
    :param migration: the migration folder name (empty for project-wide findings).
    :param file: ``up.sql``, ``down.sql`` or ``""`` when the finding is about the folder.
    :param line: 1-based line of the statement in ``file`` (0 when not about a line).
    :param message: one line saying what is wrong.
    :param fix: what to do; may hold SQL to paste (several lines).
    """

    rule: str
    severity: Severity
    migration: str
    file: str
    line: int
    message: str
    fix: str = ""

    def location(self) -> str:
        """Return ``migration/file:line`` for text output."""
        where = "/".join(part for part in (self.migration, self.file) if part)
        return f"{where}:{self.line}" if self.line else where

    def to_dict(self) -> dict[str, Any]:
        """Return the finding as a plain dict (JSON output, DataFrames)."""
        return asdict(self)


def has_errors(findings: Iterable[Finding]) -> bool:
    """Return True when any finding is an error."""
    return any(f.severity == "error" for f in findings)


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Order findings by migration, file, line, then rule id."""
    return sorted(findings, key=lambda f: (f.migration, f.file, f.line, f.rule))


def to_frame(findings: Iterable[Finding]) -> Any:
    """Return the findings as a pandas DataFrame, one row per finding."""
    import pandas as pd

    columns = ["rule", "severity", "migration", "file", "line", "message", "fix"]
    return pd.DataFrame([f.to_dict() for f in findings], columns=columns)

"""Lint migrations with the team's rules and SQLite's limits; plan table rebuilds.

Rules are registered by decorator (:mod:`lightnb.lint.registry`), one module per family in
:mod:`lightnb.lint.rules`, where the engine discovers them.
"""

from __future__ import annotations

from lightnb.lint.config import LintConfig, config_from_settings
from lightnb.lint.engine import lint_migrations, lint_project, lint_source, lint_sql, load_rules
from lightnb.lint.finding import Finding, has_errors, sort_findings, to_frame
from lightnb.lint.rebuild import Changes, Check, Column, ForeignKey, RebuildPlan, Unique, plan_rebuild
from lightnb.lint.rules.hygiene import checksum_hook, forget_checksums, record_checksums

__all__ = [
    "Changes", "Check", "Column", "Finding", "ForeignKey", "LintConfig", "RebuildPlan", "checksum_hook",
    "config_from_settings", "forget_checksums", "has_errors", "lint_migrations", "lint_project",
    "lint_source", "lint_sql", "load_rules", "plan_rebuild", "record_checksums", "sort_findings", "to_frame", "Unique",
]

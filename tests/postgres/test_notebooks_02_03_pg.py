"""Notebooks 02 and 03 with ``backend = "postgres"`` walk their steps on a real server (papermill, headless): the
verdict, the rows the change touched, the verification query's result, production only read, no secret in the
notebook or its report, and no server left running."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lightnb.backends.postgres.connect import connect
from lightnb.backends.postgres.sample import PRODUCTION_DATABASE, WORKSPACE_DATABASE
from lightnb.rehearse import read_verdict
from lightnb.report import export
from lightnb.samples import EXERCISE
from tests.support.pg_notebooks import clones_left, executed_on_postgres, production_secrets

pytestmark = pytest.mark.timeout(300)


def _scalar(url: str, query: str) -> object:
    with connect(url, read_only=True) as conn:
        row = conn.execute(query).fetchone()
    assert row is not None
    return row[0]


def _section(markdown: str, start: str, end: str) -> str:
    return markdown.split(start, 1)[1].split(end, 1)[0]


def _assert_no_secret(cluster: object, *paths: Path) -> str:
    shown = "\n".join(p.read_text(encoding="utf-8") for p in paths)
    secrets = production_secrets(cluster)  # type: ignore[arg-type]
    assert secrets and "[redacted]" in shown
    assert not [s for s in secrets if s in shown]  # no secret leaves the copy
    return shown


def test_notebook_02_rehearses_the_exercise_on_postgres(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with executed_on_postgres("02_rehearse_on_production_copy.ipynb", tmp_path, monkeypatch, sample_users=150) as done:
        production, workspace = done.cluster.url(PRODUCTION_DATABASE), done.cluster.url(WORKSPACE_DATABASE)
        settings = _scalar(production, f"SELECT count(*) FROM {EXERCISE.table}")
        assert isinstance(settings, int) and settings > 0
        assert "Workbook on sample_backend: workspace copy of sample_production; 9 migration(s) applied, 1 pending" \
            in done.texts
        for panel in ("<Test panel: verdict: safe>", "<Run panel: applied 1 migration(s)>",
                      f"<Inspect panel: inspected {EXERCISE.table}>"):
            assert panel in done.texts, panel
        assert read_verdict(done.path) == "safe"
        summary = next(t for t in done.texts if "verdict" in t and "warnings" in t)
        assert EXERCISE.name in summary and " safe " in summary
        assert "Traceback" not in done.joined and "Error" not in done.joined

        # the workspace holds the change on production's real rows; production was only read
        assert _scalar(workspace, f"SELECT count(*) FROM {EXERCISE.table} WHERE {EXERCISE.column} = 'system'") \
            == settings
        assert _scalar(production, "SELECT count(*) FROM information_schema.columns WHERE table_name = "
                                   f"'{EXERCISE.table}' AND column_name = '{EXERCISE.column}'") == 0
        assert _scalar(production, "SELECT count(*) FROM __diesel_schema_migrations WHERE version LIKE "
                                   f"'%{EXERCISE.name}%'") == 0
        assert clones_left(done.cluster) == 0  # every before copy was dropped when the kernel ended

        report = export(done.path, tmp_path / "report")
        assert report.html is not None and report.markdown is not None and report.records == 3
        markdown = report.markdown.read_text(encoding="utf-8")
        applied = _section(markdown, "## Apply to the workspace copy", "## Impact")
        assert f"column added: {EXERCISE.table}.{EXERCISE.column} (text NOT NULL DEFAULT 'system'" in applied
        assert f"| {EXERCISE.table} | {settings} | {settings} | column {EXERCISE.column} added |" in applied
        assert f"| {EXERCISE.column} (new) |" in applied and "| column added | system |" in applied
        assert "**Verdict: safe**" in _section(markdown, "## Reversibility verdict", "## Apply")
        _assert_no_secret(done.cluster, done.path, report.html, report.markdown)


AMSTERDAM = "SELECT {what} FROM user_settings WHERE timezone = 'Europe/Amsterdam'"


def test_notebook_03_documents_the_data_change_on_postgres(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with executed_on_postgres("03_document_a_data_change.ipynb", tmp_path, monkeypatch,
                              sample_users=150) as done:
        production, workspace = done.cluster.url(PRODUCTION_DATABASE), done.cluster.url(WORKSPACE_DATABASE)
        stuck = _scalar(production, AMSTERDAM.format(what="count(*)") + " AND locale = 'en-US'")
        dutch = _scalar(production, AMSTERDAM.format(what="count(*)") + " AND locale = 'nl-NL'")
        rows = _scalar(production, "SELECT count(*) FROM user_settings")
        assert isinstance(stuck, int) and stuck > 0 and isinstance(dutch, int)
        for panel in ("<Test panel: verdict: safe>", "<Run panel: applied 1 migration(s)>",
                      "<Inspect panel: inspected user_settings>", "<Verify panel: 1 query(ies) run>"):
            assert panel in done.texts, panel
        assert "Traceback" not in done.joined and "Error" not in done.joined

        # the change ran on the workspace only: production still has its en-US users in Amsterdam
        assert _scalar(workspace, AMSTERDAM.format(what="count(*)") + " AND locale = 'nl-NL'") == stuck + dutch
        assert _scalar(workspace, "SELECT count(*) FROM locale_fix_backup") == stuck
        assert _scalar(production, "SELECT to_regclass('locale_fix_backup') IS NULL") is True
        assert clones_left(done.cluster) == 0

        report = export(done.path, tmp_path / "report")
        assert report.html is not None and report.markdown is not None and report.records == 7
        markdown = report.markdown.read_text(encoding="utf-8")
        assert "**Verdict: safe**" in _section(markdown, "## Reversibility", "## Affected rows")
        affected = _section(markdown, "## Affected rows", "## Verification")
        assert "table added: locale_fix_backup (2 column(s))" in affected
        assert f"| user_settings | {rows} | {rows} | {stuck} row(s) updated |" in affected
        assert f"| locale_fix_backup |  | {stuck} | table added |" in affected
        assert "| ~~en-US~~ → nl-NL |" in affected
        # the verification query ran on the changed copy: no en-US left in Amsterdam, every user there nl-NL
        verified = _section(markdown, "## Verification", "## Sign-off")
        assert "| locale | users |" in verified
        assert re.search(rf"\| nl-NL \| {stuck + dutch} \|", verified) and "| en-US |" not in verified
        assert "- [ ] Approved to run on production" in markdown
        _assert_no_secret(done.cluster, done.path, report.html, report.markdown)

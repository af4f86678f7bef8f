"""Snapshot cases of print-schema: one folder per printing feature under ``cases/``.

Each folder holds ``schema.sql`` (run as one script), ``diesel.toml`` (its ``[print_schema]``
sections; relative paths resolve against the folder) and the expected output: ``expected.rs`` in
diesel 2.3 style, plus ``expected_2.2.rs`` when diesel 2.2 prints something else (otherwise both
styles must print the same bytes). Outputs are compared byte for byte.

Run with ``LIGHTNB_UPDATE_SNAPSHOTS=1`` to (re)write expected files after reviewing a change; a
missing expected file is written and the test fails so that it gets reviewed.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from lightnb.project import Project
from lightnb.schema import configurations, print_schemas

CASES_DIR = Path(__file__).parent / "cases"
CASES = sorted(p.name for p in CASES_DIR.iterdir() if (p / "schema.sql").is_file())
UPDATE = os.environ.get("LIGHTNB_UPDATE_SNAPSHOTS") == "1"


def printed(case: Path, style: str) -> str:
    project = Project.discover(case, environ={})
    conn = sqlite3.connect(":memory:")
    try:
        conn.executescript((case / "schema.sql").read_text(encoding="utf-8"))
        options = [replace(o, style=style) for o in configurations(project.print_schema, project.config_dir)]
        return print_schemas(conn, options)
    finally:
        conn.close()


def check_snapshot(path: Path, actual: str) -> None:
    if UPDATE or not path.is_file():
        path.write_text(actual, encoding="utf-8", newline="\n")
        if not UPDATE:
            pytest.fail(f"wrote new snapshot {path}; review it and run again")
    assert actual == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("case", CASES)
def test_style_23(case: str) -> None:
    check_snapshot(CASES_DIR / case / "expected.rs", printed(CASES_DIR / case, "2.3"))


@pytest.mark.parametrize("case", CASES)
def test_style_22(case: str) -> None:
    folder = CASES_DIR / case
    actual = printed(folder, "2.2")
    if actual == printed(folder, "2.3") and not (folder / "expected_2.2.rs").is_file():
        return
    check_snapshot(folder / "expected_2.2.rs", actual)

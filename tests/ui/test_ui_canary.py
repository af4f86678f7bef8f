"""Planted secrets never reach a widget's HTML, a panel's text, or a result frame (zero leaks)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from lightnb import samples, ui
from lightnb.ui import open_workbook

CANARY_TOKEN = "CANARY-TOKEN-5e1f0c9b"
CANARY_EMAIL = "canary.5e1f0c9b@example.org"
CANARY_PHONE = "+15550009999"


def _plant(production: Path) -> None:
    conn = sqlite3.connect(production)
    try:
        conn.execute("UPDATE users SET email = ?, phone_number = ? WHERE id = (SELECT min(id) FROM users)",
                     (CANARY_EMAIL, CANARY_PHONE))
        conn.execute("UPDATE oauth_connections SET access_token_encrypted = ? "
                     "WHERE id = (SELECT min(id) FROM oauth_connections)", (CANARY_TOKEN,))
        conn.commit()
    finally:
        conn.close()


def _texts(panel) -> list[str]:  # type: ignore[no-untyped-def]
    texts = [repr(panel), panel.result_html.value, panel.banner.value, *panel.record.bundle()[0].values()]
    result = getattr(panel, "result", None)
    if result is not None:
        texts.append(repr(result))
        for attribute in ("row_counts", "to_frame"):
            method = getattr(result, attribute, None)
            if callable(method):
                texts.append(method().to_string())
    return texts


def test_no_secret_reaches_any_panel(tmp_path: Path) -> None:
    project_dir, production = samples.sample_workbook(tmp_path / "sample", users=60, workspace=False)
    _plant(production)
    workbook = open_workbook(project_dir, production)
    exercise = samples.EXERCISE
    # A migration that touches the planted rows, so they show up in before/after previews.
    up = exercise.up_sql + "\nUPDATE users SET display_name = 'changed' WHERE id = (SELECT min(id) FROM users);\n" \
        "UPDATE oauth_connections SET provider = provider || '' WHERE id = (SELECT min(id) FROM oauth_connections);\n"
    panels = [ui.generate(workbook, exercise.name, now=True),
              ui.edit(workbook, up=up, down=exercise.down_sql, now=True),
              ui.test(workbook, run_tests=False, now=True),
              ui.run(workbook, now=True)]
    panels += [ui.inspect(workbook, table=table, now=True) for table in ("users", "oauth_connections")]
    panels += [ui.models(workbook, now=True), ui.revert(workbook, now=True)]
    seen = "\n".join(text for panel in panels for text in _texts(panel))
    assert "→ changed" in seen and "[redacted]" in seen  # the touched rows were shown, masked
    for secret in (CANARY_TOKEN, CANARY_EMAIL, CANARY_PHONE):
        assert secret not in seen

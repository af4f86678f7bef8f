"""Project-wide hygiene rules: changed after applied (sidecar checksums), out of order, duplicates."""

from __future__ import annotations

from pathlib import Path

from lightnb import runner
from lightnb.backends import sqlite
from lightnb.lint import lint_project
from lightnb.lint.rules.hygiene import CHECKSUM_TABLE, checksum_hook
from lightnb.migrations import discover


def make(folder: Path, name: str, up: str, down: str) -> None:
    (folder / name).mkdir(parents=True)
    (folder / name / "up.sql").write_text(up, encoding="utf-8")
    (folder / name / "down.sql").write_text(down, encoding="utf-8")


def rules(findings) -> set[str]:  # type: ignore[no-untyped-def]
    return {f.rule for f in findings}


def test_changed_after_applied_uses_the_sidecar_table(tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    make(folder, "2024-01-01-000000_tags", "CREATE TABLE tags (id INTEGER PRIMARY KEY);\n", "DROP TABLE tags;\n")
    conn = sqlite.connect(tmp_path / "db.sqlite")
    for migration in discover(folder):
        runner.apply(conn, migration, "up", on_applied=checksum_hook)
    assert conn.execute(f"SELECT count(*) FROM {CHECKSUM_TABLE}").fetchone() == (1,)
    assert conn.execute("SELECT count(*) FROM __diesel_schema_migrations").fetchone() == (1,)
    assert "checksum-changed" not in rules(lint_project(folder, conn=conn))

    (folder / "2024-01-01-000000_tags" / "up.sql").write_text("CREATE TABLE tags (id INTEGER PRIMARY KEY, x);\n")
    (finding,) = [f for f in lint_project(folder, conn=conn) if f.rule == "checksum-changed"]
    assert (finding.migration, finding.file, finding.severity) == ("2024-01-01-000000_tags", "up.sql", "error")

    runner.apply(conn, discover(folder)[0], "down", on_applied=checksum_hook)
    # Reverting the last applied migration drops the sidecar, leaving only diesel's table.
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert names == {"__diesel_schema_migrations"}
    conn.close()


def test_pending_older_than_applied_is_out_of_order(tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    make(folder, "2024-01-02-000000_b", "CREATE TABLE b (id INTEGER PRIMARY KEY);\n", "DROP TABLE b;\n")
    conn = sqlite.connect(tmp_path / "db.sqlite")
    runner.run_pending(conn, discover(folder))
    assert "version-out-of-order" not in rules(lint_project(folder, conn=conn))
    make(folder, "2024-01-01-000000_a", "CREATE TABLE a (id INTEGER PRIMARY KEY);\n", "DROP TABLE a;\n")
    (finding,) = [f for f in lint_project(folder, conn=conn) if f.rule == "version-out-of-order"]
    assert finding.migration == "2024-01-01-000000_a"
    conn.close()


def test_duplicate_versions(tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    make(folder, "2024-01-01-000000_a", "CREATE TABLE a (id INTEGER PRIMARY KEY);\n", "DROP TABLE a;\n")
    make(folder, "2024-01-01-000001_b", "CREATE TABLE b (id INTEGER PRIMARY KEY);\n", "DROP TABLE b;\n")
    assert "version-duplicate" not in rules(lint_project(folder))
    make(folder, "2024-01-01-000000_c", "CREATE TABLE c (id INTEGER PRIMARY KEY);\n", "DROP TABLE c;\n")
    (finding,) = [f for f in lint_project(folder) if f.rule == "version-duplicate"]
    assert finding.migration == "2024-01-01-000000_c" and "2024-01-01-000000_a" in finding.message

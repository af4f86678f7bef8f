"""`lightnb models check|generate` on the plantlog backend."""

from __future__ import annotations

from pathlib import Path

from lightnb.cli import main


def test_check_clean_exits_zero(plantlog: Path, capsys):
    assert main(["models", "check", "--project", str(plantlog)]) == 0
    assert "0 proven drift(s), 0 that cannot be proven" in capsys.readouterr().out


def test_check_names_struct_field_and_fix_and_exits_one(plantlog: Path, capsys):
    after = str(plantlog / "schema_after_migration.rs")
    assert main(["models", "check", "--project", str(plantlog), "--schema", after]) == 1
    out = capsys.readouterr().out
    assert "UNPROVEN: Gardener.favourite_colour:" in out
    assert "fix: add `pub favourite_colour: Option<String>,` after line 17" in out
    assert main(["models", "check", "--project", str(plantlog), "--schema", after, "--fail-on", "proven"]) == 0


def test_generate_shows_diff_then_apply_makes_check_clean(plantlog: Path, capsys):
    after = str(plantlog / "schema_after_migration.rs")
    models = plantlog / "src" / "models" / "garden.rs"
    before = models.read_text()
    args = ["models", "generate", "--project", str(plantlog), "--schema", after,
            "--previous-schema", str(plantlog / "src" / "schema.rs")]
    assert main(args) == 0
    assert "+    pub favourite_colour: Option<String>," in capsys.readouterr().out
    assert models.read_text() == before  # showing a plan writes nothing
    assert main([*args, "--apply", "--repository"]) == 0
    out = capsys.readouterr().out
    assert "applied: add favourite_colour to struct `Gardener`" in out
    assert "pub fn update_gardener_favourite_colour(" in out
    assert main(["models", "check", "--project", str(plantlog), "--schema", after]) == 0


def test_missing_models_dir_is_one_line_error(plantlog: Path, capsys):
    code = main(["models", "check", "--project", str(plantlog), "--models-dir", str(plantlog / "nope")])
    err = capsys.readouterr().err
    assert code == 1 and "models folder" in err and "--models-dir" in err and err.count("\n") == 1


def test_database_url_compares_with_the_database_schema(plantlog: Path, capsys):
    import sqlite3

    database = plantlog / "garden.db"
    conn = sqlite3.connect(database)
    up = next((plantlog / "migrations").glob("*/up.sql")).read_text()
    conn.executescript(up + "ALTER TABLE gardeners ADD COLUMN favourite_colour TEXT;")
    conn.close()
    code = main(["models", "check", "--project", str(plantlog), "--database-url", str(database)])
    assert code == 1
    assert "Gardener.favourite_colour" in capsys.readouterr().out

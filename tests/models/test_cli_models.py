"""`lightnb models check|generate` on the plantlog backend."""

from __future__ import annotations

from pathlib import Path

from lightnb.cli import main


def test_check_clean_exits_zero(plantlog: Path, capsys):
    assert main(["models", "check", "--project", str(plantlog)]) == 0
    assert "0 proven drift(s), 0 that cannot be proven" in capsys.readouterr().out


def test_check_names_struct_field_and_fix_and_exits_one_on_proven_drift(plantlog: Path, capsys):
    after = str(plantlog / "schema_after_migration.rs")
    assert main(["models", "check", "--project", str(plantlog), "--schema", after]) == 0  # no positional load
    (plantlog / "src" / "repository.rs").write_text(
        "use diesel::prelude::*;\nuse crate::models::garden::Gardener;\nuse crate::schema::gardeners;\n"
        "pub fn all(conn: &mut SqliteConnection) -> QueryResult<Vec<Gardener>> {\n"
        "    gardeners::table.load::<Gardener>(conn)\n}\n")
    assert main(["models", "check", "--project", str(plantlog), "--schema", after]) == 1
    out = capsys.readouterr().out
    assert "PROVEN: Gardener.favourite_colour:" in out and "repository.rs:5" in out
    assert "fix: add `pub favourite_colour: Option<String>,` after line 17" in out


def test_strict_fails_on_findings_that_cannot_be_proven(plantlog: Path, capsys):
    models = plantlog / "src" / "models" / "garden.rs"
    # Fields out of column order compile when their types line up: only a positional load makes
    # that matter, and it cannot be proven to fail.
    text = models.read_text()
    models.write_text(text.replace("    pub joined_at: chrono::NaiveDateTime,\n    pub plot_count: PlotCount,\n",
                                   "    pub plot_count: PlotCount,\n    pub joined_at: chrono::NaiveDateTime,\n"))
    assert main(["models", "check", "--project", str(plantlog), "--strict"]) == 0  # no positional load: silent
    (plantlog / "src" / "repository.rs").write_text(
        "use crate::models::garden::Gardener;\nfn f(c: &mut SqliteConnection) {\n"
        "    let rows: Vec<Gardener> = gardeners::table.load(c).unwrap();\n}\n")
    assert main(["models", "check", "--project", str(plantlog)]) == 0
    assert "UNPROVEN: Gardener.plot_count: fields are not in the table's column order" in capsys.readouterr().out
    assert main(["models", "check", "--project", str(plantlog), "--strict"]) == 1


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
    (plantlog / "src" / "repository.rs").write_text(
        "use crate::models::garden::Gardener;\nfn f(c: &mut SqliteConnection) {\n"
        "    let rows = gardeners::table.load::<Gardener>(c).unwrap();\n}\n")
    code = main(["models", "check", "--project", str(plantlog), "--database-url", str(database)])
    assert code == 1
    assert "Gardener.favourite_colour" in capsys.readouterr().out


def _one_line(capsys) -> str:  # type: ignore[no-untyped-def]
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.strip().splitlines()) == 1, captured.err
    return captured.err


def test_generate_unknown_table_is_one_line_error_with_suggestion(plantlog: Path, capsys):
    assert main(["models", "generate", "--project", str(plantlog), "--table", "gardener"]) == 1
    err = _one_line(capsys)
    assert "unknown table `gardener`" in err and "did you mean `gardeners`?" in err
    assert main(["models", "generate", "--project", str(plantlog), "--table", "nope", "--repository"]) == 1
    err = _one_line(capsys)
    assert "unknown table `nope`" in err and "choose one of: " in err and "did you mean" not in err


def test_models_dir_that_is_a_non_rust_file_is_refused(plantlog: Path, capsys):
    for verb in ("check", "generate"):
        code = main(["models", verb, "--project", str(plantlog), "--models-dir", str(plantlog / "diesel.toml")])
        err = _one_line(capsys)
        assert code == 1 and "is a file, not a models folder or a .rs file" in err


def test_models_dir_setting_that_is_not_a_path_names_the_key(plantlog: Path, capsys):
    (plantlog / "lightnb.toml").write_text("models_dir = 5\n")
    assert main(["models", "check", "--project", str(plantlog)]) == 1
    err = _one_line(capsys)
    assert "`models_dir = 5` in lightnb.toml is not a path" in err and 'models_dir = "src/models"' in err


def test_check_fails_on_a_model_file_that_does_not_parse_whatever_fail_on_says(plantlog: Path, capsys):
    garden = plantlog / "src" / "models" / "garden.rs"
    garden.write_text(garden.read_text() + "pub struct {{{\n")
    for fail_on in ("any", "proven"):
        assert main(["models", "check", "--project", str(plantlog), "--fail-on", fail_on]) == 1
        out = capsys.readouterr().out
        assert f"{garden}:" in out and "could not be read (Rust syntax error); structs in that region were " \
                                      "not checked" in out
        assert "1 region(s) could not be read, so the check is incomplete" in out

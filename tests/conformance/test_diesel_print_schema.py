"""Replay diesel_cli 2.3.12's own SQLite print-schema snapshot cases (diesel_spec.md §6.2–§6.3).

Every case folder of ``<conformance>/diesel-print-schema`` runs twice:

* CLI mode: a project with diesel's default diesel.toml, ``schema.sql`` executed as one script,
  then ``lightnb print-schema ARGS`` (args.json) must print ``expected.rs``;
* config mode: the case's diesel.toml, ``schema.sql`` as the up.sql of a migration applied by
  ``lightnb migration run`` (lightnb's runner), which regenerates the configured file(s) as diesel
  does; then ``lightnb print-schema`` without arguments.

Outputs are compared after stripping trailing whitespace (insta's normalisation), and must end in
exactly one newline like diesel's.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from lightnb.cli import main
from lightnb.project import Project
from lightnb.schema import configurations
from tests.conftest import conformance_root

pytestmark = pytest.mark.conformance

CORPUS = conformance_root() / "diesel-print-schema"
CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir()) if CORPUS.is_dir() else []

# What `diesel setup` writes when a project has no diesel.toml (diesel_spec.md §2.10).
DEFAULT_DIESEL_TOML = """# For documentation on how to configure this file,
# see https://diesel.rs/guides/configuring-diesel-cli

[print_schema]
file = "src/schema.rs"
custom_type_derives = ["diesel::query_builder::QueryId", "Clone"]

[migrations_directory]
dir = "migrations"
"""


def assert_same_output(actual: str, expected: str) -> None:
    assert actual.rstrip() == expected.rstrip()
    assert actual.endswith("\n") and not actual.endswith("\n\n")


def case_args(case_dir: Path) -> list[str]:
    raw = json.loads((case_dir / "args.json").read_text(encoding="utf-8"))
    return [arg.replace("{case_dir}", str(case_dir)) for arg in raw]


def cli_mode_config(args: list[str]) -> str:
    """Return the diesel.toml diesel's harness writes before setup (§6.3 for named schema keys)."""
    keys = [args[i + 1] for i, arg in enumerate(args[:-1]) if arg == "--schema-key" and args[i + 1] != "default"]
    if not keys:
        return DEFAULT_DIESEL_TOML
    return "\n" + "".join(f"            [print_schema.{key}]\n" for key in keys) + "            "


def print_schema_cli(capsys: pytest.CaptureFixture[str], project: Path, database: Path, *args: str) -> str:
    code = main(["print-schema", "--project", str(project), "--database-url", str(database), *args])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "MIGRATION_DIRECTORY", "DIESEL_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("case", CASES)
def test_cli_mode(case: str, conformance_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case_dir = conformance_dir / "diesel-print-schema" / case
    args = case_args(case_dir)
    project = tmp_path / case
    (project / "migrations").mkdir(parents=True)
    (project / "Cargo.toml").write_text("", encoding="utf-8")
    (project / "diesel.toml").write_text(cli_mode_config(args), encoding="utf-8")
    database = tmp_path / f"{case}.db"
    conn = sqlite3.connect(database)
    conn.executescript((case_dir / "schema.sql").read_text(encoding="utf-8"))
    conn.close()

    out = print_schema_cli(capsys, project, database, *args)

    assert_same_output(out, (case_dir / "expected.rs").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", CASES)
def test_config_mode(case: str, conformance_dir: Path, tmp_path: Path,
                     capsys: pytest.CaptureFixture[str]) -> None:
    case_dir = conformance_dir / "diesel-print-schema" / case
    project = tmp_path / f"{case}_config"
    migration = project / "migrations" / "12345_create_schema"
    migration.mkdir(parents=True)
    (project / "Cargo.toml").write_text("", encoding="utf-8")
    shutil.copyfile(case_dir / "diesel.toml", project / "diesel.toml")
    if (case_dir / "schema.patch").is_file():
        shutil.copyfile(case_dir / "schema.patch", project / "schema.patch")
    shutil.copyfile(case_dir / "schema.sql", migration / "up.sql")
    database = tmp_path / f"{case}.db"

    # `migration run` applies the migration with lightnb's runner, then regenerates the file(s).
    code = main(["migration", "run", "--project", str(project), "--database-url", str(database)])
    out, err = capsys.readouterr()

    assert code == 0, err
    assert "Running migration 12345_create_schema\n" in out
    loaded = Project.discover(project, database_url=str(database), environ={})
    written = [o.file for o in configurations(loaded.print_schema, loaded.config_dir) if o.file is not None]
    numbered = sorted(case_dir.glob("expected_*.rs"))
    expected_files = numbered or [case_dir / "expected.rs"]
    assert len(written) == len(expected_files)
    for path, expected in zip(written, expected_files):
        assert_same_output(path.read_text(encoding="utf-8"), expected.read_text(encoding="utf-8"))
    out = print_schema_cli(capsys, project, database)
    assert_same_output(out, (case_dir / "expected.rs").read_text(encoding="utf-8"))

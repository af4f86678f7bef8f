"""Replay diesel_cli 2.3.12's own PostgreSQL print-schema snapshot cases, in both of diesel's modes.

Every case folder of ``<conformance>/diesel-print-schema-pg`` runs twice, each on a fresh database of
the test cluster, after ``setup`` (diesel's initial-setup migration and ``__diesel_schema_migrations``):

* CLI mode: the project has diesel's default diesel.toml (its ``custom_type_derives`` shape several
  outputs), ``schema.sql`` is sent as one simple-query message (diesel's ``batch_execute``), then
  ``lightnb print-schema --database-url postgres://… ARGS`` (args.json) must print ``expected.rs``;
* config mode: the case's diesel.toml, ``schema.sql`` as the up.sql of migration ``12345_create_schema``
  applied in one transaction; every configuration with a ``file`` must print its expected file, and
  plain ``lightnb print-schema`` must print ``expected.rs``.

Outputs are compared after stripping trailing whitespace (insta's normalisation), and must end in
exactly one newline like diesel's.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lightnb.backends.postgres.connect import connect
from lightnb.backends.postgres.migrate import run_pending, setup
from lightnb.cli import main
from lightnb.project import Project
from lightnb.schema import configurations
from lightnb.schema.postgres import print_schemas_postgres
from tests.conformance.test_diesel_print_schema import assert_same_output, cli_mode_config
from tests.conftest import conformance_root
from tests.support.postgres import PgDatabase

pytestmark = pytest.mark.conformance

CORPUS = conformance_root() / "diesel-print-schema-pg"
CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir()) if CORPUS.is_dir() else []


def case_args(case_dir: Path) -> list[str]:
    raw = json.loads((case_dir / "args.json").read_text(encoding="utf-8"))
    return [arg.replace("{case_dir}", str(case_dir)) for arg in raw]


def print_schema_cli(capsys: pytest.CaptureFixture[str], project: Path, url: str, *args: str) -> str:
    code = main(["print-schema", "--project", str(project), "--database-url", url, *args])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "MIGRATION_DIRECTORY", "DIESEL_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def corpus(conformance_dir: Path) -> Path:
    folder = conformance_dir / "diesel-print-schema-pg"
    if not folder.is_dir():
        pytest.skip(f"diesel-print-schema-pg not found in {conformance_dir}")
    return folder


def test_the_corpus_has_every_case_of_its_index(corpus: Path) -> None:
    index = json.loads((corpus / "INDEX.json").read_text(encoding="utf-8"))
    assert sorted(index["cases"]) == CASES
    assert len(CASES) == 46


@pytest.mark.parametrize("case", CASES)
def test_cli_mode(case: str, corpus: Path, tmp_path: Path, pg_database: PgDatabase,
                  capsys: pytest.CaptureFixture[str]) -> None:
    case_dir = corpus / case
    args = case_args(case_dir)
    project = tmp_path / case
    project.mkdir()
    (project / "Cargo.toml").write_text("", encoding="utf-8")
    (project / "diesel.toml").write_text(cli_mode_config(args), encoding="utf-8")
    setup(pg_database.url, project / "migrations")
    pg_database.execute((case_dir / "schema.sql").read_text(encoding="utf-8"))

    out = print_schema_cli(capsys, project, pg_database.url, *args)

    assert_same_output(out, (case_dir / "expected.rs").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", CASES)
def test_config_mode(case: str, corpus: Path, tmp_path: Path, pg_database: PgDatabase,
                     capsys: pytest.CaptureFixture[str]) -> None:
    case_dir = corpus / case
    project = tmp_path / f"{case}_config"
    project.mkdir()
    (project / "Cargo.toml").write_text("", encoding="utf-8")
    shutil.copyfile(case_dir / "diesel.toml", project / "diesel.toml")
    if (case_dir / "schema.patch").is_file():
        shutil.copyfile(case_dir / "schema.patch", project / "schema.patch")
    setup(pg_database.url, project / "migrations")
    migration = project / "migrations" / "12345_create_schema"
    migration.mkdir()
    shutil.copyfile(case_dir / "schema.sql", migration / "up.sql")

    with connect(pg_database.url) as conn:
        applied = run_pending(conn, project / "migrations")
    loaded = Project.discover(project, database_url=pg_database.url, environ={})
    printed = print_schemas_postgres(pg_database.url, configurations(loaded.print_schema, loaded.config_dir))

    assert [m.name for m in applied] == ["12345_create_schema"]
    written = [p for p in printed if p.options.file is not None]
    expected_files = sorted(case_dir.glob("expected_*.rs")) or [case_dir / "expected.rs"]
    assert len(written) == len(expected_files)
    for schema, expected in zip(written, expected_files):
        assert_same_output(schema.text, expected.read_text(encoding="utf-8"))
    out = print_schema_cli(capsys, project, pg_database.url)
    assert_same_output(out, (case_dir / "expected.rs").read_text(encoding="utf-8"))


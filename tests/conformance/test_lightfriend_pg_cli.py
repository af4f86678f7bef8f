"""The real PostgreSQL history of lightfriend through the CLI: ``migration run`` with diesel's lines and rows,
``list``/``pending``, ``print-schema --check`` naming the hand-written file's drift, then ``revert --all``
as far as the down.sql files go."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lightnb.cli import main
from lightnb.migrations import discover
from tests.support.postgres import PgDatabase

pytestmark = pytest.mark.conformance


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("number", [4, 18])
def test_run_list_check_and_revert_all_on_a_commit(capsys, conformance_dir: Path, tmp_path: Path,
                                                   pg_database: PgDatabase, monkeypatch: pytest.MonkeyPatch,
                                                   number: int) -> None:
    corpus = conformance_dir / "lightfriend-pg"
    commits = sorted(p for p in corpus.iterdir() if p.is_dir()) if corpus.is_dir() else []
    if len(commits) <= number:
        pytest.skip(f"lightfriend-pg not found in {conformance_dir}")
    commit = commits[number]
    for name in ("DATABASE_URL", "MIGRATION_DIRECTORY", "DIESEL_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    project = tmp_path / "backend"
    project.mkdir()
    (project / "diesel.toml").write_text('[print_schema]\nfile = "schema.rs"\n\n[migrations_directory]\n'
                                         f'dir = "{commit / "migrations"}"\n', encoding="utf-8")
    shutil.copyfile(commit / "schema.rs", project / "schema.rs")  # a scratch copy of the hand-written file
    monkeypatch.chdir(project)
    db = f"--database-url={pg_database.url}"
    migrations = discover(commit / "migrations")

    code, out, err = cli(capsys, "migration", "run", "--no-schema", db)
    assert (code, err) == (0, "")
    assert out == "".join(f"Running migration {m.name}\n" for m in migrations)
    with pg_database.connect() as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM __diesel_schema_migrations ORDER BY 1")]
    assert versions == sorted(m.version for m in migrations)
    assert cli(capsys, "migration", "pending", db) == (0, "false\n", "")
    assert cli(capsys, "migration", "list", db)[1].count("[X]") == len(migrations)

    code, out, _ = cli(capsys, "print-schema", "--check", db)
    assert code == 1  # the hand-written file drifts at these commits (the corpus README lists how)
    assert "out of sync" in out
    expected = "ont_persons" if number == 4 else "contact_profiles"
    assert expected in out
    assert (project / "schema.rs").read_bytes() == (commit / "schema.rs").read_bytes()  # --check writes nothing

    # revert --all as diesel does it: newest first, stopping at the first migration without down.sql
    # (the project has one: 00000000000012_drop_message_pin_fields), the reverts before it kept
    newest_first = list(reversed(migrations))
    missing = next((i for i, m in enumerate(newest_first) if m.down_path is None), None)
    reached = newest_first if missing is None else newest_first[:missing + 1]
    code, out, err = cli(capsys, "migration", "revert", "--all", "--no-schema", db)
    assert out == "".join(f"Rolling back migration {m.name}\n" for m in reached)
    if missing is None:
        assert (code, err) == (0, "")
    else:
        assert code == 1 and err.startswith("Failed to run migrations: Missing `down.sql` file to revert migration")
        assert err.count("\n") == 1
    with pg_database.connect() as conn:
        left = conn.execute("SELECT count(*) FROM __diesel_schema_migrations").fetchone()[0]
    assert left == len(migrations) - len(reached) + (0 if missing is None else 1)

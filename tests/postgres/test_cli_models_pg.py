"""``lightnb models check|generate`` on a PostgreSQL project through the CLI: schema.rs, or the database."""

from __future__ import annotations

from pathlib import Path

import pytest

from lightnb import samples
from lightnb.cli import main
from tests.support.postgres import PgDatabase

NEW_COLUMNS = "2025-04-01-000000-0000_add_profile_to_users"


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("DATABASE_URL", "MIGRATION_DIRECTORY", "DIESEL_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    root = samples.copy_sample_project(tmp_path / "backend", backend="postgres")
    monkeypatch.chdir(root)
    return root


def test_the_postgresql_sample_models_match_its_schema(capsys, project: Path) -> None:
    code, out, err = cli(capsys, "models", "check")
    assert (code, err) == (0, "")
    assert "0 proven drift(s)" in out


def test_a_migration_then_check_and_generate_from_the_database(capsys, project: Path,
                                                               pg_database: PgDatabase) -> None:
    folder = project / "migrations" / NEW_COLUMNS
    folder.mkdir()
    (folder / "up.sql").write_text("ALTER TABLE users ADD COLUMN nickname VARCHAR(40);\n"
                                   "ALTER TABLE users ADD COLUMN last_seen TIMESTAMPTZ NOT NULL DEFAULT now();\n"
                                   "ALTER TABLE users ADD COLUMN tags TEXT[] NOT NULL DEFAULT '{}';\n"
                                   "ALTER TABLE users ALTER COLUMN updated_at TYPE INTEGER;\n",
                                   encoding="utf-8")
    (folder / "down.sql").write_text("ALTER TABLE users ALTER COLUMN updated_at TYPE BIGINT;\n"
                                     "ALTER TABLE users DROP COLUMN tags, DROP COLUMN last_seen, "
                                     "DROP COLUMN nickname;\n", encoding="utf-8")
    db = f"--database-url={pg_database.url}"
    assert cli(capsys, "migration", "run", "--no-schema", db)[0] == 0
    assert cli(capsys, "models", "check")[0] == 0  # schema.rs was not regenerated: no drift seen there

    code, out, _ = cli(capsys, "models", "check", db)  # the schema the database prints
    assert code == 1, out
    assert "updated_at" in out and "Int4" in out

    code, out, _ = cli(capsys, "models", "generate", "--table", "users", db)
    assert code == 0
    assert "+    pub nickname: Option<String>," in out
    assert "+    pub last_seen: chrono::DateTime<chrono::Utc>," in out
    assert "+    pub tags: Vec<Option<String>>," in out
    assert "+    pub updated_at: i32," in out

    # migration run regenerates schema.rs from PostgreSQL; the models then read it without a database
    assert cli(capsys, "migration", "run", db)[0] == 0
    schema = (project / "src" / "schema.rs").read_text(encoding="utf-8")
    assert ("        updated_at -> Int4,\n        #[max_length = 40]\n        nickname -> Nullable<Varchar>,\n"
            "        last_seen -> Timestamptz,\n        tags -> Array<Nullable<Text>>,\n") in schema
    assert cli(capsys, "models", "check")[0] == 1
    assert cli(capsys, "models", "generate", "--apply")[0] == 0
    code, out, _ = cli(capsys, "models", "check")
    assert code == 0, out
    assert "0 proven drift(s)" in out

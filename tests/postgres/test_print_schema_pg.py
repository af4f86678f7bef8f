"""print-schema on PostgreSQL: snapshot cases of the project's own, and its bad inputs.

Each folder under ``cases/`` holds ``schema.sql`` (sent as one simple-query message to a fresh
database), ``diesel.toml`` (its ``[print_schema]`` configurations) and ``expected.rs``, what diesel
2.3.12 prints for every configuration one after the other. Run with ``LIGHTNB_UPDATE_SNAPSHOTS=1``
to (re)write expected files after reviewing a change.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

import pytest

from lightnb.backends.postgres.catalog import read_schema
from lightnb.cli import main
from lightnb.project import Project
from lightnb.schema import SchemaError, configurations
from lightnb.schema.config import PrintSchemaOptions
from lightnb.schema.postgres import print_schema_postgres, print_schemas_postgres
from tests.support.postgres import PgDatabase

CASES_DIR = Path(__file__).parent / "cases"
CASES = sorted(p.name for p in CASES_DIR.iterdir() if (p / "schema.sql").is_file())
UPDATE = os.environ.get("LIGHTNB_UPDATE_SNAPSHOTS") == "1"


def check_snapshot(path: Path, actual: str) -> None:
    if UPDATE or not path.is_file():
        path.write_text(actual, encoding="utf-8", newline="\n")
        if not UPDATE:
            pytest.fail(f"wrote new snapshot {path}; review it and run again")
    assert actual == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("case", CASES)
def test_snapshot(case: str, pg_database: PgDatabase) -> None:
    folder = CASES_DIR / case
    pg_database.execute((folder / "schema.sql").read_text(encoding="utf-8"))
    project = Project.discover(folder, environ={})
    printed = print_schemas_postgres(pg_database.url, configurations(project.print_schema, project.config_dir))
    check_snapshot(folder / "expected.rs", "".join(p.text for p in printed))


def test_varchar_arrays_are_reported_like_diesel(pg_database: PgDatabase, capsys: pytest.CaptureFixture[str],
                                                 tmp_path: Path) -> None:
    pg_database.execute("CREATE TABLE t (id INT PRIMARY KEY, tags VARCHAR(9)[], mails CITEXT[]);"
                        .replace(", mails CITEXT[]", ""))
    (tmp_path / "Cargo.toml").write_text("", encoding="utf-8")
    assert main(["print-schema", "--project", str(tmp_path), "--database-url", pg_database.url]) == 0
    out, err = capsys.readouterr()
    assert "tags -> Nullable<Array<Nullable<Varchar>>>," in out
    assert err == ("The column `tags` is of type `varchar[]`. This will cause problems when using Diesel. "
                   "You should consider changing the column type to `text[]`.\n")


def test_a_table_without_primary_key_stops_print_schema(pg_database: PgDatabase) -> None:
    pg_database.execute("CREATE TABLE good (id INT PRIMARY KEY); CREATE TABLE log_lines (line TEXT);")
    with pytest.raises(SchemaError, match=r"^Diesel only supports tables with primary keys\. Table `log_lines` has "
                                          r"no primary key; add one"):
        print_schema_postgres(pg_database.url)
    text = print_schema_postgres(pg_database.url, PrintSchemaOptions(filter=_except("log_lines")))
    assert "good (id)" in text and "log_lines" not in text


def test_a_double_quote_in_a_table_name_is_refused_like_diesel(pg_database: PgDatabase) -> None:
    pg_database.execute('CREATE TABLE "say ""hi""" (id INT PRIMARY KEY); CREATE TABLE ok (id INT PRIMARY KEY);')
    with pytest.raises(SchemaError, match=r'^Table `say "hi"` has a double quote in its name'):
        print_schema_postgres(pg_database.url)
    assert "ok (id)" in print_schema_postgres(pg_database.url, PrintSchemaOptions(filter=_except("hi")))


def test_print_schema_never_writes(pg_database: PgDatabase) -> None:
    pg_database.execute("CREATE TYPE kind AS ENUM ('a'); CREATE TABLE t (id INT PRIMARY KEY, k kind);"
                        "COMMENT ON TABLE t IS 'x';")
    before = print_schema_postgres(pg_database.url, PrintSchemaOptions(with_docs="only-database-comments"))
    pg_database.execute(f'ALTER DATABASE "{pg_database.name}" SET default_transaction_read_only = on')
    assert print_schema_postgres(pg_database.url, PrintSchemaOptions(with_docs="only-database-comments")) == before
    assert "/// x" in before


def test_a_role_that_does_not_own_the_tables_is_told_why_keys_are_missing(pg_database: PgDatabase) -> None:
    # diesel reads primary keys from information_schema, which shows them to the table's owner only.
    pg_database.execute("CREATE TABLE t (id INT PRIMARY KEY); DROP ROLE IF EXISTS reader; CREATE ROLE reader LOGIN;"
                        "GRANT SELECT ON t TO reader;")
    try:
        with pytest.raises(SchemaError, match="shows none to the connecting role, which does not own it"):
            print_schema_postgres(pg_database.url.replace("postgres@", "reader@"))
    finally:
        pg_database.execute("DROP OWNED BY reader; DROP ROLE reader;")


def test_the_records_carry_what_postgresql_adds(pg_database: PgDatabase) -> None:
    pg_database.execute("CREATE TABLE t (id INT PRIMARY KEY, tags VARCHAR(5)[] NOT NULL, c CHAR(2));"
                        "COMMENT ON COLUMN t.c IS 'two letters';")
    from lightnb.backends.postgres.connect import connect
    with connect(pg_database.url) as conn:
        schema = read_schema(conn, PrintSchemaOptions())
    (table,) = schema.tables
    tags, c = table.columns[1:]
    assert (tags.sql_type, tags.array, tags.nullable, tags.max_length, tags.diesel_type) == \
        ("Varchar", True, False, None, "Array<Nullable<Varchar>>")
    assert (c.sql_type, c.max_length, c.comment, c.declared_type) == ("Bpchar", 2, "two letters", "bpchar")
    assert schema.warnings and "`tags`" in schema.warnings[0]


@pytest.mark.parametrize(("url", "message"), [
    ("postgres://nobody@/app?host=/nonexistent-socket-dir", "No PostgreSQL server is running on socket folder "
                                                             "/nonexistent-socket-dir"),
    ("mysql://u@localhost/app", "Database URL scheme `mysql://` is not supported"),
    ("postgres://u:pw@[::1/app", "Invalid PostgreSQL URL"),
])
def test_cli_bad_input_is_one_line(url: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "Cargo.toml").write_text("", encoding="utf-8")
    assert main(["print-schema", "--project", str(tmp_path), "--database-url", url]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.startswith(message) and err.count("\n") == 1 and "pw" not in err.replace(url, "")


def test_cli_reads_the_url_from_dotenv_and_a_missing_database_says_what_to_do(
        pg_database: PgDatabase, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    pg_database.execute("CREATE TABLE from_dotenv (id INT PRIMARY KEY);")
    (tmp_path / "Cargo.toml").write_text("", encoding="utf-8")
    (tmp_path / ".env").write_text(f"DATABASE_URL={pg_database.url}\n", encoding="utf-8")
    assert main(["print-schema", "--project", str(tmp_path)]) == 0
    assert "from_dotenv (id)" in capsys.readouterr().out
    encoded = f"postgres://postgres@{quote(str(pg_database.cluster.socket_dir), safe='')}/{pg_database.name}"
    assert main(["print-schema", "--project", str(tmp_path), "--database-url", encoded]) == 0
    assert "from_dotenv (id)" in capsys.readouterr().out  # a percent-encoded socket folder as the host
    missing = pg_database.cluster.url("no_such_database").replace("postgresql://", "postgres://")
    assert main(["print-schema", "--project", str(tmp_path), "--database-url", missing]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Database `no_such_database` does not exist on socket folder") and err.count("\n") == 1


def _except(pattern: str) -> object:
    from lightnb.schema.config import TableFilter
    return TableFilter("except", (pattern,))

"""A PostgreSQL verb loads what it uses: PostgreSQL's parser (pglast) only when it reads SQL, the Rust
reader (lightnb.models) only when it reads a Rust file. Structural, not timed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.postgres import PgDatabase

RUN = r"""
import json, sys
from lightnb.cli import main
code = main(sys.argv[1:])
sys.stdout.flush()
print("\n" + json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def test_print_schema_of_a_postgres_database_loads_neither_the_sql_parser_nor_the_rust_reader(pg_database: PgDatabase,
                                                                         tmp_path: Path) -> None:
    pg_database.execute("CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL)")
    (tmp_path / "diesel.toml").write_text("", encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", RUN, "print-schema", "--database-url", pg_database.url],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["code"] == 0 and "users (id) {" in done.stdout
    assert "lightnb.backends.postgres" in report["modules"]
    assert not [m for m in report["modules"] if m == "pglast" or m.startswith("pglast.")]
    assert not [m for m in report["modules"] if m.startswith("lightnb.models")]


def test_the_backend_loads_the_parser_when_it_first_reads_sql() -> None:
    done = subprocess.run([sys.executable, "-c", r"""
import sys
import lightnb.backends.postgres as backend
from lightnb.backends.postgres import base, dump, guard
before = "pglast" in sys.modules
statements = backend.split("CREATE TABLE t (x int); INSERT INTO t VALUES (1)")
print(before, len(statements), "pglast" in sys.modules, guard.first_escape("COPY t FROM '/etc/passwd'") is not None)
"""], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["False", "2", "True", "True"], done.stderr

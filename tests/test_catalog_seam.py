"""The catalogue seam: only a backend reads a database's catalogue.

The core asks ``backend.read_catalog(conn)`` (:mod:`lightnb.catalog` records) or a named function of
the backend (``has_table``, ``read_definitions``); it never queries ``sqlite_master``, a catalogue
PRAGMA (``table_xinfo``, ``index_list``, ``foreign_key_list`` …) or PostgreSQL's ``pg_catalog``
itself. SQL text is what counts: the string literals of the code (f-strings included), not its
docstrings or comments.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "lightnb"

_PRAGMAS = (r"table_x?info|table_list|index_x?info|index_list|foreign_key_list|database_list|"
            r"function_list|module_list|collation_list|pragma_list")
LOOKUP = re.compile(
    r"\bsqlite_(?:temp_)?(?:master|schema)\b"            # SQLite's catalogue table
    rf"|\bpragma\s+(?:\S+\.)?(?:{_PRAGMAS})\b"            # PRAGMA [schema.]table_xinfo(…)
    rf"|\bpragma_(?:{_PRAGMAS})\b"                       # the table-valued pragma_table_xinfo(…)
    r"|\bpg_catalog\b|\binformation_schema\b"             # PostgreSQL's
    r"|\bpg_(?:class|attribute|attrdef|namespace|index|indexes|constraint|tables|views|trigger|type|proc|depend)\b",
    re.IGNORECASE)

# What is left, file by file: at most this many lookups, and why they are still there (nothing today).
ALLOWED: dict[str, tuple[int, str]] = {}


def string_literals(source: str) -> list[tuple[str, int]]:
    """Return (text, line) of every string literal of ``source`` but docstrings; an f-string's
    replacement fields read as ``{}``."""
    tree = ast.parse(source)
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    found: list[tuple[str, int]] = []
    inside_fstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            parts = []
            for value in node.values:
                inside_fstrings.add(id(value))
                parts.append(value.value if isinstance(value, ast.Constant) else "{}")
            found.append(("".join(str(p) for p in parts), node.lineno))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in docstrings and id(node) not in inside_fstrings:
            found.append((node.value, node.lineno))
    return found


def catalogue_lookups(package: Path) -> dict[str, list[int]]:
    """Return, file by file (relative to the package), the lines of catalogue lookups outside backends/."""
    found: dict[str, list[int]] = {}
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package).as_posix()
        if relative.startswith("backends/"):
            continue
        lines = [line for text, line in string_literals(path.read_text(encoding="utf-8"))
                 for _ in LOOKUP.finditer(text)]
        if lines:
            found[relative] = sorted(lines)
    return found


def test_only_backends_and_the_allowed_files_look_up_the_catalogue() -> None:
    found = catalogue_lookups(PACKAGE)
    over = [f"lightnb/{name}:{lines[0]} reads the catalogue itself ({len(lines)} lookups); ask "
            f"backend.read_catalog(conn) or a named backend function"
            for name, lines in found.items() if len(lines) > ALLOWED.get(name, (0, ""))[0]]
    assert over == []


def test_the_allowed_lookups_each_give_a_reason() -> None:
    assert all(reason.strip() and count > 0 for count, reason in ALLOWED.values())


def test_the_core_files_of_the_seam_have_no_lookup_left() -> None:
    found = catalogue_lookups(PACKAGE)
    for name in ("steps.py", "database.py", "diff_schema.py", "lint/rehearsal.py", "lint/rules/hygiene.py"):
        assert name not in found, (name, found.get(name))
    assert not [name for name in found if name.startswith(("models/", "schema/", "lint/", "inspect/"))]


@pytest.mark.parametrize("source", [
    "conn.execute(\"SELECT name FROM sqlite_master WHERE type = 'table'\")\n",
    "conn.execute('select sql from main.SQLITE_SCHEMA')\n",
    "conn.execute(f'PRAGMA {schema}.table_xinfo({name})')\n",
    "conn.execute(f'PRAGMA index_list({quote(t)})')\n",
    "conn.execute('SELECT * FROM pragma_foreign_key_list(?)', (t,))\n",
    "conn.execute('SELECT relname FROM pg_class')\n",
    "conn.execute('SELECT 1 FROM information_schema.tables')\n",
])
def test_every_spelling_of_a_lookup_is_seen(tmp_path: Path, source: str) -> None:
    (tmp_path / "lint").mkdir()
    (tmp_path / "lint" / "rule.py").write_text(source)
    assert catalogue_lookups(tmp_path) == {"lint/rule.py": [1]}


def test_words_and_other_pragmas_are_not_lookups(tmp_path: Path) -> None:
    source = ('"""Reads sqlite_master through the backend (PRAGMA table_xinfo in a docstring)."""\n'
              "# sqlite_master in a comment\n"
              "conn.execute('PRAGMA foreign_key_check')\n"
              "conn.execute('PRAGMA synchronous = OFF')\n"
              "from lightnb.models import pg_types\n"
              "note = 'a table called sqlite_masterpiece'\n")
    (tmp_path / "core.py").write_text(source)
    (tmp_path / "backends").mkdir()
    (tmp_path / "backends" / "catalog.py").write_text("q = 'SELECT * FROM sqlite_master'\n")
    assert catalogue_lookups(tmp_path) == {}


def test_has_table_and_read_definitions_answer_from_the_sqlite_backend() -> None:
    from lightnb.backends import sqlite
    conn = sqlite.open_scratch()
    try:
        conn.executescript("CREATE TABLE b (id INTEGER PRIMARY KEY AUTOINCREMENT, a_id INTEGER UNIQUE);"
                           "CREATE TABLE a (id INTEGER PRIMARY KEY);"
                           "CREATE VIEW v AS SELECT * FROM b JOIN a ON a.id = b.a_id;"
                           "CREATE INDEX b_a ON b (a_id);"
                           "CREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT 1; END;"
                           "INSERT INTO b (a_id) VALUES (1);")
        assert sqlite.has_table(conn, "a") and sqlite.has_table(conn, "b")
        assert not sqlite.has_table(conn, "v")  # a view is not a table
        assert not sqlite.has_table(conn, "sqlite_sequence_x")
        definitions = sqlite.read_definitions(conn)
        # creation order; SQLite's own sqlite_sequence and the automatic UNIQUE index left out
        assert [(kind, name) for kind, name, _sql in definitions] == [
            ("table", "b"), ("table", "a"), ("view", "v"), ("index", "b_a"), ("trigger", "t")]
        replay = sqlite.open_scratch()
        replay.executescript(";\n".join(sql for _k, _n, sql in definitions) + ";")
        rebuilt, original = sqlite.read_catalog(replay), sqlite.read_catalog(conn)
        assert [(t.name, t.columns, t.indexes) for t in rebuilt.user_tables] == \
            [(t.name, t.columns, t.indexes) for t in original.user_tables]
        assert (rebuilt.views, rebuilt.triggers) == (original.views, original.triggers)
        replay.close()
    finally:
        conn.close()


_SCHEMA = ("CREATE TABLE parent (id INTEGER PRIMARY KEY AUTOINCREMENT, code TEXT UNIQUE);"
           "CREATE TABLE Child (a INTEGER, b TEXT, c TEXT, PRIMARY KEY (a, b), "
           "  FOREIGN KEY (a) REFERENCES parent (id) ON DELETE CASCADE, FOREIGN KEY (c) REFERENCES parent (code))"
           "  WITHOUT ROWID;"
           "CREATE INDEX child_lower ON Child (lower(c), b) WHERE c IS NOT NULL;"
           "CREATE VIEW v AS SELECT * FROM Child;"
           "CREATE TRIGGER t AFTER INSERT ON parent BEGIN SELECT 1; END;"
           "INSERT INTO parent (code) VALUES ('x');")


def test_find_object_answers_as_sqlite_resolves_a_name() -> None:
    from lightnb.backends import sqlite
    conn = sqlite.open_scratch()
    try:
        conn.executescript(_SCHEMA + "CREATE TABLE \"Ärger\" (x);")
        assert sqlite.find_object(conn, "CHILD") == ("table", "Child", conn.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'Child'").fetchone()[0])
        assert sqlite.find_object(conn, "V")[:2] == ("view", "v")
        assert sqlite.find_object(conn, "v", ("table",)) is None          # only the kinds asked for
        assert sqlite.find_object(conn, "child_lower", ("index",))[:2] == ("index", "child_lower")
        assert sqlite.find_object(conn, "sqlite_sequence", ("table",))[:2] == ("table", "sqlite_sequence")
        assert sqlite.find_object(conn, "ärger") is None                   # SQLite folds ASCII letters only
        assert sqlite.find_object(conn, "Ärger")[:2] == ("table", "Ärger")
        assert sqlite.find_object(conn, "missing") is None
        conn.execute("ATTACH ':memory:' AS other")
        conn.execute("CREATE TABLE other.Elsewhere (x)")
        assert sqlite.find_object(conn, "elsewhere") is None
        assert sqlite.find_object(conn, "elsewhere", schema="other")[:2] == ("table", "Elsewhere")
    finally:
        conn.close()


def test_read_table_is_the_catalogue_record_of_one_table() -> None:
    from lightnb.backends import sqlite
    conn = sqlite.open_scratch()
    try:
        conn.executescript(_SCHEMA)
        catalog = sqlite.read_catalog(conn)
        for table in catalog.tables:
            assert sqlite.read_table(conn, table.name.upper()) == table
        child = sqlite.read_table(conn, "child")
        assert child is not None and child.without_rowid and [k.columns for k in child.foreign_keys] == [("a",), ("c",)]
        assert [(i.name, i.columns, i.partial) for i in child.indexes if i.origin == "c"] == \
            [("child_lower", ("<expr>", "b"), True)]
        sequence = sqlite.read_table(conn, "sqlite_sequence")  # SQLite's own tables can be read one by one
        assert sequence is not None and sequence.column_names == ("name", "seq")
        assert sqlite.read_table(conn, "v") is None and sqlite.read_table(conn, "missing") is None
    finally:
        conn.close()


def test_read_table_reads_that_table_alone_whatever_the_schema_holds() -> None:
    from lightnb.backends import sqlite
    conn = sqlite.open_scratch()
    try:
        conn.executescript(_SCHEMA + "".join(f"CREATE TABLE t{i} (id INTEGER PRIMARY KEY, p INTEGER "
                                             f"REFERENCES parent (id));" for i in range(200)))

        def steps(read: Callable[[], object]) -> int:  # the virtual machine's steps, a count that does not vary
            count = [0]

            def step() -> int:
                count[0] += 1
                return 0

            conn.set_progress_handler(step, 1)
            try:
                read()
            finally:
                conn.set_progress_handler(None, 1)
            return count[0]

        one, every = steps(lambda: sqlite.read_table(conn, "Child")), steps(lambda: sqlite.read_catalog(conn))
        assert one * 4 < every  # the other 200 tables' columns, keys and indexes are not read
    finally:
        conn.close()

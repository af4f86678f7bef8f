"""Fuzzing with hypothesis: statement splitting, migration names, identifiers in previews and schema.rs.

* ``sqlscript.split`` is compared with SQLite itself: running the split statements one by one
  gives the same database as ``executescript`` on the whole file, each piece is exactly one
  statement, and the pieces are the script's statements in order (nothing significant lost).
* Migration names either make exactly one folder inside the migrations folder, found again by
  discovery under the same name, or are refused with a MigrationError; never another exception.
* Identifiers with quotes, backticks, brackets, ``#``, ``;`` and comment markers go through the
  preview (no crash, no injection: the database is unchanged) and print-schema (the Rust parses).
"""

from __future__ import annotations

import sqlite3
import string

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from lightnb import migrations as migration_files
from lightnb.backends import sqlite
from lightnb.backends.sqlite import script as sqlscript
from lightnb.catalog import TRACKING_TABLE
from lightnb.errors import LightnbError, MigrationError

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow])

NASTY = string.ascii_letters[:6] + " ;'\"`[]#-/*\n\t\\$?:@é中🙂()"
raw_text = st.text(alphabet=NASTY, min_size=1, max_size=12)


def quote_ident(text: str, style: int) -> str:
    """Quote ``text`` as an SQL identifier in one of SQLite's three styles."""
    if style == 0:
        return '"' + text.replace('"', '""') + '"'
    if style == 1:
        return "`" + text.replace("`", "``") + "`"
    return "[" + text.replace("]", "") + "]"


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@st.composite
def identifiers(draw, prefix: str) -> str:
    return quote_ident(prefix + draw(raw_text), draw(st.integers(0, 2)))


filler = st.sampled_from(["", " ", "\n", "\n\n  ", "-- note; it's \"quoted\" /*\n", "/* block; 'x' -- */",
                          "/* multi\nline; */\n", ";", " ;\n"])


@st.composite
def scripts(draw) -> tuple[str, list[str]]:
    """Return a script and the exact texts of its statements, in order."""
    statements = ["CREATE TABLE log (entry);"]
    tables: list[str] = []
    for index in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["table", "insert", "trigger", "select", "update"]))
        if kind == "table" or not tables:
            table = draw(identifiers(f"t{index} "))
            col = draw(identifiers("c "))
            statements.append(f"CREATE TABLE {table} (\n  {col} TEXT, -- the {literal('col')}; column\n  n INTEGER\n);")
            tables.append(table)
        elif kind == "insert":
            statements.append(f"INSERT INTO {draw(st.sampled_from(tables))} VALUES "
                              f"({literal(draw(raw_text))}, {draw(st.integers(-5, 5))});")
        elif kind == "trigger":
            table = draw(st.sampled_from(tables))
            name = draw(identifiers(f"trg{index} "))
            statements.append(f"CREATE TRIGGER {name} AFTER INSERT ON {table} BEGIN\n"
                              f"  INSERT INTO log VALUES ({literal(draw(raw_text))});\n"
                              f"  INSERT INTO log SELECT CASE WHEN new.n > 0 THEN 'pos;' ELSE 'end' END;\n"
                              f"END;")
        elif kind == "update":
            statements.append(f"UPDATE {draw(st.sampled_from(tables))} SET n = n + 1 "
                              f"WHERE n <> {literal(draw(raw_text))};")
        else:
            statements.append(f"INSERT INTO log SELECT {literal(draw(raw_text))} /* ; */;")
    last_open = draw(st.booleans())
    if last_open:
        statements[-1] = statements[-1][:-1]  # the last statement may lack its semicolon
    parts = []
    for text in statements:
        parts.append(draw(filler))
        parts.append(text)
    if not last_open:
        parts.append(draw(filler))
    return "".join(parts), statements


def dump(conn: sqlite3.Connection) -> tuple:
    schema = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY type, name").fetchall()
    rows = []
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").fetchall():
        quoted = '"' + name.replace('"', '""') + '"'
        rows.append(sorted(conn.execute(f"SELECT * FROM {quoted}").fetchall(), key=repr))
    return schema, rows


def run_pieces(pieces: list[str]) -> tuple[tuple, int | None]:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    failed = None
    for index, text in enumerate(pieces):
        try:
            conn.execute(text)
        except sqlite3.Warning as error:  # two statements in one piece: a splitting bug
            raise AssertionError(f"piece {index} holds more than one statement: {text!r}") from error
        except sqlite3.Error:
            failed = index
            break
    return dump(conn), failed


def run_script(sql: str) -> tuple:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        conn.executescript(sql)
    except sqlite3.Error:
        pass
    return dump(conn)


@FUZZ
@given(scripts())
def test_split_matches_sqlite_on_generated_scripts(generated):
    sql, expected = generated
    pieces = sqlscript.split(sql)
    assert [p.text for p in pieces] == expected
    assert [p.index for p in pieces] == list(range(len(pieces)))
    position = 0
    for piece in pieces:
        found = sql.index(piece.text, position)
        assert piece.line == sql.count("\n", 0, found) + 1
        assert piece.end_line == piece.line + piece.text.count("\n")
        position = found + len(piece.text)
    state, failed = run_pieces([p.text for p in pieces])
    assert failed is None
    assert state == run_script(sql)


@settings(max_examples=250, deadline=None)
@given(st.lists(st.sampled_from(["SELECT 1", "CREATE TABLE t(x)", "INSERT INTO t VALUES(1)", ";", "'",
                                         '"', "`", "[", "]", "--", "/*", "*/", "\n", " ", "x", "BEGIN", "END",
                                         "CREATE TRIGGER g AFTER INSERT ON t BEGIN", "CASE", "é"]),
               max_size=25).map("".join))
def test_split_never_crashes_and_agrees_with_sqlite_on_arbitrary_text(sql):
    pieces = sqlscript.split(sql)
    position = 0
    for piece in pieces:
        assert piece.text.strip() == piece.text and piece.text
        position = sql.index(piece.text, position) + len(piece.text)
    state, failed = run_pieces([p.text for p in pieces])
    # Python's executescript stops at the first failing statement, as sqlite3_exec does.
    assert state == run_script(sql)
    if failed is None:
        assert sqlscript.is_comment_only(sql) == (not pieces)


names = st.text(st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=80) | \
    st.sampled_from(["../x", "a/b", "..", ".", "é t é", "  ", "x" * 250, "con", "NUL", "a\\b", "#1", "a;b", "ö" * 100])


@FUZZ
@given(name=names)
def test_migration_names_make_one_folder_inside_or_are_refused(tmp_path_factory, name):
    root = tmp_path_factory.mktemp("names")
    folder = root / "migrations"
    folder.mkdir()
    try:
        migration = migration_files.generate(folder, name)
    except MigrationError as error:
        assert "\n" not in str(error)
        assert sorted(p.name for p in root.rglob("*")) == ["migrations"]
        return
    created = list(folder.iterdir())
    assert len(created) == 1 and created[0].parent == folder
    assert created[0].name.endswith("_" + name)
    assert sorted(p.name for p in created[0].iterdir()) == ["down.sql", "up.sql"]
    found = migration_files.discover(folder)
    assert [m.name for m in found] == [migration.name] and found[0].path == created[0]


# --- identifiers in previews and in generated Rust --------------------------------------------------------

ident_text = st.text(alphabet=NASTY, min_size=1, max_size=10).filter(lambda s: s.strip() and "\x00" not in s)


def _weird_database(table: str, columns: list[str]) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    cols = ", ".join(f"{quote_ident(c, 0)} TEXT" for c in columns)
    conn.execute(f"CREATE TABLE {quote_ident(table, 0)} (id INTEGER PRIMARY KEY NOT NULL, {cols})")
    conn.execute("CREATE TABLE canary (x INTEGER NOT NULL)")
    conn.execute("INSERT INTO canary VALUES (42)")
    marks = ", ".join("?" for _ in columns)
    for i in range(3):
        conn.execute(f"INSERT INTO {quote_ident(table, 0)} VALUES (?, {marks})",
                     (i + 1, *[f"{c}-{i}" for c in columns]))
    return conn


trimmed_text = ident_text.filter(lambda s: s == s.strip())


@FUZZ
@given(table=trimmed_text, columns=st.lists(ident_text, min_size=1, max_size=3,
                                            unique_by=lambda s: s.lower()))
def test_preview_handles_any_identifier_without_injection(table, columns):
    preview_module = pytest.importorskip("lightnb.inspect.preview")
    assume(table.lower() not in ("canary", "sqlite_master") and not table.lower().startswith("sqlite_"))
    assume(all(c.lower() != "id" for c in columns))
    conn = _weird_database(table, columns)
    before = dump(conn)
    try:
        result = preview_module.preview(conn, table, n=2)
    except LightnbError as error:
        pytest.fail(f"preview of table {table!r} refused: {error}")
    assert list(result.frame.columns) == ["id", *columns]
    assert len(result.frame) == 2 and result.truncated
    for mode in ("tail", "sample"):
        assert len(preview_module.preview(conn, table, mode=mode, n=2).frame) == 2
    assert dump(conn) == before


@pytest.mark.parametrize("table", [" '", "[ ", " padded "])
def test_preview_of_table_with_surrounding_spaces(table):
    preview_module = pytest.importorskip("lightnb.inspect.preview")
    conn = _weird_database(table, [":"])
    assert len(preview_module.preview(conn, table, n=2).frame) == 2


plain_rust_text = ident_text.filter(lambda s: "\\" not in s)


@FUZZ
@given(table=plain_rust_text, columns=st.lists(plain_rust_text, min_size=1, max_size=3,
                                               unique_by=lambda s: s.lower()))
def test_print_schema_output_always_parses_as_rust(table, columns):
    schema = pytest.importorskip("lightnb.schema")
    syntax = pytest.importorskip("lightnb.models._syntax")
    assume(not table.lower().startswith("sqlite_") and table.lower() != "canary")
    assume(all(c.lower() != "id" for c in columns))
    conn = _weird_database(table, columns)
    try:
        text = schema.print_schema(conn)
    except LightnbError:
        return  # refusing an unprintable name with a clear error is allowed
    assert syntax.error_nodes(text) == [], text
    assert "diesel::table!" in text


@pytest.mark.parametrize("name", ["trail\\", "\\"])
def test_print_schema_escapes_backslash_in_sql_names(name):
    schema = pytest.importorskip("lightnb.schema")
    syntax = pytest.importorskip("lightnb.models._syntax")
    text = schema.print_schema(_weird_database(name, [name + "c"]))
    assert syntax.error_nodes(text) == [], text


@FUZZ
@given(scripts(), st.booleans())
def test_a_file_run_whole_and_statement_by_statement_give_the_same_database(tmp_path_factory, generated, broken):
    """The runner runs a file in one call when nobody follows statements; the result, and the failing
    line it names, are those of the statement-by-statement run."""
    from lightnb import runner
    from lightnb.errors import SqlError
    from lightnb.migrations import Migration

    sql, _ = generated
    if broken:
        sql += "\nINSERT INTO no_such_table VALUES (1);\n"
    folder = tmp_path_factory.mktemp("whole")
    (folder / "1_m").mkdir()
    (folder / "1_m" / "up.sql").write_text(sql, encoding="utf-8")
    migration = Migration("1_m", "1", folder / "1_m", folder / "1_m" / "up.sql", None)
    outcomes = []
    for name, observer in (("whole", None), ("statements", lambda event: None)):
        conn = sqlite.connect(folder / f"{name}.db")
        try:
            runner.apply(conn, migration, "up", on_step=observer)
            error = None
        except SqlError as failure:
            error = (failure.line, str(failure))
        conn.execute(f"UPDATE {TRACKING_TABLE} SET run_on = ''")  # when it ran differs by design
        outcomes.append((dump(conn), error))
        conn.close()
    assert outcomes[0] == outcomes[1]
    assert (outcomes[0][1] is not None) == broken

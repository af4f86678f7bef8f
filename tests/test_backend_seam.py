"""The backend seam: a database driver is imported only inside its backend's package.

SQLite's ``sqlite3`` only in :mod:`lightnb.backends.sqlite`; PostgreSQL's ``psycopg`` and ``pglast``
only in :mod:`lightnb.backends.postgres`. The core asks a backend (``backend.Error``,
``backend.open_readonly`` …) and never a driver, so a second backend stands beside the first.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "lightnb"

# driver -> the one package (relative to lightnb/) allowed to import it
DRIVERS = {
    "sqlite3": "backends/sqlite",
    "psycopg": "backends/postgres",
    "pglast": "backends/postgres",
}


def imported_modules(source: str) -> list[tuple[str, int]]:
    """Return (top-level module, line) for every import in ``source``, including
    ``importlib.import_module("…")`` and ``__import__("…")`` with a literal name."""
    found: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(alias.name.split(".")[0], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module.split(".")[0], node.lineno))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name in ("import_module", "__import__"):
                found.append((node.args[0].value.split(".")[0], node.lineno))
    return found


def driver_imports_outside_their_backend(package: Path = PACKAGE) -> list[str]:
    stray = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package).as_posix()
        for module, line in imported_modules(path.read_text(encoding="utf-8")):
            home = DRIVERS.get(module)
            if home is not None and not relative.startswith(home + "/"):
                stray.append(f"lightnb/{relative}:{line} imports {module} (only lightnb/{home} may)")
    return stray


def test_drivers_are_imported_only_inside_their_backend() -> None:
    assert driver_imports_outside_their_backend() == []


def test_each_backend_does_import_its_driver() -> None:
    """The check above looks at real files: each backend package is found and imports its driver."""
    for module, home in DRIVERS.items():
        importers = [p for p in (PACKAGE / home).rglob("*.py")
                     if any(m == module for m, _ in imported_modules(p.read_text(encoding="utf-8")))]
        assert importers, f"no module of lightnb/{home} imports {module}"


def test_a_driver_import_in_the_core_is_reported(tmp_path: Path) -> None:
    (tmp_path / "backends" / "sqlite").mkdir(parents=True)
    (tmp_path / "backends" / "sqlite" / "connection.py").write_text("import sqlite3\n")
    (tmp_path / "inspect").mkdir()
    (tmp_path / "inspect" / "preview.py").write_text("import os\n\n\ndef f():\n    import sqlite3\n")
    (tmp_path / "backends" / "sqlite_extra.py").write_text("from sqlite3 import Row\n")
    assert driver_imports_outside_their_backend(tmp_path) == [
        "lightnb/backends/sqlite_extra.py:1 imports sqlite3 (only lightnb/backends/sqlite may)",
        "lightnb/inspect/preview.py:5 imports sqlite3 (only lightnb/backends/sqlite may)",
    ]


@pytest.mark.parametrize("source", [
    "import sqlite3\n",
    "import sqlite3 as driver\n",
    "from sqlite3 import Connection\n",
    "def f():\n    import sqlite3\n",
    "import importlib\nimportlib.import_module('sqlite3')\n",
    "__import__('psycopg.rows')\n",
    "from pglast import parse_sql\n",
])
def test_every_spelling_of_a_driver_import_is_seen(source: str) -> None:
    assert [m for m, _ in imported_modules(source)][-1] in DRIVERS


def test_relative_and_lookalike_imports_are_not_drivers() -> None:
    source = "from . import sqlite\nfrom lightnb.backends import sqlite\nimport sqlite3x\nx = 'import sqlite3'\n"
    assert [m for m, _ in imported_modules(source) if m in DRIVERS] == []


# ----------------------------------------------------------------------------- the Backend protocol

PROTOCOL = ("name", "Error", "open_readonly", "connect", "copy", "read_catalog", "split", "quote", "run_script")


def test_a_sqlite_path_or_url_selects_the_sqlite_backend_and_it_has_every_member() -> None:
    from lightnb.backends import backend_for, sqlite
    for url in ("app.db", "sqlite://app.db", "file:app.db?mode=ro", Path("data/app.db")):
        assert backend_for(url) is sqlite
    assert [m for m in PROTOCOL if not hasattr(sqlite, m)] == []
    assert sqlite.name == "sqlite" and issubclass(sqlite.Error, Exception)


def test_an_unsupported_scheme_is_one_line_naming_the_accepted_ones() -> None:
    from lightnb.backends import backend_for
    from lightnb.errors import ProjectError
    with pytest.raises(ProjectError, match="mysql://` is not supported"):
        backend_for("mysql://root@localhost/app")


def test_the_core_can_work_through_the_protocol_alone(tmp_path: Path) -> None:
    """Write a database, copy it, read the copy's catalogue read-only: only Backend members are used."""
    from lightnb.backends import Backend, backend_for
    backend: Backend = backend_for(tmp_path / "source.db")
    conn = backend.connect(tmp_path / "source.db")
    try:
        table = backend.quote('odd "name"')
        script = (f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, note TEXT NOT NULL);\n"
                  f"INSERT INTO {table} VALUES (1, 'a');")
        assert [s.line for s in backend.split(script)] == [1, 2]
        backend.run_script(conn, script)
        with pytest.raises(backend.Error):
            backend.run_script(conn, f"ATTACH DATABASE '{tmp_path / 'elsewhere.db'}' AS other;")  # guarded
    finally:
        conn.close()
    copy = backend.copy(tmp_path / "source.db", tmp_path / "copy.db")
    reader = backend.open_readonly(copy)
    try:
        catalog = backend.read_catalog(reader)
        with pytest.raises(backend.Error):
            reader.execute("DELETE FROM \"odd \"\"name\"\"\"")  # read-only: nothing is written through it
    finally:
        reader.close()
    found = catalog.table('odd "name"')
    assert found is not None and found.column_names == ("id", "note") and found.primary_key == ("id",)
    assert not (tmp_path / "elsewhere.db").exists()

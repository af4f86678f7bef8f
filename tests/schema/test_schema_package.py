"""The schema package loads a part when one of its names is first used: a PostgreSQL print-schema renders
without SQLite's introspection, the schema-file sync or the SQLite driver. Structural, not timed."""

from __future__ import annotations

import subprocess
import sys


def _python(code: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_the_options_load_alone() -> None:
    assert _python(r"""
import sys
import lightnb.schema.config
print(sorted(m for m in sys.modules if m.startswith("lightnb.schema.")), "sqlite3" in sys.modules)
""") == ["['lightnb.schema.config'] False"]


def test_the_postgresql_printer_loads_no_sqlite_part() -> None:
    """The library's PostgreSQL print-schema (the notebooks', the CLI's) renders with the shared renderer only."""
    loaded = _python(r"""
import sys
import lightnb.schema.postgres
print(" ".join(sorted(m for m in sys.modules if m.startswith("lightnb.") or m in ("sqlite3", "pglast"))))
""")[0].split()
    assert {"lightnb.schema.print_schema", "lightnb.backends.postgres.catalog"} <= set(loaded)
    sqlite_parts = {"sqlite3", "pglast", "lightnb.backends.sqlite", "lightnb.schema.introspect", "lightnb.schema.sync",
                    "lightnb.schema.style", "lightnb.schema.structure", "lightnb.schema.patch", "lightnb.catalog"}
    assert not sqlite_parts & set(loaded), sorted(sqlite_parts & set(loaded))


def test_the_package_gives_every_public_name_and_keeps_the_function_over_its_module() -> None:
    """``from lightnb.schema import X`` is X's own object for every public X, before and after its module is
    imported: ``print_schema`` stays the function (also a module's name)."""
    assert _python(r"""
import importlib, types
import lightnb.schema as package
import lightnb.schema.print_schema  # binds the module
from lightnb.schema import print_schema
print(isinstance(print_schema, types.FunctionType), isinstance(package.print_schema, types.FunctionType))
home = {n: module for module, names in package._HOMES.items() for n in names}
wrong = [name for name in package.__all__
         if getattr(package, name) is not getattr(importlib.import_module(home[name]), name)]
print(wrong, set(package.__all__) <= set(dir(package)))
from lightnb.schema import layout  # a module of the package that names no public function
print(layout.__name__)
try:
    package.no_such_name
except AttributeError as error:
    print("refused" if "no_such_name" in str(error) else error)
""") == ["True True", "[] True", "lightnb.schema.layout", "refused"]


def test_the_sqlite_printer_still_reads_a_database() -> None:
    """The SQLite functions import their introspection when called."""
    assert _python(r"""
import sqlite3
from lightnb.schema import print_schema
conn = sqlite3.connect(":memory:")
conn.execute("CREATE TABLE things (id INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL)")
print("things (id) {" in print_schema(conn))
""") == ["True"]


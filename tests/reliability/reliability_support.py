"""Helpers of the reliability suite: build projects, fingerprint files and databases, freeze folders."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from lightnb.backends import sqlite

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class FileMark:
    """What proves a file was not touched: its bytes' SHA-256, its mtime and its size."""

    sha256: str
    mtime_ns: int
    size: int


def file_mark(path: str | Path) -> FileMark:
    """Return the SHA-256, mtime and size of a file."""
    target = Path(path)
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    info = target.stat()
    return FileMark(digest, info.st_mtime_ns, info.st_size)


def tree_mark(root: str | Path) -> dict[str, tuple[str, int] | str]:
    """Return every entry under ``root``: files by (SHA-256, mtime), folders by ``"dir"``."""
    base = Path(root)
    marks: dict[str, tuple[str, int] | str] = {}
    for folder, dirs, files in os.walk(base):
        here = Path(folder)
        for name in dirs:
            marks[str((here / name).relative_to(base))] = "dir"
        for name in files:
            path = here / name
            if path.is_symlink() or not path.is_file():
                marks[str(path.relative_to(base))] = "special"
                continue
            marks[str(path.relative_to(base))] = (hashlib.sha256(path.read_bytes()).hexdigest(),
                                                  path.stat().st_mtime_ns)
    return marks


def db_state(path: str | Path) -> tuple[list[tuple], dict[str, list[tuple]]]:
    """Return a database's schema and all its rows (test databases are small), opened read-only."""
    conn = sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True)
    try:
        schema = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master "
                              "ORDER BY type, name").fetchall()
        rows = {}
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                    "AND name NOT LIKE 'sqlite_%' ORDER BY name").fetchall():
            quoted = '"' + name.replace('"', '""') + '"'
            rows[name] = sorted(conn.execute(f"SELECT * FROM {quoted}").fetchall(), key=repr)
        return schema, rows
    finally:
        conn.close()


def applied(path: str | Path) -> list[str]:
    """Return the versions diesel's tracking table lists (empty when it does not exist)."""
    conn = sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True)
    try:
        exists = conn.execute("SELECT 1 FROM sqlite_master WHERE name = '__diesel_schema_migrations'").fetchone()
        if not exists:
            return []
        return [r[0] for r in conn.execute("SELECT version FROM __diesel_schema_migrations ORDER BY version")]
    finally:
        conn.close()


def integrity(path: str | Path) -> str:
    """Return ``PRAGMA integrity_check``'s first line."""
    conn = sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def write_migration(migrations: Path, name: str, up: str | None, down: str | None = None,
                    metadata: str | None = None) -> Path:
    """Write one migration folder; ``None`` leaves the file out."""
    folder = migrations / name
    folder.mkdir(parents=True, exist_ok=True)
    if up is not None:
        (folder / "up.sql").write_text(up, encoding="utf-8")
    if down is not None:
        (folder / "down.sql").write_text(down, encoding="utf-8")
    if metadata is not None:
        (folder / "metadata.toml").write_text(metadata, encoding="utf-8")
    return folder


BASE_MIGRATIONS = {
    "2024-01-01-000000-0000_create_accounts": (
        "CREATE TABLE accounts (\n  id INTEGER PRIMARY KEY NOT NULL,\n  owner TEXT NOT NULL UNIQUE,\n"
        "  balance INTEGER NOT NULL CHECK (balance >= 0)\n);\n"
        "INSERT INTO accounts (owner, balance) VALUES ('ada', 100), ('bob', 50), ('cy', 0);\n",
        "DROP TABLE accounts;\n"),
    "2024-01-02-000000-0000_create_posts": (
        "CREATE TABLE posts (\n  id INTEGER PRIMARY KEY NOT NULL,\n"
        "  account_id INTEGER NOT NULL REFERENCES accounts(id),\n  title TEXT NOT NULL\n);\n"
        "INSERT INTO posts (account_id, title) VALUES (1, 'hello'), (2, 'semi;colon'), (1, 'it''s');\n",
        "DROP TABLE posts;\n"),
}


def make_project(root: Path, *, migrated: bool = True) -> tuple[Path, Path]:
    """Create a Diesel project with two migrations and a production database that has them applied.

    :returns: (project root, production database path).
    """
    root.mkdir(parents=True, exist_ok=True)
    (root / "diesel.toml").write_text("[migrations_directory]\ndir = \"migrations\"\n", encoding="utf-8")
    migrations = root / "migrations"
    migrations.mkdir(exist_ok=True)
    for name, (up, down) in BASE_MIGRATIONS.items():
        write_migration(migrations, name, up, down)
    production = root / "production.db"
    from lightnb import migrations as migration_files
    from lightnb import runner
    conn = sqlite.connect(production)
    try:
        if migrated:
            runner.run_pending(conn, migration_files.discover(migrations))
    finally:
        conn.close()
    return root, production


def copy_db(source: Path, dest: Path) -> Path:
    """Copy a database file (no sidecars expected) for a scratch experiment."""
    shutil.copyfile(source, dest)
    return dest


class Frozen:
    """Make a file or folder read-only *for root too*, and undo it.

    Tests run as root, for whom ``chmod`` changes nothing. ``chattr +i`` (the immutable flag)
    stops root as well; when the file system does not support it and we are not root, ``chmod``
    is used. :attr:`how` says which one worked; :meth:`__enter__` skips the test when neither does.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.how = ""
        self._mode = path.stat().st_mode

    def __enter__(self) -> Frozen:
        import pytest
        chattr = shutil.which("chattr")
        if chattr and subprocess.run([chattr, "+i", str(self.path)], capture_output=True).returncode == 0:
            self.how = "chattr +i"
        elif os.geteuid() != 0:
            self.path.chmod(0o555 if self.path.is_dir() else 0o444)
            self.how = "chmod"
        else:
            pytest.skip("cannot make a path read-only for root here (no chattr +i support)")
        probe = self.path / ".probe" if self.path.is_dir() else None
        try:
            if probe is not None:
                probe.write_text("x")
                probe.unlink()
            else:
                with self.path.open("ab"):
                    pass
        except OSError:
            return self
        self.__exit__()
        pytest.skip(f"{self.how} did not make {self.path} read-only here")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.how == "chattr +i":
            subprocess.run(["chattr", "-i", str(self.path)], capture_output=True)
        elif self.how == "chmod":
            self.path.chmod(self._mode)

"""Scenes for the file-safety families: a project, a production beside or outside it, and proofs.

A :class:`Scene` knows what must never change: production's bytes and mtime, every file beside
it whose name starts with production's name (``-wal``, ``-shm``, ``-journal``), the listing of
production's folder, and the project tree (lightnb's own ``.lightnb/`` aside).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from reliability_support import BASE_MIGRATIONS, file_mark, tree_mark, write_migration

from lightnb.backends import sqlite

OLD_NS = 1_600_000_000_000_000_000


def sibling_marks(production: Path) -> dict[str, tuple[str, int, int]]:
    """Return every file beside production whose name starts with its name: (sha256, mtime, size)."""
    out = {}
    for entry in os.scandir(production.parent):
        if entry.name.startswith(production.name):
            path = Path(entry.path)
            if path.is_file():
                info = path.stat()
                out[entry.name] = (hashlib.sha256(path.read_bytes()).hexdigest(), info.st_mtime_ns, info.st_size)
            else:
                out[entry.name] = ("special", 0, 0)
    return out


def project_tree(root: Path) -> dict:
    """Return the project tree's marks, lightnb's own ``.lightnb/`` left out."""
    return {k: v for k, v in tree_mark(root).items() if not k.startswith(".lightnb")}


@dataclass
class Scene:
    """A Diesel project (``root``) and its production database (``production``)."""

    root: Path
    production: Path
    before: dict = field(default_factory=dict)

    def freeze(self) -> Scene:
        """Record the state that must not change."""
        self.before = self.state()
        return self

    def state(self) -> dict:
        return {"production": file_mark(self.production), "siblings": sibling_marks(self.production),
                "listing": sorted(os.listdir(self.production.parent)) if self.production.parent != self.root
                else None, "project": project_tree(self.root)}

    def assert_untouched(self, *, project: bool = True) -> None:
        """Fail unless production, its siblings, its folder's listing (and the project) are as frozen."""
        now = self.state()
        assert now["production"] == self.before["production"], "production's bytes or mtime changed"
        assert now["siblings"] == self.before["siblings"], "a file beside production appeared or changed"
        assert now["listing"] == self.before["listing"], "production's folder changed"
        if project:
            assert now["project"] == self.before["project"], "the project tree changed"


def make_scene(tmp_path: Path, *, production: str = "data/production.db", journal: str = "delete",
               config: str | None = '[print_schema]\nfile = "src/schema.rs"\n', migrated: bool = True,
               pending: bool = True) -> Scene:
    """Build ``tmp_path/app`` (two applied migrations, one pending) and production at ``tmp_path/production``.

    :param journal: ``delete`` (rollback journal) or ``wal``.
    """
    root = tmp_path / "app"
    (root / "src").mkdir(parents=True)
    if config is not None:
        (root / "diesel.toml").write_text(config, encoding="utf-8")
    migrations = root / "migrations"
    for name, (up, down) in BASE_MIGRATIONS.items():
        write_migration(migrations, name, up, down)
    prod = tmp_path / production
    prod.parent.mkdir(parents=True, exist_ok=True)
    _build_production(prod, migrations if migrated else None, journal)
    if pending:
        write_migration(migrations, "2024-02-01-000000-0000_add_note",
                        "ALTER TABLE accounts ADD COLUMN note TEXT;\nUPDATE accounts SET note = 'x';\n",
                        "ALTER TABLE accounts DROP COLUMN note;\n")
    os.utime(prod, ns=(OLD_NS, OLD_NS))
    return Scene(root, prod)


def _build_production(path: Path, migrations: Path | None, journal: str) -> None:
    from lightnb import migrations as migration_files
    from lightnb import runner
    conn = sqlite.connect(path)
    try:
        conn.execute(f"PRAGMA journal_mode = {journal}")
        if migrations is not None:
            runner.run_pending(conn, migration_files.discover(migrations))
        conn.execute("CREATE TABLE IF NOT EXISTS app_kv (k TEXT PRIMARY KEY, v TEXT)")
        conn.execute("INSERT OR REPLACE INTO app_kv VALUES ('built', 'yes')")
    finally:
        conn.close()


LEAVE_WAL = textwrap.dedent("""
    import os, sqlite3, sys
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("PRAGMA journal_mode = wal")
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    conn.execute("INSERT OR REPLACE INTO app_kv VALUES ('only_in_wal', 'committed')")
    os._exit(0)  # like a crashed or still-running application: -wal and -shm stay, unmerged
""")

HOLD_WAL = textwrap.dedent("""
    import sqlite3, sys, time
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    conn.execute("INSERT OR REPLACE INTO app_kv VALUES ('only_in_wal', 'committed')")
    print("READY", flush=True)
    sys.stdin.readline()
""")


def leave_wal(production: Path) -> None:
    """Leave a committed transaction in production's -wal (with its -shm), as a stopped application does."""
    subprocess.run([sys.executable, "-c", LEAVE_WAL, str(production)], check=True, timeout=60)
    assert Path(f"{production}-wal").stat().st_size > 0


class Application:
    """Another process with production open in WAL mode and a committed row only in the -wal."""

    def __init__(self, production: Path) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", HOLD_WAL, str(production)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None and self.process.stdout.readline().strip() == "READY"

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=60)


def rows(path: Path, sql: str) -> list[tuple]:
    """Read rows from a database lightnb made (never production: that would create its -shm)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def cli(capsys, *argv: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    """Run the CLI in-process; return (exit code, stdout, stderr)."""
    from lightnb.cli import main
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code: int, err: str) -> None:
    """Assert a failure reported as one line, without a traceback."""
    assert code == 1, err
    lines = [line for line in err.splitlines() if line and not line.startswith("lightnb: working on")]
    assert len(lines) == 1 and "Traceback" not in err, err

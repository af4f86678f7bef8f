"""Run the ``lightnb`` CLI in-process in a throwaway Diesel project, diesel_cli's test harness style
(diesel_cli tests/support/project_builder.rs: a temp folder with an empty Cargo.toml, DATABASE_URL
set for every command unless asked otherwise)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from lightnb.cli import main

CLEARED = ("DATABASE_URL", "MIGRATION_DIRECTORY", "DIESEL_CONFIG_FILE", "DIESEL_LOG", "LIGHTNB_LOG")


class Result:
    """Exit status, stdout and stderr of one command."""

    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def __repr__(self) -> str:
        return f"Result(code={self.code}, out={self.out!r}, err={self.err!r})"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Rust project (just Cargo.toml) as the current folder, DATABASE_URL = its database."""
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    root = tmp_path / "project"
    root.mkdir()
    (root / "Cargo.toml").write_text("")
    monkeypatch.chdir(root)
    monkeypatch.setenv("DATABASE_URL", str(root / "test.db"))
    return root


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run ``lightnb ARGS…`` and return its :class:`Result` (usage errors included, exit 2)."""
    def call(*args: str) -> Result:
        try:
            code = main(list(args))
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        out, err = capsys.readouterr()
        return Result(code, out, err)
    return call


def migration(root: Path, name: str, up: str | None, down: str | None = None, *, metadata: str | None = None,
              folder: str = "migrations") -> Path:
    """Write ``<root>/<folder>/<name>/{up,down}.sql`` (None: no such file), like diesel's create_migration."""
    path = root / folder / name
    path.mkdir(parents=True, exist_ok=True)
    for filename, text in (("up.sql", up), ("down.sql", down), ("metadata.toml", metadata)):
        if text is not None:
            (path / filename).write_text(text)
    return path


def tables(database: Path) -> list[str]:
    """Names of the tables of a database (read-only)."""
    import sqlite3
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    finally:
        conn.close()



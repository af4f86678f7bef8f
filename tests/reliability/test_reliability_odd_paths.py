"""Odd database paths: no hang, no database made where none was, one line each.

Family: the database path is a FIFO, a character device (/dev/null), a socket, a folder, a
symbolic link to a FIFO, a dangling link, an empty file, a text file, or missing — for every verb
that opens a database path. A FIFO used to block ``snapshot`` and ``print-schema`` forever (run
here in a real process with a deadline); /dev/null used to be copied as an empty production; a
read-only verb on a missing path used to create a database there.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from guard_support import cli, make_scene, one_line_error


def _make(kind: str, where: Path) -> Path:
    path = where / f"odd {kind}.db"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        return Path("/dev/null")
    elif kind == "socket":
        path = where / "s.db"
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(path))
        _SOCKETS.append(server)
    elif kind == "folder":
        path.mkdir()
    elif kind == "link_to_fifo":
        os.mkfifo(where / "pipe")
        path.symlink_to(where / "pipe")
    elif kind == "dangling_link":
        path.symlink_to(where / "nowhere.db")
    elif kind == "empty":
        path.touch()
    elif kind == "text":
        path.write_text("DATABASE_URL=production.db\n" * 20)
    return path


_SOCKETS: list[socket.socket] = []
KINDS = ["fifo", "device", "socket", "folder", "link_to_fifo", "dangling_link", "text", "missing"]
READERS = {
    "snapshot": lambda p: ["snapshot", "--database-url", str(p)],
    "list": lambda p: ["migration", "list", "--database-url", str(p)],
    "pending": lambda p: ["migration", "pending", "--database-url", str(p)],
    "print-schema": lambda p: ["print-schema", "--database-url", str(p)],
    "print-schema-check": lambda p: ["print-schema", "--check", "--database-url", str(p)],
    "lint": lambda p: ["lint", "--database-url", str(p)],
    "check": lambda p: ["check", "--no-tests", "--database-url", str(p)],
    "inspect": lambda p: ["inspect", str(p)],
    "diff-before": lambda p: ["diff", str(p), "../data/production.db"],
    "diff-after": lambda p: ["diff", "../data/production.db", str(p)],
}
WRITERS = {
    "run": lambda p: ["migration", "run", "--database-url", str(p)],
    "revert": lambda p: ["migration", "revert", "--database-url", str(p)],
    "redo": lambda p: ["migration", "redo", "--database-url", str(p)],
}


def _state(path: Path) -> object:
    if not os.path.lexists(path):
        return None
    info = os.lstat(path)
    return info.st_mode, info.st_size, info.st_mtime_ns


@pytest.mark.timeout(60)
@pytest.mark.parametrize("verb", list(READERS) + list(WRITERS))
@pytest.mark.parametrize("kind", KINDS)
def test_odd_database_paths_are_one_line_and_create_nothing(tmp_path, capsys, monkeypatch, kind, verb) -> None:
    if kind == "missing" and verb in WRITERS:
        pytest.skip("a writing verb creates a missing database, as diesel does")
    scene = make_scene(tmp_path)
    monkeypatch.chdir(scene.root)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    path = _make(kind, tmp_path)
    before = _state(path)
    listing = sorted(os.listdir(tmp_path))
    scene.freeze()
    code, out, err = cli(capsys, *{**READERS, **WRITERS}[verb](path))
    if kind == "missing" and verb in ("list", "pending", "print-schema", "print-schema-check"):
        # diesel's answer for a database it would create empty; lightnb reads it as empty instead
        assert "does not exist (not created)" in err and "Traceback" not in err
    else:
        one_line_error(code, err)
    assert _state(path) == before, "the path was created or changed"
    assert sorted(os.listdir(tmp_path)) == listing
    scene.assert_untouched()


@pytest.mark.parametrize("verb", ["snapshot", "check"])
def test_empty_file_is_not_a_production(tmp_path, capsys, monkeypatch, verb) -> None:
    scene = make_scene(tmp_path)
    monkeypatch.chdir(scene.root)
    empty = tmp_path / "empty.db"
    empty.touch()
    code, out, err = cli(capsys, *READERS[verb](empty))
    one_line_error(code, err)
    assert "empty" in err and empty.stat().st_size == 0


def test_production_declared_as_dev_null_is_refused(tmp_path, capsys, monkeypatch) -> None:
    scene = make_scene(tmp_path)
    monkeypatch.chdir(scene.root)
    (scene.root / "lightnb.toml").write_text('production = "/dev/null"\n')
    code, out, err = cli(capsys, "snapshot")
    one_line_error(code, err)
    assert "character device" in err and not (scene.root / ".lightnb" / "workspace.db").exists()


@pytest.mark.parametrize("argv", [["snapshot"], ["print-schema"], ["migration", "list"],
                                  ["lint", "--database-url", "{p}"],
                                  ["rehearse", "--database", "{p}", "--out", "out"]])
def test_a_fifo_never_blocks_a_real_process(tmp_path, argv) -> None:
    scene = make_scene(tmp_path)
    fifo = tmp_path / "production.fifo"
    os.mkfifo(fifo)
    argv = [a.replace("{p}", str(fifo)) for a in argv]
    env = {**os.environ, "DATABASE_URL": str(fifo)}
    if argv[0] == "snapshot":
        argv += ["--database-url", str(fifo)]
    done = subprocess.run([sys.executable, "-m", "lightnb", *argv], cwd=scene.root, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1 and "FIFO" in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert fifo.exists() and not (scene.root / "out").exists()


NAMES = {
    "long_name": "p" * 240 + ".db",
    "deep": "/".join(["level"] * 40) + "/prod.db",
    "spaces": "my data/prod uction.db",
    "unicode_nfd": "donne\u0301es/produc\u0327tion.db",
    "emoji": "🗄️/prod.db",
    "leading_dash": "-prod.db",
    "newline": "prod\nuction.db",
    "dotdot_inside": "a/../b/prod.db",
    "quote_and_percent": "it's 100%/prod?mode=rw.db",
}


@pytest.mark.parametrize("name", list(NAMES))
def test_production_paths_of_every_shape_are_copied_and_never_written(tmp_path, capsys, monkeypatch,
                                                                      name) -> None:
    scene = make_scene(tmp_path, production=NAMES[name])
    monkeypatch.chdir(scene.root)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    scene.freeze()
    relative = os.path.relpath(scene.production, scene.root)
    assert cli(capsys, "snapshot", "--database-url", relative)[0] == 0
    assert cli(capsys, "migration", "run")[0] == 0
    for url in (relative, str(scene.production)):
        code, out, err = cli(capsys, "migration", "run", "--database-url", url)
        one_line_error(code, err)
        assert "production database" in err
    assert cli(capsys, "migration", "list", "--database-url", relative)[0] == 0
    assert cli(capsys, "snapshot", "--discard")[0] == 0
    scene.assert_untouched(project=False)

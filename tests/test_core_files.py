"""The atomic-write helper and the schema-file target rules."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lightnb.errors import FileWriteError
from lightnb.files import (
    STALE_AFTER_SECONDS,
    STALE_WITHOUT_PID_SECONDS,
    atomic_path,
    copy_file_atomic,
    write_bytes_atomic,
    write_text_atomic,
)
from lightnb.schema.target import check_schema_target, not_a_schema_file


def test_new_files_get_the_umask_mode_and_exact_bytes(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        path = write_text_atomic(tmp_path / "a" / "b.rs", "x\ny\n", newline="\n")
    finally:
        os.umask(old)
    assert path.read_bytes() == b"x\ny\n"
    assert path.stat().st_mode & 0o777 == 0o640
    assert write_text_atomic(tmp_path / "crlf.txt", "a\nb\n", newline="\r\n").read_bytes() == b"a\r\nb\r\n"
    assert write_bytes_atomic(tmp_path / "bin", b"\x00\x01").read_bytes() == b"\x00\x01"


def test_a_symbolic_link_is_written_through(tmp_path: Path) -> None:
    real = tmp_path / "real.rs"
    real.write_text("old")
    link = tmp_path / "link.rs"
    link.symlink_to(real)
    write_text_atomic(link, "new")
    assert link.is_symlink() and real.read_text() == "new"


def test_an_error_inside_atomic_path_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "notebook.ipynb"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target, suffix=".tmp.ipynb") as tmp:
        assert tmp.name.endswith(".tmp.ipynb") and tmp.parent == tmp_path
        tmp.write_text("half")
        raise RuntimeError("the writer failed")
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["notebook.ipynb"]


def test_long_and_unicode_names_get_a_valid_temporary_name(tmp_path: Path) -> None:
    name = "é" * 120 + ".rs"  # 243 bytes: the temporary name must stay under the 255-byte limit
    assert write_text_atomic(tmp_path / name, "x").read_text() == "x"


def test_copy_file_atomic(tmp_path: Path) -> None:
    source = tmp_path / "a.js"
    source.write_bytes(os.urandom(3 << 20))
    assert copy_file_atomic(source, tmp_path / "out" / "a.js").read_bytes() == source.read_bytes()


SCHEMA = ("// @generated automatically by Diesel CLI.\n\n"
          "diesel::table! {\n    users (id) {\n        id -> Integer,\n    }\n}\n")


@pytest.mark.parametrize("text", ["", "\n\n", SCHEMA, "table! { a (id) { id -> Integer, } }\n",
                                  "pub mod custom { diesel::table! { custom.t (id) { id -> Int4, } } }\n",
                                  "#![allow(unused)]\nuse diesel::sql_types::*;\n" + SCHEMA,
                                  "/* block */\n" + SCHEMA + "diesel::allow_tables_to_appear_in_same_query!(a, b,);\n"])
def test_what_print_schema_writes_is_a_schema_file(text: str) -> None:
    assert not_a_schema_file(text.encode()) is None


@pytest.mark.parametrize("data, reason", [
    (b"SQLite format 3\x00" + bytes(100), "binary"),
    (b"\xff\xfe\x00", "binary"),
    ("caf\xe9".encode("latin-1"), "UTF-8"),
    (b"fn main() {}\n", "never writes"),
    (b"pub struct User { id: i32 }\n", "never writes"),
    (b"impl Foo {}\n", "never writes"),
    (b"mod other { fn f() {} }\n", "never writes"),
    (b"println!(\"hi\");\n", "macro"),
    (b"[package]\nname = \"x\"\n", "does not parse"),
    (b"DATABASE_URL=prod.db\n", "does not parse"),
])
def test_anything_else_is_not(data: bytes, reason: str) -> None:
    found = not_a_schema_file(data)
    assert found is not None and reason in found


def test_check_schema_target_refuses_protected_files_by_any_name(tmp_path: Path) -> None:
    prod = tmp_path / "prod.db"
    prod.touch()  # even an empty production
    os.link(prod, tmp_path / "hard.rs")
    (tmp_path / "soft.rs").symlink_to(prod)
    for name in ("prod.db", "hard.rs", "soft.rs", "prod.db-wal"):
        with pytest.raises(FileWriteError, match="never writes"):
            check_schema_target(tmp_path / name, protected=[prod, Path(f"{prod}-wal")])
    check_schema_target(tmp_path / "new.rs", protected=[prod])  # a new file is fine


# --- temporaries left by a crash mid-write ------------------------------------------------------------

_WRITER = """
import sys, time
from pathlib import Path
from lightnb.files import atomic_path
with atomic_path(sys.argv[1]) as tmp:
    tmp.write_text("half of the new sch")
    print(tmp, flush=True)
    time.sleep(600)
"""


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then), follow_symlinks=False)


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def test_a_write_killed_midway_leaves_a_temporary_the_next_write_sweeps(tmp_path: Path) -> None:
    target = tmp_path / "schema.rs"
    target.write_text("old\n")
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(target)], stdout=subprocess.PIPE, text=True)
    left = Path(writer.stdout.readline().strip())
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    assert left.exists() and target.read_text() == "old\n"  # the crash left the old file and a temporary
    assert left.name.startswith(f".schema.rs.{writer.pid}.") and left.name.endswith(".tmp")

    write_text_atomic(target, "new\n")
    assert left.exists(), "a temporary that changed a moment ago is left alone (its writer may be elsewhere)"
    _age(left, STALE_AFTER_SECONDS + 1)
    write_text_atomic(target, "newer\n")
    assert not left.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["schema.rs"]
    assert target.read_text() == "newer\n"


def test_the_sweep_removes_only_lightnb_temporaries_whose_writer_is_gone(tmp_path: Path) -> None:
    target = tmp_path / "schema.rs"
    dead = _dead_pid()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        stale = [f".schema.rs.{dead}.abcd_123.tmp", ".schema.rs.zzzz9999.tmp"]  # the second: no writer named
        kept_files = [f".schema.rs.{alive.pid}.abcd1234.tmp",  # its writer is still running
                      f".schema.rs.{dead}.abcd1234.tmp.keep", f".schema.rs.{dead}.abcd12345.tmp",
                      f".schema.rs.{dead}.ABCD1234.tmp", f"schema.rs.{dead}.abcd1234.tmp", ".schema.rs.backup",
                      f".other.rs.{dead}.abcd1234.tmp", f".schema.rs.{dead}.abcd1234.rs"]
        for name in stale + kept_files:
            (tmp_path / name).write_text("x")
            _age(tmp_path / name, STALE_WITHOUT_PID_SECONDS + 1)
        outside = tmp_path / "elsewhere.txt"
        outside.write_text("keep me")
        (tmp_path / f".schema.rs.{dead}.link0000.tmp").symlink_to(outside)
        (tmp_path / f".schema.rs.{dead}.fold0000.tmp").mkdir()
        young = tmp_path / ".schema.rs.young000.tmp"  # no writer named, but only an hour old
        young.write_text("x")
        _age(young, 3600)
        _age(tmp_path / f".schema.rs.{dead}.link0000.tmp", STALE_WITHOUT_PID_SECONDS + 1)

        write_text_atomic(target, "new\n")

        left = {p.name for p in tmp_path.iterdir()}
        assert not left & set(stale)
        assert left == {"schema.rs", "elsewhere.txt", young.name, f".schema.rs.{dead}.link0000.tmp",
                        f".schema.rs.{dead}.fold0000.tmp", *kept_files}
        assert outside.read_text() == "keep me"
    finally:
        alive.kill()
        alive.wait()


def test_a_sweep_with_nothing_to_sweep_compiles_no_pattern(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every write sweeps first; in a folder with none of lightnb's temporaries the sweep only lists it."""
    import lightnb.files as files

    (tmp_path / "schema.rs").write_text("x", encoding="utf-8")
    (tmp_path / ".other.rs.123.abcd_123.tmp").write_text("x", encoding="utf-8")  # another file's temporary
    compiled: list[str] = []
    real = files.re.compile
    monkeypatch.setattr(files.re, "compile", lambda pattern, *a: compiled.append(pattern) or real(pattern, *a))
    assert files.sweep_stale_temporaries(tmp_path / "schema.rs") == []
    assert compiled == []
    (tmp_path / ".schema.rs.99999999.abcd_123.tmp").write_text("x", encoding="utf-8")  # a writer that is gone, new
    assert files.sweep_stale_temporaries(tmp_path / "schema.rs") == []  # too recent to be stale
    assert len(compiled) == 1


def test_make_temporary_makes_a_new_private_file_as_mkstemp_does(tmp_path: Path) -> None:

    from lightnb.files import _RANDOM, make_temporary

    made = []
    for _ in range(50):
        fd, path = make_temporary(tmp_path, prefix=".thing.", suffix=".tmp")
        os.close(fd)
        made.append(path)
    assert len(set(made)) == 50 and all(p.parent == tmp_path and p.is_absolute() for p in made)
    assert all(re.fullmatch(rf"\.thing\.{_RANDOM}\.tmp", p.name) for p in made)  # the sweep's pattern
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 and p.stat().st_size == 0 for p in made)


def test_make_temporary_never_opens_an_existing_name_nor_a_link(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:

    from lightnb import files

    (tmp_path / "xaaaaaaaa").write_text("keep", encoding="utf-8")
    (tmp_path / "xbbbbbbbb").symlink_to(tmp_path / "elsewhere")
    names = iter([b"\x00" * 8, b"\x01" * 8, b"\x02" * 8])  # a…, b…, c…: two taken, then a free one
    monkeypatch.setattr(files.os, "urandom", lambda n: next(names))
    fd, path = files.make_temporary(tmp_path, prefix="x")
    os.close(fd)
    assert path.name == "xcccccccc"
    assert (tmp_path / "xaaaaaaaa").read_text(encoding="utf-8") == "keep" and not (tmp_path / "elsewhere").exists()

"""The atomic-write helper and the schema-file target rules."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lightnb.errors import FileWriteError
from lightnb.files import atomic_path, copy_file_atomic, write_bytes_atomic, write_text_atomic
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

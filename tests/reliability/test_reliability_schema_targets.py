"""`[print_schema] file` and model files may name anything: lightnb writes only over what it would write.

Family: the schema file names production (relative, absolute, through a symbolic link, as a hard
link), the workspace, another database, binary data, text that is not Rust, Rust that is not a
schema (src/main.rs), a folder, a FIFO, a device — for every verb that regenerates schema files,
in every output style. Each is one line, writes nothing (the target, production, its -wal/-shm
and the project stay byte for byte), and runs no migration. Schema files print-schema would write
(missing, empty, stale, conflicted, with sql_types, behind a symbolic link) are written.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from guard_support import cli, make_scene, one_line_error, rows
from reliability_support import file_mark

SCHEMA = "src/schema.rs"


def _target_production_relative(scene):  # type: ignore[no-untyped-def]
    return os.path.relpath(scene.production, scene.root)


def _target_production_absolute(scene):  # type: ignore[no-untyped-def]
    return str(scene.production)


def _target_production_symlink(scene):  # type: ignore[no-untyped-def]
    (scene.root / SCHEMA).symlink_to(scene.production)
    return SCHEMA


def _target_production_hard_link(scene):  # type: ignore[no-untyped-def]
    os.link(scene.production, scene.root / SCHEMA)
    return SCHEMA


def _target_production_dotdot(scene):  # type: ignore[no-untyped-def]
    return f"src/../{os.path.relpath(scene.production, scene.root)}"


def _target_workspace(scene):  # type: ignore[no-untyped-def]
    return ".lightnb/workspace.db"


def _target_other_database(scene):  # type: ignore[no-untyped-def]
    import sqlite3
    conn = sqlite3.connect(scene.root / "notes.sqlite")
    conn.execute("CREATE TABLE t (x)")
    conn.close()
    return "notes.sqlite"


def _target_binary(scene):  # type: ignore[no-untyped-def]
    (scene.root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    return "logo.png"


def _target_latin1(scene):  # type: ignore[no-untyped-def]
    (scene.root / "notes.txt").write_bytes("caf\xe9 cr\xe8me\n".encode("latin-1"))
    return "notes.txt"


def _target_cargo_toml(scene):  # type: ignore[no-untyped-def]
    (scene.root / "Cargo.toml").write_text('[package]\nname = "app"\nversion = "0.1.0"\n')
    return "Cargo.toml"


def _target_main_rs(scene):  # type: ignore[no-untyped-def]
    (scene.root / "src" / "main.rs").write_text("mod schema;\n\nfn main() {\n    println!(\"hi\");\n}\n")
    return "src/main.rs"


def _target_models_rs(scene):  # type: ignore[no-untyped-def]
    (scene.root / "src" / "models.rs").write_text(
        "use diesel::prelude::*;\n\n#[derive(Queryable)]\npub struct Account {\n    pub id: i32,\n}\n")
    return "src/models.rs"


def _target_folder(scene):  # type: ignore[no-untyped-def]
    return "src"


def _target_fifo(scene):  # type: ignore[no-untyped-def]
    os.mkfifo(scene.root / SCHEMA)
    return SCHEMA


def _target_socket(scene):  # type: ignore[no-untyped-def]
    path = scene.root / "s.sock"
    if len(str(path)) > 100:
        pytest.skip("socket path too long for AF_UNIX")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    scene.keep = server
    return "s.sock"


def _target_dev_null(scene):  # type: ignore[no-untyped-def]
    return "/dev/null"


def _target_symlink_to_folder(scene):  # type: ignore[no-untyped-def]
    (scene.root / SCHEMA).symlink_to(scene.root / "migrations")
    return SCHEMA


REFUSED = {name[len("_target_"):]: func for name, func in sorted(globals().items()) if name.startswith("_target_")}
VERBS = {
    "run": ["migration", "run"],
    "run-2.3": ["migration", "run", "--style", "2.3"],
    "run-2.2": ["migration", "run", "--style", "2.2"],
    "revert": ["migration", "revert"],
    "redo": ["migration", "redo"],
}


def _snapshot_marks(scene, target: str) -> object:  # type: ignore[no-untyped-def]
    path = Path(target) if os.path.isabs(target) else scene.root / target
    if os.path.lexists(path) and path.is_file():
        return file_mark(path)
    return os.path.lexists(path) and os.lstat(path).st_mode


@pytest.mark.timeout(60)
@pytest.mark.parametrize("verb", list(VERBS))
@pytest.mark.parametrize("target", list(REFUSED))
def test_schema_file_is_never_written_over_what_print_schema_did_not_write(tmp_path, capsys, monkeypatch, target,
                                                                         verb) -> None:
    scene = make_scene(tmp_path)
    monkeypatch.chdir(scene.root)
    assert cli(capsys, "snapshot", "--database-url", str(scene.production))[0] == 0
    file = REFUSED[target](scene)
    (scene.root / "diesel.toml").write_text(f'[print_schema]\nfile = "{file}"\n')
    workspace = scene.root / ".lightnb" / "workspace.db"
    applied = rows(workspace, "SELECT version FROM __diesel_schema_migrations ORDER BY 1")
    scene.freeze()
    target_before = _snapshot_marks(scene, file)
    code, out, err = cli(capsys, *VERBS[verb])
    one_line_error(code, err)
    assert "schema file" in err
    assert _snapshot_marks(scene, file) == target_before
    assert rows(workspace, "SELECT version FROM __diesel_schema_migrations ORDER BY 1") == applied, \
        "a migration ran although its schema file could not be written"
    scene.assert_untouched()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("target", ["binary", "latin1", "other_database", "production_absolute", "fifo", "folder"])
def test_print_schema_check_on_such_a_file_is_one_line(tmp_path, capsys, monkeypatch, target) -> None:
    scene = make_scene(tmp_path)
    monkeypatch.chdir(scene.root)
    assert cli(capsys, "snapshot", "--database-url", str(scene.production))[0] == 0
    file = REFUSED[target](scene)
    (scene.root / "diesel.toml").write_text(f'[print_schema]\nfile = "{file}"\n')
    scene.freeze()
    code, _out, err = cli(capsys, "print-schema", "--check")
    assert code == 1 and "Traceback" not in err
    code, out, err = cli(capsys, "print-schema")
    assert "Traceback" not in err
    scene.assert_untouched()


STALE = ("// @generated automatically by Diesel CLI.\n\n"
         "diesel::table! {\n    gone (id) {\n        id -> Integer,\n    }\n}\n")
ACCEPTED = {
    "missing": None,
    "empty": "",
    "stale": STALE,
    "conflicted": "<<<<<<< HEAD\n" + STALE + "=======\ndiesel::table! {\n    other (id) {\n        id -> Integer,\n"
                  "    }\n}\n>>>>>>> feature\n",
    "sql_types": "pub mod sql_types {\n    #[derive(diesel::sql_types::SqlType)]\n"
                 "    #[diesel(sqlite_type(name = \"Text\"))]\n    pub struct Mood;\n}\n\n" + STALE,
    "patched": "use crate::types::*;\n\n" + STALE.replace("Integer", "BigInt")
               + "\ndiesel::joinable!(gone -> gone (id));\n",
    "crlf": STALE.replace("\n", "\r\n"),
}


@pytest.mark.parametrize("content", list(ACCEPTED))
def test_schema_files_print_schema_would_write_are_regenerated(tmp_path, capsys, monkeypatch, content) -> None:
    scene = make_scene(tmp_path)
    monkeypatch.chdir(scene.root)
    schema = scene.root / SCHEMA
    if ACCEPTED[content] is not None:
        schema.write_text(ACCEPTED[content], newline="")
    assert cli(capsys, "snapshot", "--database-url", str(scene.production))[0] == 0
    scene.freeze()
    code, out, err = cli(capsys, "migration", "run")
    assert code == 0, err
    text = schema.read_text()
    assert "accounts (id)" in text and "note -> Nullable<Text>" in text and "gone" not in text
    assert not [p for p in schema.parent.iterdir() if p.name.startswith(".")], "a temporary file was left"
    scene.assert_untouched(project=False)


def test_a_schema_file_behind_a_symbolic_link_is_written_through_it(tmp_path, capsys, monkeypatch) -> None:
    scene = make_scene(tmp_path)
    monkeypatch.chdir(scene.root)
    shared = tmp_path / "shared" / "schema.rs"
    shared.parent.mkdir()
    shared.write_text(STALE)
    shared.chmod(0o640)
    (scene.root / SCHEMA).symlink_to(shared)
    assert cli(capsys, "snapshot", "--database-url", str(scene.production))[0] == 0
    assert cli(capsys, "migration", "run")[0] == 0
    assert (scene.root / SCHEMA).is_symlink(), "the link was replaced by a file"
    assert "accounts (id)" in shared.read_text()
    assert shared.stat().st_mode & 0o777 == 0o640, "the schema file's permissions changed"


def test_every_schema_file_is_checked_before_any_is_written(tmp_path, capsys, monkeypatch) -> None:
    scene = make_scene(tmp_path)
    monkeypatch.chdir(scene.root)
    (scene.root / "src" / "main.rs").write_text("fn main() {}\n")
    (scene.root / "diesel.toml").write_text('[print_schema.a]\nfile = "src/schema.rs"\n\n'
                                            '[print_schema.b]\nfile = "src/main.rs"\n')
    assert cli(capsys, "snapshot", "--database-url", str(scene.production))[0] == 0
    code, _out, err = cli(capsys, "migration", "run")
    one_line_error(code, err)
    assert "main.rs" in err and not (scene.root / SCHEMA).exists()


# ----------------------------------------------------------------------------------- model files

MODELS = "use diesel::prelude::*;\n\n#[derive(Queryable, Selectable)]\n" \
         "#[diesel(table_name = crate::schema::accounts)]\n" \
         "pub struct Account {\n    pub id: i32,\n    pub owner: String,\n    pub balance: i32,\n}\n"


def _model_scene(tmp_path, capsys, monkeypatch):  # type: ignore[no-untyped-def]
    scene = make_scene(tmp_path)
    monkeypatch.chdir(scene.root)
    assert cli(capsys, "snapshot", "--database-url", str(scene.production))[0] == 0
    assert cli(capsys, "migration", "run")[0] == 0  # schema.rs now has accounts.note
    models = scene.root / "src" / "models"
    models.mkdir()
    (models / "account.rs").write_text(MODELS)
    return scene, models / "account.rs"


def test_models_generate_apply_writes_the_model_file_atomically(tmp_path, capsys, monkeypatch) -> None:
    scene, model = _model_scene(tmp_path, capsys, monkeypatch)
    code, out, err = cli(capsys, "models", "generate", "--apply")
    assert code == 0, err
    assert "pub note: Option<String>" in model.read_text()
    assert not [p for p in model.parent.iterdir() if p.name.startswith(".")]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("swap", ["production_hard_link", "production_symlink", "database", "binary", "fifo"])
def test_models_generate_never_writes_over_a_model_file_that_is_not_rust(tmp_path, capsys, monkeypatch, swap) -> None:
    scene, model = _model_scene(tmp_path, capsys, monkeypatch)
    code, out, err = cli(capsys, "models", "generate")
    assert code == 0 and "note" in out  # the plan names the model file
    model.unlink()
    if swap == "production_hard_link":
        os.link(scene.production, model)
    elif swap == "production_symlink":
        model.symlink_to(scene.production)
    elif swap == "database":
        import sqlite3
        sqlite3.connect(model).execute("CREATE TABLE t (x)").connection.close()
    elif swap == "binary":
        model.write_bytes(b"\x00\x01binary\xff" * 10)
    else:
        os.mkfifo(model)
    scene.freeze()
    before = file_mark(model) if model.is_file() else None
    code, out, err = cli(capsys, "models", "generate", "--apply")
    assert code == 1 and "Traceback" not in err
    assert (file_mark(model) if model.is_file() else None) == before
    scene.assert_untouched(project=False)


def test_the_database_url_of_the_project_is_never_a_schema_file_even_when_empty(tmp_path, capsys,
                                                                                monkeypatch) -> None:
    scene = make_scene(tmp_path)
    monkeypatch.chdir(scene.root)
    empty = scene.root / "dev.db"
    empty.touch()
    (scene.root / "diesel.toml").write_text('[print_schema]\nfile = "dev.db"\n')
    monkeypatch.setenv("DATABASE_URL", "dev.db")
    code, out, err = cli(capsys, "migration", "run", "--database-url", str(tmp_path / "scratch.db"))
    one_line_error(code, err)
    assert empty.stat().st_size == 0

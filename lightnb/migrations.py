"""Discover, order and generate migration folders exactly as diesel_cli does.

See diesel_spec.md §1 (generate) and §2.1 (discovery, versions, ordering).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tomllib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from lightnb.errors import LightnbError, MigrationError, with_advice
from lightnb.files import kind_of, write_text_atomic

UP_TEMPLATE = "-- Your SQL goes here\n"
DOWN_TEMPLATE = "-- This file should undo anything in `up.sql`\n"
MAX_NAME_BYTES = 200  # file systems allow 255 bytes per folder name; the version prefix needs the rest
INVALID_DIR = ("Invalid migration directory: the directory's name should be "
               "<timestamp>_<name_of_migration>, and it should contain up.sql and optionally down.sql.")


@dataclass(frozen=True)
class Migration:
    """One migration folder.

    :param name: the folder name, e.g. ``2024-05-31-093257-0000_create_users``.
    :param version: the version diesel records: the part before the first ``_``, dashes removed.
    """

    name: str
    version: str
    path: Path
    up_path: Path
    down_path: Path | None
    run_in_transaction: bool = True

    def up_sql(self) -> str:
        """Return the text of up.sql."""
        return _read_sql(self.up_path, self)

    def down_sql(self) -> str:
        """Return the text of down.sql.

        :raises MigrationError: when the migration has no down.sql.
        """
        if self.down_path is None:
            raise MigrationError(with_advice("Missing `down.sql` file to revert migration",
                                             f"{self.name} has none; write one in {self.path}"),
                                 path=self.path, version=self.version)
        return _read_sql(self.down_path, self)


def version_of(name: str) -> str:
    """Return diesel's version string of a migration folder name (§2.1)."""
    return name.split("_", 1)[0].replace("-", "")


def rust_debug(text: str) -> str:
    """Quote a path the way Rust's ``{:?}`` does in diesel's messages (``"/a/b"``, escapes inside)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return '"' + escaped.replace("\t", "\\t") + '"'


def missing_folder_error(folder: Path, origin: str, start: Path | None = None) -> LightnbError:
    """Return diesel's error for a migrations folder that does not exist, with lightnb's advice.

    :param origin: where the folder came from (``Project.migrations_origin``): a folder named by
        ``--migration-dir``, ``MIGRATION_DIRECTORY`` or diesel.toml is read as given (an IO error);
        otherwise diesel searched upward from ``start`` and found none.
    """
    advice = "create it (`lightnb setup` does), or pass --migration-dir"
    if origin in ("argument", "environment", "config"):
        reason = "Not a directory (os error 20)" if folder.exists() else "No such file or directory (os error 2)"
        return LightnbError(with_advice(f"Encountered an IO error: {reason} for `{folder}`", advice), path=folder)
    # a MigrationError: the CLI prefixes it with "Failed to run migrations: ", as diesel does
    return MigrationError(with_advice(f"Unable to find migrations directory in {rust_debug(str(start or Path.cwd()))} "
                                      f"or any parent directories.", advice), path=folder)


def discover(migrations_dir: str | Path) -> list[Migration]:
    """List the migrations of a folder, sorted by version (byte order, as diesel).

    :raises MigrationError: when the folder is missing, a candidate lacks up.sql, or two folders
        share a version.
    """
    folder = Path(migrations_dir)
    if not folder.is_dir():
        raise MigrationError(
            f"Unable to find migrations directory {str(folder)!r}; create it, or pass --migration-dir.",
            path=folder)
    found: dict[str, Migration] = {}
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.name.startswith(".") or entry.is_file():
            continue
        if entry.is_dir() and not any(os.scandir(entry.path)):
            continue  # diesel 2.3.8+ ignores completely empty folders
        migration = _load(Path(entry.path))
        twin = found.get(migration.version)
        if twin is not None:
            raise MigrationError(
                f"Migrations {twin.name} and {migration.name} share version {migration.version}; "
                f"rename one of them so every version is unique.", path=migration.path,
                version=migration.version)
        found[migration.version] = migration
    return [found[v] for v in sorted(found, key=lambda v: v.encode("utf-8"))]


def _load(path: Path) -> Migration:
    entries = {p.name for p in path.iterdir() if not p.name.startswith(".")} if path.is_dir() else set()
    if "up.sql" not in entries:
        raise MigrationError(with_advice(INVALID_DIR, f"{path.name} has no up.sql: add one, or remove the folder"),
                             path=path)
    name = path.name
    down = path / "down.sql"
    return Migration(name=name, version=version_of(name), path=path, up_path=path / "up.sql",
                     down_path=down if down.is_file() else None,
                     run_in_transaction=_run_in_transaction(path / "metadata.toml"))


def _run_in_transaction(metadata: Path) -> bool:
    """Read ``metadata.toml`` with diesel's quirks (§1.5)."""
    if not metadata.is_file():
        return True
    try:
        data = tomllib.loads(metadata.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return True
    value = data.get("run_in_transaction", False)
    return value if isinstance(value, bool) else True


def _read_sql(path: Path, migration: Migration) -> str:
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode) and not stat.S_ISDIR(info.st_mode):  # a FIFO would block the read
            raise MigrationError(f"{path} is {kind_of(info.st_mode)}, not a file; replace it with a SQL file.",
                                 path=path, version=migration.version)
        data = path.read_bytes()
    except IsADirectoryError as error:
        raise MigrationError(f"{path} is a folder, not a file; replace it with a SQL file.",
                             path=path, version=migration.version) from error
    except OSError as error:
        raise MigrationError(f"Cannot read {path}: {error.strerror}; check the file.",
                             path=path, version=migration.version) from error
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MigrationError(f"{path} is not valid UTF-8 (byte {error.start}); save it as UTF-8.",
                             path=path, version=migration.version) from error


def validate_name(name: str) -> str:
    """Check a new migration's name; return it unchanged.

    diesel accepts anything (§1.2); lightnb refuses names that would be empty or escape the folder.

    :raises MigrationError: for an empty name, a path separator, ``..``, or a control character.
    """
    if not name or not name.strip():
        raise MigrationError("Migration name is empty; give a name such as add_theme_to_user_settings.")
    if "/" in name or "\\" in name or os.sep in name:
        raise MigrationError(f"Migration name {name!r} contains a path separator; use letters, digits "
                             f"and underscores, e.g. {_suggest(name)}.")
    if ".." in name or name.startswith("."):
        raise MigrationError(f"Migration name {name!r} contains '..' or starts with '.'; use letters, "
                             f"digits and underscores, e.g. {_suggest(name)}.")
    if any(ord(c) < 32 or ord(c) == 127 for c in name) or "\x00" in name:
        raise MigrationError(f"Migration name {name!r} contains control characters; use letters, digits "
                             f"and underscores, e.g. {_suggest(name)}.")
    size = len(name.encode("utf-8", "surrogatepass"))
    if size > MAX_NAME_BYTES:
        raise MigrationError(f"Migration name is too long ({size} bytes); use at most {MAX_NAME_BYTES} bytes, "
                             f"e.g. {_suggest(name)[:40]}.")
    return name


def _suggest(name: str) -> str:
    cleaned = "".join(c if c.isalnum() else "_" for c in name).strip("_")
    while "__" in cleaned:
        cleaned = cleaned.replace("__", "_")
    return cleaned.lower() or "my_migration"


def generate(migrations_dir: str | Path, name: str, *, version: str | None = None,
             style: str = "2.3", no_down: bool = False, now: datetime | None = None,
             up_sql: str = "", down_sql: str = "") -> Migration:
    """Create a migration folder with diesel's template files (§1.3, §1.4).

    :param style: ``"2.3"`` (``YYYY-MM-DD-HHMMSS-XXXX_name``) or ``"2.2"`` (``YYYY-MM-DD-HHMMSS_name``).
    :param version: an explicit version, replacing the timestamp.
    :raises MigrationError: for a bad name, a missing folder, or a version that already exists.
    """
    validate_name(name)
    folder = Path(migrations_dir)
    if not folder.is_dir():
        raise MigrationError(f"Unable to find migrations directory {str(folder)!r}; create it first "
                             f"(mkdir) or pass --migration-dir.", path=folder)
    if style not in ("2.3", "2.2", "2.1"):
        raise MigrationError(f"Unknown migration folder style {style!r}; use 2.3 or 2.2.")
    existing = [e.name for e in os.scandir(folder) if e.is_dir()]
    if version is not None:
        if not version or "/" in version or "\\" in version or ".." in version:
            raise MigrationError(f"Version {version!r} is not usable as a folder prefix; use digits.")
        if style == "2.3" and any(n.startswith(version) for n in existing):
            raise MigrationError(with_advice(f"Specified migration version `{version}` already exists inside "
                                             f"`{folder}`", "choose another --version"), path=folder)
        dirname = f"{version}_{name}"
    else:
        stamp = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%d-%H%M%S")
        dirname = f"{stamp}_{name}" if style != "2.3" else f"{_free_counter(stamp, existing, folder)}_{name}"
    target = folder / dirname
    if target.exists():
        raise MigrationError(f"Migration folder {target} already exists; choose another name or version.",
                             path=target)
    try:
        target.mkdir()
    except (OSError, UnicodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "the name cannot be encoded as a file name"
        raise MigrationError(f"Cannot create migration folder {dirname!r}: {reason}; choose a shorter or "
                             f"simpler name (or --version).", path=target) from error
    try:  # whole or not at all: a migration with up.sql but no down.sql would be a different migration
        write_text_atomic(target / "up.sql", UP_TEMPLATE + up_sql, what="migration file")
        if not no_down:
            write_text_atomic(target / "down.sql", DOWN_TEMPLATE + down_sql, what="migration file")
    except BaseException:
        for written in ("up.sql", "down.sql"):
            (target / written).unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            target.rmdir()
        raise
    return _load(target)


def _free_counter(stamp: str, existing: list[str], folder: Path) -> str:
    for counter in range(0x10000):
        prefix = f"{stamp}-{counter:04x}"
        if not any(n.startswith(prefix) for n in existing):
            return prefix
    raise MigrationError(f"Tried to generate too many migrations with the same version `{stamp}` - "
                         f"Migrations folder is `{folder}`; wait a second and retry.")


def find(migrations: list[Migration], version: str) -> Migration | None:
    """Return the migration with this version, or None."""
    return next((m for m in migrations if m.version == version), None)

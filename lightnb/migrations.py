"""Discover, order and generate migration folders exactly as diesel_cli does.

See diesel_spec.md §1 (generate) and §2.1 (discovery, versions, ordering).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from lightnb.errors import LightnbError, MigrationError, with_advice
from lightnb.files import kind_of, write_text_atomic
from lightnb.records import record

if TYPE_CHECKING:
    from datetime import datetime

UP_TEMPLATE = "-- Your SQL goes here\n"
DOWN_TEMPLATE = "-- This file should undo anything in `up.sql`\n"
MAX_NAME_BYTES = 200  # file systems allow 255 bytes per folder name; the version prefix needs the rest
INVALID_DIR = ("Invalid migration directory: the directory's name should be "
               "<timestamp>_<name_of_migration>, and it should contain up.sql and optionally down.sql.")


@record(frozen=True)
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


def io_error(error: OSError | tuple[int | None, str | None], path: Path | str) -> str:
    """Return diesel_cli's ``Encountered an IO error: <strerror> (os error <errno>) for `<path>``` (errors.rs).

    An error that is not the operating system's (``errno`` None) shows Rust's text alone. Control
    characters of the path are shown escaped (``\\x07``), never sent to the terminal.
    """
    number, reason = (error.errno, error.strerror) if isinstance(error, OSError) else error
    shown = "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in str(path))
    return f"Encountered an IO error: {reason}{f' (os error {number})' if number is not None else ''} for `{shown}`"


def missing_folder_error(folder: Path, origin: str, start: Path | None = None) -> LightnbError:
    """Return diesel's error for a migrations folder that does not exist, with lightnb's advice.

    :param origin: where the folder came from (``Project.migrations_origin``): a folder named by
        ``--migration-dir``, ``MIGRATION_DIRECTORY`` or diesel.toml is read as given (an IO error);
        otherwise diesel searched upward from ``start`` and found none.
    """
    advice = "create it (`lightnb setup` does), or pass --migration-dir"
    if origin in ("argument", "environment", "config"):
        try:
            reason = "Not a directory (os error 20)" if folder.exists() else "No such file or directory (os error 2)"
        except OSError as error:  # a name too long, a link loop: diesel's IO error says so
            reason = f"{error.strerror} (os error {error.errno})"
        return LightnbError(with_advice(f"Encountered an IO error: {reason} for `{folder}`", advice), path=folder)
    # a MigrationError: the CLI prefixes it with "Failed to run migrations: ", as diesel does
    return MigrationError(with_advice(f"Unable to find migrations directory in {rust_debug(str(start or Path.cwd()))} "
                                      f"or any parent directories.", advice), path=folder)


def generate_folder_error(folder: Path, origin: str = "argument", start: Path | None = None) -> MigrationError | None:
    """Return diesel's error when ``migration generate`` cannot use the migrations folder, else None.

    diesel_cli 2.3.12 (migrations/mod.rs ``run_migration_command``, ``generate``) first finds the
    folder, then opens ``<folder>/.diesel_lock``: a named folder that is missing or not a folder
    fails there, as an IO error on the lock file (so does a folder that cannot be written, unless
    the lock file is already there); a search that finds no ``migrations`` folder
    fails as ``Failed to run migrations: Unable to find migrations directory in …``.
    """
    advice = "create it (`lightnb setup` does), or pass --migration-dir"
    if folder.is_dir():
        lock = folder / ".diesel_lock"
        if not lock.exists() and not os.access(folder, os.W_OK | os.X_OK):  # diesel cannot create its lock
            return MigrationError(with_advice(io_error((errno.EACCES, os.strerror(errno.EACCES)), lock),
                                              "make the migrations folder writable"), path=folder)
        return None
    if origin in ("argument", "environment", "config"):
        lock = folder / ".diesel_lock"
        failure = _create_failure(str(lock)) or (errno.ENOTDIR, os.strerror(errno.ENOTDIR))
        return MigrationError(with_advice(io_error(failure, lock), advice), path=folder)
    return MigrationError(with_advice(f"Failed to run migrations: Unable to find migrations directory in "
                                      f"{rust_debug(str(start or Path.cwd()))} or any parent directories.", advice),
                          path=folder)


def _create_failure(path: str) -> tuple[int | None, str | None] | None:
    """Return ``(errno, strerror)`` with which creating ``path`` (a file or a folder) would fail, or None.

    Asks the file system itself (``stat`` of the path and of its parent), so the answer is the
    kernel's: a missing or non-folder parent, a name too long, a name that exists. A NUL byte
    fails before the file system is asked, with Rust's text.
    """
    if "\x00" in path:
        return None, "file name contained an unexpected NUL byte"
    try:
        os.stat(path)
    except FileNotFoundError:
        parent = os.path.dirname(path.rstrip("/")) or "."
        try:
            if not stat.S_ISDIR(os.stat(parent).st_mode):
                return errno.ENOTDIR, os.strerror(errno.ENOTDIR)
        except OSError as error:
            return error.errno, error.strerror
        return None
    except OSError as error:
        return error.errno, error.strerror
    return errno.EEXIST, os.strerror(errno.EEXIST)


def discover(migrations_dir: str | Path) -> list[Migration]:
    """List the migrations of a folder, sorted by version (byte order, as diesel).

    :raises MigrationError: when the folder is missing, a candidate lacks up.sql, or two folders
        share a version.
    """
    folder = Path(migrations_dir)
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as error:  # missing, a file, too long a name, a link loop, unreadable
        raise MigrationError(
            f"Unable to find migrations directory {str(folder)!r} ({error.strerror}); create it, or pass "
            f"--migration-dir.", path=folder) from error
    found: dict[str, Migration] = {}
    for entry in entries:
        if entry.name.startswith(".") or _kind(entry) == "file":
            continue
        if _kind(entry) == "folder" and _is_empty(entry.path):
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


def _kind(entry: os.DirEntry) -> str:
    """``file``, ``folder``, or ``other`` (a link that leads nowhere or to itself: a candidate, §2.1)."""
    try:
        return "file" if entry.is_file() else "folder" if entry.is_dir() else "other"
    except OSError:
        return "other"


def _is_empty(folder: str) -> bool:
    try:
        with os.scandir(folder) as entries:
            return not any(entries)
    except OSError:
        return False  # cannot be listed: not empty, and so an invalid migration (it has no up.sql)


def _load(path: Path) -> Migration:
    try:  # a candidate that cannot be listed (a dangling link, a link loop) holds no up.sql (§2.1)
        entries = {p.name for p in path.iterdir() if not p.name.startswith(".")}
    except OSError:
        entries = set()
    if "up.sql" not in entries:
        raise MigrationError(with_advice(INVALID_DIR, f"{path.name} has no up.sql: add one, or remove the folder"),
                             path=path)
    name = path.name
    down = path / "down.sql"
    return Migration(name=name, version=version_of(name), path=path, up_path=path / "up.sql",
                     down_path=down if down.is_file() else None,
                     run_in_transaction=_run_in_transaction(path / "metadata.toml"))


def _run_in_transaction(metadata: Path) -> bool:
    """Read ``metadata.toml`` (§1.5): absent → True; without the key → False (diesel's quirk).

    diesel_cli silently treats a metadata.toml it cannot read as absent (so the migration runs in
    a transaction whatever its author meant); lightnb refuses it instead, because whether a failure
    can be rolled back depends on it.

    :raises MigrationError: when the file cannot be read, is not valid UTF-8 TOML, or gives
        ``run_in_transaction`` a value that is not true or false.
    """
    if not os.path.lexists(metadata):
        return True
    name = metadata.parent.name
    fix = "fix it (e.g. `run_in_transaction = false`) or delete it"
    import tomllib  # here: few migrations have a metadata.toml

    try:
        text = metadata.read_bytes().decode("utf-8")
        data = tomllib.loads(text)
    except IsADirectoryError as error:
        raise MigrationError(f"Migration {name}: metadata.toml is a folder, not a file; remove it, or replace it "
                             f"with a file (e.g. `run_in_transaction = false`).", path=metadata) from error
    except OSError as error:
        raise MigrationError(f"Migration {name}: cannot read metadata.toml ({error.strerror}); check its "
                             f"permissions, or delete it.", path=metadata) from error
    except UnicodeDecodeError as error:
        raise MigrationError(f"Migration {name}: metadata.toml is not valid UTF-8 (byte {error.start}); {fix}.",
                             path=metadata) from error
    except tomllib.TOMLDecodeError as error:
        raise MigrationError(f"Migration {name}: metadata.toml is not valid TOML ({error}); {fix}.",
                             path=metadata) from error
    value = data.get("run_in_transaction", False)
    if not isinstance(value, bool):
        raise MigrationError(f"Migration {name}: metadata.toml sets run_in_transaction to {value!r}, which is not "
                             f"true or false; write `run_in_transaction = true` or `= false` (no quotes).",
                             path=metadata)
    return value


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

    diesel accepts any name (§1.2) and fails only where the file system does; lightnb refuses names
    that would be empty or escape the folder (a deliberate difference, listed in the README).

    :raises MigrationError: for an empty name, a path separator, ``..``, or a control character.
    """
    problem = name_problem(name)
    if problem is not None:
        raise MigrationError(problem)
    return name


def name_problem(name: str) -> str | None:
    """Return why lightnb refuses a migration name (one line, with a suggested name), or None."""
    if not name or not name.strip():
        return "Migration name is empty; give a name such as add_theme_to_user_settings."
    if "/" in name or "\\" in name or os.sep in name:
        return (f"Migration name {name!r} contains a path separator; use letters, digits "
                f"and underscores, e.g. {_suggest(name)}.")
    if ".." in name or name.startswith("."):
        return (f"Migration name {name!r} contains '..' or starts with '.'; use letters, "
                f"digits and underscores, e.g. {_suggest(name)}.")
    if any(ord(c) < 32 or ord(c) == 127 for c in name) or "\x00" in name:
        return (f"Migration name {name!r} contains control characters; use letters, digits "
                f"and underscores, e.g. {_suggest(name)}.")
    size = len(name.encode("utf-8", "surrogatepass"))
    if size > MAX_NAME_BYTES:
        return (f"Migration name is too long ({size} bytes); use at most {MAX_NAME_BYTES} bytes, "
                f"e.g. {_suggest(name)[:40]}.")
    return None


def _suggest(name: str) -> str:
    cleaned = "".join(c if c.isalnum() else "_" for c in name).strip("_")
    while "__" in cleaned:
        cleaned = cleaned.replace("__", "_")
    return cleaned.lower() or "my_migration"


def generate(migrations_dir: str | Path, name: str, *, version: str | None = None,
             style: str = "2.3", no_down: bool = False, now: datetime | None = None,
             up_sql: str = "", down_sql: str = "", origin: str = "argument",
             start: Path | None = None) -> Migration:
    """Create a migration folder with diesel's template files (§1.3, §1.4).

    The checks come in diesel_cli 2.3.12's order (migrations/mod.rs ``create_migration_dir``), with
    its texts: the folder, then a duplicate ``--version``, then creating ``<version>_<name>`` (an IO
    error names the path). A name diesel would create but lightnb refuses (empty, ``..``, a path
    separator, control characters, over 200 bytes) is refused after those, with lightnb's own text.

    :param style: ``"2.3"`` (``YYYY-MM-DD-HHMMSS-XXXX_name``) or ``"2.2"`` (``YYYY-MM-DD-HHMMSS_name``).
    :param version: an explicit version, replacing the timestamp.
    :param origin: where the folder came from (``Project.migrations_origin``), for diesel's error
        when it does not exist; ``start``: where diesel's search began (default: the current folder).
    :raises MigrationError: for a bad name, a missing folder, or a version that already exists.
    """
    folder = Path(migrations_dir)
    missing = generate_folder_error(folder, origin, start)
    if missing is not None:
        raise missing
    if style not in ("2.3", "2.2", "2.1"):
        raise MigrationError(f"Unknown migration folder style {style!r}; use 2.3 or 2.2.")
    existing = [e.name for e in os.scandir(folder) if e.is_dir()]
    if version is not None:
        if style == "2.3" and any(n.startswith(version) for n in existing):
            raise MigrationError(with_advice(f"Specified migration version `{version}` already exists inside "
                                             f"`{folder}`", "choose another --version"), path=folder)
        dirname = f"{version}_{name}"
    else:
        from datetime import UTC, datetime  # only generating a migration needs the clock
        stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%d-%H%M%S")
        dirname = f"{stamp}_{name}" if style != "2.3" else f"{_free_counter(stamp, existing, folder)}_{name}"
    target = folder / dirname
    refused = name_problem(name) or _version_problem(version)
    failure = _create_failure(os.path.join(str(folder), dirname))
    if failure is not None:  # diesel fails here too: its text, then why and what to do
        advice = refused[:1].lower() + refused[1:].rstrip(".") if refused else "choose a shorter or simpler name"
        raise MigrationError(with_advice(io_error(failure, os.path.join(str(folder), dirname)), advice), path=target)
    if refused is not None:
        raise MigrationError(refused)
    try:
        target.mkdir()
    except (OSError, UnicodeError) as error:
        if isinstance(error, UnicodeError):
            raise MigrationError(f"Cannot create migration folder {dirname!r}: the name cannot be encoded as a "
                                 f"file name; choose a simpler name (or --version).", path=target) from error
        raise MigrationError(with_advice(io_error(error, target), "check the migrations folder's permissions, "
                                         "or choose a simpler name (or --version)"), path=target) from error
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


def _version_problem(version: str | None) -> str | None:
    if version is not None and (not version or "/" in version or "\\" in version or ".." in version):
        return f"Version {version!r} is not usable as a folder prefix; use digits."
    return None


def _free_counter(stamp: str, existing: list[str], folder: Path) -> str:
    for counter in range(0x10000):
        prefix = f"{stamp}-{counter:04x}"
        if not any(n.startswith(prefix) for n in existing):
            return prefix
    raise MigrationError(with_advice(f"Tried to generate too many migrations with the same version `{stamp}` - "
                                     f"Migrations folder is `{folder}`", "wait a second and retry"), path=folder)


def find(migrations: list[Migration], version: str) -> Migration | None:
    """Return the migration with this version, or None."""
    return next((m for m in migrations if m.version == version), None)

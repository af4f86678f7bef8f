"""Discover, order and generate migration folders exactly as diesel_cli does.

See diesel_spec.md §1 (generate) and §2.1 (discovery, versions, ordering).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from lightnb.errors import MigrationError

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
            raise MigrationError(
                f"Missing `down.sql` file to revert migration {self.name}; write one in {self.path}.",
                path=self.path, version=self.version)
        return _read_sql(self.down_path, self)


def version_of(name: str) -> str:
    """Return diesel's version string of a migration folder name (§2.1)."""
    return name.split("_", 1)[0].replace("-", "")


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
        raise MigrationError(f"{INVALID_DIR} ({path.name} has no up.sql: add one, or remove the folder)",
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
            raise MigrationError(f"Specified migration version `{version}` already exists inside "
                                 f"`{folder}`; choose another --version.", path=folder)
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
    (target / "up.sql").write_text(UP_TEMPLATE + up_sql, encoding="utf-8")
    if not no_down:
        (target / "down.sql").write_text(DOWN_TEMPLATE + down_sql, encoding="utf-8")
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

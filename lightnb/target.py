"""Which database a verb acts on, and the production guard: both decided here, once.

**The target.** An explicit ``--database-url`` wins. Otherwise, when the project has a workspace,
the workspace stands in for the production database it copies: a ``DATABASE_URL`` naming that
production (or nothing at all) means the workspace, so production is never written by accident. A
``DATABASE_URL`` naming any other database (say, a rehearsal copy) is used as diesel would.

**The production guard.** A database is the project's production when

* a ``lightnb.toml`` of the project declares it (``production = "…"``): the one beside the
  diesel.toml in use *and* the project folder's (and the one beside the migrations folder), so
  reading another diesel.toml (``--config-file``, ``DIESEL_CONFIG_FILE``) does not lose the guard;
* a workspace was ever copied from it: every workspace lightnb makes for a project is recorded,
  with the production it copies, in ``<project>/.lightnb/workspaces.json`` (wherever the workspace
  folder itself is), and the record outlives the workspace;
* a workspace folder of the project (``.lightnb/``) says it copies it.

Paths are compared as files, not as strings: relative or absolute, through symbolic links, and
hard links (same device and inode, also of a production since renamed) all name the same database.
A verb that writes refuses a production database, whichever way it was named.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lightnb.errors import LightnbError, ProjectError, WorkspaceError
from lightnb.files import write_text_atomic
from lightnb.layout import DEFAULT_DIRNAME, REGISTRY_NAME, SIDECARS, STATE_FILE, WORKSPACE_DB
from lightnb.project import Project, SqliteLocation, sqlite_location
from lightnb.settings import Settings

if TYPE_CHECKING:
    from lightnb.workspace import Workspace


@dataclass(frozen=True)
class Target:
    """The database a verb acts on: a workspace copy, or a database the user named explicitly."""

    path: Path
    workspace: Workspace | None = None
    location: SqliteLocation | None = None  # the URL as SQLite opens it (URI parameters, in memory)
    url: str | None = None  # a PostgreSQL database's URL (``path`` then names it without its password)

    @property
    def database(self) -> str | Path | SqliteLocation:
        """What to hand to the steps: a PostgreSQL URL, or the SQLite URL's location when it has
        parameters or lives in memory, else the path."""
        if self.url is not None:
            return self.url
        if self.location is not None and (self.location.parameters or self.location.memory):
            return self.location
        return self.path


def given_url(project: Project, database_url: str | Path | None = None) -> str | None:
    """Return the database URL a verb is given: ``--database-url``, else the project's DATABASE_URL, else None.

    An empty URL is no URL, on the command line as in the environment: ``--database-url ""`` falls
    back to DATABASE_URL, as an empty DATABASE_URL falls back to the workspace.
    """
    if database_url:
        return str(database_url)
    return project.database_url or None


def is_postgres(database: object) -> bool:
    """Return whether a verb's database (a URL, a path, a SQLite location) is a PostgreSQL database.

    :raises ProjectError: for a URL of a scheme no backend reads (``mysql://…``), naming the accepted ones.
    """
    from lightnb.backends import POSTGRES, backend_for_url
    return isinstance(database, str) and backend_for_url(database) == POSTGRES


def workspace_folder(project: Project) -> Path:
    """Return the project's default workspace folder (``.lightnb/`` beside diesel.toml)."""
    return project.config_dir / DEFAULT_DIRNAME


def resolve_target(project: Project, *, database_url: str | Path | None = None, write: bool = True,
                   postgres: bool = False) -> Target:
    """Decide which database a verb acts on (see the module docstring).

    :param write: the verb may write the database: refuse the project's declared production.
    :param postgres: the verb works on PostgreSQL too: a ``postgres://`` URL (given, or DATABASE_URL)
        is the target (else it is refused in one line).
    :raises ProjectError: when there is no database at all.
    :raises WorkspaceError: when a writing verb names the production database.
    """
    url = given_url(project, database_url)
    if postgres and url:
        from lightnb.backends import is_postgres_url
        if is_postgres_url(url):
            from lightnb.backends.postgres.verbs import database_label
            from lightnb.backends.postgres.verbs import refuse_production as refuse_postgres_production
            if write:
                refuse_postgres_production(project, url)
            return Target(Path(database_label(url)), url=url)
    if database_url:
        location = sqlite_location(str(database_url), base=Path.cwd())
        explicit = location.path if location.path is not None else Path(":memory:")
        if write and location.path is not None:
            refuse_production(project, explicit)
        return Target(explicit, location=location)
    folder = workspace_folder(project)
    configured_location = project.database_location() if project.database_url else None
    configured = configured_location.path if configured_location is not None else None
    if configured_location is not None and configured is None:
        return Target(Path(":memory:"), location=configured_location)
    if (folder / WORKSPACE_DB).is_file():
        from lightnb.workspace import Workspace
        workspace = Workspace.open(folder)
        if stands_for_workspace(project, folder):
            return Target(workspace.path, workspace)
    if configured is None:
        return Target(project.database_path())  # raises the "no database" error
    if write:
        refuse_production(project, configured)
    return Target(configured, location=configured_location)


@dataclass(frozen=True)
class DatabaseTarget:
    """The database ``setup``/``database`` act on.

    :param shown: how diesel names it in ``Creating database: …`` (the URL as given, or the path).
    :param location: the URL as SQLite opens it.
    :param diesel_path: the path diesel tests for existence (diesel_cli database.rs
        ``path_from_sqlite_url`` for setup; the raw URL for drop), or None when it cannot be read.
    :param workspace: True when this is the project's workspace copy.
    """

    shown: str
    location: SqliteLocation
    diesel_path: Path | None
    drop_path: Path
    workspace: bool = False

    @property
    def path(self) -> Path | None:
        """The database file, or None in memory."""
        return self.location.path


def resolve_database(project: Project, database_url: str | None = None) -> DatabaseTarget:
    """Decide which SQLite database ``setup`` and ``database setup|reset|drop`` act on, named as diesel names it.

    An explicit ``--database-url`` (not empty) as diesel reads it; otherwise the project's workspace
    when its folder says it is one (even after a drop, so a reset recreates the copy, never the
    production it stands for); otherwise DATABASE_URL.

    :raises ProjectError: when there is no database at all (diesel's DATABASE_URL error).
    """
    folder = workspace_folder(project)
    if not database_url and (folder / STATE_FILE).is_file() and stands_for_workspace(project, folder):
        path = folder / WORKSPACE_DB
        return DatabaseTarget(str(path), sqlite_location(str(path)), path, path, workspace=True)
    url = given_url(project, database_url)
    if not url:
        project.database_path()  # raises diesel's "--database-url argument must be passed" error
    assert url is not None
    location = sqlite_location(url, base=Path.cwd())
    return DatabaseTarget(url, location, _diesel_setup_path(url), Path(url))


def _diesel_setup_path(url: str) -> Path | None:
    """Return the path diesel checks before ``Creating database``: a ``file:/…`` URL read as a URL,
    anything else as a plain path (``file:rel.db`` included, so diesel always "creates" it)."""
    if url.startswith("file:/"):
        try:
            location = sqlite_location(url)
        except ProjectError:
            return None
        return location.path
    return Path(url)


def stands_for_workspace(project: Project, folder: Path) -> bool:
    """Return whether the project's DATABASE_URL means the workspace in ``folder``: it is unset, or
    names the workspace or the production the workspace copies (also once the workspace file is gone)."""
    if not project.database_url:
        return True
    configured = project.database_location().path
    if configured is None:
        return False
    return same_file(configured, folder / WORKSPACE_DB) or copied_into(folder, configured)


def named_database(project: Project) -> Path | None:
    """Return the SQLite file the project's database URL names (``--database-url``, else DATABASE_URL).

    None when no URL is set, or it names an in-memory database or one that is not a SQLite file.
    """
    if not project.database_url:
        return None
    try:
        return project.database_path()
    except LightnbError:
        return None


def production_path(project: Project, database_url: str | Path | None = None) -> Path:
    """Return the production database: the argument, else lightnb.toml's ``production``, else DATABASE_URL."""
    if database_url:
        return project.with_database(str(database_url)).database_path()
    declared = project.settings.production
    if declared is not None:
        return declared
    return project.database_path()


def workspace_protects(project: Project) -> list[Path]:
    """Return what a workspace folder may never be nor hold: the project's folders and productions."""
    folders = [project.root, project.config_dir, project.migrations_dir]
    if project.config_file is not None:
        folders.append(project.config_file)
    return folders + [p.path for p in productions(project)]


@dataclass(frozen=True)
class Production:
    """A database recorded or declared as production.

    :param path: its path (absolute, symbolic links resolved) when it was recorded.
    :param device: ``st_dev`` when it was recorded (0 when unknown).
    :param inode: ``st_ino`` when it was recorded (0 when unknown).
    :param source: where it is declared or recorded, for messages.
    :param workspace: the workspace folder copied from it, when it was recorded by one.
    """

    path: Path
    device: int = 0
    inode: int = 0
    source: str = ""
    workspace: Path | None = None

    def matches(self, other: Path) -> bool:
        """Return whether ``other`` names this database (same path, link, or same file)."""
        return same_file(other, self.path) or (
            self.inode != 0 and _identity(other) == (self.device, self.inode))


def same_file(a: str | Path, b: str | Path) -> bool:
    """Return whether two paths name the same file: equal once resolved, or the same inode."""
    try:
        if Path(os.path.realpath(a)) == Path(os.path.realpath(b)):
            return True
        return os.path.exists(a) and os.path.exists(b) and os.path.samefile(a, b)
    except OSError:
        return False


def _identity(path: str | Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def guard_folders(project: Project) -> list[Path]:
    """Return the folders whose lightnb.toml and ``.lightnb/`` the guard reads.

    The folder of the diesel.toml in use, the project folder, and the folder holding the
    migrations folder: whichever way the project is reached (``--config-file``, ``--project``,
    ``--migration-dir``), its declared and recorded productions are found.
    """
    folders: list[Path] = []
    for folder in (project.config_dir, project.root, project.settings.folder, project.migrations_dir.parent):
        resolved = Path(os.path.realpath(folder))
        if resolved not in folders:
            folders.append(resolved)
    return folders


def registry_path(project: Project) -> Path:
    """Return the project-level record of workspaces: ``<project root>/.lightnb/workspaces.json``."""
    return Path(os.path.realpath(project.root)) / DEFAULT_DIRNAME / REGISTRY_NAME


def productions(project: Project) -> list[Production]:
    """Return every database this project declares or recorded as production.

    :raises ProjectError: when a lightnb.toml or the workspace record cannot be read (the guard
        fails closed: it never guesses that a database is not production).
    """
    found: list[Production] = []
    for folder in guard_folders(project):
        found += _declared(project.settings if folder == Path(os.path.realpath(project.settings.folder))
                           else Settings.read(folder))
        found += _recorded(folder / DEFAULT_DIRNAME / REGISTRY_NAME)
        found += _workspace_state(folder / DEFAULT_DIRNAME)
    return found


def _declared(settings: Settings) -> list[Production]:
    path = settings.production
    if path is None or settings.path is None:
        return []
    identity = _identity(path) or (0, 0)
    return [Production(Path(os.path.realpath(path)), *identity, source=str(settings.path))]


def _recorded(registry: Path) -> list[Production]:
    entries = _read_registry(registry)
    return [Production(Path(e["production"]), int(e.get("device") or 0), int(e.get("inode") or 0),
                       source=str(registry), workspace=Path(e["workspace"]) if e.get("workspace") else None)
            for e in entries if e.get("production")]


def _workspace_state(folder: Path) -> list[Production]:
    state = folder / STATE_FILE
    if not state.is_file():
        return []
    import json

    try:
        data = json.loads(state.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []  # a broken workspace: its production is recorded in the registry too
    prod = data.get("production") if isinstance(data, dict) else None
    if not isinstance(prod, str) or not prod:
        return []
    identity = (int(data.get("production_device") or 0), int(data.get("production_inode") or 0))
    return [Production(Path(prod), *identity, source=str(state), workspace=folder)]


def copied_into(workspace_folder: Path, database: str | Path) -> bool:
    """Return whether the workspace in ``workspace_folder`` is a copy of ``database`` (same file)."""
    return any(p.matches(Path(database)) for p in _workspace_state(Path(workspace_folder)))


def _read_registry(registry: Path) -> list[dict]:
    if not registry.exists():
        return []
    import json

    try:
        data = json.loads(registry.read_text(encoding="utf-8"))
        entries = data["workspaces"]
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise ValueError("workspaces is not a list of records")
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ProjectError(f"Cannot read lightnb's record of workspaces {registry} ({error}); it tells which "
                           f"databases are production, so lightnb stops: restore it from version control or "
                           f"delete it and run `lightnb snapshot` again.", path=registry) from error
    return entries


def find_production(project: Project, database: str | Path) -> Production | None:
    """Return the production record ``database`` names, or None when it is not production."""
    path = Path(database)
    for production in productions(project):
        if production.matches(path):
            return production
    return None


def refuse_production(project: Project, database: str | Path) -> None:
    """Raise when ``database`` is a production database of the project (it is only ever read).

    :raises WorkspaceError: naming the file, where it is declared, and what to do instead.
    """
    matches = [p for p in productions(project) if p.matches(Path(database))]
    if not matches:
        return
    live = [p.workspace / WORKSPACE_DB for p in matches
            if p.workspace is not None and (p.workspace / WORKSPACE_DB).is_file()]
    copy = f"its workspace copy (--database-url {live[-1]})" if live else \
        "the workspace copy (`lightnb snapshot`, then omit --database-url)"
    raise WorkspaceError(
        f"{database} is this project's production database, which lightnb only reads; work on {copy}, or "
        f"apply to production with diesel_cli once the rehearsal is done.", path=database)


def protected_paths(project: Project | None, extra: Iterable[str | Path] = ()) -> list[Path]:
    """Return files lightnb must never write over: productions and their journals, plus ``extra``."""
    paths: list[Path] = []
    bases = [p.path for p in productions(project)] if project is not None else []
    bases += [Path(e) for e in extra]
    for base in bases:
        paths.append(base)
        paths += [Path(f"{base}{suffix}") for suffix in SIDECARS]
    return paths


def record_workspace(project: Project, workspace_folder: Path, production: Path | None) -> None:
    """Add a workspace and the production it copies to the project's record.

    :raises WorkspaceError: when the record cannot be written (the guard would lose it).
    """
    if production is None:
        return
    registry = registry_path(project)
    identity = _identity(production) or (0, 0)
    entry = {"workspace": str(Path(os.path.realpath(workspace_folder))),
             "production": str(Path(os.path.realpath(production))),
             "device": identity[0], "inode": identity[1], "created_at": int(time.time())}
    try:
        registry.parent.mkdir(parents=True, exist_ok=True)
        lock = _locked(registry)
    except OSError as error:
        if error.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return  # a read-only project (a CI checkout): lightnb.toml is its record of production
        raise WorkspaceError(f"Cannot record the workspace in {registry}: {error.strerror}; make the project "
                             f"folder writable.", path=registry) from error
    with lock:
        entries = [e for e in _read_registry(registry)
                   if (e.get("workspace"), e.get("production")) != (entry["workspace"], entry["production"])]
        import json

        write_text_atomic(registry, json.dumps({"workspaces": _pruned(entries) + [entry]}, indent=2) + "\n",
                          what="record of workspaces")


def _pruned(entries: list[dict]) -> list[dict]:
    """Drop records of workspaces that are gone, keeping the latest record of each production.

    Rehearsals make a workspace in a temporary folder each time: the record stays as long as the
    list of productions, not the list of rehearsals.
    """
    kept: list[dict] = []
    latest_gone: dict[tuple, dict] = {}
    for entry in entries:
        if entry.get("workspace") and os.path.isdir(str(entry["workspace"])):
            kept.append(entry)
        else:
            latest_gone[(entry.get("production"), entry.get("device"), entry.get("inode"))] = entry
    return kept + list(latest_gone.values())


def _locked(registry: Path) -> contextlib.AbstractContextManager[None]:
    """Return a context holding an exclusive lock beside the record while it is read and rewritten.

    :raises OSError: when the lock file cannot be opened (a read-only folder).
    """
    lock = registry.with_name(f".{registry.name}.lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    return _holding(fd)


@contextlib.contextmanager
def _holding(fd: int) -> Iterator[None]:
    import fcntl
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


__all__ = ["DatabaseTarget", "Production", "Target", "copied_into", "find_production", "given_url", "guard_folders",
           "is_postgres", "named_database", "production_path", "productions", "protected_paths", "record_workspace",
           "refuse_production", "registry_path", "resolve_database", "resolve_target", "same_file",
           "stands_for_workspace", "workspace_folder", "workspace_protects"]

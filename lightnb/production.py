"""The production guard: which databases are a project's production, and refusing to write them.

A database is the project's production when

* a ``lightnb.toml`` of the project declares it (``production = "…"``): the one beside the
  diesel.toml in use *and* the project folder's (and the one beside the migrations folder), so
  reading another diesel.toml (``--config-file``, ``DIESEL_CONFIG_FILE``) does not lose the guard;
* a workspace was ever copied from it: every workspace lightnb makes for a project is recorded,
  with the production it copies, in ``<project>/.lightnb/workspaces.json`` (wherever the workspace
  folder itself is), and the record outlives the workspace;
* a workspace folder of the project (``.lightnb/``) says it copies it.

Paths are compared as files, not as strings: relative or absolute, through symbolic links, and
hard links (same device and inode, also of a production since renamed) all name the same database.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from lightnb.errors import ProjectError, WorkspaceError
from lightnb.files import write_text_atomic
from lightnb.project import SETTINGS_NAME, Project, read_settings

DEFAULT_DIRNAME = ".lightnb"
REGISTRY_NAME = "workspaces.json"
SIDECARS = ("-journal", "-wal", "-shm")


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
    for folder in (project.config_dir, project.root, project.settings_dir, project.migrations_dir.parent):
        if folder is None:
            continue
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
        found += _declared(folder)
        found += _recorded(folder / DEFAULT_DIRNAME / REGISTRY_NAME)
        found += _workspace_state(folder / DEFAULT_DIRNAME)
    return found


def _declared(folder: Path) -> list[Production]:
    settings_file = folder / SETTINGS_NAME
    if not settings_file.is_file():
        return []
    configured = read_settings(folder).get("production")
    if not isinstance(configured, str) or not configured:
        return []
    path = Path(configured)
    path = path if path.is_absolute() else folder / path
    identity = _identity(path) or (0, 0)
    return [Production(Path(os.path.realpath(path)), *identity, source=str(settings_file))]


def _recorded(registry: Path) -> list[Production]:
    entries = _read_registry(registry)
    return [Production(Path(e["production"]), int(e.get("device") or 0), int(e.get("inode") or 0),
                       source=str(registry), workspace=Path(e["workspace"]) if e.get("workspace") else None)
            for e in entries if e.get("production")]


def _workspace_state(folder: Path) -> list[Production]:
    from lightnb.workspace import STATE_FILE
    state = folder / STATE_FILE
    if not state.is_file():
        return []
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
    live = [p.workspace / "workspace.db" for p in matches
            if p.workspace is not None and (p.workspace / "workspace.db").is_file()]
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


__all__ = ["Production", "copied_into", "find_production", "guard_folders", "productions", "protected_paths",
           "record_workspace", "refuse_production", "registry_path", "same_file"]

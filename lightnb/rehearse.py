"""Headless rehearsal: execute notebook 02 with papermill on a copy of the project and of production.

Nothing outside OUTDIR is written. Production is only ever read. A SQLite production is copied by the
notebook into a private temporary workspace, and its checksum is verified after the run. A PostgreSQL
production (a ``postgres://`` URL) is copied once, read-only with pg_dump, into a private cluster made
for the rehearsal (:mod:`lightnb.backends.postgres.rehearsal`); the notebook works on that copy (its
kernel's ``DATABASE_URL`` names the workspace database there, and production's URL never reaches it),
and the cluster is destroyed afterwards. The project is copied too (its migrations, schema files,
models and the rest of its tree, without build output, version control or database files), because
running migrations regenerates ``schema.rs``: the rehearsal does that in the copy, so the project's
tree stays exactly as it was.
"""

from __future__ import annotations

import ast
import os
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lightnb import scratch
from lightnb.errors import DatabaseError, LightnbError, ProjectError
from lightnb.extras import require
from lightnb.files import atomic_path
from lightnb.inspect.redact import Redactor
from lightnb.project import Project
from lightnb.workspace import file_state

NOTEBOOK = "02_rehearse_on_production_copy.ipynb"
NOTEBOOKS_ENV = "LIGHTNB_NOTEBOOKS"
NOTHING = "nothing to rehearse"
# Left out of the project copy: build output, version control, lightnb's own folders, environments,
# and database files (the rehearsal copies production itself; others are not needed).
SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", ".lightnb", "lightnb-runs", "node_modules", "__pycache__", ".venv",
                          ".ipynb_checkpoints"})
SKIPPED_SUFFIXES = (".db", ".sqlite", ".sqlite3", ".db-wal", ".db-shm", ".db-journal", "-journal", "-wal", "-shm")


@dataclass(frozen=True)
class Rehearsal:
    """What a rehearsal wrote into OUTDIR.

    :param verdict: the test step's verdict (safe, needs attention, unsafe), or
        ``"nothing to rehearse"`` when no migration was pending (then nothing is written).
    :param pending: the migrations rehearsed.
    :param production: what was copied: the SQLite file, or ``database `app` on host:port`` (no password).
    """

    notebook: Path | None
    html: Path | None
    markdown: Path | None
    verdict: str | None = None
    pending: tuple[str, ...] = ()
    production: str | None = None

    @property
    def nothing_pending(self) -> bool:
        """True when there was nothing to rehearse."""
        return self.verdict == NOTHING


def notebooks_dir() -> Path:
    """Return the folder of the workbook notebooks (``$LIGHTNB_NOTEBOOKS``, else the source checkout's).

    :raises ProjectError: when the notebooks cannot be found.
    """
    candidates = [Path(__file__).resolve().parent.parent / "notebooks"]
    if os.environ.get(NOTEBOOKS_ENV):
        candidates.insert(0, Path(os.environ[NOTEBOOKS_ENV]))
    for folder in candidates:
        if (folder / NOTEBOOK).is_file():
            return folder
    raise ProjectError(f"The workbook notebooks are missing (looked in {', '.join(map(str, candidates))}); "
                       f"use a source checkout of lightnb or set {NOTEBOOKS_ENV}.")


# jsonschema (which nbformat imports) compiles a whole IRI grammar at import time when the optional
# rfc3987_syntax is installed, to check the "iri" string format; notebook validation never checks
# formats. Marking it absent before papermill loads spares most of a second on every rehearsal.
_COSTLY_OPTIONAL_IMPORTS = ("rfc3987_syntax",)


def _skip_costly_imports() -> None:
    """Make the optional imports nothing here needs fail fast (unless something already loaded them)."""
    for name in _COSTLY_OPTIONAL_IMPORTS:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]  # None: "import fails" (ImportError)


def rehearse(project: Project, start: Path, production: Path | str, out_dir: str | Path, *, pending: Sequence[str],
             limit: int | None = None, run_tests: bool = False, timeout: int = 600) -> Rehearsal:
    """Execute notebook 02 against a copy of the project and a copy of ``production``; write the results.

    :param start: the folder the project was found from (the notebook starts there, in the copy).
    :param production: a SQLite file, or a ``postgres://`` URL (only read, with pg_dump).
    :param pending: the migrations ``production`` has not applied (read by the caller, read-only).
    :param limit: apply only the next ``limit`` pending migrations.
    :param run_tests: also run the project's own test command (in the project's copy).
    :returns: the files written; with no pending migration, nothing is executed or written and
        the verdict is ``"nothing to rehearse"``.
    :raises LightnbError: when the project or database is unusable, or a cell fails (the executed
        notebook is still written, with the failing cell, for diagnosis).
    """
    _skip_costly_imports()
    require("papermill", "lightnb rehearse")
    from lightnb.report import export

    pending = tuple(pending)
    if limit is not None:
        pending = pending[:max(limit, 0)]
    shown = _describe(production)
    if not pending:
        return Rehearsal(None, None, None, NOTHING, production=shown)
    notebooks_dir()  # the notebook must be there before anything is copied
    out = Path(out_dir).resolve()
    executed = out / NOTEBOOK
    # every output masks what the project masks (its [redact] settings and their lineage), not only
    # the built-in words: the notebook's panels do, and so does the last check of what is written
    redactor = Redactor.for_project(project)
    secrets: tuple[str, ...] = ()
    # The workspace is a full, unredacted copy of production, and the project copy may hold secrets
    # of its own: both live in a private scratch folder (0700) that is deleted afterwards, also on
    # SIGTERM, never in OUTDIR (which is meant to be shared or uploaded).
    if _is_url(production):
        from lightnb.backends.postgres.rehearsal import production_copy, url_secrets
        production = str(production)
        secrets = url_secrets(production)
        with scratch.folder("rehearse") as folder:
            copied = copy_project(project, start, folder / "project")
            with production_copy(project, production, folder / "pg") as copy:
                out.mkdir(parents=True, exist_ok=True)
                params = {"project_dir": str(copied), "production_db": copy.production, "workspace_dir": None,
                          "limit": limit, "run_project_tests": run_tests, "backend": "postgres"}
                _execute(executed, params, out, timeout, redactor, env={"DATABASE_URL": copy.workspace})
    else:
        production = Path(production)
        before = file_state(production)  # a hash of it only when size, times and SQLite's counter cannot tell
        out.mkdir(parents=True, exist_ok=True)
        with scratch.folder("rehearse") as folder:
            copied = copy_project(project, start, folder / "project")
            params = {"project_dir": str(copied), "production_db": str(production),
                      "workspace_dir": str(folder / "workspace"), "limit": limit,
                      "run_project_tests": run_tests}
            try:
                _execute(executed, params, out, timeout, redactor)
            finally:
                if not file_state(production).same_as(before):  # pragma: no cover - would be a lightnb bug
                    raise DatabaseError(f"Production {production} changed during the rehearsal; restore it from "
                                        f"backup.")
    report = export(executed, out, redactor=redactor, secrets=secrets)
    return Rehearsal(executed, report.html, report.markdown, read_verdict(executed), pending, shown)


def _is_url(production: Path | str) -> bool:
    from lightnb.backends import is_postgres_url
    return isinstance(production, str) and is_postgres_url(production)


def _describe(production: Path | str) -> str:
    """Name production for messages: its file, or ``database `app` on host:port`` (never a password)."""
    if _is_url(production):
        from lightnb.backends.postgres import url as pgurl
        return pgurl.describe(str(production))
    return str(production)


def _execute(executed: Path, params: Mapping[str, object], out: Path, timeout: int, redactor: Redactor, *,
             env: dict[str, str] | None = None) -> None:
    """Run notebook 02 with ``params`` into ``executed`` (its outputs masked); ``env`` is added to the kernel's.

    :raises LightnbError: when a cell fails (the executed notebook is written, with the failing cell).
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    notebook = notebooks_dir() / NOTEBOOK
    failed: PapermillExecutionError | None = None
    # papermill writes as it goes: it writes a temporary file, which becomes the executed
    # notebook only once whole (with the failing cell, when one fails)
    with atomic_path(executed, what="executed notebook", suffix=".tmp.ipynb") as partial:
        try:
            papermill.execute_notebook(str(notebook), str(partial), parameters=dict(params), cwd=str(out),
                                       kernel_name="python3", progress_bar=_progress_wanted(),
                                       execution_timeout=timeout,
                                       kernel_manager_class=_kernel_manager(env))
        except PapermillExecutionError as error:
            failed = error
        _mask_outputs(partial, redactor)
    if failed is not None:
        raise LightnbError(f"Rehearsal failed in cell {failed.exec_count}: {failed.ename}: "
                           f"{failed.evalue}; see {executed}.") from failed


def _kernel_manager(env: dict[str, str] | None) -> type:
    """Return the kernel manager class whose kernels get ``env`` on top of this process's environment."""
    from lightnb.kernel import kernel_manager_class

    base: Any = kernel_manager_class("python3")
    if not env:
        return base
    added = dict(env)

    class RehearsalKernelManager(base):
        """Starts the kernel with the rehearsal's environment (the copy's ``DATABASE_URL``)."""

        async def start_kernel(self, **kw: Any) -> None:
            kw["env"] = {**os.environ, **(kw.get("env") or {}), **added}
            await super().start_kernel(**kw)

    return RehearsalKernelManager


def _mask_outputs(notebook: Path, redactor: Redactor) -> None:
    """Mask the executed notebook's outputs in place (it is still lightnb's temporary file)."""
    import nbformat

    from lightnb.inspect.redact_outputs import mask_notebook

    if notebook.is_file() and notebook.stat().st_size:
        nbformat.write(mask_notebook(nbformat.read(notebook, as_version=4), redactor), notebook)


def copy_project(project: Project, start: Path, dest: Path) -> Path:
    """Copy what a rehearsal of ``project`` needs into ``dest``; return the copy of ``start``.

    The project root is copied without build output (``target/`` beside a Cargo.toml), version
    control, lightnb's own folders, environments or database files. A migrations folder, schema
    file or models folder configured outside the root is copied too, at the same place relative to
    the root, so every relative path in diesel.toml and lightnb.toml still resolves in the copy;
    an absolute path in the copy's diesel.toml is pointed at its copy.

    :raises ProjectError: when a file the rehearsal writes (a schema file) would still lie outside
        the copy; nothing of the project is written.
    """
    from lightnb.models.locate import models_dir

    root = project.root.resolve()
    outside = [p for p in _configured_paths(project, models_dir) if not _inside(p, root)]
    base = Path(os.path.commonpath([root, *outside])) if outside else root.parent
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(root, dest / root.relative_to(base), ignore=_skipped, ignore_dangling_symlinks=True)
    for path in outside:
        target = dest / path.relative_to(base)
        if path.is_dir():
            shutil.copytree(path, target, ignore=_skipped, ignore_dangling_symlinks=True, dirs_exist_ok=True)
        elif path.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    copied_start = dest / start.relative_to(base) if _inside(start, base) else dest / root.relative_to(base)
    if project.config_file is not None:
        _rebase_config(dest / project.config_file.resolve().relative_to(base), base, dest)
    _refuse_writes_outside(Project.discover(copied_start), dest)
    return copied_start


def _rebase_config(config: Path, base: Path, dest: Path) -> None:
    """Point every absolute path of the copied diesel.toml that lies below ``base`` at its copy in ``dest``."""
    import tomllib

    text = config.read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return  # discovery reports it
    values = []
    for section in (raw.get("migrations_directory"), raw.get("print_schema")):
        tables = [section] if isinstance(section, dict) else []
        tables += [v for v in (section or {}).values() if isinstance(v, dict)] if isinstance(section, dict) else []
        for table in tables:
            values += [v for k, v in table.items() if k in ("dir", "file", "patch_file") and isinstance(v, str)]
    for value in sorted(set(values), key=len, reverse=True):
        path = Path(value)
        if path.is_absolute() and _inside(path.resolve(), base) and not _inside(path.resolve(), dest):
            copied = (dest / path.resolve().relative_to(base)).as_posix()
            for quote in ('"', "'"):
                text = text.replace(f"{quote}{value}{quote}", f"{quote}{copied}{quote}")
    config.write_text(text, encoding="utf-8")


def _refuse_writes_outside(copy: Project, dest: Path) -> None:
    """Raise unless every schema file the copy's runs would write lies inside ``dest``."""
    for section in copy.print_schema.values():
        configured = section.get("file")
        if isinstance(configured, str) and not _inside(copy.resolve(configured).resolve(), dest.resolve()):
            raise ProjectError(f"diesel.toml's print_schema file {configured} cannot be redirected to the project "
                               f"copy a rehearsal works on, and the rehearsal would write it; give the path "
                               f"relative to diesel.toml.")


def _configured_paths(project: Project, models_dir: Callable[[Project], Path]) -> list[Path]:
    paths = [project.migrations_dir]
    for section in project.print_schema.values():
        for key in ("file", "patch_file"):
            if isinstance(section.get(key), str):
                paths.append(project.resolve(section[key]))
    try:
        paths.append(models_dir(project))
    except LightnbError:
        pass
    return [Path(p).resolve() for p in paths if Path(p).exists()]


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _skipped(folder: str, names: list[str]) -> set[str]:
    # database suffixes name files only: a folder such as migrations/…_add-journal is the project's
    skipped = {n for n in names if n in SKIPPED_DIRS
               or (n.endswith(SKIPPED_SUFFIXES) and not os.path.isdir(os.path.join(folder, n)))}
    if "Cargo.toml" in names:
        skipped.add("target")
    return skipped


def read_verdict(executed: Path) -> str | None:
    """Return the verdict the executed notebook printed in its cell tagged ``lightnb-verdict``."""
    import nbformat
    notebook = nbformat.read(str(executed), as_version=4)
    for cell in notebook.cells:
        if "lightnb-verdict" in cell.get("metadata", {}).get("tags", []):
            for output in cell.get("outputs", []):
                text = output.get("data", {}).get("text/plain")
                if text:
                    value = ast.literal_eval(text if isinstance(text, str) else "".join(text))
                    return str(value)
    return None


def _progress_wanted() -> bool:
    """papermill's own bar (cells executed, with an ETA) on stderr when someone follows progress."""
    from lightnb import progress
    return progress.wanted()

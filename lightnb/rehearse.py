"""Headless rehearsal: execute notebook 02 with papermill on a copy of production, write a report.

Production is only ever read: the notebook copies it into a private temporary workspace, and its
checksum is verified after the run.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass
from pathlib import Path

from lightnb import scratch
from lightnb.errors import DatabaseError, LightnbError, ProjectError
from lightnb.workspace import check_database_file, file_sha256

NOTEBOOK = "02_rehearse_on_production_copy.ipynb"
NOTEBOOKS_ENV = "LIGHTNB_NOTEBOOKS"


@dataclass(frozen=True)
class Rehearsal:
    """What a rehearsal wrote into OUTDIR."""

    notebook: Path
    html: Path | None
    markdown: Path | None
    widget_js: str
    verdict: str | None = None  # the test step's verdict: safe, needs attention or unsafe


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


def rehearse(project_dir: str | Path, production_db: str | Path, out_dir: str | Path, *,
             limit: int | None = None, run_tests: bool = False, timeout: int = 600) -> Rehearsal:
    """Execute notebook 02 against ``project_dir`` and a copy of ``production_db``; write the results.

    :param limit: apply only the next ``limit`` pending migrations.
    :param run_tests: also run the project's own test command.
    :raises LightnbError: when the project or database is unusable, or a cell fails (the executed
        notebook is still written, with the failing cell, for diagnosis).
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from lightnb.report import export

    project = Path(project_dir).resolve()
    if not project.is_dir():
        raise ProjectError(f"Project folder {project} does not exist; pass the folder holding diesel.toml.")
    production = check_database_file(Path(production_db).resolve())
    before = file_sha256(production)
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    executed = out / NOTEBOOK
    # The workspace is a full, unredacted copy of production: it lives in a private scratch folder
    # (0700) that is deleted afterwards, also on SIGTERM, never in OUTDIR (which is meant to be
    # shared or uploaded).
    with scratch.folder("rehearse") as folder:
        params = {"project_dir": str(project), "production_db": str(production),
                  "workspace_dir": str(folder / "workspace"), "limit": limit,
                  "run_project_tests": run_tests}
        try:
            papermill.execute_notebook(str(notebooks_dir() / NOTEBOOK), str(executed), parameters=params,
                                       cwd=str(out), kernel_name="python3", progress_bar=False,
                                       execution_timeout=timeout)
        except PapermillExecutionError as error:
            raise LightnbError(f"Rehearsal failed in cell {error.exec_count}: {error.ename}: {error.evalue}; "
                               f"see {executed}.") from error
        finally:
            if file_sha256(production) != before:  # pragma: no cover - would be a lightnb bug
                raise DatabaseError(f"Production {production} changed during the rehearsal; restore it from "
                                    f"backup.")
    report = export(executed, out)
    return Rehearsal(executed, report.html, report.markdown, report.widget_js, read_verdict(executed))


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

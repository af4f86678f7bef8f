"""Build the workbook notebooks from this file, run them, and store clean deterministic outputs.

    python notebooks/build.py            # write and execute all three notebooks
    python notebooks/build.py --no-run   # write them without outputs

The notebooks hold no logic: a parameters cell (papermill), then per step a Markdown cell
and one short code cell calling ``lightnb.ui`` or ``lightnb.steps``. Stored outputs keep
only deterministic parts: widget views are reduced to their text form (model ids are
random), the widget state is dropped, and no timing metadata is recorded. The panels' static
records (HTML and Markdown beside each widget view) are kept.
"""

from __future__ import annotations

import argparse
import configparser
import re
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def md(text: str) -> nbformat.NotebookNode:
    """Return a Markdown cell."""
    return new_markdown_cell(text.strip())


def code(source: str, *tags: str) -> nbformat.NotebookNode:
    """Return a code cell with optional tags."""
    cell = new_code_cell(source.strip())
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def parameters(**values: object) -> nbformat.NotebookNode:
    """Return papermill's parameters cell (one ``name = literal  # comment`` per line)."""
    lines = []
    for name, value in values.items():
        literal, comment = value if isinstance(value, tuple) else (value, "")
        lines.append(f"{name} = {literal!r}" + (f"  # {comment}" if comment else ""))
    return code("\n".join(lines), "parameters")


def guided_migration() -> nbformat.NotebookNode:
    """Notebook 01: the team's workflow, step by step, on the bundled sample."""
    from lightnb.samples import EXERCISE

    cells = [
        md("""
# Guided migration: the team's workflow, one step per cell

This workbook walks through one schema change the way the team makes every change to the
database of a Diesel + SQLite backend:

**generate → edit → run → inspect → regenerate models → test → revert**

Everything happens on a **copy** of the production database (the *workspace*). Production is
opened read-only and copied with SQLite's backup API; nothing here can write to it.

Run the notebook top to bottom (*Run → Run All Cells*); you need not edit anything. With the
default parameters (the next cell) it builds the bundled sample backend and a fake production
database in a new folder (under `lightnb-runs/` beside this notebook), so every run starts clean, and
adds a column with a default.

Each step is one panel: a heading, a sentence saying what it does, its fields, one button, a
one-line status next to the button and the result below. Run top to bottom, each panel has already
done its step once (the status says what happened); after that, every panel also works by hand:
change a field, click its button. A problem shows as one red line in the panel, never a traceback,
and leaves the workspace as it was. A panel only shows its current outcome, and says so when a later
step (a revert further down) changed what its result describes.

Every panel also leaves a plain record of what it did beside it (hidden while the panel is drawn),
so the saved notebook reads the same on a code host or nbviewer, where no widget runs.
"""),
        parameters(
            project_dir=(None, "a Diesel project folder; None builds the bundled sample in a new folder"),
            production_db=(None, "its production database (only ever read); None: the project's"),
            migration_name=(EXERCISE.name, "the migration this notebook creates"),
            up_sql=(EXERCISE.up_sql, "the change"),
            down_sql=(EXERCISE.down_sql, "its exact undo"),
            sample_users=(2000, "size of the sample database when it is built"),
            run_project_tests=(False, "also run the project's own test command (cargo test) in the test step"),
            backend=("sqlite", "or postgres: the sample's PostgreSQL variant, in a private cluster this kernel "
                               "starts and stops"),
        ),
        md("""
## The rules

1. **Never on production.** Every step acts on the workspace copy. To start over, reset the copy.
2. **One change per migration**, named for what it does (`add_theme_to_user_settings`).
3. **Every up.sql has a down.sql that restores exactly what was there**: the *test* step proves it
   by running up, down and up again and comparing the database's content fingerprints.
4. **Look at the data, not only the schema**: the *run* step shows the rows before and after,
   with sensitive values (e-mails, tokens, hashes…) redacted.
5. **`schema.rs` and the model structs follow the database**: regenerate, review the diff, commit.
"""),
        code("import lightnb.ui as ui"),
        md("""
Open the workbook: the project, and a fresh **workspace** copy of its production database that every
panel below works on. The line printed shows where you start: the migrations already applied to the
copy, and those pending. (`wb.project.root` is the project folder, `wb.database` the copy.)
With `backend = "postgres"` the same steps run on a real PostgreSQL server: production and the
workspace are databases of a private cluster the notebook's kernel starts (and stops when it ends);
every before copy is a `CREATE DATABASE … TEMPLATE` clone of the workspace, dropped afterwards.
"""),
        code("wb = ui.workbook(project_dir, production_db, users=sample_users, backend=backend)\nwb"),
        md("""
## 1. Generate

A migration is a folder `migrations/<timestamp>_<name>/` holding `up.sql` and `down.sql`, exactly as
`diesel migration generate` makes it (the timestamp keeps migrations in order). The name is checked
as you type: a name that cannot be a folder name turns **Generate** off with the reason; a name
diesel accepts but that is not lower case letters, digits and underscores gets a hint.
"""),
        code("ui.generate(wb, migration_name, now=True)"),
        md("""
## 2. Edit

Write the change in `up.sql` and the undo in `down.sql`, then **Save**. Adding a column **with a
default** is the cheap, safe kind of change in SQLite: existing rows read the default without being
rewritten. The lint findings under the editors update as you type; each one names its rule and
the fix. Text you have not saved is marked *unsaved*; Run, Revert and Test save it first and say
so. *Open in JupyterLab editor* opens the same two files in JupyterLab's own editor.
"""),
        code("ui.edit(wb, up=up_sql, down=down_sql, now=True)"),
        md("""
## 3. Run

Apply the pending migrations to the workspace. The list above the button shows what Run would apply
now (it is read again after every step). The progress bar follows each statement (with the
elapsed time, also during one long statement); afterwards the panel shows:

- the schema changes (`column added: user_settings.theme …`);
- the row counts per table before and after, with every change of each table named (rows added,
  removed or updated, columns added or dropped, constraints removed…), and a chart when a count moved;
- the first rows of every changed table, one line per row: a new column is green and marked
  *(new)*, a changed value reads ~~before~~ → after on yellow, added rows are green and removed rows
  red. Sensitive values (e-mails, tokens, hashes…) read `[redacted]`.

Migration bookkeeping (diesel's `__diesel_schema_migrations` ledger, lightnb's checksum table) is
left out: it is not your data.
"""),
        code("run = ui.run(wb, now=True)\nrun"),
        md("""
The panel's result is a plain object: keep working with it in pandas. `row_counts()` gives the rows
per table before and after; `preview(table).frame` holds the previewed rows with a `before` and an
`after` side (the row key as index).
"""),
        code("run.result.row_counts()"),
        code('after = run.result.preview("user_settings").frame["after"]\n'
             'after[["user_id", "timezone", "theme"]].head(3)'),
        md("""
## 4. Inspect

Pick a table: its rows before and after side by side, the schema changes, the row diff (added,
removed, changed rows with samples) and the *measured* impact of each statement, all redacted.
It shows what the run above did; the table list puts the changed tables first. After a later run
or revert (like the one at the end of this notebook) it says its result is out of date: click
**Inspect** to look at the workspace as it is then.
"""),
        code("ui.inspect(wb, now=True)"),
        md("""
## 5. Regenerate models

Every run and revert regenerates `src/schema.rs` as `diesel print-schema` would, keeping the file's
style. Review its diff (against `schema.rs` as it was when the workbook opened), the model structs
that drift from it, and apply the struct changes you want (one **Apply** button per struct, under the
result). **Check models** reviews again, e.g. after you edited a file in `src/models/` by hand. Paths are
shown relative to the project. After a later run or revert the plan is marked out of date, and
**Apply** waits until you check the models again.
"""),
        code("ui.models(wb, now=True)"),
        md("""
## 6. Test

The verdict comes from a fresh copy of production: every pending migration goes up, down and up
again, and the content fingerprints must match; lint rules and SQLite integrity and foreign-key
checks run too, and (optionally) the project's own tests, whose output streams into the panel.
Here the migration is already applied to the workspace, so the test rehearses it on production's copy.

The verdict is **safe** (green), **needs attention** (yellow: read the findings) or **unsafe** (red:
do not merge). Tick *Run the project's tests* to also run the project's test command.
"""),
        code("ui.test(wb, run_tests=run_project_tests, now=True)"),
        md("""
## 7. Revert

Run `down.sql` of the latest migration (*How many* reverts more). The panel names what the next click
would revert. The previews show what the revert restores: here the `theme` column is *dropped*
(red). Click **Run** above and **Revert** here as often as you like: both act on the workspace copy
only, and `schema.rs` follows each time. A migration production already has (one of the sample's
own) is never reverted silently: the panel names it and asks first (*Revert anyway* or *Cancel*).
"""),
        code("revert = ui.revert(wb, now=True)\nrevert"),
        md("""
Where the workspace stands now: the migration is pending again, ready for another try. When you are
happy with it, commit the migration folder, `src/schema.rs` and the changed files in `src/models/`.
"""),
        code("wb"),
    ]
    return _notebook(cells)


def rehearse_on_production_copy() -> nbformat.NotebookNode:
    """Notebook 02: rehearse pending migrations on a copy of production; papermill-friendly."""
    cells = [
        md("""
# Rehearse on a copy of production

Point this notebook at a Diesel project and its production database. It copies production
(read-only: SQLite's backup API; on PostgreSQL, `pg_dump` into a private cluster), proves every pending
migration reversible on a fresh copy, applies them to the workspace copy, and shows what changed.
Production is never written.

Run it headless with `lightnb rehearse --project DIR --database PROD.db --out OUTDIR` (PostgreSQL:
`--database-url postgres://…`; without either, lightnb.toml's `production`): papermill executes it
and an HTML report (redacted) is written next to the executed notebook.
"""),
        parameters(
            project_dir=(None, "a Diesel project folder; None builds the bundled sample with one pending migration"),
            production_db=(None, "the production database (only ever read)"),
            workspace_dir=(None, "where to keep the copy; None: .lightnb/ in the project"),
            workspace_copy=(None, "lightnb rehearse: the copy of production it made in workspace_dir while this "
                                  "kernel started"),
            check_copy=(None, "lightnb rehearse: the copy of production it made for the proof while this kernel "
                              "started"),
            limit=(None, "apply only the next N pending migrations; None: all"),
            run_project_tests=(False, "also run the project's own test command"),
            sample_users=(2000, "size of the sample database when it is built"),
            backend=("sqlite", "or postgres: a PostgreSQL project (production_db a postgres:// URL), or the "
                               "sample's PostgreSQL variant in a private cluster this kernel starts and stops"),
        ),
        code("import lightnb.ui as ui"),
        code("wb = ui.workbook(project_dir, production_db, users=sample_users, exercise=True,\n"
             "                 workspace_dir=workspace_dir, backend=backend, copied=workspace_copy)\nwb"),
        md("""
## Reversibility verdict (on a fresh copy of production)

Every pending migration goes up, down and up again on a fresh copy, and the content fingerprints
must match; lint and integrity checks run too. **safe** (green) can go; **needs attention** (yellow)
means read the findings; **unsafe** (red) means do not run it on production.
"""),
        code("verdict = ui.test(wb, run_tests=run_project_tests, now=True, copied=check_copy)\nverdict"),
        md("""
## Apply to the workspace copy

The pending migrations run on the workspace copy. The panel lists the schema changes, row counts
per table (with a chart when a count moved) and the rows each changed table gained, lost or
changed (~~before~~ → after, sensitive values redacted).
"""),
        code("run = ui.run(wb, limit=limit, now=True)\nrun"),
        md("""
## Impact, table by table

Pick a table: its affected rows before and after, the row diff with samples, and the measured
impact of every statement (rows deleted, updated, values lost).
"""),
        code("ui.inspect(wb, now=True)"),
        md("## Summary: one line per rehearsed migration"),
        code("verdict.result.to_frame()[['migration', 'verdict', 'errors', 'warnings']]"),
        md("The overall verdict (read by `lightnb rehearse` for its exit status): the proof's, or *unsafe* when "
           "the migrations failed to run on the copy (the Run panel above says why):"),
        code("# what fails to run on the copy fails on production too\n"
             "\"unsafe\" if run.failure else verdict.result.verdict", "lightnb-verdict"),
    ]
    return _notebook(cells)


DATA_CHANGE_UP = """\
-- Users whose locale backfill left en-US although they live in the Netherlands get nl-NL.
-- Keep the old values, keyed by id, so down.sql restores exactly what was there.
CREATE TABLE locale_fix_backup (
    id INTEGER PRIMARY KEY NOT NULL,
    locale TEXT NOT NULL
);
INSERT INTO locale_fix_backup (id, locale)
    SELECT id, locale FROM user_settings WHERE locale = 'en-US' AND timezone = 'Europe/Amsterdam';
UPDATE user_settings SET locale = 'nl-NL' WHERE id IN (SELECT id FROM locale_fix_backup);
"""
DATA_CHANGE_DOWN = """\
UPDATE user_settings
    SET locale = (SELECT b.locale FROM locale_fix_backup AS b WHERE b.id = user_settings.id)
    WHERE id IN (SELECT id FROM locale_fix_backup);
DROP TABLE locale_fix_backup;
"""


def document_a_data_change() -> nbformat.NotebookNode:
    """Notebook 03: a data change written up for review, exported to HTML and Markdown."""
    cells = [
        md("""
# Data change for review: fix the locale of Dutch users left on en-US

**Purpose.** The locale backfill (`backfill_user_settings_locale`) gave `en-US` to every user it
could not place. Users whose timezone is `Europe/Amsterdam` should read the app in Dutch. This
change sets their locale to `nl-NL`, and keeps the old values so the change can be reverted exactly.

Everything below ran on a **copy** of production; values of sensitive columns are redacted.
Each panel leaves a record of what it did in the saved notebook, so a reviewer reads the same facts
on a code host or nbviewer. Export: `lightnb report NOTEBOOK --out DIR` (HTML and Markdown, made
from those records).
"""),
        parameters(
            project_dir=(None, "a Diesel project folder; None builds the bundled sample"),
            production_db=(None, "the production database (only ever read)"),
            change_name=("fix_locale_of_dutch_users", "the migration holding the data change"),
            up_sql=(DATA_CHANGE_UP, "the change"),
            down_sql=(DATA_CHANGE_DOWN, "its exact undo"),
            table=("user_settings", "the table the change touches"),
            verification=(["SELECT locale, count(*) AS users FROM user_settings "
                           "WHERE timezone = 'Europe/Amsterdam' GROUP BY locale ORDER BY locale"],
                          "read-only queries a reviewer can rerun"),
            sample_users=(2000, "size of the sample database when it is built"),
            reviewer=("", "the reviewer's name, recorded with each tick of the sign-off"),
            backend=("sqlite", "or postgres: the same change on a PostgreSQL project (its SQL and the queries "
                               "above are valid on both), or on the sample's PostgreSQL variant"),
        ),
        code("import lightnb.ui as ui"),
        code("wb = ui.workbook(project_dir, production_db, users=sample_users, backend=backend)\nwb"),
        md("## The SQL"),
        code("ui.generate(wb, change_name, now=True)"),
        code("ui.edit(wb, up=up_sql, down=down_sql, now=True)"),
        md("## Reversibility (on a fresh copy of production)"),
        code("ui.test(wb, run_tests=False, now=True)"),
        md("""
## Affected rows, before and after

The change runs on the workspace copy. The previews show the rows it touched (changed values as
~~before~~ → after); the inspect panel adds the row diff and the measured impact of each statement.
"""),
        code("ui.run(wb, now=True)"),
        code("ui.inspect(wb, table, now=True)"),
        md("""
## Verification queries

Read-only queries on the workspace copy after the change; a reviewer can rerun them.
"""),
        code("ui.verify(wb, verification, now=True)"),
        md("""
## Sign-off

Type your name, then tick each item once checked. Every tick records who ticked it and when; the
ticks are saved with the notebook and shown in its report.
"""),
        code('ui.signoff(["Purpose and scope are right", "Affected row count is as expected", '
             '"down.sql restores the old values (verdict safe)", "Verification queries checked", '
             '"Approved to run on production"], reviewer=reviewer)'),
    ]
    return _notebook(cells)


def _notebook(cells: list[nbformat.NotebookNode]) -> nbformat.NotebookNode:
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    for index, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{index:02d}"
    return nb


NOTEBOOKS = {
    "01_guided_migration.ipynb": guided_migration,
    "02_rehearse_on_production_copy.ipynb": rehearse_on_production_copy,
    "03_document_a_data_change.ipynb": document_a_data_change,
}


SANITIZE = HERE.parent / "tests" / "nbval_sanitize.cfg"


def sanitizers() -> list[tuple[re.Pattern[str], str]]:
    """Return the nbval sanitizers (regex, replacement) for values that change on every run."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(SANITIZE, encoding="utf-8")
    return [(re.compile(parser[name]["regex"]), parser[name]["replace"]) for name in parser.sections()]


def _sanitize(text: str | list[str], rules: list[tuple[re.Pattern[str], str]]) -> str:
    text = "".join(text) if isinstance(text, list) else text
    for pattern, replacement in rules:
        text = pattern.sub(replacement, text)
    return text


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Keep only deterministic outputs: drop widget views, widget state and run metadata.

    Values that change on every run (migration timestamps, temporary paths, timings) are
    stored as nbval's sanitizers write them, so a rebuild changes no line of an unchanged notebook.
    """
    rules = sanitizers()
    nb.metadata.pop("widgets", None)
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("papermill", None)
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            data.pop(WIDGET_VIEW, None)
            for mime in ("text/plain", "text/html", "text/markdown"):
                if mime in data:
                    data[mime] = _sanitize(data[mime], rules)
            if "text" in output:
                output["text"] = _sanitize(output["text"], rules)
    return nb


def execute(nb: nbformat.NotebookNode, cwd: Path) -> nbformat.NotebookNode:
    """Run ``nb`` in a fresh kernel from ``cwd``; keep each cell's outputs as that cell left them.

    A later cell may update an earlier cell's display (a panel's record says its result is out of
    date after a revert further down). nbval compares each cell with what it showed when it finished
    and does not replay later updates, so the reference outputs are stored that way too.
    """
    import copy

    from nbclient import NotebookClient

    from lightnb.kernel import kernel_manager_class

    finished: dict[int, list] = {}

    def keep(cell: nbformat.NotebookNode, cell_index: int, **_: object) -> None:
        finished[cell_index] = copy.deepcopy(cell.get("outputs", []))

    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(cwd)}},
                   record_timing=False, store_widget_state=False, on_cell_executed=keep,
                   kernel_manager_class=kernel_manager_class("python3")).execute()
    for index, outputs in finished.items():
        nb.cells[index].outputs = outputs
    return nb


def build(names: list[str] | None = None, *, run: bool = True, folder: Path = HERE) -> list[Path]:
    """Write (and by default execute) the notebooks into ``folder``; return their paths."""
    written = []
    for name, make in NOTEBOOKS.items():
        if names and name not in names:
            continue
        nb = make()
        if run:
            nb = clean(execute(nb, folder))
        path = folder / name
        nbformat.validate(nb)
        nbformat.write(nb, path)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """Command line: build the notebooks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebook file names (default: all)")
    parser.add_argument("--no-run", action="store_true", help="write without executing")
    args = parser.parse_args(argv)
    for path in build(args.names or None, run=not args.no_run):
        print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

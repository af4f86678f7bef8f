"""The test step: rehearse each pending migration on a fresh copy and give one verdict per migration.

For each pending migration, on a workspace copy (production is never written):
up → snapshot A → down → compare with the state before up (schema by structure, rows by column
name, except tables up.sql destroys on purpose) → up again → compare with A (diesel's redo,
proven). ``PRAGMA integrity_check`` and ``foreign_key_check`` run after each step, every lint rule
runs, and finally the project's own test command (``[test] command`` in lightnb.toml, default
``cargo test``) runs against the rehearsed copy, its output streamed.

Each proof starts from a state after the earlier migrations' ups: the states a proof compares with
are saved as the tables the migration can change (:mod:`lightnb.inspect.touched`), and a copy that
a proof left elsewhere (a down.sql that does not give back the state before up) is rebuilt, so a
down.sql that damages the copy never spoils the rehearsal of the migrations after it, and every
pending migration gets a verdict.

Verdicts: ``safe``; ``needs attention`` (warnings, a redo that differs, a column order down.sql
does not restore); ``unsafe``; and ``irreversible`` for a migration whose down.sql declares it
one-way with ``-- lightnb: irreversible: <reason>`` (:mod:`lightnb.markers`), shown with the
impact of up.sql measured on the copy.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from lightnb import progress, runner, scratch
from lightnb.backends import sqlite
from lightnb.catalog import Catalog, is_bookkeeping
from lightnb.errors import DatabaseError, LightnbError
from lightnb.inspect.lineage import history_lineage
from lightnb.inspect.redact import mask_message
from lightnb.inspect.schema_diff import SchemaChange, schema_diff
from lightnb.inspect.snapshot import Snapshot, take_snapshot
from lightnb.inspect.touched import Touched, checked_tables, table_names, touched_tables
from lightnb.layout import SIDECARS
from lightnb.lint.config import LintConfig, config_from_settings
from lightnb.lint.engine import lint_migrations, lint_source
from lightnb.lint.finding import Finding
from lightnb.lint.rehearsal import Baseline
from lightnb.lint.rules.destructive import intentionally_destroyed
from lightnb.lint.source import source_of, tokens
from lightnb.markers import IRREVERSIBLE, declared_irreversible, marker_without_reason
from lightnb.migrations import Migration, discover
from lightnb.proved_copy import ProvedCopy, up_digest
from lightnb.reader import Reader
from lightnb.workspace import Workspace

if TYPE_CHECKING:
    import pandas as pd

    from lightnb.inspect.ahead import Ahead
    from lightnb.inspect.divergence import Divergence
    from lightnb.project import Project

Verdict = Literal["safe", "needs attention", "unsafe", "irreversible"]
_T = TypeVar("_T")
OUTPUT_TAIL = 40
# Lint rules about the undo that a declared irreversible migration answers by its declaration.
_UNDO_RULES = frozenset({"down-empty", "down-incomplete"})


@dataclass(frozen=True, slots=True)
class MigrationCheck:
    """The rehearsal of one migration.

    :param verdict: ``safe``, ``needs attention``, ``unsafe`` or ``irreversible`` (declared so).
    :param reasons: why, one line each (empty when safe with nothing to note).
    :param schema_differences: after up → down, what differs from before up.
    :param row_differences: after up → down, tables whose rows differ from before up (compared by
        column name: a column down.sql puts back elsewhere in the table is not a row difference).
    :param redo_differences: after down → up again, what differs from the first up.
    :param column_order: after up → down, tables whose columns are back in another order.
    :param declared: the reason down.sql gives for declaring the migration irreversible, if any.
    :param impact: for a declared irreversible migration, what up.sql does to the rows of the copy.
    """

    migration: str
    version: str
    verdict: Verdict
    reasons: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    schema_differences: tuple[str, ...] = ()
    row_differences: tuple[str, ...] = ()
    redo_differences: tuple[str, ...] = ()
    steps: tuple[str, ...] = ()
    column_order: tuple[str, ...] = ()
    declared: str | None = None
    impact: tuple[str, ...] = ()

    @property
    def verdict_text(self) -> str:
        """The verdict as printed: ``irreversible (declared: reason)`` for a declared one-way migration."""
        return f"irreversible (declared: {self.declared})" if self.verdict == "irreversible" else self.verdict

    @property
    def restores_exactly(self) -> bool:
        """True when up → down gave back the schema and rows exactly (column order included)."""
        return "down" in self.steps and not (self.schema_differences or self.row_differences or self.column_order)


@dataclass(frozen=True, slots=True)
class TestRun:
    """The project's own tests: ``status`` is passed, failed, timeout, skipped or not run.

    ``not run`` means there is nothing to run: ``cargo test`` without a Cargo.toml above the folder.
    It never makes a verdict unsafe; only ``failed`` and ``timeout`` do.
    """

    __test__ = False  # not a pytest class

    command: str
    status: Literal["passed", "failed", "timeout", "skipped", "not run"]
    returncode: int | None = None
    seconds: float = 0.0
    message: str = ""
    output_tail: tuple[str, ...] = ()

    @property
    def summary(self) -> str:
        """One line for every report: ``tests: not run (no Cargo.toml from DIR upward)``,
        ``tests (cargo test): passed``."""
        if self.status == "not run":
            return f"tests: not run ({self.message})"
        return f"tests ({self.command}): {self.status}" + (f" — {self.message}" if self.message else "")


FAIL_ON = ("attention", "unsafe")
"""What a check can fail on: a migration needing attention, or only an unsafe one."""


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The test step's verdict: one :class:`MigrationCheck` per rehearsed migration, and the tests.

    :param baseline: when the rehearsed database is a workspace, how it compares with the production
        it copies (None for any other database).
    :param handed_over: the proof's copy, handed to the Run that follows (:class:`lightnb.proved_copy.ProvedCopy`;
        only when asked, see :func:`check`): not part of the verdict, never printed.
    """

    database: str
    migrations: tuple[MigrationCheck, ...]
    project_findings: tuple[Finding, ...] = ()
    tests: TestRun | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    baseline: Divergence | None = None
    handed_over: Any = field(default=None, repr=False, compare=False)

    @property
    def verdict(self) -> Literal["safe", "needs attention", "unsafe"]:
        """Return the worst verdict (tests failing or project errors make it unsafe).

        A declared irreversible migration counts as needing attention: it is allowed, and a reviewer
        reads its measured impact.
        """
        verdicts = ["needs attention" if m.verdict == "irreversible" else m.verdict for m in self.migrations]
        if self.tests is not None and self.tests.status in ("failed", "timeout"):
            verdicts.append("unsafe")
        if any(f.severity == "error" for f in self.project_findings):
            verdicts.append("unsafe")
        elif self.project_findings and any(f.severity == "warning" for f in self.project_findings):
            verdicts.append("needs attention")
        for worst in ("unsafe", "needs attention"):
            if worst in verdicts:
                return worst
        return "safe"

    @property
    def ok(self) -> bool:
        """Return True when every migration is safe and the tests did not fail."""
        return self.verdict == "safe"

    def fails(self, fail_on: str = "attention") -> bool:
        """Tell whether the verdict fails a check that fails on ``fail_on``.

        :param fail_on: ``"attention"`` (a migration needing attention fails) or ``"unsafe"`` (only unsafe).
        :raises ValueError: for any other value.
        """
        if fail_on not in FAIL_ON:
            raise ValueError(f"fail_on must be one of {', '.join(FAIL_ON)}, not {fail_on!r}")
        return self.verdict in (("unsafe",) if fail_on == "unsafe" else ("unsafe", "needs attention"))

    def to_frame(self) -> pd.DataFrame:
        """Return one row per migration: verdict, counts, reasons."""
        import pandas as pd

        rows = [{"migration": m.migration, "verdict": m.verdict_text,
                 "errors": sum(f.severity == "error" for f in m.findings),
                 "warnings": sum(f.severity == "warning" for f in m.findings),
                 "restores exactly": m.restores_exactly,
                 "reasons": "; ".join(m.reasons)} for m in self.migrations]
        return pd.DataFrame(rows, columns=["migration", "verdict", "errors", "warnings", "restores exactly",
                                           "reasons"])

    def to_dict(self) -> dict[str, Any]:
        """Return the result as JSON-ready data."""
        data = asdict(self)
        del data["handed_over"]
        data["verdict"] = self.verdict
        data["baseline"] = self.baseline.to_dict() if self.baseline is not None else None
        for entry, check in zip(data["migrations"], self.migrations):
            entry["verdict_text"] = check.verdict_text
            entry["restores_exactly"] = check.restores_exactly
        if self.tests is not None:
            data["tests"]["summary"] = self.tests.summary
        return data

    def to_text(self) -> str:
        """Return the verdicts, reasons and findings as text, one migration per block."""
        lines = [f"rehearsed on a copy of {self.database}"
                 + (" (no database given: pass --database-url, or make a workspace, to rehearse on real rows)"
                    if self.database == "(empty database)" else "")]
        if self.baseline is not None and (self.baseline.differs or self.baseline.production is None):
            lines.append(self.baseline.to_text())
        if not self.migrations:
            lines.append("no migration to rehearse (nothing pending; use --applied N to prove applied ones)")
        for finding in self.project_findings:
            lines += _finding_lines(finding)
        for check in self.migrations:
            verdict = check.verdict_text.upper() if check.verdict != 'irreversible' else check.verdict_text
            lines.append(f"{check.migration}: {verdict}")
            lines += [f"  - {reason}" for reason in check.reasons]
            lines += [f"  {line}".rstrip() for f in check.findings for line in _finding_lines(f)]
        if self.tests is not None:
            lines.append(self.tests.summary)
        lines += list(self.notes)
        lines.append(f"verdict: {self.verdict}")
        return "\n".join(lines)


def _finding_lines(finding: Finding) -> list[str]:
    """The finding on one line, then its whole fix indented under it (as ``lightnb lint`` prints it)."""
    return [f"{finding.severity}[{finding.rule}] {finding.location()}: {finding.message}"] + \
        [f"    {line}".rstrip() for line in finding.fix.splitlines()]


def check(project: Project, *, database: str | Path | None = None, versions: Sequence[str] | None = None,
          run_tests: bool = True, on_output: Callable[[str], None] | None = None,
          config: LintConfig | None = None, applied: int = 0, copied: Mapping[str, Any] | None = None
          ) -> CheckResult:
    """Rehearse every pending migration on a fresh copy of ``database`` and return the verdict.

    With ``applied=N`` the latest N applied migrations are first reverted on the copy and then
    rehearsed like pending ones, and the final state must equal the copy as it was: the proof
    for migrations that already ran on the workspace.

    When ``database`` is the project's workspace, the result also says whether the workspace is
    still a copy of its production database (:attr:`CheckResult.baseline`).

    :param database: the database to copy (never written); default the project's DATABASE_URL,
        or an empty database when there is none.
    :param versions: rehearse only these pending versions (default: all pending); pending
        migrations before them are applied on the copy first, without a proof.
    :param run_tests: also run the project's test command against the rehearsed copy.
    :param on_output: receives the test command's output, line by line, as it comes.
    :param copied: a fresh copy of ``database`` made beforehand (``lightnb rehearse`` makes it while the notebook's
        kernel starts): ``folder``, the workspace folder :meth:`Workspace.create` made it in, ``state``, its file's
        committed state once copied, and ``steps``, what the copy took (``lightnb.progress.Progress`` fields). While
        the file is provably that copy, untouched since, the proof runs on it instead of a new copy, and deletes it.
    :raises LightnbError: when the project or the database cannot be read.
    """
    config = config or config_from_settings(project.settings)
    if config.redactor is not None:  # columns the history renamed or copied from masked ones stay masked
        config = replace(config, redactor=config.redactor.with_derived(
            history_lineage(project.migrations_dir, config.redactor)))
    migrations = discover(project.migrations_dir)
    production = _production(project, database)
    divergence = _divergence(project, production)
    # the proof's copy goes to the Run that follows when it ends in the state the Run would make
    # (lightnb.proved_copy)
    hand_over = bool(copied and copied.get("hand_over")) and applied == 0 and versions is None
    digests = _up_digests(migrations) if hand_over else {}
    landed = Landing(redactor=config.redactor) if hand_over else None
    handed: ProvedCopy | None = None
    # A full, unredacted copy of production: in a private folder removed on SIGTERM too (scratch).
    with scratch.folder("check") as folder, \
            _fresh_copy(production, folder, copied) as (workspace, same_as, keep):
        conn = workspace.connect()
        conn.execute("PRAGMA synchronous = OFF")  # a throwaway copy: no need to wait for the disk
        # and its rollback journal is kept between the proof's transactions (its header zeroed at each commit, so
        # never hot) instead of made and deleted for each: a journal deleted frees its blocks, which a file system
        # that discards freed blocks pays for at every commit, and the next one allocates them again
        conn.execute("PRAGMA journal_mode = PERSIST")
        try:
            with sqlite.interrupting(conn) as stop:  # Ctrl-C/SIGTERM stop a long statement at once
                try:
                    project_findings = list(lint_migrations(migrations, versions=(), config=config,
                                                                conn=conn, migrations_dir=project.migrations_dir))
                    if applied > 0:
                        checks = _rehearse_applied(conn, migrations, applied, config, folder)
                    else:
                        # the copy is put back as it was after up only where it is used again: for the tests
                        checks = rehearse_pending(conn, migrations, versions=versions, config=config,
                                                  scratch=folder, restore_last=run_tests, source=production,
                                                  same_as=same_as, landed=landed)
                except sqlite.Error as error:
                    stop.raise_if_interrupted(error)
                    raise
                stop.check()
        finally:
            conn.close()
        proved_state = sqlite.committed_state(workspace.path) if landed is not None and landed.seconds is not None \
            else None
        tests = None
        if run_tests:
            tests = run_test_command(project, workspace.path, on_output=on_output)
        if same_as is not None and proved_state is not None and checks \
                and sqlite.committed_state(workspace.path) == proved_state and _up_digests(migrations) == digests:
            keep.append(workspace.path.with_name(PROVED_COPY))
    if keep and same_as is not None and landed is not None and landed.seconds is not None \
            and (state := sqlite.committed_state(keep[0])) is not None:
        handed = ProvedCopy(keep[0], state, same_as.path, same_as.state,
                            tuple((c.version, digests[c.version]) for c in checks), landed.seconds, landed.impact,
                            landed.kept_rows)
    return CheckResult(str(production) if production else "(empty database)", tuple(checks),
                       tuple(project_findings), tests, baseline=divergence, handed_over=handed)


PROVED_COPY = "proved.db"  # the proof's copy, kept beside where it was made for the Run that follows


def _up_digests(migrations: Sequence[Migration]) -> dict[str, str]:
    return {m.version: up_digest(m) for m in migrations if m.up_path.is_file()}


@dataclass
class Landing:
    """What a proof whose copy may go to the Run that follows reports (``lightnb rehearse``; see
    :func:`rehearse_pending`).

    :param redactor: when given, the impact the Run's Inspect step shows is measured with these masks while the only
        pending migration's up runs again: on the file the proof read as the state before up (:class:`SameState`,
        the workspace, which the Run makes its before copy), once the proof no longer reads it, on the core the up
        leaves idle; in place, in one transaction rolled back (:func:`lightnb.inspect.impact.measure_impact`).
    :param seconds: set when the copy landed: how long the ups again took.
    :param impact: what was measured, while that file is still in the committed state it was copied in (None:
        not measured, or not provably; the Run measures it then, as without a proof).
    :param kept_rows: with ``redactor``, the tables whose rows that up again provably kept, from the state before up
        (:mod:`lightnb.inspect.kept_rows`): the Run's row diff does not compare them.
    """

    redactor: Any = None
    seconds: float | None = None
    impact: Ahead | None = None
    kept_rows: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class SameState:
    """Another file holding the state a fresh copy starts in (``lightnb rehearse``'s workspace: both copies of the
    same committed state of production): while both files are provably untouched (their committed states
    ``state`` and ``copy_state``), the proof reads the state before the first migration from ``path`` instead of
    saving it again. ``path`` is only read while it is that state (:class:`Landing` measures on it once it no longer
    is: in one transaction rolled back)."""

    path: Path
    state: tuple[int, ...]
    copy_state: tuple[int, ...]

    def holds(self, copy: Path) -> bool:
        """Whether ``path`` and the fresh copy ``copy`` are both still in the state they were copied in."""
        return sqlite.committed_state(copy) == self.copy_state and sqlite.committed_state(self.path) == self.state


@contextlib.contextmanager
def _fresh_copy(production: Path | None, folder: Path, copied: Mapping[str, Any] | None
                ) -> Iterator[tuple[Workspace, SameState | None, list[Path]]]:
    """A fresh copy of ``production`` to prove on: the one made beforehand (see :func:`check`) while its file is
    provably that copy, untouched since (it is deleted once the proof is done: no second proof starts from it),
    else a new one in ``folder``; the other file in the same state, when ``copied`` names one
    (``same_as``: ``path`` and ``state``); and a list where the caller may put, once the proof is done, where to
    move the copy made beforehand instead of deleting it (the proof's copy handed to the Run)."""
    made = Workspace.untouched(copied["folder"], production, copied["state"]) \
        if production is not None and copied else None
    keep: list[Path] = []
    if made is None:
        yield Workspace.create(production, folder), None, keep
        return
    assert copied is not None
    progress.replay(copied["steps"])
    other = copied.get("same_as")
    same = SameState(Path(other["path"]), tuple(other["state"]), tuple(copied["state"])) if other else None
    try:
        yield made, same, keep
    except BaseException:
        _delete_soon(made.path)
        raise
    if not (keep and _moved(made.path, keep[0])):
        keep.clear()
        _delete_soon(made.path)


def _moved(path: Path, dest: Path) -> bool:
    """Move the database ``path`` to ``dest`` (in its folder), dropping what SQLite keeps beside it (the journal the
    proof kept, its header zeroed at the last commit: not hot); False when it cannot."""
    try:
        os.replace(path, dest)
    except OSError:
        return False
    for suffix in SIDECARS:
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return True


def _delete_soon(path: Path) -> None:
    """Delete a copy of production the proof is done with: its files are renamed at once (nothing finds the copy
    again), then deleted in a thread, while the caller goes on (freeing a large file's blocks takes a while; the
    process waits for the thread before it exits)."""
    doomed = []
    for suffix in ("", "-journal", "-wal", "-shm"):
        name = Path(f"{path}{suffix}")
        aside = name.with_name(f".deleted-{os.getpid()}-{name.name}")
        try:
            os.replace(name, aside)
        except FileNotFoundError:
            continue
        doomed.append(aside)
    if doomed:
        threading.Thread(target=_delete, args=(doomed,), name="lightnb-check-cleanup", daemon=False).start()


def _delete(paths: Sequence[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def _production(project: Project, database: str | Path | None) -> Path | None:
    if database is not None:
        return project.with_database(str(database)).database_path()
    if project.database_url:
        path = project.database_path()
        return path if path.exists() else None
    return None


def _divergence(project: Project, database: Path | None) -> Divergence | None:
    """When ``database`` is a lightnb workspace, compare it with the production it copies."""
    from lightnb.errors import WorkspaceError
    from lightnb.inspect.divergence import compare_with_production

    if database is None or database.name != "workspace.db":
        return None
    try:
        workspace = Workspace.open(database.parent)
    except WorkspaceError:
        return None
    if workspace.path.resolve() != database.resolve():
        return None
    return compare_with_production(workspace.path, workspace.production)


def _rehearse_applied(conn: sqlite.Connection, migrations: Sequence[Migration], number: int,
                      config: LintConfig, scratch: Path) -> list[MigrationCheck]:
    """Revert the latest ``number`` applied migrations on the copy, rehearse them, compare with the start."""
    start = _snapshot(conn, "as applied")
    start_copy = sqlite.backup(conn, scratch / "as-applied.db")
    try:
        reverted = runner.revert(conn, migrations, number=number)
    except LightnbError as error:
        version = runner.applied_versions(conn)[0] if runner.applied_versions(conn) else "?"
        reason = f"cannot revert it on the copy: {mask_message(str(error))}"
        return [MigrationCheck(version, version, "unsafe", (reason,), steps=("up",))]
    versions = [m.version for m in reverted]
    checks = rehearse_pending(conn, migrations, versions=versions, config=config, scratch=scratch)
    end = _snapshot(conn, "re-applied")
    real, order = _schema_changes(start, end)
    rows, _ = compare_rows(start, end, set(), before_db=start_copy, after_db=_path_of(conn))
    differences = real + order + list(rows)
    if differences and checks:
        last = checks[-1]
        reason = "reverting then re-applying does not give back the database as it was: " + "; ".join(differences)
        checks[-1] = MigrationCheck(last.migration, last.version, "unsafe", last.reasons + (reason,),
                                    last.findings, last.schema_differences, last.row_differences,
                                    last.redo_differences + tuple(differences), last.steps, last.column_order,
                                    last.declared, last.impact)
    return checks


def rehearse_pending(conn: sqlite.Connection, migrations: Sequence[Migration], *,
                     versions: Sequence[str] | None = None, config: LintConfig | None = None,
                     scratch: Path | None = None, restore_last: bool = True,
                     source: Path | None = None, same_as: SameState | None = None,
                     landed: Landing | None = None) -> list[MigrationCheck]:
    """Rehearse the pending migrations in order on ``conn`` (a workspace copy), leaving them applied.

    Every pending migration gets a verdict. Each proof starts from the state just after the
    earlier migrations' ups (saved, then restored after each proof). A migration whose up.sql fails
    leaves the state after it unreachable: the migrations after it are reported unsafe, "not
    rehearsed", with their lint findings.

    :param versions: rehearse only these; pending migrations before them are applied without proof.
    :param scratch: a folder for the saved states (a temporary one when None).
    :param restore_last: leave the copy in a state after the last migration's up (rebuilt when its
        proof left it elsewhere); False when the caller does not use the copy afterwards (the copy
        is then as the last proof left it).
    :param source: the database ``conn`` is a fresh copy of, copied again when the copy must be
        rebuilt; None saves the whole starting state first.
    :param same_as: another file in the state ``conn``'s copy was made in: while both are provably untouched,
        the first proof reads its state before up there instead of saving it.
    :param landed: given, gets the seconds the ups again took when the copy ends in the state running every pending
        migration's up in order leaves: every one proven (no ``versions``), each up again run on the very state its
        first up ran on (down gave it back to the letter) and giving the schema and rows the first up gave; and,
        for one pending migration whose state before up is ``same_as``'s file, the impact measured there
        (:class:`Landing`).
    """
    config = config or LintConfig()
    pending = runner.pending(conn, migrations)
    wanted = set(versions) if versions else None
    if wanted is not None:
        last = max((i for i, m in enumerate(pending) if m.version in wanted), default=-1)
        pending = pending[:last + 1]
    if not pending:
        return []
    baseline = Baseline.of(conn, migrations)
    states = baseline.later_states(migrations, versions=[m.version for m in pending])
    ordered = list(migrations)
    proven = [m for m in pending if wanted is None or m.version in wanted]
    with _states_folder(scratch) as folder, \
            progress.task(f"proving {len(proven)} migration(s)", 3 * len(proven)) as shown:
        saves = _States(Path(folder), conn, source, shown, same_as)
        if landed is not None and wanted is None and len(pending) == 1:
            saves.ahead_redactor = landed.redactor
        checks: list[MigrationCheck] = []
        blocker: str | None = None
        exact = True  # every proof so far left the copy in the state its up leaves, by the letter (see landed)
        for migration in pending:
            position = ordered.index(migration)
            lint = lambda connection, migration=migration, position=position: lint_source(  # noqa: E731 - one call, two states
                source_of(migration), history=baseline.history(ordered, position), config=config,
                conn=connection, later=states[position + 1:])
            if blocker is not None:
                if wanted is None or migration.version in wanted:
                    checks.append(_not_rehearsed(migration, lint(None), blocker))
                continue
            if wanted is not None and migration.version not in wanted:
                try:
                    runner.apply(conn, migration, "up")
                except LightnbError:
                    blocker = migration.name
                    continue
                saves.advance(migration)
                continue
            proof = _prove(conn, migration, lint(conn), saves, config.redactor)
            checks.append(proof)
            exact = exact and saves.faithful and "up again" in proof.steps and not proof.redo_differences
            if "up" not in proof.steps:
                blocker = migration.name
                continue
            if restore_last or migration is not pending[-1]:
                saves.restore_after_up()
        if landed is not None and exact and wanted is None and blocker is None:
            landed.seconds, landed.impact, landed.kept_rows = sum(saves.again_seconds), saves.impact, saves.kept_rows
        return checks


class _States:
    """The states of the copy a proof compares with, saved in a scratch folder: before the current
    migration's up, and after it.

    A state is saved as the tables the migration can change, with their definitions and indexes
    (every other table is the same in both states), or as the whole file when that set is unknown
    (``PRAGMA writable_schema``) or when up.sql's impact is measured on it (a declared irreversible
    migration). After a proof whose down.sql gave back the state before up, the copy after "up
    again" is a state after up (up.sql run on the same rows): nothing is restored. A proof that left
    the copy elsewhere has it rebuilt from the saved state before up, put back, and up run again; only
    when that state cannot be put back to the letter, from the source copied again and every up
    applied since, in order.

    The state before the first migration's up is not saved at all when another file provably holds it
    (``same_as``, see :class:`SameState`): that file is then read (never written) as the whole state; once every
    read of it is done, a rehearsal may measure the impact its Run shows on it (:class:`Landing`).

    :param source: the database the copy was made from; None saves the whole starting state now.
    """

    def __init__(self, folder: Path, conn: sqlite.Connection, source: Path | None = None,
                 shown: progress.Task | None = None, same_as: SameState | None = None) -> None:
        self.folder, self.conn, self.source, self.count = folder, conn, source, 0
        self.same_as = same_as
        self.borrowed = False  # before_path is same_as's file: only read, never deleted
        self.shown = shown  # the proof's steps, reported as they are done
        self.start_path = sqlite.backup(conn, folder / "start.db") if source is None else None
        self.applied: list[Migration] = []  # the ups applied on the copy since the start, in order
        self.before: Snapshot | None = None
        self.before_path: Path | None = None
        self.before_whole = False
        self.after: Snapshot | None = None
        self.after_path: Path | None = None
        self.faithful = True  # the copy is in a state after the current migration's up
        self.before_identity: tuple[Any, ...] = ()
        self.again_seconds: list[float] = []  # how long each proof's up again took
        self.ahead_redactor: Any = None  # measure the first migration's impact on same_as's file (Landing)
        self.impact: Ahead | None = None  # what was measured there, while provably in its state
        self.reads_done = False  # every read of the borrowed state before up is done and was confirmed
        self.kept_rows: frozenset[str] = frozenset()  # the tables whose rows the first up again provably kept

    def save_before(self, touched: Touched | None, *, whole: bool = False,
                    meanwhile: Callable[[], None] = lambda: None) -> tuple[Snapshot, Path]:
        """Save the copy as it is, before the current migration's up; ``meanwhile`` runs in this thread while
        the tables are saved (it only reads the copy). When the state is borrowed instead (:attr:`borrowed`:
        nothing is saved), ``meanwhile`` is not called."""
        self._forget()
        self.count += 1
        self.before = _snapshot(self.conn, "before up", touched=touched)
        self.before_identity = sqlite.state_identity(self.conn)
        first = self.count == 1 and not self.applied
        if first and self.same_as is not None and self.same_as.holds(_path_of(self.conn)):
            self.before_path, self.before_whole, self.borrowed = self.same_as.path, True, True
        else:
            self.before_path, self.before_whole = self._save(f"before-{self.count}.db", None if whole else touched,
                                                             meanwhile)
        return self.before, self.before_path

    def note_kept_rows(self, writes: sqlite.Writes | None, before: Catalog, migration: Migration) -> None:
        """Note the tables whose rows ``migration``'s up, recorded in ``writes``, provably kept from ``before`` (the
        catalogue of the state it ran on): for the Run that takes this copy (:class:`Landing`; first migration
        only, when asked)."""
        if self.ahead_redactor is None or self.count != 1 or writes is None:
            return
        from lightnb.inspect.kept_rows import kept_rows
        self.kept_rows = kept_rows(writes, before, sqlite.read_catalog(self.conn), [migration.up_sql()])

    def confirm_borrowed(self) -> None:
        """Raise when the file read as the state before up was written while the proof read it."""
        if not self.reads_done and self._borrowed_written():
            raise DatabaseError(f"{self.before_path} was written while the proof read it as the state before up; "
                                f"run the test again.")

    @contextlib.contextmanager
    def measuring_ahead(self, migration: Migration) -> Iterator[None]:
        """While the block runs, measure ``migration``'s impact on the borrowed state before up, in a reader thread
        (see :class:`Landing`): only for the first migration, when asked, once every read of that file is done
        (confirmed here: from then on it is not read as the state before up). The block runs either way."""
        redactor, same = self.ahead_redactor, self.same_as
        if redactor is None or same is None or not self.borrowed or self.count != 1 or self.reads_done:
            yield
            return
        self.confirm_borrowed()
        self.reads_done = True
        from lightnb.inspect.ahead import Ahead
        from lightnb.inspect.impact import measurable_in_place, measure_impact

        path, script = same.path, migration.up_sql()
        if not measurable_in_place(path, script):
            yield
            return

        def measure(opened: Callable[[sqlite.Connection], None]) -> list[Any] | None:
            try:
                return measure_impact(path, script, redactor=redactor, in_place=True, opened=opened)
            except Exception:  # noqa: BLE001 - stopped, or not measurable here: the Run measures it, as without a proof
                return None

        with _Reader(measure) as measuring:
            yield
            impacts = measuring.result()
        state = sqlite.committed_state(path)
        if impacts is not None and state == same.state:  # its transaction rolled back without writing the file
            self.impact = Ahead(path, state, redactor, (script,), (tuple(impacts),))

    def save_after_up(self, snapshot: Snapshot, migration: Migration, touched: Touched | None,
                      meanwhile: Callable[[], None] = lambda: None) -> Path:
        """Save the copy as it is after up; ``meanwhile`` runs in this thread while the tables are saved."""
        self.applied.append(migration)
        self.after = snapshot
        self.after_path, _whole = self._save(f"after-{self.count}.db", touched, meanwhile)
        return self.after_path

    def advance(self, migration: Migration) -> None:
        """The copy moved forward without a proof."""
        self.applied.append(migration)

    def restore_after_up(self) -> None:
        """Leave the copy in a state after the current migration's up (rebuilt if the proof left it elsewhere).

        The copy is rebuilt from what the check holds: the saved state before up, put back, and up
        run on it again. Only when that state cannot be put back to the letter is the starting point
        copied again (the source, or the whole start saved) and every up since applied in order.
        """
        if not self.faithful:
            if self._put_back_before():
                runner.apply(self.conn, self.applied[-1], "up")
            else:
                fresh = sqlite.copy_database(self.source, self.folder / "rebuild.db") if self.source is not None \
                    else self.start_path
                assert fresh is not None
                sqlite.restore(self.conn, fresh)
                if fresh != self.start_path:
                    fresh.unlink(missing_ok=True)
                for migration in self.applied:
                    runner.apply(self.conn, migration, "up")
            self.faithful = True
        self._forget()

    def _put_back_before(self) -> bool:
        """Put the copy back in the saved state before the current migration's up; False when it cannot."""
        if self.before_path is None or not self.applied:
            return False
        if self._borrowed_written():
            return False  # written since: the source is copied again
        if self.before_whole:
            sqlite.restore(self.conn, self.before_path)
            return True
        try:
            return sqlite.restore_tables(self.conn, self.before_path, self.before_identity)
        except (LightnbError, sqlite.Error):
            return False

    def _borrowed_written(self) -> bool:
        return self.borrowed and self.same_as is not None and \
            sqlite.committed_state(self.same_as.path) != self.same_as.state

    def _save(self, name: str, touched: Touched | None, meanwhile: Callable[[], None]) -> tuple[Path, bool]:
        """Save the copy's state as the tables ``touched`` holds, or whole; return where, and whether whole.

        The tables are saved by a reader of the copy's file in a thread of its own (:class:`_Reader`)
        while ``meanwhile`` (checks that only read the same committed state) runs here.
        """
        path = self.folder / name
        if touched is not None:
            tables = checked_tables(self.conn, touched) or []
            if self.conn.in_transaction:  # never: every step commits; the saving reads committed pages only
                raise DatabaseError("cannot save tables of a database in the middle of a transaction")
            here = _path_of(self.conn)
            with _Reader(lambda opened: _saved_tables(here, path, tables, opened)) as saving:
                meanwhile()
                saved = saving.result()
            if saved is not None:
                return saved, False
            # a definition that cannot stand alone (an unknown collation): the whole file, then
        else:
            meanwhile()
        return sqlite.backup(self.conn, path), True

    def _forget(self) -> None:
        for path in (None if self.borrowed else self.before_path, self.after_path):
            if path is not None:
                path.unlink(missing_ok=True)
        self.borrowed = False
        self.before_path = self.after_path = None
        self.before = self.after = None


def _saved_tables(copy: Path, path: Path, tables: Sequence[str], opened: Callable[[sqlite.Connection], None]
                  ) -> Path | None:
    """Save ``tables`` of the database file ``copy`` into ``path``; None when a definition cannot stand alone."""
    try:
        return sqlite.save_tables(copy, path, tables, opened=opened)
    except DatabaseError:
        return None


class _Reader(Reader[_T]):
    """A reader of the proof's copy: it saves or compares the committed state this thread checks."""

    NAME = "lightnb-proof-reader"


def _not_rehearsed(migration: Migration, findings: Sequence[Finding], blocker: str) -> MigrationCheck:
    reason = (f"not rehearsed: {blocker}, pending before it, does not run on the copy, so the state this "
              f"migration starts from cannot be reached (diesel would stop there too); fix {blocker} first")
    reasons = tuple(_finding_reason(f) for f in findings if f.severity != "info") + (reason,)
    return MigrationCheck(migration.name, migration.version, "unsafe", reasons, tuple(findings))


@contextlib.contextmanager
def _states_folder(parent: Path | None) -> Iterator[Path]:
    """A folder for saved states of the copy: inside ``parent`` (already private), else a private
    scratch folder (0700, removed on SIGTERM too: the states are copies of production)."""
    if parent is not None:
        with tempfile.TemporaryDirectory(prefix="lightnb-states-", dir=parent) as folder:
            yield Path(folder)
    else:
        with scratch.folder("check-states") as folder:
            yield folder


def rehearse(conn: sqlite.Connection, migration: Migration, findings: Sequence[Finding] = (), *,
             redactor: Any = None) -> MigrationCheck:
    """Prove one migration on ``conn`` (a workspace copy): up, down (compare with before), up again.

    The copy is left as it was after up.
    """
    with _states_folder(None) as folder:
        saves = _States(Path(folder), conn)
        proof = _prove(conn, migration, findings, saves, redactor)
        if "up" in proof.steps:
            saves.restore_after_up()
        return proof


def _path_of(conn: sqlite.Connection) -> Path:
    return Path(sqlite.database_file(conn) or "")


def _prove(conn: sqlite.Connection, migration: Migration, findings: Sequence[Finding], saves: _States,
           redactor: Any) -> MigrationCheck:
    reasons: list[str] = []
    steps: list[str] = []
    schema_diffs: tuple[str, ...] = ()
    row_diffs: tuple[str, ...] = ()
    redo_diffs: tuple[str, ...] = ()
    order: tuple[str, ...] = ()
    impact: tuple[str, ...] = ()
    down_sql = migration.down_sql() if migration.down_path is not None else None
    # Where to look: the tables up.sql and down.sql can change (their triggers and foreign-key
    # children included); every other table keeps its rows whatever the migration does.
    touched = touched_tables(conn, [migration.up_sql(), down_sql or ""], always=_bookkeeping(conn))
    declared = declared_irreversible(down_sql)
    # Each state of the copy is read twice at once: here SQLite's checks, in a reader thread the save or
    # the comparison of the same committed state (see _Reader); the next step starts once both are done.
    baselines: list[dict[str, int]] = []
    # foreign keys are checked where a row may have come to violate one, as far as what the steps wrote tells
    keys = _Keys(conn)
    # up.sql's impact is measured on the whole state before it (a declared one-way migration only)
    before, before_path = saves.save_before(touched, whole=declared is not None,
                                            meanwhile=lambda: baselines.append(_fk_violations(conn, touched)))
    faithful = True  # the copy ends in a state after up
    if declared is None and marker_without_reason(down_sql):
        reasons.append(f"down.sql has the `-- {IRREVERSIBLE}` marker without a reason, so it declares nothing: "
                       f"write `-- {IRREVERSIBLE}: <why>`")
    here = _path_of(conn)
    # a borrowed state before up (nothing saved, so nothing counted beside it) has its violations counted in its
    # own file, by a reader, while up runs here
    with _Reader(lambda opened: _fk_violations_in(before_path, touched, opened)) if not baselines \
            else contextlib.nullcontext() as counting:
        stepped = _step(conn, migration, "up", reasons, steps, shown=saves.shown)
        keys.ran(migration.up_sql())
        if counting is not None:
            baselines.append(counting.result())
    baseline = baselines[0]
    if stepped:
        after_up = _snapshot(conn, "after up", since=before, touched=touched)
        suspects = keys.suspects()
        after_path = saves.save_after_up(after_up, migration, touched,
                                         meanwhile=lambda: _check_state(conn, "up", reasons, baseline, touched,
                                                                        suspects))
        if declared is not None:
            impact = _measured_impact(before_path, migration, redactor, in_place=not saves.borrowed)
        if down_sql is None:
            reasons.append("cannot prove the revert: down.sql is missing")
        elif declared is not None and sqlite.is_comment_only(down_sql):
            reasons.append(f"down.sql declares the migration irreversible ({declared}); not run")
        elif _step(conn, migration, "down", reasons, steps, shown=saves.shown) and keys.ran(down_sql):
            after_down = _snapshot(conn, "after down", since=before, touched=touched)
            destroyed = intentionally_destroyed(source_of(migration).up)
            with _Reader(lambda opened: compare_rows(before, after_down, destroyed, before_db=before_path,
                                                     after_db=here, touched=touched, opened=opened)) as comparing:
                _check_state(conn, "down", reasons, baseline, touched, None, later=True)
                row_diffs, expected = comparing.result()
            real, order_list = _schema_changes(before, after_down, before_path, here)
            schema_diffs, order = tuple(real), tuple(order_list)
            # up again runs on the state before up only when down.sql gave it back, to the letter
            restored = not (schema_diffs or row_diffs or order or expected)
            faithful = restored and sqlite.state_identity(conn) == saves.before_identity
            if not restored:  # the same rows and definitions as before up have its violations: no new one
                _foreign_keys(conn, "down", reasons, baseline, touched, keys.suspects())
            if schema_diffs:
                reasons.append("down.sql does not restore the schema: " + "; ".join(schema_diffs))
            if row_diffs:
                reasons.append("down.sql does not restore the rows: " + "; ".join(row_diffs))
                changed = [d.split(":", 1)[0] for d in row_diffs]
                if examples := _row_examples(before_path, here, changed, redactor):
                    reasons.append("rows that differ from before up (redacted): " + examples)
            if order and not schema_diffs:
                reasons.append("down.sql restores every column and value, but not the column order: "
                               + "; ".join(order))
            elif order:
                reasons.append("down.sql does not restore the column order either: " + "; ".join(order))
            reasons += [f"data destroyed on purpose (acknowledged): {d}" for d in expected]
            # the state before up is read no more: the impact the Run that follows shows is measured on it meanwhile
            with saves.measuring_ahead(migration) if faithful else contextlib.nullcontext():
                again_started = time.perf_counter()
                with keys.alone() as again_writes:
                    stepped_again = _step(conn, migration, "up", reasons, steps, label="up again", shown=saves.shown)
                if stepped_again and keys.ran(migration.up_sql()):
                    saves.again_seconds.append(time.perf_counter() - again_started)
                    if faithful:  # up again ran on the state before up, to the letter: what it kept of it
                        saves.note_kept_rows(again_writes, keys.before, migration)
                    again = _snapshot(conn, "after up again", since=before, touched=touched)
                    with _Reader(lambda opened: compare_rows(after_up, again, set(), before_db=after_path,
                                                             after_db=here, touched=touched, opened=opened)) \
                            as comparing:
                        _check_state(conn, "up again", reasons, baseline, touched, None, later=True)
                        redo_rows, _ = comparing.result()
                    redo_real, redo_order = _schema_changes(after_up, again, after_path, here)
                    redo_diffs = tuple(redo_real + redo_order + list(redo_rows))
                    if redo_diffs:  # the same rows and definitions as after up were checked after up
                        _foreign_keys(conn, "up again", reasons, baseline, touched, keys.suspects())
                    if redo_real or redo_order:
                        reasons.append("running up.sql again gives another schema: "
                                       + "; ".join(redo_real + redo_order))
                    if redo_rows:
                        reasons.append("running up.sql again gives other rows: " + "; ".join(redo_rows))
                else:
                    faithful = False
        else:
            faithful = False  # a down.sql outside a transaction may have stopped halfway
    saves.faithful = faithful
    saves.confirm_borrowed()  # every comparison with the state before up is done
    if declared is not None:
        findings = [_as_declared(f, declared) for f in findings]
    verdict = _verdict(findings, reasons, schema_diffs, row_diffs, redo_diffs, order, steps, declared,
                       down_sql is not None and not sqlite.is_comment_only(down_sql))
    reasons = [_finding_reason(f) for f in findings if f.severity != "info"] + reasons
    if impact:
        reasons.append("measured impact of up.sql on the copy: " + "; ".join(impact))
    return MigrationCheck(migration.name, migration.version, verdict, tuple(reasons), tuple(findings),
                          schema_diffs, row_diffs, redo_diffs, tuple(steps), order, declared, impact)


def _as_declared(finding: Finding, reason: str) -> Finding:
    """A missing undo that down.sql declares on purpose is information, not an error."""
    if finding.rule not in _UNDO_RULES or finding.severity == "info":
        return finding
    from dataclasses import replace
    return replace(finding, severity="info", message=f"{finding.message} (declared irreversible: {reason})")


def _measured_impact(before_path: Path, migration: Migration, redactor: Any, *, in_place: bool = True
                     ) -> tuple[str, ...]:
    """up.sql's impact measured on the saved state before it: in place, a state the proof saved; else on a copy."""
    from lightnb.inspect.impact import measure_impacts
    try:
        # as it ran: a migration outside a transaction with its own BEGIN/COMMIT
        (impacts,) = measure_impacts(before_path, [migration.up_sql()], redactor=redactor, in_place=in_place,
                                     outside=[not migration.run_in_transaction])
    except (LightnbError, sqlite.Error) as error:
        return (f"not measured ({error})",)
    return tuple(i.to_text().removesuffix(".") for i in impacts) or ("no rows or values changed",)


def _row_examples(before_path: Path, after_path: Path, tables: Sequence[str], redactor: Any) -> str:
    """Describe, with a few redacted rows, how the tables differ from before up."""
    from lightnb.inspect.row_diff import row_diff
    try:
        diff = row_diff(before_path, after_path, tables=list(tables), sample=2, redactor=redactor)
    except LightnbError:
        return ""
    parts = []
    for name in tables:
        table = diff.table(name)
        if table is not None and not table.is_unchanged:
            parts.append(" | ".join(line.strip() for line in table.to_text().splitlines()))
    return "; ".join(parts)


def _finding_reason(finding: Finding) -> str:
    return f"{finding.severity} {finding.rule} ({finding.file}:{finding.line}): {finding.message}"


def _verdict(findings: Sequence[Finding], reasons: list[str], schema_diffs: Sequence[str],
             row_diffs: Sequence[str], redo_diffs: Sequence[str], order: Sequence[str], steps: Sequence[str],
             declared: str | None, down_has_sql: bool) -> Verdict:
    broken = "up" not in steps or any(r.startswith(("integrity", "foreign key")) for r in reasons)
    errors = any(f.severity == "error" for f in findings)
    if declared is not None:
        # One-way on purpose: what the down does not undo is declared; anything else still counts.
        failed_step = down_has_sql and any(r.startswith("cannot run down") for r in reasons)
        if broken or errors or failed_step:
            return "unsafe"
        proven = "up again" in steps and not (schema_diffs or row_diffs or redo_diffs or order)
        return "safe" if proven and not any(f.severity == "warning" for f in findings) else \
            "needs attention" if proven else "irreversible"
    unproven = len(steps) < 3 or any(r.startswith("cannot") for r in reasons)
    if broken or unproven or errors or schema_diffs or row_diffs:
        return "unsafe"
    if redo_diffs or order or any(f.severity == "warning" for f in findings):
        return "needs attention"
    return "safe"


def _bookkeeping(conn: sqlite.Connection) -> list[str]:
    return [name for name in table_names(conn) if is_bookkeeping(name)]


def _snapshot(conn: sqlite.Connection, label: str, *, since: Snapshot | None = None,
              touched: Touched | None = None) -> Snapshot:
    """Schema and row counts; rows are compared exactly on the saved files, only where needed.

    :param since: a snapshot of the copy taken earlier in the proof, when only the migration's SQL
        ran on it since: the tables outside ``touched`` keep its counts (they kept their rows).
    :param touched: the tables the migration can change; without ``since``, only those are counted
        (the others, compared with nothing, read ``row_count == -1``).
    """
    if touched is None:
        return take_snapshot(conn, label=label, fingerprint=False)
    if since is None:
        return take_snapshot(conn, label=label, fingerprint=False, counted=lambda name: name in touched)
    known = {t.name.lower(): t for t in since.tables if t.name not in touched}
    return take_snapshot(conn, label=label, fingerprint=False, known=known)


def _step(conn: sqlite.Connection, migration: Migration, direction: Literal["up", "down"],
          reasons: list[str], steps: list[str], *, label: str | None = None,
          shown: progress.Task | None = None) -> bool:
    """Run one step of the proof on the copy (:func:`_check_state` then checks what it left)."""
    name = label or direction
    if shown is not None:
        shown.update(shown.done, label=f"{migration.name}: {name}")
    try:
        runner.apply(conn, migration, direction)
    except LightnbError as error:
        reasons.append(f"cannot run {name}: {mask_message(str(error))}")
        return False
    steps.append(name)
    if shown is not None:
        shown.advance()
    return True


def _check_state(conn: sqlite.Connection, name: str, reasons: list[str], baseline: Mapping[str, int],
                 touched: Touched | None, suspects: frozenset[str] | None, *, later: bool = False) -> None:
    """Check what the step ``name`` left: SQLite's integrity check of the tables it can change, and their
    foreign keys.

    Only reads the copy: the proof runs it while a reader thread saves or compares the same state.

    :param later: a step whose state the proof compares with one already checked (down with the
        state before up, up again with the state after up): its tables get SQLite's quick check
        (the pages, records, NOT NULL and CHECK constraints; not every index entry against its row,
        which only a corrupt file or ``writable_schema`` breaks, and that checks the whole file), and
        the caller checks foreign keys only when the comparison found a difference.
    """
    problems = _integrity_problems(conn, touched, quick=later)
    if problems:
        reasons.append(f"integrity check failed after {name}: {problems[0]}")
    if not later:
        _foreign_keys(conn, name, reasons, baseline, touched, suspects)


def _foreign_keys(conn: sqlite.Connection, name: str, reasons: list[str], baseline: Mapping[str, int],
                  touched: Touched | None, suspects: frozenset[str] | None) -> None:
    """Say how many more rows violate a foreign key than before up, in the tables where one may have come to
    (``suspects``, lower-case names: see :class:`_Keys`; None: every table the migration can change)."""
    tables = checked_tables(conn, touched)
    if suspects is not None:
        tables = [t for t in (tables if tables is not None else table_names(conn)) if t.lower() in suspects]
        if not tables:
            return  # no row can have come to violate a key: the others keep their violations
    violations = _fk_counts(conn, tables)
    there = violations.keys() | baseline.keys() if tables is None else {t.lower() for t in tables}
    new = sum(violations.get(t, 0) for t in there) - sum(baseline.get(t, 0) for t in there)
    if new > 0:
        reasons.append(f"foreign key check after {name}: {new} new violation(s)")


def _integrity_problems(conn: sqlite.Connection, touched: Touched | None, *, quick: bool = False) -> list[str]:
    """``PRAGMA integrity_check`` of the tables (and their indexes) the migration can have changed.

    The other tables' pages are those of the copy as it was, checked by no one before either: a
    whole-file pass would read the whole database three times per migration for nothing it changed.
    With ``quick``, ``quick_check`` of those tables (see :func:`_step`); the whole file is always
    checked in full.
    """
    tables = checked_tables(conn, touched)
    if tables is None:
        return [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall() if r[0] != "ok"]
    pragma = "quick_check" if quick else "integrity_check"
    problems: list[str] = []
    with sqlite.mapped(conn):
        for table in tables:
            problems += [r[0] for r in conn.execute(f"PRAGMA {pragma}({sqlite.quote(table)})").fetchall()
                         if r[0] != "ok"]
    return problems


def _fk_violations_in(path: Path, touched: Touched | None, opened: Callable[[sqlite.Connection], None]
                      ) -> dict[str, int]:
    """:func:`_fk_violations` of the database file ``path``, read by a connection of its own (a reader's)."""
    conn = sqlite.open_readonly(path)
    try:
        opened(conn)
        return _fk_violations(conn, touched)
    finally:
        conn.close()


def _fk_violations(conn: sqlite.Connection, touched: Touched | None = None) -> dict[str, int]:
    """Count the foreign-key violations of the tables the migration can change (of every table for None), per
    table (lower-case name).

    A row can only come to violate its key when its table or its parent changes, and the children
    of a touched table are touched (:mod:`lightnb.inspect.touched`).
    """
    return _fk_counts(conn, checked_tables(conn, touched))


def _fk_counts(conn: sqlite.Connection, tables: Sequence[str] | None) -> dict[str, int]:
    """The foreign-key violations of ``tables`` (every table for None), per table (lower-case name)."""
    rows = conn.execute("PRAGMA foreign_key_check").fetchall() if tables is None else \
        [row for table in tables for row in conn.execute(f"PRAGMA foreign_key_check({sqlite.quote(table)})")]
    counts: dict[str, int] = {}
    for row in rows:
        counts[str(row[0]).lower()] = counts.get(str(row[0]).lower(), 0) + 1
    return counts


class _Keys:
    """Where the proof of one migration checks foreign keys: the tables where a row may have come to violate one
    since the state before up, as far as what its steps may have written tells (SQLite's authorizer, recorded on
    the proof's connection: :mod:`lightnb.inspect.kept_keys`)."""

    def __init__(self, conn: sqlite.Connection) -> None:
        self.conn = conn
        self.writes = sqlite.watch_writes(conn)  # None on a connection that cannot hold the record: every table
        self.before = sqlite.read_catalog(conn)
        self.texts: list[str] = []

    def ran(self, sql: str | None) -> bool:
        """Add what a step ran (its SQL): it may have written what the authorizer saw; return True."""
        self.texts.append(sql or "")
        return True

    @contextlib.contextmanager
    def alone(self) -> Iterator[sqlite.Writes | None]:
        """Record what the block's statements may write apart as well (None: nothing is recorded on this
        connection); the proof's record gets it too."""
        if self.writes is None:
            yield None
            return
        apart = sqlite.Writes()
        self.conn.watched_writes = apart  # type: ignore[attr-defined]  # lightnb's connections hold attributes
        try:
            yield apart
        finally:
            self.conn.watched_writes = self.writes  # type: ignore[attr-defined]
            self.writes.seen.update(apart.seen)
            sqlite.guard.install(self.conn)  # (the guard the block left records into the proof's record again)

    def suspects(self) -> frozenset[str] | None:
        """The tables (lower-case names) where a row may have come to violate a key so far; None: any."""
        from lightnb.inspect.kept_keys import key_suspects
        return key_suspects(self.writes, [self.before, sqlite.read_catalog(self.conn)], self.texts)


def compare_schema(before: Snapshot, after: Snapshot) -> list[str]:
    """Return the schema differences between two snapshots, compared by structure.

    A table rebuilt to the same shape is equal; spellings SQLite treats alike are equal
    (:mod:`lightnb.inspect.definition`); a different column order is listed too.
    """
    real, order = _schema_changes(before, after)
    return real + order


def _schema_changes(before: Snapshot, after: Snapshot, before_db: Path | None = None,
                    after_db: Path | None = None) -> tuple[list[str], list[str]]:
    """Return (real differences, column-order differences), each one line, bookkeeping tables aside.

    With the database files, a column that is gone says how many values went with it.
    """
    real, order = [], []
    for change in schema_diff(before, after).changes:
        if change.action == "rebuilt" or is_bookkeeping(change.table):
            continue
        if change.kind == "column_order":
            order.append(change.to_text())
        else:
            real.append(_with_lost_values(change, before_db) if before_db is not None else change.to_text())
    return real, order


def _with_lost_values(change: SchemaChange, before_db: Path) -> str:
    """Add to a removed column how many non-null values it held (counted on the saved state)."""
    text = change.to_text()
    if change.kind != "column" or change.action != "removed":
        return text
    try:
        conn = sqlite.open_readonly(before_db)
        try:
            query = f"SELECT count({sqlite.quote(change.name)}) FROM {sqlite.quote(change.table)}"
            count = conn.execute(query).fetchone()[0]
        finally:
            conn.close()
    except (LightnbError, sqlite.Error):
        return text
    return text + (f" — its {count} non-null value(s) are gone" if count else " — it held no value")


def _normalized(sql: str) -> tuple[str, ...]:
    """Return the tokens of a statement with quoting and letter case ignored (identifiers, keywords)."""
    return tuple(t.text if t.token_type.name == "STRING" else t.text.lower() for t in tokens(sql))


def compare_rows(before: Snapshot, after: Snapshot, destroyed: set[str], *, before_db: Path | None = None,
                 after_db: Path | None = None, touched: Touched | None = None,
                 opened: Callable[[sqlite.Connection], None] | None = None
                 ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Return (unexpected, expected) row differences of tables present in both snapshots.

    Rows are compared by column name over the columns both sides have (order and added or removed
    columns are schema matters), as whole rows, key included. Without the database files only the
    snapshots' fingerprints are compared (then any column change shows as different content).
    Snapshots taken without fingerprints are compared on the files, exactly, in SQLite, for the
    tables whose row counts differ and those in ``touched`` (every table when it is None): the
    tables the SQL that ran between the two states can change (:mod:`lightnb.inspect.touched`).

    :param destroyed: lower-case names of tables whose data up.sql destroys on purpose.
    :param before_db: the database file in the ``before`` state; ``after_db`` the one in the ``after`` state.
    :param opened: called with each connection the comparison opens (see :class:`_Reader`); it only
        reads the files, through connections of its own, so it may run in another thread.
    """
    from lightnb.inspect.row_diff import changed_tables, row_diff

    suspects = []
    for old in before.tables:
        new = after.table(old.name)
        if new is None:
            continue
        if old.fingerprint is not None and new.fingerprint is not None or before_db is None or after_db is None:
            if (old.row_count, old.fingerprint) == (new.row_count, new.fingerprint):
                continue
        elif old.row_count == new.row_count and touched is not None and old.name not in touched:
            continue
        if is_bookkeeping(old.name) and old.row_count == new.row_count:
            continue  # run_on / applied_at record *when* a migration ran: they differ on every run
        suspects.append(old)
    counts: dict[str, str] = {}
    if suspects and before_db is not None and after_db is not None:
        plain = [t.name for t in suspects if not is_bookkeeping(t.name)]
        differing = set(changed_tables(before_db, after_db, plain, opened=opened)) if plain else set()
        # a table whose row count differs differs, even when a partial saved state does not hold it
        suspects = [t for t in suspects if is_bookkeeping(t.name) or t.name in differing
                    or t.row_count != _row_count(after, t.name)]
        try:
            diff = row_diff(before_db, after_db, tables=[t.name for t in suspects if t.name in differing], sample=0,
                            opened=opened)
        except LightnbError:
            diff = None
        for t in suspects:
            table = diff.table(t.name) if diff is not None else None
            if table is not None and table.status == "compared":
                columns = ", ".join(f"{c} {n}" for c, n in table.changed_columns.items() if n)
                counts[t.name] = (f"{table.added} row(s) added, {table.removed} removed, {table.changed} changed"
                                  + (f" ({columns})" if columns else ""))
    unexpected: list[str] = []
    expected: list[str] = []
    for old in suspects:
        new = after.table(old.name)
        assert new is not None
        what = (f"{old.name}: {old.row_count} row(s) before, {new.row_count} after"
                if old.row_count != new.row_count else f"{old.name}: same row count, different content")
        if old.name in counts:
            what += f" — {counts[old.name]}"
        (expected if old.name.lower() in destroyed else unexpected).append(what)
    return tuple(unexpected), tuple(expected)


def _row_count(snapshot: Snapshot, table: str) -> int | None:
    found = snapshot.table(table)
    return found.row_count if found is not None else None


def test_settings(project: Project) -> tuple[list[str], Path, float]:
    """Return (argv, working folder, timeout seconds) of the project's test command.

    ``[test]`` in lightnb.toml: ``command`` (default ``cargo test``), ``cwd`` (relative to the folder of
    diesel.toml; default that folder), ``timeout`` seconds.

    :raises ProjectError: when the settings have the wrong type.
    """
    test = project.settings.test
    return list(test.argv), project.resolve(test.cwd), test.timeout


test_settings.__test__ = False  # type: ignore[attr-defined]  # tells pytest it is not a test


def run_test_command(project: Project, database: Path | str, *, on_output: Callable[[str], None] | None = None
                     ) -> TestRun:
    """Run the project's test command with ``DATABASE_URL`` set to the rehearsed copy.

    Output is passed to ``on_output`` line by line as it arrives; the command is killed at the time limit.
    A ``cargo`` command with no Cargo.toml in the test folder or above it is not run (status
    ``not run``): there is no Rust crate to test, which is not a failing test.
    ``$DATABASE_URL`` (or ``${DATABASE_URL}``) in an argument becomes the copy's path, and a command
    starting with ``lightnb`` runs this lightnb (``python -m lightnb``), whatever the PATH.
    """
    argv, cwd, timeout = test_settings(project)
    command = shlex.join(argv)
    if Path(argv[0]).name == "cargo" and cwd.is_dir() and _cargo_manifest(cwd) is None:
        return TestRun(command, "not run", message=f"no Cargo.toml from {cwd} upward")
    argv = [a.replace("${DATABASE_URL}", str(database)).replace("$DATABASE_URL", str(database)) for a in argv]
    if argv[0] == "lightnb":
        argv = [sys.executable, "-m", "lightnb", *argv[1:]]
    if shutil.which(argv[0]) is None:
        return TestRun(command, "skipped", message=f"{argv[0]} not found on PATH: install it (or set [test] "
                       f"command in lightnb.toml); the other checks still ran")
    if not cwd.is_dir():
        return TestRun(command, "skipped", message=f"test folder {cwd} does not exist; set [test] cwd in lightnb.toml")
    env = dict(os.environ, DATABASE_URL=str(database))
    return _stream(argv, command, cwd, env, timeout, on_output)


run_test_command.__test__ = False  # type: ignore[attr-defined]  # tells pytest it is not a test


def _cargo_manifest(folder: Path) -> Path | None:
    """Return the Cargo.toml cargo would use from ``folder`` (itself or the nearest parent), or None."""
    for candidate in (folder.resolve(), *folder.resolve().parents):
        if (candidate / "Cargo.toml").is_file():
            return candidate / "Cargo.toml"
    return None


def _stream(argv: list[str], command: str, cwd: Path, env: dict[str, str], timeout: float,
            on_output: Callable[[str], None] | None) -> TestRun:
    started = time.monotonic()
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, text=True, errors="replace", start_new_session=True)
    lines: queue.Queue[str | None] = queue.Queue()
    reader = threading.Thread(target=_read_lines, args=(process, lines), daemon=True)
    reader.start()
    tail: list[str] = []
    deadline = started + timeout
    timed_out = False
    try:
        while True:
            try:
                line = lines.get(timeout=max(0.0, min(0.2, deadline - time.monotonic())))
            except queue.Empty:
                if time.monotonic() >= deadline:
                    timed_out = True
                    os.killpg(process.pid, signal.SIGKILL)
                    break
                continue
            if line is None:
                break
            tail = (tail + [line])[-OUTPUT_TAIL:]
            if on_output:
                on_output(line)
    except BaseException:  # Ctrl-C or SIGTERM: the tests (their own session) stop with us
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise
    code = process.wait()
    seconds = round(time.monotonic() - started, 3)
    if timed_out:
        return TestRun(command, "timeout", code, seconds, f"killed after {timeout:g} s; raise [test] timeout "
                       f"in lightnb.toml if the suite needs longer", tuple(tail))
    status: Literal["passed", "failed"] = "passed" if code == 0 else "failed"
    return TestRun(command, status, code, seconds, f"exit code {code}" if code else "", tuple(tail))


def _read_lines(process: subprocess.Popen[str], out: queue.Queue[str | None]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        out.put(line.rstrip("\n"))
    out.put(None)

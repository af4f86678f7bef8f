"""The test step: rehearse each pending migration on a fresh copy and give one verdict per migration.

For each pending migration, on a workspace copy (production is never written):
up → snapshot A → down → compare with the snapshot taken before up (schema identical, rows identical
by content fingerprint, except tables up.sql destroys on purpose) → up again → compare with A
(diesel's redo, proven). ``PRAGMA integrity_check`` and ``foreign_key_check`` run after each step,
every lint rule runs, and finally the project's own test command (``[test] command`` in
lightnb.toml, default ``cargo test``) runs against the rehearsed copy, its output streamed.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from lightnb import runner, scratch, signals
from lightnb.errors import LightnbError, ProjectError
from lightnb.inspect.schema_diff import schema_diff
from lightnb.inspect.snapshot import Snapshot, take_snapshot
from lightnb.lint.config import LintConfig, config_from_settings
from lightnb.lint.destructive import intentionally_destroyed
from lightnb.lint.engine import later_states, lint_migrations, lint_source
from lightnb.lint.finding import Finding
from lightnb.lint.source import source_of, tokens
from lightnb.migrations import Migration, discover
from lightnb.workspace import Workspace, backup

if TYPE_CHECKING:
    import pandas as pd

    from lightnb.project import Project

Verdict = Literal["safe", "needs attention", "unsafe"]
DEFAULT_TEST_COMMAND = "cargo test"
EXAMPLE_COPY_LIMIT = 256 * 1024 * 1024  # keep a before copy for exact examples up to this size
DEFAULT_TEST_TIMEOUT = 900.0
OUTPUT_TAIL = 40


@dataclass(frozen=True, slots=True)
class MigrationCheck:
    """The rehearsal of one migration.

    :param verdict: ``safe``, ``needs attention`` or ``unsafe``.
    :param reasons: why, one line each (empty when safe with nothing to note).
    :param schema_differences: after up → down, what differs from before up.
    :param row_differences: after up → down, tables whose rows differ from before up.
    :param redo_differences: after down → up again, what differs from the first up.
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


@dataclass(frozen=True, slots=True)
class TestRun:
    """The project's own tests: ``status`` is passed, failed, timeout or skipped."""

    __test__ = False  # not a pytest class

    command: str
    status: Literal["passed", "failed", "timeout", "skipped"]
    returncode: int | None = None
    seconds: float = 0.0
    message: str = ""
    output_tail: tuple[str, ...] = ()


FAIL_ON = ("attention", "unsafe")
"""What a check can fail on: a migration needing attention, or only an unsafe one."""


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The test step's verdict: one :class:`MigrationCheck` per rehearsed migration, and the tests."""

    database: str
    migrations: tuple[MigrationCheck, ...]
    project_findings: tuple[Finding, ...] = ()
    tests: TestRun | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def verdict(self) -> Verdict:
        """Return the worst verdict (tests failing or project errors make it unsafe)."""
        verdicts = [m.verdict for m in self.migrations]
        if self.tests is not None and self.tests.status in ("failed", "timeout"):
            verdicts.append("unsafe")
        if any(f.severity == "error" for f in self.project_findings):
            verdicts.append("unsafe")
        elif self.project_findings and any(f.severity == "warning" for f in self.project_findings):
            verdicts.append("needs attention")
        for worst in ("unsafe", "needs attention"):
            if worst in verdicts:
                return worst  # type: ignore[return-value]
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

        rows = [{"migration": m.migration, "verdict": m.verdict,
                 "errors": sum(f.severity == "error" for f in m.findings),
                 "warnings": sum(f.severity == "warning" for f in m.findings),
                 "reasons": "; ".join(m.reasons)} for m in self.migrations]
        return pd.DataFrame(rows, columns=["migration", "verdict", "errors", "warnings", "reasons"])

    def to_dict(self) -> dict[str, Any]:
        """Return the result as JSON-ready data."""
        data = asdict(self)
        data["verdict"] = self.verdict
        return data

    def to_text(self) -> str:
        """Return the verdicts, reasons and findings as text, one migration per block."""
        lines = [f"rehearsed on a copy of {self.database}"
                 + (" (no database given: pass --database-url, or make a workspace, to rehearse on real rows)"
                    if self.database == "(empty database)" else "")]
        if not self.migrations:
            lines.append("no migration to rehearse (nothing pending; use --applied N to prove applied ones)")
        for finding in self.project_findings:
            lines.append(_finding_line(finding))
        for check in self.migrations:
            lines.append(f"{check.migration}: {check.verdict.upper()}")
            lines += [f"  - {reason}" for reason in check.reasons]
            lines += ["  " + _finding_line(f) for f in check.findings]
        if self.tests is not None:
            lines.append(f"tests ({self.tests.command}): {self.tests.status}"
                         + (f" — {self.tests.message}" if self.tests.message else ""))
        lines += list(self.notes)
        lines.append(f"verdict: {self.verdict}")
        return "\n".join(lines)


def _finding_line(finding: Finding) -> str:
    text = f"{finding.severity}[{finding.rule}] {finding.location()}: {finding.message}"
    first_fix = finding.fix.splitlines()[0] if finding.fix else ""
    return text + (f" (fix: {first_fix})" if first_fix else "")


def check(project: Project, *, database: str | Path | None = None, versions: Sequence[str] | None = None,
          run_tests: bool = True, on_output: Callable[[str], None] | None = None,
          config: LintConfig | None = None, applied: int = 0) -> CheckResult:
    """Rehearse every pending migration on a fresh copy of ``database`` and return the verdict.

    With ``applied=N`` the latest N applied migrations are first reverted on the copy and then
    rehearsed like pending ones, and the final state must equal the copy as it was: the proof
    for migrations that already ran on the workspace.

    :param database: the database to copy (never written); default the project's DATABASE_URL,
        or an empty database when there is none.
    :param versions: rehearse only these pending versions (default: all pending).
    :param run_tests: also run the project's test command against the rehearsed copy.
    :param on_output: receives the test command's output, line by line, as it comes.
    :raises LightnbError: when the project or the database cannot be read.
    """
    config = config or config_from_settings(project.settings)
    migrations = discover(project.migrations_dir)
    production = _production(project, database)
    # A full, unredacted copy of production: in a private folder removed on SIGTERM too (scratch).
    with scratch.folder("check") as folder:
        workspace = Workspace.create(production, folder)
        conn = workspace.connect()
        try:
            with signals.interrupting(conn) as stop:  # Ctrl-C/SIGTERM stop a long statement at once
                try:
                    project_findings = [f for f in lint_migrations(migrations, versions=(), config=config,
                                                                   conn=conn, migrations_dir=project.migrations_dir)]
                    if applied > 0:
                        checks = _rehearse_applied(conn, migrations, applied, config)
                    else:
                        checks = rehearse_pending(conn, migrations, versions=versions, config=config)
                except sqlite3.Error as error:
                    stop.raise_if_interrupted(error)
                    raise
                stop.check()
        finally:
            conn.close()
        tests = None
        if run_tests:
            tests = run_test_command(project, workspace.path, on_output=on_output)
    return CheckResult(str(production) if production else "(empty database)", tuple(checks),
                       tuple(project_findings), tests)


def _production(project: Project, database: str | Path | None) -> Path | None:
    if database is not None:
        return project.with_database(str(database)).database_path()
    if project.database_url:
        path = project.database_path()
        return path if path.exists() else None
    return None


def _rehearse_applied(conn: sqlite3.Connection, migrations: Sequence[Migration], number: int,
                      config: LintConfig) -> list[MigrationCheck]:
    """Revert the latest ``number`` applied migrations on the copy, rehearse them, compare with the start."""
    start = take_snapshot(conn, label="as applied")
    try:
        reverted = runner.revert(conn, migrations, number=number)
    except LightnbError as error:
        version = runner.applied_versions(conn)[0] if runner.applied_versions(conn) else "?"
        return [MigrationCheck(version, version, "unsafe", (f"cannot revert it on the copy: {error}",),
                               steps=("up",))]
    versions = [m.version for m in reverted]
    checks = rehearse_pending(conn, migrations, versions=versions, config=config)
    end = take_snapshot(conn, label="re-applied")
    differences = compare_schema(start, end) + list(compare_rows(start, end, set())[0])
    if differences and checks:
        last = checks[-1]
        reason = "reverting then re-applying does not give back the database as it was: " + "; ".join(differences)
        checks[-1] = MigrationCheck(last.migration, last.version, "unsafe", last.reasons + (reason,),
                                    last.findings, last.schema_differences, last.row_differences,
                                    last.redo_differences + tuple(differences), last.steps)
    return checks


def rehearse_pending(conn: sqlite3.Connection, migrations: Sequence[Migration], *,
                     versions: Sequence[str] | None = None, config: LintConfig | None = None
                     ) -> list[MigrationCheck]:
    """Rehearse the pending migrations in order on ``conn`` (a workspace copy), leaving them applied."""
    config = config or LintConfig()
    pending = runner.pending(conn, migrations)
    wanted = set(versions) if versions else None
    history = [m.up_sql() for m in migrations if m not in pending]
    states = later_states(migrations) if pending else []
    checks: list[MigrationCheck] = []
    for migration in pending:
        if wanted is not None and migration.version not in wanted:
            break  # later migrations build on this one
        later = states[list(migrations).index(migration) + 1:]
        findings = lint_source(source_of(migration), history=history, config=config, conn=conn, later=later)
        check_result = rehearse(conn, migration, findings, redactor=config.redactor)
        checks.append(check_result)
        history.append(migration.up_sql())
        if "up" not in check_result.steps:
            break  # it did not apply: nothing after it can be rehearsed
    return checks


def rehearse(conn: sqlite3.Connection, migration: Migration, findings: Sequence[Finding] = (), *,
             redactor: Any = None) -> MigrationCheck:
    """Prove one migration: up, down (compare with before), up again (compare with the first up)."""
    reasons: list[str] = []
    steps: list[str] = []
    before = take_snapshot(conn, label="before up")
    baseline = _fk_violations(conn)
    with _copy_for_examples(conn) as before_copy:
        return _rehearse(conn, migration, findings, reasons, steps, before, baseline, before_copy, redactor)


@contextlib.contextmanager
def _copy_for_examples(conn: sqlite3.Connection) -> Iterator[Path | None]:
    """Keep a copy of the state before up (when small enough) to show exact rows a down.sql loses."""
    row = conn.execute("PRAGMA database_list").fetchone()
    path = Path(row[2]) if row and row[2] else None
    if path is None or not path.is_file() or path.stat().st_size > EXAMPLE_COPY_LIMIT:
        yield None
        return
    with scratch.folder("check-before") as folder:
        yield backup(conn, folder / "before.db")


def _row_examples(before_copy: Path, conn: sqlite3.Connection, tables: Sequence[str], redactor: Any) -> str:
    """Describe, with a few redacted rows, how the tables differ from before up."""
    from lightnb.inspect.row_diff import row_diff
    row = conn.execute("PRAGMA database_list").fetchone()
    diff = row_diff(before_copy, Path(row[2]), tables=list(tables), sample=2, redactor=redactor)
    parts = []
    for name in tables:
        table = diff.table(name)
        if table is not None and not table.is_unchanged:
            parts.append(" | ".join(line.strip() for line in table.to_text().splitlines()))
    return "; ".join(parts)


def _rehearse(conn: sqlite3.Connection, migration: Migration, findings: Sequence[Finding], reasons: list[str],
              steps: list[str], before: Snapshot, baseline: int, before_copy: Path | None,
              redactor: Any) -> MigrationCheck:
    schema_diffs: tuple[str, ...] = ()
    row_diffs: tuple[str, ...] = ()
    redo_diffs: tuple[str, ...] = ()
    if _step(conn, migration, "up", reasons, steps, baseline):
        after_up = take_snapshot(conn, label="after up")
        if migration.down_path is None:
            reasons.append("cannot prove the revert: down.sql is missing")
        elif _step(conn, migration, "down", reasons, steps, baseline):
            after_down = take_snapshot(conn, label="after down")
            destroyed = intentionally_destroyed(source_of(migration).up)
            schema_diffs = tuple(compare_schema(before, after_down))
            row_diffs, expected = compare_rows(before, after_down, destroyed)
            if schema_diffs:
                reasons.append("down.sql does not restore the schema: " + "; ".join(schema_diffs))
            if row_diffs:
                reasons.append("down.sql does not restore the rows: " + "; ".join(row_diffs))
                changed = [d.split(":", 1)[0] for d in row_diffs]
                if before_copy is not None and (examples := _row_examples(before_copy, conn, changed, redactor)):
                    reasons.append("rows that differ from before up (redacted): " + examples)
            reasons += [f"data destroyed on purpose (acknowledged): {d}" for d in expected]
            if _step(conn, migration, "up", reasons, steps, baseline, label="up again"):
                again = take_snapshot(conn, label="after up again")
                redo_schema = compare_schema(after_up, again)
                redo_rows, _ = compare_rows(after_up, again, set())
                redo_diffs = tuple(redo_schema + list(redo_rows))
                if redo_schema:
                    reasons.append("running up.sql again gives another schema: " + "; ".join(redo_schema))
                if redo_rows:
                    reasons.append("running up.sql again gives other rows: " + "; ".join(redo_rows))
    verdict = _verdict(findings, reasons, schema_diffs, row_diffs, redo_diffs, steps)
    reasons = [_finding_reason(f) for f in findings if f.severity != "info"] + reasons
    return MigrationCheck(migration.name, migration.version, verdict, tuple(reasons), tuple(findings),
                          schema_diffs, row_diffs, redo_diffs, tuple(steps))


def _finding_reason(finding: Finding) -> str:
    return f"{finding.severity} {finding.rule} ({finding.file}:{finding.line}): {finding.message}"


def _verdict(findings: Sequence[Finding], reasons: list[str], schema_diffs: Sequence[str],
             row_diffs: Sequence[str], redo_diffs: Sequence[str], steps: Sequence[str]) -> Verdict:
    failed = len(steps) < 3 or schema_diffs or row_diffs or any(r.startswith(("integrity", "foreign key", "cannot"))
                                                              for r in reasons)
    if failed or any(f.severity == "error" for f in findings):
        return "unsafe"
    if redo_diffs or any(f.severity == "warning" for f in findings):
        return "needs attention"
    return "safe"


def _step(conn: sqlite3.Connection, migration: Migration, direction: Literal["up", "down"],
          reasons: list[str], steps: list[str], baseline: int, *, label: str | None = None) -> bool:
    name = label or direction
    try:
        runner.apply(conn, migration, direction)
    except LightnbError as error:
        reasons.append(f"cannot run {name}: {error}")
        return False
    steps.append(name)
    integrity = conn.execute("PRAGMA integrity_check").fetchall()
    if [r[0] for r in integrity] != ["ok"]:
        reasons.append(f"integrity check failed after {name}: {integrity[0][0]}")
    violations = _fk_violations(conn)
    if violations > baseline:
        reasons.append(f"foreign key check after {name}: {violations - baseline} new violation(s)")
    return True


def _fk_violations(conn: sqlite3.Connection) -> int:
    return len(conn.execute("PRAGMA foreign_key_check").fetchall())


def compare_schema(before: Snapshot, after: Snapshot) -> list[str]:
    """Return the schema differences between two snapshots (a table rebuilt to the same shape is equal)."""
    diffs = [c.to_text() for c in schema_diff(before, after).changes if c.action != "rebuilt"]
    for old in before.tables:
        new = after.table(old.name)
        if new is not None and not diffs and _normalized(old.sql) != _normalized(new.sql):
            diffs.append(f"table {old.name}: definition differs ({_first_difference(old.sql, new.sql)})")
    return diffs


def _normalized(sql: str) -> tuple[str, ...]:
    """Return the tokens of a statement with quoting and letter case ignored (identifiers, keywords)."""
    return tuple(t.text if t.token_type.name == "STRING" else t.text.lower() for t in tokens(sql))


def _first_difference(old: str, new: str) -> str:
    a, b = _normalized(old), _normalized(new)
    at = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return f"before: …{' '.join(a[at:at + 6])}…, after: …{' '.join(b[at:at + 6])}…"


def compare_rows(before: Snapshot, after: Snapshot, destroyed: set[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Return (unexpected, expected) row differences of tables present in both snapshots.

    :param destroyed: lower-case names of tables whose data up.sql destroys on purpose.
    """
    unexpected, expected = [], []
    for old in before.tables:
        new = after.table(old.name)
        if new is None or (old.row_count, old.fingerprint) == (new.row_count, new.fingerprint):
            continue
        if runner.is_bookkeeping(old.name) and old.row_count == new.row_count:
            continue  # run_on / applied_at record *when* a migration ran: they differ on every run
        what = (f"{old.name}: {old.row_count} row(s) before, {new.row_count} after"
                if old.row_count != new.row_count else f"{old.name}: same row count, different content")
        (expected if old.name.lower() in destroyed else unexpected).append(what)
    return tuple(unexpected), tuple(expected)


def test_settings(project: Project) -> tuple[list[str], Path, float]:
    """Return (argv, working folder, timeout seconds) of the project's test command.

    ``[test]`` in lightnb.toml: ``command`` (default ``cargo test``), ``cwd`` (relative to the folder of
    diesel.toml; default that folder), ``timeout`` seconds.

    :raises ProjectError: when the settings have the wrong type.
    """
    table = dict(project.settings.get("test", {}) or {})
    command = table.get("command", DEFAULT_TEST_COMMAND)
    try:
        argv = shlex.split(command) if isinstance(command, str) else list(command)
    except (TypeError, ValueError) as error:  # not a string or a list, or an unclosed quote
        raise ProjectError(f'lightnb.toml: [test] command cannot be read ({error}); write a string such as '
                           f'command = "cargo test", or a list of arguments.') from error
    if not argv or not all(isinstance(a, str) for a in argv):
        raise ProjectError('lightnb.toml: [test] command must be a string, e.g. command = "cargo test".')
    timeout = table.get("timeout", DEFAULT_TEST_TIMEOUT)
    if not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ProjectError("lightnb.toml: [test] timeout must be a positive number of seconds.")
    return argv, project.resolve(table.get("cwd", ".")), float(timeout)


test_settings.__test__ = False  # type: ignore[attr-defined]


def run_test_command(project: Project, database: Path, *, on_output: Callable[[str], None] | None = None
                     ) -> TestRun:
    """Run the project's test command with ``DATABASE_URL`` set to the rehearsed copy.

    Output is passed to ``on_output`` line by line as it arrives; the command is killed at the time limit.
    ``$DATABASE_URL`` (or ``${DATABASE_URL}``) in an argument becomes the copy's path, and a command
    starting with ``lightnb`` runs this lightnb (``python -m lightnb``), whatever the PATH.
    """
    argv, cwd, timeout = test_settings(project)
    command = shlex.join(argv)
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


run_test_command.__test__ = False  # type: ignore[attr-defined]


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
    status = "passed" if code == 0 else "failed"
    return TestRun(command, status, code, seconds, f"exit code {code}" if code else "", tuple(tail))


def _read_lines(process: subprocess.Popen[str], out: queue.Queue[str | None]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        out.put(line.rstrip("\n"))
    out.put(None)

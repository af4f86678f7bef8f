"""The benchmark rows: each builds its data in a scratch folder and returns one :class:`Row`.

Every row names its peer: the tool (or the plain SQL) a team would use instead, run as a process
in the same rounds. lightnb is timed as users run it, the ``lightnb`` command as a whole process,
and, where a notebook panel calls it directly, as the library call too.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

from bench import REPO, Row, Sizes, data, lightnb_argv, python_env
from bench.measure import Contender, alternate, have
from lightnb.backends import sqlite

Case = Callable[[Path, Sizes], list[Row]]


def _cli(name: str, *args: str, **options) -> Contender:  # type: ignore[no-untyped-def]
    return Contender(name, argv=lightnb_argv(*args), env=python_env(), **options)


def _shell(name: str, script: str, **options) -> Contender:  # type: ignore[no-untyped-def]
    return Contender(name, argv=["bash", "-c", script], **options)


def _fresh(source: Path, target: Path, *, flushed: bool = False) -> Callable[[], None]:
    """A ``prepare`` step: put a fresh copy of ``source`` at ``target`` (untimed).

    :param flushed: also write the copy to the disk before the timed run, as a user's database is
        (otherwise the first flush of the measured run also writes the whole copy, and the row
        measures when the kernel happened to write it back).
    """
    def prepare() -> None:
        for suffix in ("-journal", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(source, target)
        if flushed:
            _flush(target)
    return prepare


def _flush(path: Path) -> None:
    """Write ``path`` and its folder's entry to the disk."""
    import os
    for name, flags in ((path, os.O_RDONLY), (path.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))):
        handle = os.open(name, flags)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


def _removed(*paths: Path) -> Callable[[], None]:
    def prepare() -> None:
        for path in paths:
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
    return prepare


# --------------------------------------------------------------------------- start-up


def startup(scratch: Path, sizes: Sizes) -> list[Row]:
    """Verbs that need no parser, as a process, against the interpreter starting and doing nothing: in the editable
    install ``make`` makes, and installed as a package (what ``pip install`` of a release makes)."""
    project_dir = data.project(scratch / "startup-project", {
        "2024-01-01-000000-0000_create_things": ("CREATE TABLE things (id INTEGER PRIMARY KEY);\n",
                                                  "DROP TABLE things;\n")})
    database = scratch / "startup.db"
    sqlite3.connect(database).close()
    verbs = (["--help"], ["migration", "list"], ["migration", "pending"])
    rows = []
    for verb in verbs:
        args = [*verb, "--database-url", str(database)] if verb[0] == "migration" else verb
        contenders = [_cli(f"lightnb {' '.join(verb)}", *args, cwd=project_dir),
                      Contender("python -c pass", argv=[sys.executable, "-c", "pass"])]
        cli, peer = alternate(contenders, sizes.rounds * 3)
        rows.append(Row(f"start-up: `lightnb {' '.join(verb)}`", peer, cli=cli, target="≤ 2×", limit=2.0,
                        notes="the same Python, doing nothing; both load the editable install's import hook "
                              "at start (`make` installs this checkout editable)"))
    try:
        python = _installed(scratch / "installed")
    except (OSError, RuntimeError) as error:
        return [*rows, Row("start-up, installed as a package", None, failed=str(error))]
    # the installed package only: not this checkout (python_env puts it first on the path)
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    for verb in verbs:
        args = [*verb, "--database-url", str(database)] if verb[0] == "migration" else verb
        contenders = [Contender(f"lightnb {' '.join(verb)}", argv=[str(python.with_name("lightnb")), *args],
                                env=env, cwd=project_dir),
                      Contender("python -c pass", argv=[str(python), "-c", "pass"], env=env)]
        cli, peer = alternate(contenders, sizes.rounds * 3)
        rows.append(Row(f"start-up, installed as a package: `lightnb {' '.join(verb)}`", peer, cli=cli,
                        target="≤ 2×", limit=2.0,
                        notes="the same Python in a virtual environment holding only lightnb, installed (not "
                              "editable), bytecode compiled"))
    # what any Python command that reads its command line, diesel.toml and a SQLite database starts with
    needed = "import argparse, pathlib, sqlite3, tomllib"
    floor, peer = alternate([Contender(f"python -c '{needed}'", argv=[str(python), "-c", needed], env=env),
                             Contender("python -c pass", argv=[str(python), "-c", "pass"], env=env)],
                            sizes.rounds * 3)
    rows.append(Row(f"start-up floor, installed as a package: `python -c '{needed}'`", peer, cli=floor,
                    notes="the standard library modules a listing needs (command line, diesel.toml, the database, "
                          "paths), imported by the same Python, nothing else: the floor of the two listing rows above"))
    return rows


def _installed(venv: Path) -> Path:
    """Install this checkout as a package (built, not editable; no dependencies: start-up imports none) into a new
    virtual environment ``venv``; return its Python."""
    import subprocess
    uv = Path(sys.executable).with_name("uv")
    if not uv.exists():
        raise RuntimeError("uv is not installed beside this Python (make installs it)")
    shutil.rmtree(venv, ignore_errors=True)
    for command in ([str(uv), "venv", "-q", "--python", sys.executable, str(venv)],
                    [str(uv), "pip", "install", "-q", "--python", str(venv / "bin" / "python"), "--no-deps",
                     "--compile-bytecode", str(REPO)]):
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise RuntimeError(f"{' '.join(command[:3])} failed: {last}")
    return venv / "bin" / "python"


# --------------------------------------------------------------------------- snapshot


def snapshot(scratch: Path, sizes: Sizes) -> list[Row]:
    """``lightnb snapshot`` of a production database vs ``cp`` of the same file."""
    from lightnb import steps
    from lightnb.project import Project
    production = data.blob_database(scratch / f"snapshot-production-{sizes.snapshot_mib}.db", sizes.snapshot_mib)
    project_dir = data.project(scratch / "snapshot-project", {})
    workspace = project_dir / ".lightnb"
    copy = scratch / "snapshot-cp.db"
    project = Project.discover(project_dir, environ={})
    cli, library, peer = alternate([
        _cli("lightnb snapshot", "snapshot", "--database-url", str(production), "--project", str(project_dir),
             prepare=_removed(workspace)),
        Contender("steps.snapshot", call=lambda: steps.snapshot(project, database_url=production),
                  prepare=_removed(workspace)),
        Contender("cp", argv=["cp", str(production), str(copy)], prepare=_removed(copy)),
    ], sizes.rounds)
    size = production.stat().st_size / (1 << 20)
    _removed(workspace, copy)()
    return [Row(f"snapshot of a {size:,.0f} MiB production", peer, cli=cli, library=library, target="≤ 1.2×",
                limit=1.2, notes="read-only source, one consistent point in time, atomic rename")]


LEAVE_WAL = """
import os, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA wal_autocheckpoint = 0")
# one row in every ``argv[2]`` changed: about 1,000 pages, 4 MiB, SQLite's default checkpoint size
conn.execute("UPDATE events SET kind = 'changed' WHERE id % ? = 0", (int(sys.argv[2]) if len(sys.argv) > 2 else 500,))
os._exit(0)  # an application that still has it open: -wal and -shm stay beside it
"""


def snapshot_wal(scratch: Path, sizes: Sizes) -> list[Row]:
    """``lightnb snapshot`` of a WAL production (a -wal and -shm beside it) vs ``cp`` of its file and -wal."""
    import subprocess
    production = scratch / "snapshot-wal-production.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{production}{suffix}").unlink(missing_ok=True)
    conn = sqlite3.connect(production, isolation_level=None)
    conn.execute("PRAGMA journal_mode = wal")
    conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, payload BLOB NOT NULL)")
    # as large as the other snapshot row's production (the sizes: 1 GiB for snapshot rows)
    events = sizes.snapshot_mib * 1024 * 1024 // 1100
    data.fill(conn, f"INSERT INTO events (kind, payload) {data.series(events)}"
                    f"SELECT 'kind-' || (i % 17), randomblob(1000) FROM n")
    conn.close()
    subprocess.run([sys.executable, "-c", LEAVE_WAL, str(production), str(max(1, events // 1000))], check=True)
    project_dir = data.project(scratch / "snapshot-wal-project", {})
    workspace = project_dir / ".lightnb"
    copy = scratch / "snapshot-wal-cp.db"
    cli, peer = alternate([
        _cli("lightnb snapshot", "snapshot", "--database-url", str(production), "--project", str(project_dir),
             prepare=_removed(workspace)),
        _shell("cp file and -wal", f"cp {production} {copy} && cp {production}-wal {copy}-wal",
               prepare=_removed(copy, Path(f"{copy}-wal"))),
    ], sizes.rounds)
    size = (production.stat().st_size + Path(f"{production}-wal").stat().st_size) / (1 << 20)
    _removed(workspace, copy, Path(f"{copy}-wal"), production, Path(f"{production}-wal"),
             Path(f"{production}-shm"))()
    return [Row(f"snapshot of a {size:,.0f} MiB WAL production with its -wal", peer, cli=cli, target="≤ 1.3×",
                limit=1.3, notes="never opened in place: file and -wal copied under SQLite's shared reader "
                                 "locks, the WAL folded into the copy")]


# --------------------------------------------------------------------------- row diff


def row_diff(scratch: Path, sizes: Sizes) -> list[Row]:
    """``lightnb diff`` vs ``sqldiff`` on two databases with 1% of the rows changed."""
    from lightnb.inspect.row_diff import row_diff as diff
    before, after = data.diff_pair(scratch, sizes.diff_rows)
    name = f"row diff, {sizes.diff_rows:,} rows, 1% changed"
    sqldiff = have("sqldiff")
    if sqldiff is None:
        return [Row(name, None, failed="sqldiff not installed (Debian: sqlite3-tools)")]
    project_dir = data.project(scratch / "diff-project", {})
    cli, library, peer = alternate([
        _cli("lightnb diff", "diff", str(before), str(after), "--project", str(project_dir)),
        Contender("row_diff()", call=lambda: diff(before, after)),
        Contender("sqldiff", argv=[sqldiff, str(before), str(after)]),
    ], sizes.rounds)
    return [Row(name, peer, cli=cli, library=library, target="≤ 1.0×, ≤ 256 MiB", limit=1.0,
                notes="keyed by primary key; sqldiff prints SQL, lightnb a summary with masked samples")]


# --------------------------------------------------------------------------- migration run


def migrations(scratch: Path, sizes: Sizes) -> list[Row]:
    """A 12-step table rebuild and a whole-table UPDATE via ``lightnb migration run`` vs the sqlite3 shell."""
    from lightnb import steps
    from lightnb.project import Project
    shell = have("sqlite3")
    seed = data.orders_database(scratch / f"orders-{sizes.migration_mib}.db", sizes.migration_mib)
    size = seed.stat().st_size / (1 << 20)
    rows = []
    for label, up in (("12-step table rebuild", data.REBUILD_UP), ("UPDATE of every row", data.UPDATE_UP)):
        name = f"{label} of a {size:,.0f} MiB table via `migration run`"
        if shell is None:
            rows.append(Row(name, None, failed="sqlite3 not installed"))
            continue
        version = "2024-06-01-000000-0000"
        project_dir = data.project(scratch / "migration-project", {f"{version}_change_orders": (up, "SELECT 1;\n")})
        project = Project.discover(project_dir, environ={})
        db = scratch / "migration.db"
        script = scratch / "migration-shell.sql"
        script.write_text(data.in_transactions(
            up + f"INSERT INTO __diesel_schema_migrations (version) VALUES ('{version.replace('-', '')}');\n"),
            encoding="utf-8")
        cli, library, peer = alternate([
            _cli("lightnb migration run", "migration", "run", "--database-url", str(db), "--project",
                 str(project_dir), prepare=_fresh(seed, db, flushed=True)),
            # B023: alternate() calls every contender within this iteration, while project and db are current.
            Contender("steps.run", call=lambda: steps.run(project, db, regenerate_schema=False),  # noqa: B023
                      prepare=_fresh(seed, db, flushed=True)),
            Contender("sqlite3 shell", argv=[shell, "-bail", str(db)], stdin=script,
                      prepare=_fresh(seed, db, flushed=True)),
        ], sizes.rounds)
        rows.append(Row(name, peer, cli=cli, library=library, target="≤ 1.10×", limit=1.10,
                        notes="one transaction, flushed as in real use (default synchronous)"))
    _removed(scratch / "migration.db")()
    return rows


def _data_migration_sql(mib: int) -> str:
    """A data migration: a table, then INSERTs (with ';' inside literals) up to ``mib`` MiB."""
    parts = ["CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, note TEXT, amount REAL);\n"]
    size, i = len(parts[0]), 0
    while size < mib * (1 << 20):
        i += 1
        line = (f"INSERT INTO events (kind, note, amount) VALUES ('kind-{i % 17}', 'note; number {i}', "
                f"{i * 0.25});\n")
        parts.append(line)
        size += len(line)
    return "".join(parts)


def data_migration(scratch: Path, sizes: Sizes) -> list[Row]:
    """An up.sql of N MiB of INSERTs through ``lightnb migration run`` vs the sqlite3 shell."""
    import time

    from lightnb.backends.sqlite import script as sqlscript
    shell = have("sqlite3")
    sql = _data_migration_sql(sizes.data_migration_mib)
    name = f"data migration, {sizes.data_migration_mib} MiB of INSERTs ({sql.count(chr(10)):,} statements)"
    if shell is None:
        return [Row(name, None, failed="sqlite3 not installed")]
    version = "2024-06-02-000000-0000"
    project_dir = data.project(scratch / "data-migration-project",
                               {f"{version}_load_events": (sql, "DROP TABLE events;\n")})
    db = scratch / "data-migration.db"
    script = scratch / "data-migration-shell.sql"
    script.write_text(data.in_transactions(sql + data.TRACKING_DDL + ";\n"
                                           f"INSERT INTO __diesel_schema_migrations (version) VALUES "
                                           f"('{version.replace('-', '')}');\n"), encoding="utf-8")
    cli, peer = alternate([
        _cli("lightnb migration run", "migration", "run", "--no-schema", "--database-url", str(db), "--project",
             str(project_dir), prepare=_removed(db)),
        Contender("sqlite3 shell", argv=[shell, "-bail", str(db)], stdin=script, prepare=_removed(db)),
    ], sizes.rounds)
    started = time.perf_counter()
    sqlscript.split(sql)
    split = time.perf_counter() - started
    _removed(db, script)()
    return [Row(name, peer, cli=cli, target="≤ 1.2×", limit=1.2,
                notes=f"the file runs in one call as sqlite3_exec does; splitting it (when a statement fails, "
                      f"or a panel follows statements) takes {split:.2f} s")]


# --------------------------------------------------------------------------- capture (inspect step)


def capture(scratch: Path, sizes: Sizes) -> list[Row]:
    """A run with before/after capture (what the Run panel does) vs copying the file and running the SQL.

    Two sizes: a strategy that changes above some size shows as the larger row going over.
    """
    from lightnb import steps
    from lightnb.project import Project
    shell = have("sqlite3")
    rows = []
    for mib in sizes.capture_mib:
        seed = data.orders_database(scratch / f"orders-{mib}.db", mib)
        size = seed.stat().st_size / (1 << 20)
        name = f"run + capture for the inspect step, {size:,.0f} MiB"
        if shell is None:
            rows.append(Row(name, None, failed="sqlite3 not installed"))
            continue
        version = "2024-06-01-000000-0000"
        up = "UPDATE orders SET total_cents = total_cents + 1 WHERE id % 100 = 0;\n"
        project_dir = data.project(scratch / "capture-project", {f"{version}_touch_orders": (up, "SELECT 1;\n")})
        project = Project.discover(project_dir, environ={})
        db, before = scratch / "capture.db", scratch / "capture-before.db"
        captures = scratch / "captures"
        script = scratch / "capture-shell.sql"
        script.write_text(data.in_transactions(up), encoding="utf-8")

        # B023: ours() and prepare() run inside alternate() below, within this iteration.
        def ours() -> None:
            result = steps.run(project, db, regenerate_schema=False,  # noqa: B023
                               capture=steps.Capture(folder=captures))  # noqa: B023
            steps.inspect(project, result)  # noqa: B023

        def prepare() -> None:
            _removed(captures, before)()  # noqa: B023
            _fresh(seed, db)()  # noqa: B023

        library, peer = alternate([
            Contender("steps.run + inspect", call=ours, prepare=prepare),
            _shell("cp + sqlite3 shell", f"cp {db} {before} && sqlite3 -bail {db} < {script}", prepare=prepare),
        ], sizes.rounds)
        rows.append(Row(name, peer, library=library, target="≤ 1.5×", limit=1.5,
                        notes="before copy + schema/row-count snapshots + change summary"))
    _removed(scratch / "capture.db", scratch / "capture-before.db", scratch / "captures")()
    return rows


# --------------------------------------------------------------------------- check and rehearse


def _proof_script(scratch: Path, production: Path) -> str:
    """The hand-written proof: copy production, then up, down, up, each in a transaction."""
    script = scratch / "proof.sql"
    script.write_text(data.in_transactions(data.SAMPLE_UP, data.SAMPLE_DOWN, data.SAMPLE_UP), encoding="utf-8")
    copy = scratch / "proof-copy.db"
    return f"cp {production} {copy} && sqlite3 -bail {copy} < {script} && rm -f {copy}"


def check(scratch: Path, sizes: Sizes) -> list[Row]:
    """``lightnb check`` (up → down → up on a copy, compared) vs the same SQL by hand on a copy."""
    project_dir, production = data.sample(scratch, sizes.sample_users)
    if have("sqlite3") is None:
        return [Row("check", None, failed="sqlite3 not installed")]
    cli, peer = alternate([
        _cli("lightnb check", "check", "--no-tests", "--fail-on", "unsafe", "--database-url", str(production),
             "--project", str(project_dir)),
        _shell("cp + up/down/up in sqlite3", _proof_script(scratch, production)),
    ], sizes.rounds)
    return [Row(f"`lightnb check`, sample with {sizes.sample_users:,} users", peer, cli=cli, target="≤ 3×",
                limit=3.0, notes="proof = schema and rows compared after up → down, integrity checked")]


def rehearse(scratch: Path, sizes: Sizes) -> list[Row]:
    """``lightnb rehearse`` (the rehearsal notebook, headless) vs copy + up/down/up by hand."""
    if have("sqlite3") is None:
        return [Row("rehearse", None, failed="sqlite3 not installed")]
    rows = []
    for users, big in ((sizes.sample_users, True), (sizes.small_users, False)):
        project_dir, production = data.sample(scratch, users)
        out = scratch / f"rehearse-out-{users}"
        cli, peer = alternate([
            _cli("lightnb rehearse", "rehearse", "--project", str(project_dir), "--database", str(production),
                 "--out", str(out), "--fail-on", "unsafe", prepare=_removed(out)),
            _shell("cp + up/down/up in sqlite3", _proof_script(scratch, production)),
        ], sizes.rounds)
        if big:
            rows.append(Row(f"`lightnb rehearse`, sample with {users:,} users", peer, cli=cli, target="≤ 2×",
                            limit=2.0, notes="executed notebook + HTML/Markdown report"))
        else:
            rows.append(Row(f"`lightnb rehearse`, sample with {users:,} users (fixed set-up)", peer, cli=cli,
                            target="≤ 1.5 s over the work", overhead_limit=1.5,
                            notes="the set-up (imports, kernel start) dominates at this size"))
    return rows


# --------------------------------------------------------------------------- replay and preview


def replay(scratch: Path, sizes: Sizes) -> list[Row]:
    """All ups then all downs of lightfriend's last commit, lightnb's runner vs plain Python sqlite3."""
    corpus = _lightfriend_last()
    name = "lightfriend replay (ups then downs)"
    if corpus is None:
        return [Row(name, None, failed="conformance corpus not found (set LIGHTNB_CONFORMANCE_DIR)")]
    from lightnb import migrations as migration_files
    from lightnb import runner
    from lightnb.backends.sqlite import script as sqlscript
    from lightnb.errors import MigrationError
    found = migration_files.discover(corpus / "migrations")
    db = scratch / "replay.db"
    reverted: dict[str, int] = {}

    def ours() -> None:
        conn = sqlite.connect(db)
        runner.run_pending(conn, found)
        count = 0
        while runner.applied_versions(conn):
            try:
                runner.revert(conn, found, number=1)
            except MigrationError:  # the history's own down.sql fails here: stop, as the peer does
                break
            count += 1
        reverted["lightnb"] = count
        conn.close()

    texts = [(m.version, [s.text for s in sqlscript.split(m.up_sql())],
              [s.text for s in sqlscript.split(m.down_sql())] if m.down_path else []) for m in found]

    def plain() -> None:
        conn = sqlite3.connect(db, isolation_level=None)
        conn.create_function("diesel_manage_updated_at", 1, lambda table: None)
        conn.execute(data.TRACKING_DDL.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS"))
        for version, ups, _ in texts:
            conn.execute("BEGIN")
            for text in ups:
                conn.execute(text)
            conn.execute("INSERT INTO __diesel_schema_migrations (version) VALUES (?)", (version,))
            conn.execute("COMMIT")
        count = 0
        for version, _, downs in reversed(texts):
            conn.execute("BEGIN")
            try:
                for text in downs:
                    conn.execute(text)
            except sqlite3.Error:
                conn.execute("ROLLBACK")
                break
            conn.execute("DELETE FROM __diesel_schema_migrations WHERE version = ?", (version,))
            conn.execute("COMMIT")
            count += 1
        reverted["plain"] = count
        conn.close()

    library, peer = alternate([Contender("runner (run_pending, revert)", call=ours, prepare=_removed(db)),
                               Contender("python sqlite3", call=plain, prepare=_removed(db))], sizes.rounds * 3)
    _removed(db)()
    same = "" if reverted["lightnb"] == reverted["plain"] else " — MISMATCH between the two runs"
    return [Row(f"lightfriend replay, {len(found)} ups then downs", peer, library=library, target="≤ 2×", limit=2.0,
                notes=f"{reverted['lightnb']} downs run before the history's own down.sql fails{same}; "
                      f"statements pre-split for the peer")]


def _lightfriend_last() -> Path | None:
    import os
    root = Path(os.environ.get("LIGHTNB_CONFORMANCE_DIR") or REPO.parent / "shared" / "conformance") / "lightfriend"
    commits = sorted(p for p in root.glob("[0-9]*") if (p / "migrations").is_dir()) if root.is_dir() else []
    return commits[-1] if commits else None


def preview(scratch: Path, sizes: Sizes) -> list[Row]:
    """Preview latency (head, tail and sample of 20 rows) on a large table vs a small one."""
    from lightnb.inspect.preview import preview as show
    connections = {}
    for rows in (sizes.preview_small, sizes.preview_large):
        path = scratch / f"preview-{rows}.db"
        if not path.exists():
            conn = sqlite3.connect(path, isolation_level=None)
            conn.execute("CREATE TABLE readings (id INTEGER PRIMARY KEY, sensor TEXT NOT NULL, value REAL)")
            data.fill(conn, f"INSERT INTO readings (sensor, value) {data.series(rows)}"
                            f"SELECT 'sensor-' || (i % 97), i * 0.5 FROM n")
            conn.close()
        connections[rows] = sqlite3.connect(path, isolation_level=None)
        show(connections[rows], "readings", n=20)  # warm the page cache: the ratio is about the query
    result = []
    for mode in ("head", "tail", "sample"):
        large, small = alternate([
            Contender(f"preview {mode}, {sizes.preview_large:,} rows",
                      call=lambda m=mode: show(connections[sizes.preview_large], "readings", mode=m, n=20)),
            Contender(f"same on {sizes.preview_small:,} rows",
                      call=lambda m=mode: show(connections[sizes.preview_small], "readings", mode=m, n=20)),
        ], sizes.rounds * 5)
        result.append(Row(f"preview ({mode}, 20 rows) of {sizes.preview_large:,} vs {sizes.preview_small:,} rows",
                          small, library=large, target="≤ 2×", limit=2.0, notes="bounded: no full scan"))
    for conn in connections.values():
        conn.close()
    return result


def _pg_rehearsal(scratch: Path, sizes: Sizes) -> list[Row]:
    from bench.pg_cases import pg_rehearsal
    return pg_rehearsal(scratch, sizes)


def _pg_review(scratch: Path, sizes: Sizes) -> list[Row]:
    from bench.pg_cases import pg_review
    return pg_review(scratch, sizes)


# --------------------------------------------------------------------------- PostgreSQL


def _postgres() -> tuple[object | None, str]:
    """Return PostgreSQL's programs, or None and why they cannot be used (the rows then say so)."""
    from lightnb.backends.postgres.binaries import PostgresNotInstalled, find_binaries
    try:
        return find_binaries(), ""
    except PostgresNotInstalled as error:
        return None, f"PostgreSQL not installed: {error}"


def _as_server_user(argv: list[str]) -> list[str]:
    """Run a server program as the cluster's system user when running as root (initdb and postgres refuse root)."""
    import os
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def _lightfriend_pg_last() -> Path | None:
    import os
    root = Path(os.environ.get("LIGHTNB_CONFORMANCE_DIR") or REPO.parent / "shared" / "conformance") / "lightfriend-pg"
    commits = sorted(p for p in root.glob("[0-9]*") if (p / "migrations").is_dir()) if root.is_dir() else []
    return commits[-1] if commits else None


def pg_startup(scratch: Path, sizes: Sizes) -> list[Row]:
    """Start-up of lightnb's private cluster vs ``pg_ctl start -w`` on the same (made) data folder."""
    name = "PostgreSQL private cluster start-up"
    binaries, why = _postgres()
    if binaries is None:
        return [Row(name, None, failed=why)]
    from lightnb.backends.postgres.cluster import start_cluster
    folder = scratch / "pg-startup"
    cluster = start_cluster(folder)  # initdb once, untimed
    made = cluster.startup_seconds if cluster.initialised else None
    data_dir, log = cluster.data_dir, cluster.log_file
    pg_ctl = binaries.program("pg_ctl")  # type: ignore[attr-defined]
    stop = _as_server_user([pg_ctl, "-D", str(data_dir), "-m", "fast", "-w", "-s", "stop"])

    def stopped() -> None:
        import subprocess
        if cluster.running:
            subprocess.run(stop, check=False, capture_output=True)

    try:
        library, peer = alternate([
            Contender("start_cluster()", call=lambda: start_cluster(folder), prepare=stopped),
            Contender("pg_ctl start -w", argv=_as_server_user([pg_ctl, "-D", str(data_dir), "-l", str(log), "-w",
                                                                "-s", "start"]), prepare=stopped),
        ], sizes.rounds * 3)
    finally:
        stopped()
        cluster.destroy()
    note = f"initdb + first start took {made:.2f} s (untimed)" if made is not None else "cluster reused"
    return [Row(name, peer, library=library, target="≤ 1.5×", limit=1.5,
                notes=f"same data folder, unix socket only, scratch settings; pg_ctl run as the postgres user; {note}")]


def pg_migration(scratch: Path, sizes: Sizes) -> list[Row]:
    """lightfriend's PostgreSQL history (last commit): lightnb's run_pending vs psql -1 per migration."""
    corpus = _lightfriend_pg_last()
    name = "lightfriend-pg migration run"
    binaries, why = _postgres()
    if binaries is None:
        return [Row(name, None, failed=why)]
    if corpus is None:
        return [Row(name, None, failed="conformance corpus lightfriend-pg not found (set LIGHTNB_CONFORMANCE_DIR)")]
    import shlex

    from lightnb.backends.postgres.cluster import start_cluster
    from lightnb.backends.postgres.connect import connect
    from lightnb.backends.postgres.migrate import run_pending
    from lightnb.migrations import discover
    from lightnb.runner import CREATE_TRACKING_TABLE
    found = discover(corpus / "migrations")
    program = binaries.program("psql")  # type: ignore[attr-defined]  # found by _postgres()
    psql = program if Path(program).exists() else (have("psql") or "psql")
    cluster = start_cluster(scratch / "pg-migration")
    try:
        url = cluster.url("replay")

        def fresh() -> None:
            cluster.drop_database("replay")
            cluster.create_database("replay")

        def ours() -> None:
            with connect(url) as conn:
                run_pending(conn, corpus / "migrations")

        lines = [f"{shlex.quote(psql)} -X -q -v ON_ERROR_STOP=1 -d {shlex.quote(url)} "
                 f"-c {shlex.quote(CREATE_TRACKING_TABLE)}"]
        for migration in found:
            record = f"INSERT INTO __diesel_schema_migrations (version) VALUES ('{migration.version}')"
            lines.append(f"{shlex.quote(psql)} -X -q -v ON_ERROR_STOP=1 -1 -d {shlex.quote(url)} "
                         f"-f {shlex.quote(str(migration.up_path))} -c {shlex.quote(record)}")
        project_dir = data.project(scratch / "pg-migration-project", {})
        cli, library, peer = alternate([
            _cli("lightnb migration run", "migration", "run", "--no-schema", "--database-url", url,
                 "--migration-dir", str(corpus / "migrations"), cwd=project_dir, prepare=fresh),
            Contender("run_pending()", call=ours, prepare=fresh),
            _shell("psql -1 -f per migration", " && ".join(lines), prepare=fresh),
        ], sizes.rounds * 3)
    finally:
        cluster.destroy()
    return [Row(f"{name}, {len(found)} migrations ({corpus.name[:3]})", peer, cli=cli, library=library,
                target="≤ 1.5×", limit=1.5,
                notes="one transaction per migration with its version row, on a fresh database each round; psql "
                      "starts once per migration, as a script running them would; the CLI adds lightnb's start-up")]


def pg_print_schema(scratch: Path, sizes: Sizes) -> list[Row]:
    """print-schema of lightfriend's PostgreSQL database vs ``pg_dump --schema-only``."""
    corpus = _lightfriend_pg_last()
    name = "PostgreSQL print-schema"
    binaries, why = _postgres()
    if binaries is None:
        return [Row(name, None, failed=why)]
    if corpus is None:
        return [Row(name, None, failed="conformance corpus lightfriend-pg not found (set LIGHTNB_CONFORMANCE_DIR)")]
    from lightnb.backends.postgres.cluster import start_cluster
    from lightnb.backends.postgres.connect import connect
    from lightnb.backends.postgres.migrate import run_pending
    from lightnb.schema.postgres import print_schema_postgres
    program = binaries.program("pg_dump")  # type: ignore[attr-defined]  # found by _postgres()
    pg_dump = program if Path(program).exists() else (have("pg_dump") or "pg_dump")
    cluster = start_cluster(scratch / "pg-print-schema")
    try:
        url = cluster.create_database("lightfriend")
        with connect(url) as conn:
            run_pending(conn, corpus / "migrations")
            tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0]
        project_dir = data.project(scratch / "pg-print-schema-project", {})
        cli, library, peer = alternate([
            _cli("lightnb print-schema", "print-schema", "--database-url", url, cwd=project_dir),
            Contender("print_schema_postgres()", call=lambda: print_schema_postgres(url)),
            Contender("pg_dump --schema-only", argv=[pg_dump, "--schema-only", "-d", url]),
        ], sizes.rounds * 3)
    finally:
        cluster.destroy()
    return [Row(f"{name}, {tables} tables ({corpus.name[:3]})", peer, cli=cli, library=library,
                target="≤ 2×", limit=2.0, notes="diesel's catalogue queries on a read-only connection; the CLI "
                                                 "adds the start-up of `lightnb` itself (see the start-up rows)")]


CASES: dict[str, Case] = {"startup": startup, "snapshot": snapshot, "snapshot_wal": snapshot_wal, "row_diff": row_diff,
                          "migration": migrations, "data_migration": data_migration, "capture": capture, "check": check,
                          "rehearse": rehearse, "replay": replay, "preview": preview, "pg_rehearsal": _pg_rehearsal,
                          "pg_review": _pg_review, "pg_startup": pg_startup, "pg_migration": pg_migration,
                          "pg_print_schema": pg_print_schema}

"""`lightnb rehearse` with a PostgreSQL production: notebook 02 runs headless on a pg_dump copy in a private cluster
made for the rehearsal; production is only read (a role that may only SELECT is enough, its contents the same after),
the report lands in OUTDIR and nothing else is written, and no server is left running."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import pytest

import lightnb.backends.postgres.rehearsal as pg_rehearsal
from lightnb import steps
from lightnb.backends.postgres.cluster import Cluster, start_cluster
from lightnb.backends.postgres.connect import connect
from lightnb.backends.postgres.sample import PRODUCTION_DATABASE
from lightnb.backends.postgres.sample import sample_workbook as postgres_sample
from lightnb.cli import main
from lightnb.project import Project
from lightnb.rehearse import NOTEBOOK, read_verdict
from lightnb.samples import EXERCISE
from tests.support.builder import ProjectBuilder
from tests.support.pg_notebooks import assert_server_stopped, require_postgres, text_outputs
from tests.support.pg_production import PASSWORD, add_reader, fingerprint, make_production
from tests.support.postgres import PgDatabase
from tests.support.processes import children

pytestmark = pytest.mark.timeout(300)
HTML, MARKDOWN = NOTEBOOK.replace(".ipynb", ".html"), NOTEBOOK.replace(".ipynb", ".md")
ADD_SCORE = ("2024-01-01-000000_add_score", "ALTER TABLE users ADD COLUMN score integer NOT NULL DEFAULT 0;\n",
             "ALTER TABLE users DROP COLUMN score;\n")


def _tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def production(pg_database: PgDatabase) -> PgDatabase:
    make_production(pg_database)
    # diesel's print-schema (run after every migration) refuses a table without a primary key
    pg_database.execute("ALTER TABLE audit ADD PRIMARY KEY (at)")
    return pg_database


@pytest.fixture
def clusters(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[Cluster]:
    """Record every private cluster a rehearsal makes; scratch folders go to a folder of this test."""
    made: list[Cluster] = []
    original = pg_rehearsal.start_cluster

    def recording(folder: Any, **options: Any) -> Cluster:
        cluster = original(folder, **options)
        made.append(cluster)
        return cluster

    monkeypatch.setattr(pg_rehearsal, "start_cluster", recording)
    monkeypatch.setenv("LIGHTNB_SCRATCH_DIR", str(tmp_path / "scratch"))
    return made


def _assert_gone(made: list[Cluster], tmp_path: Path) -> None:
    assert len(made) == 1
    assert not made[0].running and not made[0].data_dir.exists()  # the rehearsal's cluster is stopped and removed
    assert not [p for p in (tmp_path / "scratch").iterdir() if p.name.startswith("rehearse")]


def test_rehearse_copies_production_read_only_and_writes_the_report(
        production: PgDatabase, clusters: list[Cluster], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    reader = add_reader(production)
    root = ProjectBuilder(tmp_path / "app").migration(*ADD_SCORE).build()
    monkeypatch.setenv("DATABASE_URL", reader)  # as in a shell pointed at production: the kernel never gets it
    tree, before = _tree(root), fingerprint(production)
    out = tmp_path / "out"
    code = main(["rehearse", "--project", str(root), "--database-url", reader, "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert f"rehearsed: {ADD_SCORE[0]} (on a copy of database `{production.name}` on socket folder " in captured.out
    assert "verdict: safe" in captured.out and PASSWORD not in captured.out + captured.err
    assert sorted(p.name for p in out.iterdir()) == sorted([NOTEBOOK, HTML, MARKDOWN])
    assert read_verdict(out / NOTEBOOK) == "safe"
    texts = text_outputs(out / NOTEBOOK)
    assert f"Workbook on app: workspace copy of {production.name}; 0 migration(s) applied, 1 pending" in texts
    assert "<Run panel: applied 1 migration(s)>" in texts and "<Inspect panel: inspected users>" in texts
    markdown = (out / MARKDOWN).read_text(encoding="utf-8")
    assert "column added: users.score (integer NOT NULL DEFAULT 0)" in markdown
    assert "| users | 200 | 200 | column score added |" in markdown and "| score (new) |" in markdown
    shown = "\n".join(((out / NOTEBOOK).read_text(encoding="utf-8"), (out / HTML).read_text(encoding="utf-8"),
                       markdown))
    assert PASSWORD not in shown and "user1@example.com" not in shown and "[redacted]" in shown
    assert _tree(root) == tree  # schema.rs was regenerated in the project's copy, not here
    _assert_gone(clusters, tmp_path)
    time.sleep(0.6)  # statistics counters are flushed within half a second of a transaction's end
    assert fingerprint(production) == before


def test_a_failing_migration_writes_the_report_and_fails(
        production: PgDatabase, clusters: list[Cluster], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reader = add_reader(production)
    root = (ProjectBuilder(tmp_path / "app")
            .migration("2024-01-01-000000_broken", "ALTER TABLE users ADD COLUMN x text;\nUPDATE nowhere SET a = 1;\n",
                       "ALTER TABLE users DROP COLUMN x;\n")
            .build())
    before = fingerprint(production)
    out = tmp_path / "out"
    code = main(["rehearse", "--project", str(root), "--database-url", reader, "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 1 and "verdict: unsafe" in printed
    html = (out / HTML).read_text(encoding="utf-8")
    assert 'relation "nowhere" does not exist' in html and PASSWORD not in html
    _assert_gone(clusters, tmp_path)
    time.sleep(0.6)
    assert fingerprint(production) == before


def test_nothing_pending_on_postgres_writes_nothing(production: PgDatabase, clusters: list[Cluster], tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    production.execute("CREATE TABLE __diesel_schema_migrations (version varchar(50) PRIMARY KEY NOT NULL, "
                       "run_on timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP);\n"
                       "INSERT INTO __diesel_schema_migrations (version) VALUES ('20240101000000');")
    reader = add_reader(production)
    root = ProjectBuilder(tmp_path / "app").migration(*ADD_SCORE).build()
    out = tmp_path / "out"
    assert main(["rehearse", "--project", str(root), "--database-url", reader, "--out", str(out)]) == 3
    printed = capsys.readouterr().out
    assert printed.startswith(f"nothing to rehearse: every migration is already applied to database "
                              f"`{production.name}` on ") and PASSWORD not in printed
    assert not out.exists() and clusters == []  # nothing copied, nothing written


def test_a_production_server_that_is_down_is_one_line_and_nothing_is_written(
        clusters: list[Cluster], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require_postgres()
    root = ProjectBuilder(tmp_path / "app").migration(*ADD_SCORE).build()
    out = tmp_path / "out"
    code = main(["rehearse", "--project", str(root), "--database-url",
                 f"postgres://reader:{PASSWORD}@/app?host=/nonexistent", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "No PostgreSQL server is running" in err and PASSWORD not in err
    assert not out.exists() and clusters == []


def test_rehearse_takes_production_from_lightnb_toml_and_stops_the_project_cluster(
        clusters: list[Cluster], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The PostgreSQL sample: production lives in the project's own cluster, which is down; lightnb starts it to
    read production and stops it again."""
    require_postgres()
    made = postgres_sample(tmp_path / "sample", users=80, workspace=True)
    project = Project.discover(made.project_dir)
    created = steps.generate(project, EXERCISE.name).migration
    steps.save_sql(project, created.name, up=EXERCISE.up_sql, down=EXERCISE.down_sql)
    assert_server_stopped(made.cluster_dir)
    tree = _tree(made.project_dir)
    out = tmp_path / "out"
    code = main(["rehearse", "--project", str(made.project_dir), "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0 and "verdict: safe" in printed
    assert f"(on a copy of database `{PRODUCTION_DATABASE}` on socket folder " in printed
    assert "<Run panel: applied 1 migration(s)>" in text_outputs(out / NOTEBOOK)
    assert_server_stopped(made.cluster_dir)  # started to read production, stopped again
    _assert_gone(clusters, tmp_path)
    assert _tree(made.project_dir) == tree
    cluster = start_cluster(made.cluster_dir)
    try:
        with connect(cluster.url(PRODUCTION_DATABASE), read_only=True) as conn:
            columns = [r[0] for r in conn.execute("SELECT column_name FROM information_schema.columns "
                                                  "WHERE table_name = %s", (EXERCISE.table,))]
        assert EXERCISE.column not in columns
    finally:
        cluster.stop()


def test_the_copy_is_named_as_production_unless_the_cluster_uses_the_name() -> None:
    assert pg_rehearsal.copy_name("postgres://u@db.example/app") == "app"
    for reserved in ("postgres", "template1", pg_rehearsal.WORKSPACE):
        assert pg_rehearsal.copy_name(f"postgres://u@db.example/{reserved}") == "lightnb_production"
    assert pg_rehearsal.url_secrets(f"postgres://u:{PASSWORD}@db.example/app") == (PASSWORD,)
    assert pg_rehearsal.url_secrets("postgres://u@db.example/app") == ()


def _environ(pid: int) -> dict[str, str]:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    return dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item)


def _titles() -> list[str]:
    titles = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            titles.append(cmdline.read_bytes().decode(errors="replace"))
        except OSError:
            continue
    return titles


def test_a_rehearsal_stopped_by_sigterm_leaves_no_server_and_no_copy(
        production: PgDatabase, tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    from lightnb.backends.postgres import url as pgurl

    reader = add_reader(production)
    root = (ProjectBuilder(tmp_path / "app")
            .migration("2024-01-01-000000_slow", "ALTER TABLE users ADD COLUMN x int;\nSELECT pg_sleep(120);\n",
                       "ALTER TABLE users DROP COLUMN x;\n")
            .build())
    before = fingerprint(production)
    out, scratch = tmp_path / "out", tmp_path / "scratch"
    repo = Path(__file__).resolve().parents[2]
    child = subprocess.Popen([sys.executable, "-m", "lightnb", "rehearse", "--project", str(root), "--database-url",
                              reader, "--out", str(out)], cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=dict(os.environ, PYTHONPATH=str(repo), LIGHTNB_SCRATCH_DIR=str(scratch)))
    socket_dir: Path | None = None
    try:
        deadline = time.monotonic() + 120
        kernel = None
        while time.monotonic() < deadline:  # the kernel's check runs up.sql on a clone: pg_sleep shows in its title
            kernels = [p for p in children(child.pid)
                       if pg_rehearsal.WORKSPACE in _environ(p).get("DATABASE_URL", "")]
            if kernels:
                kernel = kernels[0]
                socket_dir = Path(pgurl.parse(_environ(kernel)["DATABASE_URL"])["host"])
                if any(f"lightnb_clone_{kernel}_" in t and "SELECT" in t for t in _titles()):
                    break
            time.sleep(0.2)
        assert kernel is not None and socket_dir is not None, "the notebook's kernel never started"
        child.send_signal(signal.SIGTERM)
        _out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 128 + signal.SIGTERM
    # lightnb's one line, alone: the kernel's complaint about a reply the stop cut short stays in its log
    assert len(err.strip().splitlines()) == 1, err
    assert "terminated (SIGTERM)" in err and PASSWORD not in err
    assert not (out / NOTEBOOK).exists() and not list(out.glob("*.html"))
    deadline = time.monotonic() + 15
    while (socket_dir / ".s.PGSQL.5432").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not (socket_dir / ".s.PGSQL.5432").exists()  # the rehearsal's cluster is stopped
    assert not socket_dir.parent.exists()  # and its files removed
    assert not [t for t in _titles() if f"lightnb_clone_{kernel}_" in t]  # the kernel's clones went with it
    assert not [p for p in scratch.iterdir() if not p.name.startswith(".")]  # no copy left behind
    time.sleep(0.6)
    assert fingerprint(production) == before

"""Hostile migration SQL through every path that executes it: nothing outside lightnb's own copies is written.

The same family of hostile migrations — ATTACH production then write to it (by absolute path, by a
URI filename, by a path relative to the working folder, by a computed name), ATTACH of a new
arbitrary file, VACUUM INTO a file elsewhere or into the project — each in a migration that runs
in diesel's transaction and in one with ``run_in_transaction = false``, goes through every path:
``migration run``, ``revert`` and ``redo`` (CLI and steps), ``lint`` (its in-memory replay and its
rehearsal copy), ``check`` (its rehearsal on a copy of production) and impact measurement.

Each test proves that production's bytes and its folder (no -wal, -shm or -journal appears), the
whole project tree (workspace included), a folder elsewhere and lightnb's scratch root are as they
were, and that the refusal is said in one line naming the migration, the file and the line.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from reliability_support import REPO, make_project, tree_mark, write_migration

from lightnb import steps
from lightnb.cli import main
from lightnb.errors import SqlError
from lightnb.inspect.impact import measure_impact, measure_impacts
from lightnb.project import Project
from lightnb.workspace import Workspace

HOSTILE = "2024-03-01-000000-0000_hostile"
FOLLOW_UP = "2024-03-02-000000-0000_follow_up"
NOTICE = "lightnb: working on workspace"
NOT_IN_TRANSACTION = "run_in_transaction = false\n"


@dataclass(frozen=True)
class Attack:
    """One hostile script. ``{prod}`` is production's absolute path, ``{elsewhere}`` a folder outside
    the project; ``line`` is the line of the statement that must be refused."""

    id: str
    sql: str
    line: int = 2

    def text(self, prod: Path, elsewhere: Path) -> str:
        return "-- hostile\n" + self.sql.format(prod=prod, elsewhere=elsewhere, prod_dir=prod.parent,
                                                 uri_prod=str(prod).replace(" ", "%20"))


ATTACKS = [
    Attack("attach_production_then_insert",
           "ATTACH DATABASE '{prod}' AS prod;\nINSERT INTO prod.accounts (owner, balance) VALUES ('mallory', 1);\n"),
    Attack("attach_production_by_uri",
           "ATTACH DATABASE 'file:{uri_prod}?mode=rw' AS prod;\nDELETE FROM prod.accounts;\n"),
    Attack("attach_production_by_localhost_uri",
           "ATTACH 'file://localhost{uri_prod}' AS prod;\nUPDATE prod.accounts SET balance = 0;\n"),
    Attack("attach_production_relative_to_the_working_folder",
           "ATTACH 'production.db' AS prod;\nDROP TABLE prod.posts;\n"),
    Attack("attach_production_by_a_computed_name",
           "ATTACH DATABASE '{prod_dir}/' || 'production.db' AS prod;\nDELETE FROM prod.posts;\n"),
    Attack("attach_a_new_file_elsewhere",
           "ATTACH DATABASE '{elsewhere}/new.db' AS x;\nCREATE TABLE x.loot AS SELECT * FROM accounts;\n"),
    Attack("vacuum_into_a_file_elsewhere", "VACUUM INTO '{elsewhere}/dump.db';\n"),
    Attack("vacuum_into_the_project", "VACUUM INTO 'leak.db';\n"),
    Attack("vacuum_schema_into_production_folder", "VACUUM main INTO '{prod_dir}/copy-of-production.db';\n"),
    Attack("temp_store_directory_elsewhere", "PRAGMA temp_store_directory = '{elsewhere}';\n"),
]
MODES = {"transactional": None, "no_transaction": NOT_IN_TRANSACTION}
FAMILY = [pytest.param(attack, metadata, id=f"{attack.id}-{mode}")
          for attack in ATTACKS for mode, metadata in MODES.items()]


@dataclass
class Scene:
    root: Path
    production: Path
    elsewhere: Path
    scratch: Path

    def marks(self) -> tuple:
        return tree_mark(self.root), tree_mark(self.elsewhere), sorted(os.listdir(self.scratch))

    def project(self) -> Project:
        return Project.discover(self.root)


@pytest.fixture
def scene(tmp_path: Path, monkeypatch) -> Scene:
    """A project (production with two migrations applied, and a workspace) as the working folder."""
    for name in ("DATABASE_URL", "MIGRATION_DIRECTORY", "DIESEL_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    root, production = make_project(tmp_path / "app")
    Workspace.create(production, root / ".lightnb")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    scratch_root = tmp_path / "scratch"
    monkeypatch.setenv("LIGHTNB_SCRATCH_DIR", str(scratch_root))
    scratch_root.mkdir(mode=0o700)
    monkeypatch.chdir(root)
    return Scene(root, production, elsewhere, scratch_root)


def _pending(scene: Scene, attack: Attack, metadata: str | None) -> None:
    write_migration(scene.root / "migrations", HOSTILE, attack.text(scene.production, scene.elsewhere),
                    "SELECT 1;\n", metadata)


def _applied_with_hostile_down(scene: Scene, attack: Attack, metadata: str | None) -> None:
    """A migration applied to the workspace whose down.sql is the attack (written after it ran)."""
    folder = write_migration(scene.root / "migrations", HOSTILE, "CREATE TABLE tags (id INTEGER);\n",
                             "SELECT 1;\n", metadata)
    steps.run(scene.project(), scene.root / ".lightnb" / "workspace.db", regenerate_schema=False)
    (folder / "down.sql").write_text(attack.text(scene.production, scene.elsewhere), encoding="utf-8")


def _one_refusal_line(err: str, attack: Attack, file: str) -> str:
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith(NOTICE)]
    assert len(lines) == 1, err
    line = lines[0]
    assert "Traceback" not in err
    assert HOSTILE in line and f"{file} line {attack.line}" in line, line
    assert "refused" in line or "within a transaction" in line, line
    return line


@pytest.mark.parametrize("attack, metadata", FAMILY)
@pytest.mark.parametrize("verb", ["run", "revert", "redo"])
def test_migration_verbs_refuse_the_attack_and_write_nothing(scene, attack, metadata, verb, capsys):
    (_pending if verb == "run" else _applied_with_hostile_down)(scene, attack, metadata)
    before = scene.marks()
    capsys.readouterr()

    code = main(["migration", verb, "--no-schema"])

    _, err = capsys.readouterr()
    assert code == 1
    line = _one_refusal_line(err, attack, "up.sql" if verb == "run" else "down.sql")
    if metadata or "ATTACH" in attack.sql or "PRAGMA" in attack.sql:
        assert "refused" in line  # the guard, not SQLite's transaction rules, stopped it
    assert "nothing of this migration" in line
    assert scene.marks() == before


@pytest.mark.parametrize("attack, metadata", FAMILY)
def test_steps_run_refuses_the_attack_on_an_explicit_database(scene, attack, metadata, tmp_path):
    _pending(scene, attack, metadata)
    rehearsal = tmp_path / "rehearsal.db"
    Workspace.open(scene.root / ".lightnb").copy_to(rehearsal)
    before = scene.marks()

    with pytest.raises(SqlError) as caught:
        steps.run(scene.project(), rehearsal, regenerate_schema=False)

    assert "\n" not in str(caught.value) and caught.value.line == attack.line
    assert caught.value.version == HOSTILE.split("_")[0].replace("-", "")
    assert scene.marks() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["app", "elsewhere", "scratch", "rehearsal.db"])


@pytest.mark.parametrize("attack, metadata", FAMILY)
def test_lint_replays_and_rehearses_without_escaping(scene, attack, metadata, capsys):
    _pending(scene, attack, metadata)
    # A later destructive migration makes lint measure it on a copy with the hostile one applied first.
    write_migration(scene.root / "migrations", FOLLOW_UP, "DELETE FROM posts WHERE id = 2;\n", "SELECT 1;\n")
    before = scene.marks()
    capsys.readouterr()

    code = main(["lint"])

    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in out + err
    assert scene.marks() == before
    if metadata or "ATTACH" in attack.sql or "PRAGMA" in attack.sql:
        escapes = [line for line in out.splitlines() if "sql-escape" in line]
        assert len(escapes) == 1, out
        assert f"up.sql:{attack.line}" in escapes[0] and "refused" in escapes[0], escapes[0]


@pytest.mark.parametrize("attack, metadata", FAMILY)
def test_check_rehearses_on_a_copy_without_escaping(scene, attack, metadata, capsys):
    _pending(scene, attack, metadata)
    before = scene.marks()
    capsys.readouterr()

    code = main(["check", "--no-tests", "--database-url", str(scene.production)])

    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in out + err
    assert f"{HOSTILE}: UNSAFE" in out
    reason = next(line for line in out.splitlines() if "cannot run up" in line)
    assert f"up.sql line {attack.line}" in reason
    if metadata or "ATTACH" in attack.sql or "PRAGMA" in attack.sql:
        assert "refused" in reason, reason
    assert scene.marks() == before


@pytest.mark.parametrize("attack, metadata", FAMILY[::2], ids=[a.id for a in ATTACKS])
def test_impact_measurement_refuses_the_attack(scene, attack, metadata):
    before = scene.marks()

    impacts = measure_impact(scene.production, attack.text(scene.production, scene.elsewhere))

    errors = [i for i in impacts if i.kind == "error"]
    assert len(errors) == 1 and errors[0].line == attack.line
    message = errors[0].message  # impact runs inside a savepoint, where SQLite itself refuses VACUUM
    assert ("is refused" in message or "cannot VACUUM from within a transaction" in message) and "\n" not in message
    assert scene.marks() == before


def test_impact_on_a_connection_refuses_the_attack(scene, tmp_path):
    copy = Workspace.open(scene.root / ".lightnb").copy_to(tmp_path / "copy.db")
    conn = sqlite3.connect(copy, isolation_level=None)
    before = scene.marks()
    try:
        impacts = measure_impact(conn, ATTACKS[0].text(scene.production, scene.elsewhere))
    finally:
        conn.close()
    assert [i.kind for i in impacts] == ["error"] and "ATTACH" in impacts[0].message
    assert scene.marks() == before


def test_a_lightnb_process_refuses_the_attack_in_one_line(scene):
    """The same through a real process: exit 1, one line, no traceback, nothing written."""
    _pending(scene, ATTACKS[0], NOT_IN_TRANSACTION)
    before = scene.marks()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MIGRATION_DIRECTORY")}
    env["PYTHONPATH"] = str(REPO)
    result = subprocess.run([sys.executable, "-m", "lightnb", "migration", "run"], capture_output=True,
                            text=True, cwd=scene.root, env=env, timeout=120)
    assert result.returncode == 1
    _one_refusal_line(result.stderr, ATTACKS[0], "up.sql")
    assert scene.marks() == before


def test_attaching_memory_and_the_database_itself_still_works(scene):
    """The guard refuses escapes, not harmless SQL: in-memory databases and plain VACUUM still run."""
    write_migration(scene.root / "migrations", HOSTILE,
                    "ATTACH DATABASE ':memory:' AS mem;\nCREATE TABLE mem.t (x);\nINSERT INTO mem.t VALUES (1);\n"
                    "INSERT INTO accounts (owner, balance) SELECT 'from-memory', x FROM mem.t;\n"
                    "DETACH DATABASE mem;\nATTACH '' AS tmp;\nDETACH tmp;\nVACUUM;\n",
                    "DELETE FROM accounts WHERE owner = 'from-memory';\n", NOT_IN_TRANSACTION)
    workspace = scene.root / ".lightnb" / "workspace.db"
    steps.run(scene.project(), workspace, regenerate_schema=False)
    conn = sqlite3.connect(workspace)
    assert conn.execute("SELECT balance FROM accounts WHERE owner = 'from-memory'").fetchone() == (1,)
    conn.close()


@pytest.mark.timeout(300)
@pytest.mark.parametrize("attack", [ATTACKS[0], ATTACKS[6]], ids=lambda a: a.id)
def test_rehearse_runs_the_notebook_without_escaping(tmp_path, monkeypatch, attack, capsys):
    """``lightnb rehearse`` (notebook 02, headless) goes through the same guard, in its own kernel."""
    from lightnb import samples
    made = samples.sample_workbook(tmp_path / "sample", users=40, workspace=False)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.setenv("LIGHTNB_SCRATCH_DIR", str(tmp_path / "scratch"))
    write_migration(made.project_dir / "migrations", HOSTILE,
                    attack.text(made.production_db, elsewhere).replace("accounts", "users")
                    .replace("(owner, balance) VALUES ('mallory', 1)", "(email) VALUES ('mallory')"),
                    "SELECT 1;\n", NOT_IN_TRANSACTION)
    before = tree_mark(made.project_dir), tree_mark(made.production_db.parent), tree_mark(elsewhere)
    out = tmp_path / "out"

    code = main(["rehearse", "--project", str(made.project_dir), "--database", str(made.production_db),
                 "--out", str(out)])

    printed = capsys.readouterr()
    assert code == 1 and "verdict: unsafe" in printed.out
    html = (out / "02_rehearse_on_production_copy.html").read_text(encoding="utf-8")
    assert "is refused" in html
    assert (tree_mark(made.project_dir), tree_mark(made.production_db.parent), tree_mark(elsewhere)) == before
    assert list((tmp_path / "scratch").iterdir()) == []


@pytest.mark.parametrize("own_transaction", [True, False], ids=["begin-commit", "autocommit"])
@pytest.mark.parametrize("attack", ATTACKS, ids=[a.id for a in ATTACKS])
def test_impact_measured_as_a_migration_outside_a_transaction_runs_refuses_the_attack(scene, attack,
                                                                                    own_transaction):
    """A migration outside a transaction is measured as it runs (its own BEGIN/COMMIT allowed): the same guard."""
    before = scene.marks()
    script = attack.text(scene.production, scene.elsewhere)
    if own_transaction:
        script = "BEGIN;\n" + script + "COMMIT;\n"

    (impacts,) = measure_impacts(scene.production, [script], outside=[True])

    errors = [i for i in impacts if i.kind == "error"]
    assert len(errors) == 1 and errors[0].line == attack.line + own_transaction, [i.message for i in impacts]
    message = errors[0].message  # inside its own BEGIN, SQLite itself refuses VACUUM
    assert ("is refused" in message or (own_transaction and "cannot VACUUM from within a transaction" in message)) \
        and "\n" not in message
    assert scene.marks() == before


def test_lint_measuring_a_migration_outside_a_transaction_refuses_the_attack(scene, capsys):
    _pending(scene, ATTACKS[0], NOT_IN_TRANSACTION)
    before = scene.marks()
    main(["lint", "--project", str(scene.root), "--database-url", str(scene.production)])
    capsys.readouterr()
    assert scene.marks() == before

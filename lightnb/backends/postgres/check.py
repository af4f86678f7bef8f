"""``lightnb check`` for a PostgreSQL project: the verdict.

On a base made by :func:`~lightnb.backends.postgres.rehearsal_base.rehearsal_base` (a copy of production,
the local base, or an empty database), :func:`~lightnb.backends.postgres.proof.prove_pending` proves
every pending migration on clones, each shown with its lint findings (the PostgreSQL rules, the
file-based rules, the team's rules read from the catalogue before and after its up),
and the project's test command runs with ``DATABASE_URL`` pointing at a clone in the final state.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lightnb.backends.postgres.clone import Clone
from lightnb.backends.postgres.cluster import Cluster
from lightnb.backends.postgres.connect import connect
from lightnb.backends.postgres.project_cluster import cluster_folder as project_cluster_folder
from lightnb.backends.postgres.proof import Proof, prove_applied, prove_pending
from lightnb.backends.postgres.rehearsal_base import rehearsal_base
from lightnb.checks import CheckResult, TestRun, run_test_command
from lightnb.lint.finding import Finding
from lightnb.migrations import Migration, discover
from lightnb.project import Project


def check(project: Project, *, source_url: str | None = None, workspace: Path | None = None,
          run_tests: bool = True, on_output: Callable[[str], None] | None = None,
          migrations: list[Migration] | None = None, applied: int = 0) -> CheckResult:
    """Prove every pending migration of the project on PostgreSQL clones and return the verdict.

    :param source_url: a PostgreSQL database to copy (only read) as the rehearsal's base.
    :param workspace: the project's workspace folder (its local base, when there is one).
    :param applied: also prove the latest N migrations applied on the base: reverted on a clone, then
        proven like pending ones, and the end state compared with the base (``check --applied N``).
    """
    from lightnb.backends.postgres.lintproject import migration_findings, project_findings, team_judge
    from lightnb.lint.config import config_from_settings
    migrations = migrations if migrations is not None else discover(project.migrations_dir)
    config = config_from_settings(project.settings)
    tests: list[TestRun] = []

    def lint(migration: Migration) -> list[Finding]:
        return migration_findings(migration, config)

    def run_project_tests(final: Clone) -> None:
        if run_tests:
            tests.append(run_test_command(project, final.url, on_output=on_output))

    judge = team_judge(config)
    with rehearsal_base(source_url, workspace, own_cluster=project_cluster_folder(project)) as \
            (cluster, base, described):
        found = project_findings(project.migrations_dir, migrations, _recorded(cluster, base), config)
        if applied > 0:
            proofs: list[Proof] = prove_applied(cluster, base, migrations, applied, lint=lint,
                                                at_end=run_project_tests, judge=judge)
        else:
            proofs = prove_pending(cluster, base, migrations, lint=lint, at_end=run_project_tests, judge=judge)
    notes = tuple(_timing(p) for p in proofs if p.up is not None)
    return CheckResult(described, tuple(p.check for p in proofs), tuple(found), tests[0] if tests else None, notes)


def _recorded(cluster: Cluster, base: str) -> list[str]:
    """The versions diesel recorded on the base (only read; the connection is closed before clones are made)."""
    from lightnb.backends.postgres.migrate import applied_versions
    from lightnb.runner import TRACKING_TABLE
    with connect(cluster.url(base)) as conn:
        if conn.execute("SELECT to_regclass(%s) IS NOT NULL", (TRACKING_TABLE,)).fetchone() != (True,):
            return []
        return applied_versions(conn)


def _timing(proof: Proof) -> str:
    assert proof.up is not None
    return f"{proof.check.migration}: up.sql ran in {proof.up.seconds:.3f} s on the copy"

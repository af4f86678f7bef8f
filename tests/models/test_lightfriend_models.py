"""The drift check and the generator on the real lightfriend history (a code base that compiled).

Every commit's models compiled against its schema.rs, so every PROVEN finding would be a false
drift: the goal, met, is zero. Findings that cannot be proven are listed below with the reason.
Replaying each migration step (plan on the previous commit's models, apply, compare with what the
developers wrote next) checks the generator against real hand-written changes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lightnb.models import check_models, read_models_dir
from lightnb.models._syntax import error_nodes
from lightnb.models.repository import added_columns
from lightnb.models.scaffold import apply_change, plan_model_changes, plan_models
from lightnb.models.schema_rs import load_schema

pytestmark = pytest.mark.conformance

# (commit prefix, struct, field, kind) -> why it is there. None of these can stop compilation.
# The corpus holds src/models only, no code that loads the structs: the positional findings
# (User's stripe columns out of table order at 025, User without the matrix columns at 031) are
# reported only where a positional `users::table.load::<User>()` exists, so here none is.
EXPLAINED_UNPROVEN: dict[tuple[str, str, str, str], str] = {}

# Step replay: structs the developers did not write as the generator planned them.
EXPLAINED_STEP_DIFFERENCES = {
    ("002", "phone_verification_otps"): "no struct was ever written for this table; it is gone from schema.rs at 005",
    ("027", "calendar_connection"): "no struct was written; at 028 the table is gone and google_calendar replaces it",
    ("031", "User"): "the developers added only `timezone` in this commit; the matrix fields came next",
    ("031", "bridges"): "the developers wrote the bridges structs one commit later",
}


def commits(conformance_dir: Path) -> list[Path]:
    root = conformance_dir / "lightfriend"
    if not root.is_dir():
        pytest.skip(f"lightfriend corpus not found at {root}")
    return sorted(d for d in root.iterdir() if d.is_dir() and (d / "models").is_dir())


def test_no_false_drift_over_the_history(conformance_dir: Path):
    checked = 0
    unproven = {}
    for commit in commits(conformance_dir):
        report = check_models(commit / "models", commit / "schema.rs")
        assert report.proven == (), f"false drift at {commit.name}:\n{report}"
        queryable = [s for s in report.structs if {"Queryable", "Selectable"} & set(s.derives)]
        assert all(s.status == "checked" for s in queryable), report.structs
        checked += len(queryable)
        for finding in report.unproven:
            unproven[(commit.name[:3], finding.struct, finding.field, finding.kind)] = finding
    print(f"lightfriend: {checked} Queryable/Selectable structs checked, 0 false PROVEN drifts, "
          f"{len(unproven)} findings that cannot be proven (explained)")
    assert checked > 100
    assert set(unproven) == set(EXPLAINED_UNPROVEN)


def test_replaying_each_step_plans_what_the_developers_wrote(conformance_dir: Path, tmp_path: Path):
    """Fields added, fields of dropped columns removed, and types of changed columns rewritten as
    the developers did by hand in the next commit (same Rust type, as written)."""
    history = commits(conformance_dir)
    planned = agreed = removals = retypes = 0
    differences = set()
    dropped_tables = set()
    for previous, current in zip(history, history[1:]):
        work = tmp_path / current.name
        shutil.copytree(previous / "models", work / "models")
        plan = plan_models(work / "models", current / "schema.rs", previous=previous / "schema.rs")
        changes = plan.changes
        next_structs = {s.name: s for rust in read_models_dir(current / "models") for s in rust.structs}
        written = {name: {f.column for f in s.fields} for name, s in next_structs.items()}
        by_table = {}
        for rust in read_models_dir(current / "models"):
            for struct in rust.structs:
                by_table.setdefault(struct.table_name, []).append(tuple(f.column for f in struct.fields))
        for left in plan.left_alone:  # only structs of a dropped table, which the developers deleted
            assert left.reason == f"table `{left.table}` was dropped", left
            assert left.struct not in next_structs
            dropped_tables.add((current.name[:3], left.table))
        for change in changes:
            apply_change(change)
            planned += 1
            if change.kind in ("add_fields", "update_fields"):
                theirs = next_structs.get(change.struct)
                ok = set(change.columns) <= written.get(change.struct, set()) and theirs is not None
                ok = ok and not {column for _, column in change.removed} & written[change.struct]
                ok = ok and all((theirs.field(r.field).written or theirs.field(r.field).type).text == r.new
                                for r in change.retyped if theirs.field(r.field) is not None)
                removals += len(change.removed)
                retypes += len(change.retyped)
                key = (current.name[:3], change.struct)
            else:
                ok = change.columns in by_table.get(change.table, [])
                key = (current.name[:3], change.table)
            agreed += ok
            if not ok:
                differences.add(key)
        for rust in read_models_dir(work / "models"):
            assert error_nodes(rust.text) == [], rust.path
        new_columns = added_columns(load_schema(previous / "schema.rs"), load_schema(current / "schema.rs"))
        report = check_models(work / "models", current / "schema.rs")
        # nothing left that cannot compile (dropped and retyped columns too), but what was reported left alone
        assert {f.struct for f in report.proven} <= {left.struct for left in plan.left_alone}, str(report)
        assert not [f for f in report.findings if f.kind == "missing_field"
                    and f.column in new_columns.get(f.table, ())], str(report)
    print(f"lightfriend replay: {planned} planned changes ({removals} fields removed, {retypes} retyped), "
          f"{agreed} match what the developers wrote")
    assert differences == set(EXPLAINED_STEP_DIFFERENCES)
    assert agreed == planned - len(EXPLAINED_STEP_DIFFERENCES)
    assert removals >= 10 and retypes >= 8  # the history drops and retypes columns: both are exercised
    assert dropped_tables == {("016", "calls")}


def test_last_commit_needs_no_generation(conformance_dir: Path):
    last = commits(conformance_dir)[-1]
    assert plan_model_changes(last / "models", last / "schema.rs") == []

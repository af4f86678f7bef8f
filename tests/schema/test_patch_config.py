"""Patch files (diffy semantics, diesel_spec.md §4.12) and print-schema options (§3, §5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lightnb.errors import ProjectError
from lightnb.schema import FlagGroup, PrintSchemaOptions, apply_flags, options_from_config, options_from_flags
from lightnb.schema.config import DOCS_FALLBACK, DOCS_NONE, DOCS_ONLY_DATABASE, TableFilter
from lightnb.schema.model import SchemaError
from lightnb.schema.patch import apply_patch, apply_patch_file, parse_patch

BASE = "a\nb\nc\nd\ne\n"


def test_patch_applies_at_its_line() -> None:
    patch = "@@ -2,2 +2,2 @@\n b\n-c\n+C\n"
    assert apply_patch(BASE, parse_patch(patch)) == "a\nb\nC\nd\ne\n"


def test_patch_searches_backwards_then_forwards() -> None:
    patch = "@@ -1,1 +1,1 @@\n-d\n+D\n"  # claims line 1, the text is at line 4
    assert apply_patch(BASE, parse_patch(patch)) == "a\nb\nc\nD\ne\n"


def test_patch_skips_preamble_and_headers_and_handles_no_newline() -> None:
    patch = "notes\n--- a/x\n+++ b/x\n@@ -5 +5 @@\n-e\n\\ No newline at end of file\n+E\n"
    assert apply_patch("a\nb\nc\nd\ne", parse_patch(patch)) == "a\nb\nc\nd\nE\n"


def test_patch_does_not_match_lines_an_earlier_hunk_wrote() -> None:
    patch = "@@ -1 +1 @@\n-a\n+b\n@@ -1 +1 @@\n-b\n+z\n"
    assert apply_patch("a\nb\n", parse_patch(patch)) == "b\nz\n"


def test_patch_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Hunk header does not match hunk"):
        parse_patch("@@ -1,2 +1,2 @@\n a\n")
    with pytest.raises(ValueError, match="unexpected line"):
        parse_patch("@@ -1 +1 @@\n?a\n")
    with pytest.raises(ValueError, match="error applying hunk #2"):
        apply_patch(BASE, parse_patch("@@ -1 +1 @@\n-a\n+A\n@@ -9 +9 @@\n-zz\n+y\n"))
    with pytest.raises(SchemaError, match="^Failed to read patch file at"):
        apply_patch_file(BASE, tmp_path / "missing.patch")
    bad = tmp_path / "bad.patch"
    bad.write_text("@@ -1 +1 @@\n-q\n+r\n", encoding="utf-8")
    with pytest.raises(SchemaError, match="^Failed to apply patch: error applying hunk #1"):
        apply_patch_file(BASE, bad)


def test_options_from_config_reads_every_sqlite_key(tmp_path: Path) -> None:
    options = options_from_config({
        "file": "src/schema.rs", "patch_file": "/abs/schema.patch", "with_docs": True,
        "filter": {"only_tables": ["^a", "b$"]}, "column_sorting": "name",
        "allow_tables_to_appear_in_same_query_config": "fk_related_tables", "import_types": ["x::*"],
        "sqlite_integer_primary_key_is_bigint": True, "custom_type_derives": ["Clone"],
        "generate_missing_sql_type_definitions": False, "except_custom_type_definitions": ["x"],
    }, tmp_path, key="k", style="2.2")
    assert options == PrintSchemaOptions(
        key="k", file=tmp_path / "src/schema.rs", with_docs=DOCS_FALLBACK,
        filter=TableFilter("only", ("^a", "b$")), column_sorting="name", allow_tables="fk_related_tables",
        import_types=("x::*",), patch_file=Path("/abs/schema.patch"), integer_primary_key_is_bigint=True,
        custom_type_derives=("Clone",), generate_missing_sql_type_definitions=False,
        except_custom_type_definitions=("x",), style="2.2")


@pytest.mark.parametrize(("value", "mode"), [(False, DOCS_NONE), ("only-database-comments", DOCS_ONLY_DATABASE)])
def test_with_docs_values(value: object, mode: str) -> None:
    assert options_from_config({"with_docs": value}, Path(".")).with_docs == mode


@pytest.mark.parametrize(("section", "message"), [
    ({"filter": {"only_tables": ["a"], "except_tables": ["b"]}}, "duplicate field `only_tables except_tables`"),
    ({"column_sorting": "random"}, "`column_sorting` must be one of ordinal_position, name"),
    ({"colour": "red"}, "unknown option `colour`"),
    ({"import_types": "x::*"}, "`import_types` must be an array of strings"),
    ({"filter": {"only_tables": ["("]}}, "Invalid argument for table filtering regex"),
])
def test_config_errors_are_one_line(section: dict, message: str) -> None:
    with pytest.raises(ProjectError, match=None) as error:
        options_from_config(section, Path("."))
    assert message in str(error.value) and "\n" not in str(error.value)


def test_table_filter_is_an_unanchored_search() -> None:
    assert TableFilter("only", ("users1",)).keeps("old_users10")
    assert not TableFilter("except", (".*1",)).keeps("a1b")
    assert not TableFilter("only", ()).keeps("anything")
    assert TableFilter().keeps("anything")


def test_flags_override_only_what_is_given() -> None:
    base = options_from_config({"with_docs": True, "filter": {"except_tables": ["x"]}}, Path("."))
    assert apply_flags(base, FlagGroup()) == base
    changed = apply_flags(base, FlagGroup(only_tables=True, table_names=("a",), with_docs=True,
                                          with_docs_config="no-doc-comments", import_types=("y",)))
    assert changed.filter == TableFilter("only", ("a",))
    assert changed.with_docs == DOCS_NONE  # --with-docs-config is applied after --with-docs
    assert changed.import_types == ("y",)
    assert apply_flags(base, FlagGroup(table_names=("a",))).filter == base.filter  # names need -o/-e


def test_only_wins_over_except() -> None:
    flags = FlagGroup(only_tables=True, except_tables=True, table_names=("a",))
    assert apply_flags(PrintSchemaOptions(), flags).filter.kind == "only"


def test_flag_groups_follow_schema_keys() -> None:
    sections = {"default": {}, "user1": {}, "user2": {"with_docs": True}}
    result = options_from_flags(sections, Path("."), [
        FlagGroup(key="default"), FlagGroup(key="user1", only_tables=True, table_names=("u1",)),
        FlagGroup(key="user2", column_sorting="name")])
    assert [o.key for o in result] == ["default", "user1", "user2"]
    assert result[0].filter == TableFilter() and result[1].filter == TableFilter("only", ("u1",))
    assert result[2].column_sorting == "name" and result[2].with_docs == DOCS_FALLBACK
    with pytest.raises(ProjectError, match=r"No `\[print_schema.nope\]` entries in your diesel.toml"):
        options_from_flags(sections, Path("."), [FlagGroup(key="nope")])


def test_default_configuration_always_exists() -> None:
    assert [o.key for o in options_from_flags({}, Path("."), [])] == ["default"]


@pytest.mark.parametrize("content", ["", "\n\n", "this is not a diff\n", "--- a/schema.rs\n+++ b/schema.rs\n"])
def test_a_patch_file_without_hunks_prints_as_diesel_and_says_so(tmp_path: Path, content: str, capsys) -> None:  # type: ignore[no-untyped-def]
    """diffy reads a patch of no hunk and diesel prints the schema unpatched: the same text, and one line why."""
    patch = tmp_path / "schema.patch"
    patch.write_text(content, encoding="utf-8")
    assert apply_patch_file(BASE, patch) == BASE
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"lightnb: patch file {patch} ") and "printed unpatched, as diesel does" in line
    assert ("is empty" in line) == (not content.strip())

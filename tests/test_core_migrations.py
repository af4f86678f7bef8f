from datetime import UTC, datetime
from pathlib import Path

import pytest

from lightnb import migrations
from lightnb.errors import MigrationError
from tests.support.builder import ProjectBuilder


def test_versions_follow_diesel() -> None:
    assert migrations.version_of("2024-05-31-093257-0000_create_users") == "202405310932570000"
    assert migrations.version_of("2017-09-03-210424_create_contracts") == "20170903210424"
    assert migrations.version_of("7letters") == "7letters"
    assert migrations.version_of("!wow_migration") == "!wow"
    assert migrations.version_of("12345_x_y") == "12345"


def test_discovery_orders_by_version_bytes(tmp_path: Path) -> None:
    root = ProjectBuilder(tmp_path)
    for name in ["bc", "a_m", "aa", "2017-11-23-064836_x", "20170505070309_y", "!wow_migration", "7letters"]:
        root.migration(name, "SELECT 1;", "SELECT 1;")
    found = migrations.discover(root.build() / "migrations")
    assert [m.name for m in found] == ["!wow_migration", "20170505070309_y", "2017-11-23-064836_x",
                                       "7letters", "a_m", "aa", "bc"]


def test_discovery_ignores_files_dotted_and_empty_dirs(tmp_path: Path) -> None:
    root = ProjectBuilder(tmp_path).migration("1_a", "SELECT 1;").build()
    (root / "migrations" / ".keep").write_text("")
    (root / "migrations" / "README.md").write_text("x")
    (root / "migrations" / ".hidden").mkdir()
    (root / "migrations" / "2_empty").mkdir()
    found = migrations.discover(root / "migrations")
    assert [m.name for m in found] == ["1_a"]
    assert found[0].down_path is None


def test_folder_without_up_sql_is_invalid(tmp_path: Path) -> None:
    root = ProjectBuilder(tmp_path).migration("1_a", None, "SELECT 1;").build()
    with pytest.raises(MigrationError, match="should contain up.sql"):
        migrations.discover(root / "migrations")


def test_duplicate_versions_are_refused(tmp_path: Path) -> None:
    root = ProjectBuilder(tmp_path).migration("1_a", "SELECT 1;").migration("1_b", "SELECT 1;").build()
    with pytest.raises(MigrationError, match="share version 1"):
        migrations.discover(root / "migrations")


def test_metadata_quirks(tmp_path: Path) -> None:
    root = (ProjectBuilder(tmp_path)
            .migration("1_absent", "SELECT 1;")
            .migration("2_false", "SELECT 1;", metadata="run_in_transaction = false\n")
            .migration("3_empty", "SELECT 1;", metadata="")
            .migration("4_unknown_key_only", "SELECT 1;", metadata="comment = 'no run_in_transaction'\n")
            .migration("5_true", "SELECT 1;", metadata="run_in_transaction = true\n")
            .build())
    flags = {m.name: m.run_in_transaction for m in migrations.discover(root / "migrations")}
    assert flags == {"1_absent": True, "2_false": False, "3_empty": False, "4_unknown_key_only": False,
                     "5_true": True}


@pytest.mark.parametrize("garbage, needle", [
    ("this is = = not toml", "not valid TOML"),
    ("run_in_transaction = false\nrun_in_transaction = true\n", "not valid TOML"),
    ('run_in_transaction = "false"\n', "'false', which is not true or false"),
    ("run_in_transaction = 0\n", "0, which is not true or false"),
    (b"run_in_transaction = \xff\n", "not valid UTF-8"),
    (None, "is a folder"),
])
def test_garbage_metadata_is_an_error_naming_the_migration(tmp_path: Path, garbage, needle) -> None:
    """diesel_cli silently runs such a migration in a transaction; lightnb refuses to guess."""
    root = ProjectBuilder(tmp_path).migration("1_garbage", "SELECT 1;").build()
    metadata = root / "migrations" / "1_garbage" / "metadata.toml"
    if garbage is None:
        metadata.mkdir()
    elif isinstance(garbage, bytes):
        metadata.write_bytes(garbage)
    else:
        metadata.write_text(garbage, encoding="utf-8")
    with pytest.raises(MigrationError) as caught:
        migrations.discover(root / "migrations")
    message = str(caught.value)
    assert needle in message and "1_garbage" in message and "\n" not in message


def test_generate_writes_diesel_templates(tmp_path: Path) -> None:
    (tmp_path / "migrations").mkdir()
    now = datetime(2024, 5, 31, 9, 32, 57, tzinfo=UTC)
    m = migrations.generate(tmp_path / "migrations", "create_users", now=now)
    assert m.name == "2024-05-31-093257-0000_create_users"
    assert m.up_path.read_bytes() == b"-- Your SQL goes here\n"
    assert m.down_path is not None
    assert m.down_path.read_bytes() == b"-- This file should undo anything in `up.sql`\n"
    again = migrations.generate(tmp_path / "migrations", "create_posts", now=now)
    assert again.name == "2024-05-31-093257-0001_create_posts"
    old = migrations.generate(tmp_path / "migrations", "legacy", now=now.replace(second=58), style="2.2")
    assert old.name == "2024-05-31-093258_legacy"


def test_generate_26_times_gives_26_versions(tmp_path: Path) -> None:
    (tmp_path / "migrations").mkdir()
    names = [migrations.generate(tmp_path / "migrations", f"m{i}").version for i in range(26)]
    assert len(set(names)) == 26


def test_generate_with_version_refuses_prefix_clash(tmp_path: Path) -> None:
    (tmp_path / "migrations").mkdir()
    migrations.generate(tmp_path / "migrations", "hello", version="12345")
    assert (tmp_path / "migrations" / "12345_hello" / "up.sql").is_file()
    with pytest.raises(MigrationError, match="Specified migration version `1` already exists"):
        migrations.generate(tmp_path / "migrations", "again", version="1")


def test_generate_no_down(tmp_path: Path) -> None:
    (tmp_path / "migrations").mkdir()
    m = migrations.generate(tmp_path / "migrations", "x", no_down=True)
    assert m.down_path is None
    assert sorted(p.name for p in m.path.iterdir()) == ["up.sql"]


@pytest.mark.parametrize("name", ["", "   ", "../escape", "a/b", "a\\b", "..", ".hidden", "tab\tname"])
def test_generate_refuses_bad_names(tmp_path: Path, name: str) -> None:
    (tmp_path / "migrations").mkdir()
    with pytest.raises(MigrationError) as info:
        migrations.generate(tmp_path / "migrations", name)
    assert "\n" not in str(info.value)
    assert list((tmp_path / "migrations").iterdir()) == []
    assert not (tmp_path / "escape").exists()


def test_generate_accepts_unicode_and_spaces(tmp_path: Path) -> None:
    (tmp_path / "migrations").mkdir()
    m = migrations.generate(tmp_path / "migrations", "ajout des thèmes")
    assert m.name.endswith("_ajout des thèmes")
    assert migrations.discover(tmp_path / "migrations")[0].name == m.name


def test_missing_down_sql_error(tmp_path: Path) -> None:
    root = ProjectBuilder(tmp_path).migration("1_a", "SELECT 1;").build()
    m = migrations.discover(root / "migrations")[0]
    with pytest.raises(MigrationError, match="Missing `down.sql` file to revert migration"):
        m.down_sql()

from pathlib import Path

import pytest

from lightnb.errors import ProjectError
from lightnb.project import Project, database_path_from_url


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_discovery_walks_up_to_diesel_toml(tmp_path: Path) -> None:
    write(tmp_path / "app" / "diesel.toml", '[print_schema]\nfile = "src/schema.rs"\n\n'
                                            '[migrations_directory]\ndir = "db/migrations"\n')
    (tmp_path / "app" / "src" / "deep").mkdir(parents=True)
    project = Project.discover(tmp_path / "app" / "src" / "deep", environ={})
    assert project.root == tmp_path / "app"
    assert project.migrations_dir == tmp_path / "app" / "db" / "migrations"
    assert project.print_schema == {"default": {"file": "src/schema.rs"}}
    assert project.resolve("src/schema.rs") == tmp_path / "app" / "src" / "schema.rs"


def test_precedence_of_migration_dir_sources(tmp_path: Path) -> None:
    write(tmp_path / "diesel.toml", '[migrations_directory]\ndir = "from_toml"\n')
    assert Project.discover(tmp_path, environ={}).migrations_dir == tmp_path / "from_toml"
    env = {"MIGRATION_DIRECTORY": str(tmp_path / "from_env")}
    assert Project.discover(tmp_path, environ=env).migrations_dir == tmp_path / "from_env"
    given = Project.discover(tmp_path, environ=env, migration_dir=tmp_path / "given")
    assert given.migrations_dir == tmp_path / "given"


def test_config_file_from_option_and_environment(tmp_path: Path) -> None:
    other = write(tmp_path / "cfg" / "other.toml", '[print_schema]\nfile = "out.rs"\n')
    project = Project.discover(tmp_path, environ={}, config_file=other)
    assert project.config_file == other and project.config_dir == tmp_path / "cfg"
    assert Project.discover(tmp_path, environ={"DIESEL_CONFIG_FILE": str(other)}).config_file == other
    # a config file that does not exist means all defaults, as in diesel (config.rs `Config::read`)
    missing = Project.discover(tmp_path, environ={}, config_file=tmp_path / "nope.toml")
    assert missing.config_file is None and missing.print_schema == {"default": {}}


def test_multiple_print_schema_sections(tmp_path: Path) -> None:
    write(tmp_path / "diesel.toml", '[print_schema]\nwith_docs = true\n\n[print_schema.user1]\nfile = "a.rs"\n\n'
                                    '[print_schema.user2]\nfile = "b.rs"\n')
    sections = Project.discover(tmp_path, environ={}).print_schema
    assert list(sections) == ["default", "user1", "user2"]
    assert sections["default"] == {"with_docs": True}


@pytest.mark.parametrize(("text", "needle"), [
    ('[print_schema]\nfiel = "x.rs"\n', "Failed to parse config file: unknown field `fiel`"),
    ('[print_schema]\ninclude_views = true\n', "Failed to parse config file: unknown field `include_views`"),
    ('[lightnb]\nx = 1\n', "Failed to parse config file: unknown field `lightnb`"),
    ("[print_schema\n", "Failed to parse config file"),
    ("[migrations_directory]\nfolder = 'x'\n", "Failed to parse config file: unknown field `folder`, expected `dir`"),
])
def test_bad_diesel_toml_is_one_line(tmp_path: Path, text: str, needle: str) -> None:
    write(tmp_path / "diesel.toml", text)
    with pytest.raises(ProjectError) as info:
        Project.discover(tmp_path, environ={})
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_dotenv_supplies_but_never_overrides(tmp_path: Path) -> None:
    write(tmp_path / ".env", "BASE=data\nDATABASE_URL=${BASE}/app.db\n")
    (tmp_path / "sub").mkdir()
    assert Project.discover(tmp_path / "sub", environ={}).database_url == "data/app.db"
    assert Project.discover(tmp_path, environ={"DATABASE_URL": "real.db"}).database_url == "real.db"
    assert Project.discover(tmp_path, environ={}, database_url="arg.db").database_url == "arg.db"


def test_malformed_dotenv_is_an_error_like_diesel(tmp_path: Path) -> None:
    write(tmp_path / ".env", "DATABASE_URL=a.db\nthis line is not an assignment\n")
    with pytest.raises(ProjectError, match=r"Initializing `.env` file failed: .* line 2 is not NAME=value"):
        Project.discover(tmp_path, environ={})


def test_database_urls() -> None:
    assert database_path_from_url("sqlite:///tmp/x.db") == Path("/tmp/x.db")
    assert database_path_from_url("file:/tmp/x.db?mode=rwc") == Path("/tmp/x.db")
    assert database_path_from_url("rel.db", base=Path("/base")) == Path("/base/rel.db")
    for url in ("postgres://u@h/db", ":memory:", ""):
        with pytest.raises(ProjectError):
            database_path_from_url(url)


def test_lightnb_settings_live_beside_diesel_toml(tmp_path: Path) -> None:
    write(tmp_path / "diesel.toml", "")
    write(tmp_path / "lightnb.toml", 'production = "../prod.db"\n[lint]\ndisable = ["x"]\n')
    assert Project.discover(tmp_path, environ={}).settings == {"production": "../prod.db", "lint": {"disable": ["x"]}}
    write(tmp_path / "lightnb.toml", "production = \n")
    with pytest.raises(ProjectError, match="lightnb.toml"):
        Project.discover(tmp_path, environ={})

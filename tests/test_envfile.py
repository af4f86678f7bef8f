"""A ``.env`` file is read as diesel reads it (dotenvy 0.15), without python-dotenv's import cost."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lightnb.envfile import EnvFileError, read_env
from lightnb.errors import ProjectError
from lightnb.project import Project


def test_plain_quoted_exported_and_empty_values() -> None:
    text = ("\n# settings of the app\nPLAIN=1\nDOUBLE=\"two words\"\nSINGLE='it''s'\nESCAPED=a\\ b\nEMPTY=\n"
            "BLANKS=   \nCOMMENTED=   # nothing\nSPACED  =\"before the sign\"\nAFTER=    \"after the sign\"\n"
            "export=\"a key of that name\"\nexport   EXPORTED=yes\nDOTTED.NAME=ok\nTRAILING=value # a note\n")
    assert read_env(text, {}) == {
        "PLAIN": "1", "DOUBLE": "two words", "SINGLE": "its", "ESCAPED": "a b", "EMPTY": "", "BLANKS": "",
        "COMMENTED": "", "SPACED": "before the sign", "AFTER": "after the sign", "export": "a key of that name",
        "EXPORTED": "yes", "DOTTED.NAME": "ok", "TRAILING": "value"}


def test_escapes_in_and_out_of_quotes() -> None:
    text = ("A=\\$not_a_variable\nB=\"say \\\"hi\\\"\"\nC='kept $\\as written'\\''quoted'\nD=\"one\\ntwo\"\n"
            "E=hash#inside\n")
    assert read_env(text, {}) == {"A": "$not_a_variable", "B": 'say "hi"', "C": "kept $\\as written'quoted",
                                  "D": "one\ntwo", "E": "hash#inside"}


def test_quoted_values_span_lines_and_keep_their_hashes() -> None:
    text = 'KEY="-----BEGIN-----\n# not a comment\n-----END-----" # a comment\nNEXT=\'a\nb\'\nLAST=1\n'
    assert read_env(text, {}) == {"KEY": "-----BEGIN-----\n# not a comment\n-----END-----", "NEXT": "a\nb",
                                  "LAST": "1"}


def test_variables_come_from_the_environment_first_then_the_lines_above() -> None:
    text = ("BASE=data\nURL=${BASE}/app.db\nBARE=$BASE/x\nHOME_DIR=${HOME}/y\nTWICE=$BASE$BASE\n"
            "SEPARATED=$BASE_1\nMISSING=>${NOPE}<\nLITERAL='${BASE}'\nLATER=${AFTER}\nAFTER=1\n")
    assert read_env(text, {"HOME": "/home/me"}) == {
        "BASE": "data", "URL": "data/app.db", "BARE": "data/x", "HOME_DIR": "/home/me/y", "TWICE": "datadata",
        "SEPARATED": "data_1", "MISSING": "><", "LITERAL": "${BASE}", "LATER": "", "AFTER": "1"}
    # a variable the environment has wins over the file's value, in the file's own references too
    assert read_env("BASE=file\nURL=${BASE}/app.db\n", {"BASE": "env"}) == {"URL": "env/app.db"}


def test_the_first_value_of_a_key_wins_and_the_environment_is_never_replaced() -> None:
    assert read_env("\ufeffA=1\r\nA=2\r\nB=$A\r\nC=3\r\n", {"C": "kept"}) == {"A": "1", "B": "1"}


@pytest.mark.parametrize(("text", "line"), [
    ("GOOD=1\n  invalid    \n", 2),
    ("very bacon = yes indeed\n", 1),
    ("=value\n", 1),
    ("A=1\nKEY=my uncool value\n", 2),
    ("KEY=\"never closed\nA=1\n", 1),
    ("KEY='two quotes''\n", 1),
    ("KEY=h\\8u\n", 1),
    ("KEY=>${UNFINISHED{<\n", 1),
    ("KEY=\"$QUOTED\"\n", 1),  # dotenvy takes the closing quote as text after a bare $NAME
    ("A=1\nLAST=ends with a blank ", 2),
])
def test_what_dotenvy_refuses_is_refused_at_its_line(text: str, line: int) -> None:
    with pytest.raises(EnvFileError) as info:
        read_env(text, {})
    assert info.value.line == line
    assert str(info.value).startswith("Error parsing line: ")


def test_a_project_reads_its_env_file_without_python_dotenv(tmp_path: Path) -> None:
    (tmp_path / "diesel.toml").write_text("", encoding="utf-8")
    (tmp_path / ".env").write_text("export DATABASE_URL=\"${NAME}.db\" # the app's\nNAME=app\n", encoding="utf-8")
    assert Project.discover(tmp_path, environ={"NAME": "env"}).database_url == "env.db"
    done = subprocess.run([sys.executable, "-c", "import sys; from lightnb.project import Project; "
                           "print(Project.discover('.', environ={}).database_url, 'dotenv' in sys.modules)"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert done.stdout.split() == [".db", "False"], done.stderr


def test_a_bad_line_names_the_file_and_the_line(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DATABASE_URL=a.db\nTOKEN=\"s3cret\nnever closed\n", encoding="utf-8")
    with pytest.raises(ProjectError, match=r"\.env line 2 is not NAME=value \('TOKEN=\"s3cret'\)") as info:
        Project.discover(tmp_path, environ={})
    assert "\n" not in str(info.value)

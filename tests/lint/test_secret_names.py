"""A column named after something about a secret (its id, its type, when it changed) is not the secret."""

from __future__ import annotations

import pytest

from lightnb.lint import LintConfig, lint_sql
from lightnb.lint.rules.secrets import is_secret_name

USERS = "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);"


@pytest.mark.parametrize("name", ["credential_id", "token_type", "api_key_name", "password_changed_at",
                                  "secret_version", "tokenType"])
def test_names_about_a_secret_are_not_secrets(name: str) -> None:
    assert not is_secret_name(name, LintConfig())


@pytest.mark.parametrize("name", ["password", "api_token", "magic_token", "id_token", "refresh_token",
                                  "client_secret", "apiKey", "credential"])
def test_secret_names_stay_secrets(name: str) -> None:
    assert is_secret_name(name, LintConfig())


def test_a_webauthn_credential_id_is_not_flagged_a_plaintext_secret() -> None:
    up = "CREATE TABLE webauthn (id INTEGER PRIMARY KEY, credential_id TEXT NOT NULL, magic_token TEXT);"
    found = [f.message for f in lint_sql(up, "DROP TABLE webauthn;", history=[USERS]) if f.rule == "secret-plaintext"]
    assert found == ["webauthn.magic_token looks like a secret stored in plaintext"]

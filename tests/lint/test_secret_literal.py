"""A secret literal written in a migration is reported without showing any part of it: its length and place."""

from __future__ import annotations

import json

import pytest

from lightnb.lint import lint_sql
from lightnb.render import text as render

HISTORY = ["CREATE TABLE users (id INTEGER PRIMARY KEY NOT NULL, nick TEXT, api_token TEXT, password TEXT);"]
SECRETS = ["sk_live_51HxYzAbCdEfGh", "ghp_Q7kz0w1n4Tq9R2s8", "AKIAIOSFODNN7EXAMPLE", "xoxb-1234-5678-abcdefgh",
           "correct horse battery"]


def _fragments(secret: str, size: int = 4) -> set[str]:
    return {secret[i:i + size] for i in range(len(secret) - size + 1)}


@pytest.mark.parametrize("secret", SECRETS)
@pytest.mark.parametrize("where", ["UPDATE users SET nick = '{s}' WHERE id = 1;",
                                   "INSERT INTO users (id, api_token) VALUES (1, '{s}');",
                                   "UPDATE users SET password = '{s}' WHERE id = 2;"])
def test_no_part_of_the_secret_is_printed(secret: str, where: str) -> None:
    up = "-- seed\n" + where.format(s=secret)
    findings = [f for f in lint_sql(up, "SELECT 1;", history=HISTORY) if f.rule == "secret-literal"]
    if where.startswith("UPDATE users SET nick") and secret == "correct horse battery":
        assert findings == []  # a plain phrase in a column that is not a secret
        return
    (finding,) = findings
    shown = render.findings([finding]) + json.dumps(finding.to_dict())
    assert not any(fragment in shown for fragment in _fragments(secret)), shown
    column = where.format(s=secret).index("'") + 1
    assert f"{len(secret)} characters at line 2, column {column}" in finding.message

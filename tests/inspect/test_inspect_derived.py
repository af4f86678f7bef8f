"""Redaction follows the data: columns computed, indexed or copied from a masked column are masked too."""

from __future__ import annotations

import pytest

from lightnb.inspect import MASK, preview
from lightnb.inspect.lineage import KnownSecrets, bind, derived_columns, sensitive_outputs
from lightnb.inspect.redact import Redactor

KEY1, KEY2 = "KEY-7f3a-aaaa-1111", "KEY-7f3a-bbbb-2222"
PLAIN = "plain-visible-text"


def _derived(conn, redactor=None):
    return {(t.lower(), c.lower()) for t, c in derived_columns(conn, redactor or Redactor())}


def _shown(conn, source, **kw) -> str:
    p = preview(conn, source, n=50, **kw)
    return p.to_text() + p._repr_html_()


@pytest.fixture
def db(make_db, connect):
    def build(sql: str):
        return connect(make_db("d.db", sql))
    return build


GENERATED = f"""
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, api_key TEXT, settings TEXT,
  key_copy TEXT GENERATED ALWAYS AS (api_key) VIRTUAL,
  tail TEXT GENERATED ALWAYS AS (substr(api_key, -4)) STORED,
  again TEXT AS (upper(tail)),
  shout TEXT AS (upper(name)),
  plan TEXT AS (json_extract(settings, '$.plan')),
  tok TEXT AS (settings ->> '$.auth.token'),
  tok2 TEXT AS (json_extract(settings, '$.plan', '$.auth."api key"')),
  anypath TEXT AS (json_extract(settings, '$.' || name)));
INSERT INTO users (id, name, api_key, settings) VALUES
  (1, 'ann', '{KEY1}', '{{"plan":"pro","auth":{{"token":"{KEY2}","api key":"{KEY2}"}}}}');
"""


def test_generated_columns_over_masked_columns_are_masked(db) -> None:
    conn = db(GENERATED)
    derived = _derived(conn)
    assert {("users", c) for c in ("key_copy", "tail", "again", "tok", "tok2", "anypath")} <= derived
    assert not {("users", "shout"), ("users", "plan"), ("users", "name")} & derived
    text = _shown(conn, "users")
    assert KEY1 not in text and KEY2 not in text and KEY1[-4:] not in text
    assert "ANN" in text and "pro" in text


def test_exemptions_win_over_lineage(db) -> None:
    conn = db(GENERATED)
    exempt = Redactor.from_settings({"redact": {"exempt": ["users.tail"]}})
    derived = _derived(conn, exempt)
    assert ("users", "tail") not in derived and ("users", "key_copy") in derived


@pytest.mark.parametrize("module, content", [
    ("fts5(name, email, phone)", ["c1", "c2"]),
    ("fts5(name, email UNINDEXED, phone, prefix='2 3')", ["c1", "c2"]),
    ("fts4(name, email, phone)", ["c1email", "c2phone"]),
    ("fts3(name, email, phone)", ["c1email", "c2phone"]),
    ("fts4(name TEXT, email TEXT, phone TEXT, tokenize=porter)", ["c1email", "c2phone"]),
])
def test_full_text_tables_mask_what_they_index(db, module, content) -> None:
    conn = db(f"CREATE VIRTUAL TABLE people USING {module};"
              f"INSERT INTO people VALUES ('{PLAIN}', 'ann-{KEY1}@example.org', '{KEY2}');")
    derived = _derived(conn)
    assert {("people", "email"), ("people", "phone")} <= derived
    assert {("people_content", c) for c in content} <= derived
    assert ("people", "name") not in derived
    index = {("people_data", "block"), ("people_idx", "term")} if "fts5" in module else \
        {("people_segments", "block"), ("people_segdir", "root")}
    assert index <= derived
    for table in ["people", "people_content", *(t for t, _c in index)]:
        text = _shown(conn, table)
        assert "7f3a" not in text and KEY2 not in text, table
    assert PLAIN in _shown(conn, "people_content")


def test_external_content_and_vocabulary_tables(db) -> None:
    conn = db("""
        CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, mirror TEXT);
        CREATE TABLE secrets_box (id INTEGER PRIMARY KEY, body TEXT, password TEXT);
        CREATE VIRTUAL TABLE notes_fts USING fts5(body, mirror, content='notes', content_rowid='id');
        CREATE VIRTUAL TABLE box_fts USING fts5(body, password, content='secrets_box');
        CREATE VIRTUAL TABLE box_vocab USING fts5vocab(box_fts, 'row');
        CREATE VIRTUAL TABLE notes_vocab USING fts5vocab('notes_fts', 'instance');
        CREATE VIRTUAL TABLE old USING fts4(body, pin);
        CREATE VIRTUAL TABLE old_terms USING fts4aux(old);
        INSERT INTO secrets_box VALUES (1, 'hello', 'hunter2secretword');
        INSERT INTO box_fts (rowid, body, password) VALUES (1, 'hello', 'hunter2secretword');
        INSERT INTO old VALUES ('hello', 'pinsecret4242');""")
    derived = _derived(conn)
    assert ("box_fts", "password") in derived and ("box_vocab", "term") in derived
    assert ("old_terms", "term") in derived
    assert ("notes_fts", "mirror") not in derived and ("notes_vocab", "term") in derived  # terms: always
    for table in ("box_vocab", "old_terms", "box_fts_data", "box_fts_idx"):
        text = _shown(conn, table)
        assert "hunter2" not in text and "pinsecret" not in text, table
    assert "hello" in _shown(conn, "box_fts")


TRIGGERS = f"""
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, api_key TEXT);
CREATE TABLE audit (id INTEGER PRIMARY KEY, user_id INTEGER, note TEXT, who TEXT);
CREATE TABLE archive (id INTEGER PRIMARY KEY, line TEXT);
CREATE TABLE mirror (user_id INTEGER PRIMARY KEY, k TEXT, label TEXT);
CREATE TABLE latest (user_id INTEGER PRIMARY KEY, v TEXT);
CREATE TRIGGER t1 AFTER INSERT ON users BEGIN
  INSERT INTO audit (user_id, note, who) VALUES (NEW.id, 'key ' || NEW.api_key, NEW.name);
END;
CREATE TRIGGER t2 AFTER INSERT ON audit BEGIN
  INSERT INTO archive (line) SELECT NEW.note;
END;
CREATE TRIGGER t3 AFTER UPDATE OF api_key ON users BEGIN
  REPLACE INTO mirror (user_id, k, label) VALUES (NEW.id, OLD.api_key, NEW.name);
END;
CREATE TRIGGER t4 AFTER INSERT ON users BEGIN
  INSERT INTO latest (user_id, v) VALUES (NEW.id, 'x') ON CONFLICT (user_id) DO UPDATE SET v = excluded.v;
  UPDATE latest SET v = substr(NEW.api_key, 1, 4) WHERE user_id = NEW.id;
END;
INSERT INTO users VALUES (1, 'ann', '{KEY1}');
UPDATE users SET api_key = '{KEY2}' WHERE id = 1;
"""


def test_triggers_carry_masking_into_the_tables_they_write(db) -> None:
    conn = db(TRIGGERS)
    derived = _derived(conn)
    assert {("audit", "note"), ("archive", "line"), ("mirror", "k"), ("latest", "v")} <= derived
    assert not {("audit", "who"), ("mirror", "label"), ("audit", "user_id")} & derived
    for table in ("audit", "archive", "mirror", "latest"):
        text = _shown(conn, table)
        assert "7f3a" not in text and "KEY-" not in text, table
    assert "ann" in _shown(conn, "audit") and "ann" in _shown(conn, "mirror")


def test_upsert_carries_excluded_values(db) -> None:
    conn = db("""
        CREATE TABLE users (id INTEGER PRIMARY KEY, token TEXT, name TEXT);
        CREATE TABLE last_seen (user_id INTEGER PRIMARY KEY, v TEXT, n TEXT);
        CREATE TRIGGER up AFTER UPDATE ON users BEGIN
          INSERT INTO last_seen (user_id, v, n) VALUES (NEW.id, NEW.token, NEW.name)
          ON CONFLICT (user_id) DO UPDATE SET v = excluded.v, n = excluded.n;
        END;""")
    derived = _derived(conn)
    assert ("last_seen", "v") in derived and ("last_seen", "n") not in derived


def test_a_trigger_lightnb_cannot_read_masks_what_it_writes(db) -> None:
    conn = db("""
        CREATE TABLE users (id INTEGER PRIMARY KEY, token TEXT);
        CREATE TABLE out (id INTEGER PRIMARY KEY, v TEXT);
        CREATE TRIGGER odd AFTER INSERT ON users BEGIN
          INSERT INTO out (v) SELECT value FROM json_each(json_array(NEW.token));
        END;""")
    assert ("out", "v") in _derived(conn)


def test_views_over_json_paths(db) -> None:
    conn = db(f"""
        CREATE TABLE prefs (id INTEGER PRIMARY KEY, data TEXT);
        INSERT INTO prefs VALUES (1, '{{"theme":"dark","creds":{{"password":"{KEY1}"}},"session_key":"{KEY2}"}}');
        CREATE VIRTUAL TABLE geo USING rtree(id, x0, x1, +label, +secret_label);""")
    taint = sensitive_outputs(conn, "SELECT data ->> '$.theme' AS t, data ->> 'session_key' AS s, "
                                    "json_extract(data, '$.creds.password') AS p, data -> '$.creds' AS c, "
                                    "json_extract(data, '$.theme', '$.creds') AS both_ FROM prefs", 5, Redactor())
    assert taint == (False, True, True, False, False)
    text = _shown(conn, "SELECT data ->> '$.theme' AS t, data ->> 'session_key' AS s, data -> '$.creds' AS c, "
                        "data FROM prefs")
    assert KEY1 not in text and KEY2 not in text and "dark" in text
    assert ("geo_rowid", "a1") in _derived(conn) and ("geo_rowid", "a0") not in _derived(conn)


def test_copies_without_a_trace_in_the_schema_are_found_by_value(db) -> None:
    conn = db(f"""
        CREATE TABLE users (id INTEGER PRIMARY KEY, api_key TEXT, pin TEXT, code TEXT);
        INSERT INTO users VALUES (1, '{KEY1}', '4821', 'promo-code-1'), (2, '{KEY2}', '9911', 'promo-code-2');
        CREATE TABLE backup AS SELECT id, api_key AS k, pin AS p, code FROM users;
        CREATE TABLE moved (id INTEGER PRIMARY KEY, label TEXT);
        INSERT INTO moved SELECT id, 'copy of ' || api_key FROM users;""")
    shown = preview(conn, "backup", n=10)
    assert shown.frame["k"].tolist() == [MASK, MASK] and "k" in shown.redacted
    assert shown.frame["code"].tolist() == ["promo-code-1", "promo-code-2"]
    # Short values are not looked up (4-digit PINs would hide every matching id or count):
    assert shown.frame["p"].tolist() == ["4821", "9911"]
    finder = KnownSecrets(conn, bind(Redactor(), conn))
    assert finder.hits([KEY1, "promo-code-1", 4821, None]) == {KEY1}
    assert finder.copied_columns(["a", "b"], [[KEY2, "x"], ["y", "z"]]) == {"a"}
    assert preview(conn, "backup", n=10, reveal=True).frame["k"].tolist() == [KEY1, KEY2]


def test_bind_reads_attached_schemas(make_db, connect) -> None:
    path = make_db("b.db", GENERATED)
    conn = connect(make_db("a.db", "CREATE TABLE t (x TEXT);"))
    conn.execute("ATTACH DATABASE ? AS other", (str(path),))
    bound = bind(Redactor(), conn, ("main", "other"))
    assert bound.is_sensitive("key_copy", "users") and not bound.is_sensitive("x", "t")


def test_bounded_lookups_read_big_masked_columns_only_through_an_index(db, monkeypatch) -> None:
    conn = db(f"""
        CREATE TABLE users (id INTEGER PRIMARY KEY, api_key TEXT, email TEXT UNIQUE);
        INSERT INTO users VALUES (1, '{KEY1}', 'ann@example.org'), (2, 'x', 'b'), (3, 'y', 'c'), (4, 'z', 'd');
        CREATE TABLE copies AS SELECT id, api_key AS k, email AS e FROM users;""")
    monkeypatch.setattr(KnownSecrets, "SCAN_LIMIT", 3)
    bounded = KnownSecrets(conn, Redactor(), scan_limit=KnownSecrets.SCAN_LIMIT)
    assert {c for _s, _t, c in bounded.sources()} == {"email"}  # users is "big": only its indexed column
    assert {c for _s, _t, c in KnownSecrets(conn, Redactor()).sources()} == {"api_key", "email"}
    shown = preview(conn, "copies")
    assert shown.frame["e"].tolist()[0] == MASK  # an e-mail anyway, and found through the index
    assert shown.frame["k"].tolist()[0] == KEY1  # a big unindexed column is not scanned by a preview


def _history(tmp_path, *ups: str):
    from lightnb.inspect.lineage import history_lineage

    folder = tmp_path / "migrations"
    for i, up in enumerate(ups):
        (folder / f"2024-01-0{i + 1}-000000_m{i}").mkdir(parents=True)
        (folder / f"2024-01-0{i + 1}-000000_m{i}" / "up.sql").write_text(up)
    return folder, lambda: {(t, c) for t, c in history_lineage(folder, Redactor())}


def test_the_migration_history_carries_masking_through_renames_and_copies(tmp_path) -> None:
    folder, lineage = _history(
        tmp_path,
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, password_hash TEXT, api_key TEXT, plan TEXT);",
        "ALTER TABLE users RENAME COLUMN password_hash TO digest;\n"
        "CREATE TABLE vault AS SELECT id, api_key AS k, name AS label FROM users;\n"
        "CREATE TABLE mirror (a INTEGER, b TEXT, c TEXT);\n"
        "INSERT INTO mirror (a, b, c) SELECT id, upper(digest), plan FROM users;\n"
        "UPDATE users SET plan = (SELECT k FROM vault WHERE vault.id = users.id);\n",
        "ALTER TABLE vault RENAME TO strongbox;\n"
        "UPDATE users SET name = (SELECT label FROM strongbox WHERE strongbox.k = users.api_key);\n"
        "CREATE TABLE copy AS SELECT * FROM strongbox;\n")
    found = lineage()
    assert {("users", "digest"), ("vault", "k"), ("mirror", "b"), ("users", "plan"), ("strongbox", "k"),
            ("copy", "k")} <= found
    # Picked by a masked value in a WHERE, copied from a clear column: not masked.
    assert not {("vault", "label"), ("mirror", "a"), ("users", "name"), ("copy", "label")} & found


def test_a_project_redactor_knows_its_history_and_rereads_a_changed_file(tmp_path) -> None:
    from lightnb.project import Project

    root = tmp_path / "app"
    root.mkdir()
    (root / "diesel.toml").write_text('[migrations_directory]\ndir = "migrations"\n')
    folder, _lineage = _history(root, "CREATE TABLE t (id INTEGER PRIMARY KEY, token TEXT);",
                                "ALTER TABLE t RENAME COLUMN token TO v;")
    project = Project.discover(root)
    assert Redactor.for_project(project).is_sensitive("v", "t")
    up = next(folder.glob("*_m1/up.sql"))
    up.write_text("ALTER TABLE t RENAME COLUMN token TO w;\n-- renamed differently")
    redactor = Redactor.for_project(project)
    assert redactor.is_sensitive("w", "t") and not redactor.is_sensitive("v", "t")


def test_impact_examples_follow_a_rename_made_earlier_in_the_script(db) -> None:
    from lightnb.inspect import impacts_text, measure_impact

    conn = db(f"CREATE TABLE users (id INTEGER PRIMARY KEY, api_key TEXT);"
              f"INSERT INTO users VALUES (1, '{KEY1}');")
    impacts = measure_impact(conn, "ALTER TABLE users RENAME COLUMN api_key TO v;\n"
                                   "CREATE TABLE t2 AS SELECT id, v AS w FROM users;\n"
                                   "UPDATE users SET v = v || '-x';\nDELETE FROM t2;")
    text = impacts_text(impacts)
    assert "e.g." in text and KEY1 not in text and "7f3a" not in text


def test_a_full_text_index_is_masked_even_over_clear_columns(db) -> None:
    # The index stores tokens: "+1 415 555 0199" becomes 1, 415, 555, 0199, which no longer look like a phone.
    conn = db("CREATE VIRTUAL TABLE notes USING fts5(body);"
              "INSERT INTO notes VALUES ('call +1 415 555 0199 or 0401234567');")
    derived = _derived(conn)
    assert {("notes_data", "block"), ("notes_idx", "term")} <= derived and ("notes_content", "c0") not in derived
    for table in ("notes", "notes_content", "notes_data", "notes_idx"):
        text = _shown(conn, table)
        assert "0199" not in text and "0401234567" not in text, table


def test_a_trigger_whose_condition_mentions_begin_is_read_from_its_body(db) -> None:
    conn = db("""
        CREATE TABLE users (id INTEGER PRIMARY KEY, token TEXT, state TEXT);
        CREATE TABLE out (id INTEGER PRIMARY KEY, v TEXT, w TEXT);
        CREATE TRIGGER t AFTER UPDATE ON users WHEN NEW.state = 'BEGIN' BEGIN
          INSERT INTO out (v, w) VALUES (NEW.token, NEW.state);
        END;""")
    derived = _derived(conn)
    assert ("out", "v") in derived and ("out", "w") not in derived


def test_blobs_holding_secret_text_are_masked() -> None:
    r = Redactor()
    assert r.cell(b"key=sk_live_abcdefgh12345678", "payload", "t") == MASK
    assert r.cell(b"\x00\x01plain", "payload", "t") == b"\x00\x01plain"

"""The PostgreSQL backend through the Backend protocol's members alone, on the private test cluster.

Write a schema (a foreign key, an index, a trigger, a view, a generated and an identity column),
copy the database, read the copy's catalogue read-only and compare its records with what was
created; the read-only session refuses writes; writes and copies aimed outside lightnb's private
cluster are refused before anything connects; the splitter keeps ``DO $$ … $$`` and function bodies
whole.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lightnb.backends import Backend, backend_for
from lightnb.catalog import GENERATED_STORED, VISIBLE, Column, ForeignKey, Index, Trigger
from tests.support.postgres import PgDatabase

SCHEMA = '''
CREATE TABLE authors (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);
CREATE TABLE "odd ""posts""" (
    id bigint PRIMARY KEY,
    author_id integer NOT NULL REFERENCES authors (id) ON DELETE CASCADE,
    title text NOT NULL DEFAULT 'untitled',
    title_length integer GENERATED ALWAYS AS (length(title)) STORED
);
CREATE INDEX posts_by_author ON "odd ""posts""" (author_id, lower(title)) WHERE id > 0;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.title := trim(NEW.title);  -- a ; inside the body
    RETURN NEW;
END;
$$;
CREATE TRIGGER posts_touch BEFORE INSERT ON "odd ""posts""" FOR EACH ROW EXECUTE FUNCTION touch();
CREATE VIEW post_titles AS SELECT id, title FROM "odd ""posts""";
DO $$ BEGIN INSERT INTO authors (name) VALUES ('ann'); END $$;
INSERT INTO "odd ""posts""" (id, author_id, title) VALUES (1, 1, '  hello  ');
'''


def test_the_postgres_url_selects_a_backend_with_every_member(pg_database: PgDatabase) -> None:
    from lightnb.backends import postgres
    assert backend_for(pg_database.url) is postgres
    assert backend_for("postgresql://app@db.example.com/app") is postgres
    assert postgres.name == "postgres" and issubclass(postgres.Error, Exception)


def test_split_keeps_dollar_quoted_bodies_whole() -> None:
    backend: Backend = backend_for("postgres://localhost/app")
    statements = backend.split(SCHEMA)
    assert [s.line for s in statements] == [2, 3, 9, 10, 16, 17, 18, 19]
    assert statements[3].text.startswith("CREATE FUNCTION touch()") and statements[3].text.endswith("$$;")
    assert "-- a ; inside the body" in statements[3].text
    assert statements[6].text == "DO $$ BEGIN INSERT INTO authors (name) VALUES ('ann'); END $$;"
    assert all(SCHEMA[s.start:s.end] == s.text for s in statements)


def test_the_core_can_work_through_the_protocol_alone(pg_database: PgDatabase) -> None:
    """Write, copy, read the copy's catalogue read-only: only Backend members are used."""
    backend: Backend = backend_for(pg_database.url)
    posts = backend.quote('odd "posts"')
    assert posts == '"odd ""posts"""'
    conn = backend.connect(pg_database.url)
    try:
        backend.run_script(conn, SCHEMA)
    finally:
        conn.close()
    copy_url = pg_database.url.replace(f"/{pg_database.name}?", f"/{pg_database.name}_copy?")
    try:
        copied = backend.copy(pg_database.url, copy_url)
        reader = backend.open_readonly(copied)
        try:
            catalog = backend.read_catalog(reader)
            with pytest.raises(backend.Error, match="read-only transaction"):
                reader.execute(f"DELETE FROM {posts}")
            rows = reader.execute(f"SELECT id, title, title_length FROM {posts}").fetchall()
        finally:
            reader.close()
    finally:
        pg_database.cluster.drop_database(f"{pg_database.name}_copy")
    assert rows == [(1, "hello", 5)]  # the copy holds the rows, as the trigger left them

    assert catalog.table_names == ("authors", 'odd "posts"')
    authors = catalog.table("authors")
    assert authors is not None and authors.columns == (
        Column("id", "integer", True, None, 1, VISIBLE, "ALWAYS"),
        Column("name", "text", True, None, 0),
    )
    table = catalog.table('odd "posts"')
    assert table is not None
    assert table.columns == (
        Column("id", "bigint", True, None, 1),
        Column("author_id", "integer", True, None, 0),
        Column("title", "text", True, "'untitled'::text", 0),
        Column("title_length", "integer", False, "length(title)", 0, GENERATED_STORED),
    )
    assert table.primary_key == ("id",) and table.column("TITLE_LENGTH") is not None
    assert table.column("title_length").generated  # type: ignore[union-attr]  # found just above
    assert table.foreign_keys == (ForeignKey('odd "posts"', ("author_id",), "authors", ("id",), "NO ACTION",
                                             "CASCADE"),)
    assert [(i.name, i.columns, i.unique, i.partial, i.origin) for i in table.indexes] == [
        ('odd "posts"_pkey', ("id",), True, False, "pk"),
        ("posts_by_author", ("author_id", "<expr>"), False, True, "c"),
    ]
    by_author: Index = table.indexes[1]
    assert by_author.sql is not None and by_author.sql.startswith("CREATE INDEX posts_by_author ON public.")
    assert table.indexes[0].sql is None  # made by the constraint
    assert catalog.triggers == (Trigger("posts_touch", 'odd "posts"', catalog.triggers[0].sql),)
    assert "BEFORE INSERT" in catalog.triggers[0].sql and "EXECUTE FUNCTION touch()" in catalog.triggers[0].sql
    assert catalog.triggers_of('ODD "POSTS"') == catalog.triggers
    assert [v.name for v in catalog.views] == ["post_titles"]
    view = catalog.views[0].sql
    assert view.startswith("CREATE VIEW public.post_titles AS\n") and view.endswith('FROM "odd ""posts""";')


def test_tables_outside_public_are_named_with_their_schema(pg_database: PgDatabase) -> None:
    pg_database.execute("CREATE SCHEMA billing; CREATE TABLE billing.invoices (id int PRIMARY KEY, "
                        "customer int REFERENCES billing.invoices (id) ON UPDATE SET NULL);"
                        "CREATE TABLE __diesel_schema_migrations (version varchar(50) PRIMARY KEY);")
    backend = backend_for(pg_database.url)
    with backend.open_readonly(pg_database.url) as conn:
        catalog = backend.read_catalog(conn)
    assert catalog.table_names == ("__diesel_schema_migrations", "billing.invoices")
    assert [t.name for t in catalog.user_tables] == ["billing.invoices"]
    invoices = catalog.table("billing.invoices")
    assert invoices is not None and invoices.foreign_keys[0].ref_table == "billing.invoices"
    assert invoices.foreign_keys[0].on_update == "SET NULL"


def test_writes_and_copies_outside_the_private_cluster_are_refused_before_connecting(
        pg_database: PgDatabase, monkeypatch: pytest.MonkeyPatch) -> None:
    from lightnb.backends.postgres import private
    from lightnb.errors import DatabaseError
    backend = backend_for(pg_database.url)
    production = "postgres://app:s3cret@db.invalid:5432/app"  # never reached: refused before connecting
    with pytest.raises(DatabaseError, match="does not write to database `app` on db.invalid:5432") as refused:
        backend.connect(production)
    assert "s3cret" not in str(refused.value)
    with pytest.raises(DatabaseError, match="does not copy into database `app`"):
        backend.copy(pg_database.url, production)
    reader = backend.open_readonly(pg_database.url)
    try:  # a connection that reached its server some other way than lightnb's socket: nothing runs
        monkeypatch.setattr(private, "private_cluster", lambda url: None)
        with pytest.raises(DatabaseError, match="does not run a script on"):
            backend.run_script(reader, "CREATE TABLE t (id int)")
    finally:
        reader.close()
    with pg_database.connect() as conn:
        assert conn.execute("SELECT to_regclass('t')").fetchone() == (None,)


def test_a_socket_folder_without_lightnb_s_settings_is_not_the_private_cluster(
        pg_database: PgDatabase, tmp_path: Path) -> None:
    from lightnb.backends.postgres.private import private_cluster
    found = private_cluster(pg_database.url)
    assert found is not None and found.socket_dir == pg_database.cluster.socket_dir
    assert found.data_dir == pg_database.cluster.data_dir
    (tmp_path / ".s.PGSQL.5432.lock").write_text(f"1\n{pg_database.cluster.data_dir}\n")  # another server's socket
    assert private_cluster(f"postgresql://postgres@/app?host={tmp_path}&port=5432") is None
    assert private_cluster("postgres://postgres@localhost/app") is None


def test_models_learn_unique_keys_from_a_postgres_database_through_the_backend(
        pg_database: PgDatabase, tmp_path: Path) -> None:
    """Repository functions key by a UNIQUE column on PostgreSQL too: the read goes through backend_for."""
    from lightnb.models import locate
    from lightnb.project import Project
    pg_database.execute("CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL UNIQUE, nick text);"
                        "CREATE UNIQUE INDEX users_nick ON users (nick) WHERE nick IS NOT NULL;"
                        "CREATE TABLE settings (id int PRIMARY KEY, user_id int NOT NULL REFERENCES users (id),"
                        " theme text, UNIQUE (user_id, theme));")
    (tmp_path / "diesel.toml").write_text("[print_schema]\nfile = \"src/schema.rs\"\n", encoding="utf-8")
    found = locate.unique_columns(Project.discover(tmp_path, database_url=pg_database.url))
    # indexes by name (users_email_key, users_pkey); partial and two-column keys do not identify a row alone
    assert found == {"users": ("email", "id"), "settings": ("id",)}
    with pg_database.connect() as conn:  # read only: nothing was written
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (0,)
    unreachable = Project.discover(tmp_path, database_url="postgres://app@/app?host=/nonexistent-socket")
    assert locate.unique_columns(unreachable) == {}


def test_run_script_refuses_sql_that_reaches_outside_the_database(pg_database: PgDatabase, tmp_path: Path) -> None:
    """The protocol's run_script goes through the same SQL guard as migrations: nothing of the script runs."""
    from lightnb.errors import MigrationError

    backend: Backend = backend_for(pg_database.url)
    target = tmp_path / "written-by-the-server"
    conn = backend.connect(pg_database.url)
    try:
        with pytest.raises(MigrationError, match="Refused to run the script's line 2"):
            backend.run_script(conn, f"CREATE TABLE kept (id int);\nCOPY (SELECT 1) TO '{target}';\n")
        assert conn.execute("SELECT to_regclass('kept')").fetchone() == (None,)
    finally:
        conn.close()
    assert not target.exists()

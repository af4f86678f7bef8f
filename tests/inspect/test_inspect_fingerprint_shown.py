"""Fingerprints shown to people leave masked columns out; the exact ones stay exact for comparisons."""

from __future__ import annotations

import json
import sqlite3

from lightnb.cli import main
from lightnb.inspect import take_snapshot
from lightnb.inspect.snapshot import split_fingerprint, table_fingerprint

PINS = """
CREATE TABLE pins (id INTEGER PRIMARY KEY, label TEXT, pin TEXT,
                   pin_copy TEXT GENERATED ALWAYS AS ('#' || pin) VIRTUAL);
INSERT INTO pins (id, label, pin) VALUES (1, 'front door', '482913');
CREATE TABLE plain (id INTEGER PRIMARY KEY, label TEXT);
INSERT INTO plain VALUES (1, 'a'), (2, 'b');
"""


def _printed(capsys, path) -> dict[str, str]:
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    return {line.split(":")[0].strip(): line.split("fingerprint ")[1].split()[0]
            for line in out.splitlines() if "fingerprint" in line}


def test_a_pin_cannot_be_recovered_from_the_printed_fingerprint(make_db, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    path = make_db("pins.db", PINS)
    printed = _printed(capsys, path)
    conn = sqlite3.connect(path)
    # The printed value is the fingerprint of the unmasked columns only ...
    assert printed["pins"] == table_fingerprint(conn, "pins", ["id", "label"])
    # ... so trying every PIN against it finds nothing: it does not depend on the PIN at all.
    for guess in ("482913", "000000", "999999"):
        conn.execute("UPDATE pins SET pin = ?", (guess,))
        assert table_fingerprint(conn, "pins", ["id", "label"]) == printed["pins"]
        assert table_fingerprint(conn, "pins") != printed["pins"]
    conn.close()
    assert printed["plain"] == table_fingerprint(sqlite3.connect(path), "plain")  # nothing masked: the full one


def test_exact_fingerprints_still_see_masked_columns(make_db, connect) -> None:
    conn = connect(make_db("pins.db", PINS))
    first = take_snapshot(conn, shown_fingerprints=True).table("pins")
    conn.execute("UPDATE pins SET pin = '111111'")
    second = take_snapshot(conn, shown_fingerprints=True).table("pins")
    assert first.fingerprint != second.fingerprint
    assert first.shown_fingerprint == second.shown_fingerprint
    assert set(first.masked_columns) == {"pin", "pin_copy"}
    full, shown = split_fingerprint(conn, "pins", ["id", "label"], ["pin", "pin_copy"])
    assert (full, shown) == (second.fingerprint, second.shown_fingerprint)


def test_every_printed_form_uses_the_shown_fingerprint(make_db, connect, tmp_path, monkeypatch, capsys) -> None:
    path = make_db("pins.db", PINS)
    conn = connect(path)
    snap = take_snapshot(conn, shown_fingerprints=True)
    pins = snap.table("pins")
    texts = [snap.to_text(), json.dumps(snap.to_dict()), snap.to_frame().to_string()]
    assert all(pins.fingerprint not in t and pins.shown_fingerprint in t for t in texts)
    assert "leaves out masked pin, pin_copy" in snap.to_text()
    assert snap.to_dict()["tables"]["pins"]["fingerprint_leaves_out"] == ["pin", "pin_copy"]
    monkeypatch.chdir(tmp_path)
    assert main(["inspect", str(path), "--format", "json"]) == 0
    assert pins.fingerprint not in capsys.readouterr().out


def test_snapshots_taken_for_comparison_print_no_fingerprint(make_db, connect) -> None:
    snap = take_snapshot(connect(make_db("pins.db", PINS)))
    pins = snap.table("pins")
    assert pins.fingerprint and pins.shown_fingerprint is None
    assert pins.fingerprint not in snap.to_text() + json.dumps(snap.to_dict()) + snap.to_frame().to_string()


def test_project_columns_are_left_out_too(make_db, tmp_path, monkeypatch, capsys) -> None:
    path = make_db("pins.db", PINS)
    project = tmp_path / "app"
    project.mkdir()
    (project / "diesel.toml").write_text('[print_schema]\nfile = "src/schema.rs"\n')
    (project / "lightnb.toml").write_text('[redact]\ncolumns = ["plain.label"]\n')
    assert main(["inspect", str(path), "--project", str(project)]) == 0
    out = capsys.readouterr().out
    assert "plain: 2 row(s), 2 column(s), fingerprint" in out and "leaves out masked label" in out


def test_a_snapshot_only_printed_skips_the_exact_fingerprints(make_db, connect) -> None:
    conn = connect(make_db("pins.db", PINS))
    both = take_snapshot(conn, shown_fingerprints=True)
    shown_only = take_snapshot(conn, shown_fingerprints=True, exact_fingerprints=False)
    assert shown_only.table("pins").fingerprint is None
    assert shown_only.table("pins").shown_fingerprint == both.table("pins").shown_fingerprint
    assert shown_only.table("plain").fingerprint == both.table("plain").fingerprint  # nothing masked: the same
    assert shown_only.to_text() == both.to_text()

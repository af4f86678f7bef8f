from __future__ import annotations

import json

import pandas as pd
import pytest

from lightnb.inspect.redact import MASK, Redactor, is_time_name, mask_message, name_words


@pytest.mark.parametrize("name", [
    "password", "password_hash", "passwd", "api_key", "apiKey", "APIKey", "secret", "client_secret",
    "access_token", "accessToken", "refresh_tokens", "userpassword", "salt", "otp_code", "iban",
    "card_number", "email", "EmailAddress", "phone_number", "hash", "ssn",
    "creditcard", "CreditCard", "credit_card", "creditcard_number", "cardnumber", "hashed_pw", "pw", "user_pw",
    "hashed_password", "session_id", "sessionId", "sessionid", "session_token", "session_key", "session",
    "apikey", "APIKEY", "passphrase", "private_key", "privateKey", "ssn", "user_ssn", "cvv", "card_cvv",
    "pin", "pin_code", "pinCode", "atm_pin",
])
def test_sensitive_names(name: str) -> None:
    assert Redactor().is_sensitive(name)


@pytest.mark.parametrize("name", [
    "id", "name", "monkey", "keyboard_layout", "spinach", "discard", "created_at", "title", "hashtag_count",
    "turnkey", "pinned", "is_pinned", "shipping", "shipping_address", "spinner", "keyboard", "monkey",
    "hashtag", "hashtags", "cardinality", "pinecone", "pwned_count", "opinion", "sessile",
])
def test_ordinary_names(name: str) -> None:
    assert not Redactor().is_sensitive(name)


def test_name_words_splits_snake_kebab_and_camel() -> None:
    assert name_words("userAPIKey_v2-old") == ("user", "api", "key", "v", "2", "old")


def test_project_settings_add_patterns_columns_and_exemptions() -> None:
    r = Redactor.from_settings({"redact": {"patterns": ["dob"], "columns": ["users.nickname", "audit.*"],
                                           "exempt": ["public_keys.key", "*.email"]}})
    assert r.is_sensitive("dob", "users")
    assert r.is_sensitive("nickname", "users")
    assert not r.is_sensitive("nickname", "friends")
    assert r.is_sensitive("anything", "audit")
    assert not r.is_sensitive("key", "public_keys")
    assert r.is_sensitive("key", "api_keys")
    assert not r.is_sensitive("email", "users")


def test_project_settings_can_replace_defaults_and_mask() -> None:
    r = Redactor.from_settings({"redact": {"replace_defaults": True, "patterns": ["dob"], "mask": "***"}})
    assert not r.is_sensitive("password")
    assert r.row({"dob": "1990", "id": 1}) == {"dob": "***", "id": 1}


def test_for_project_reads_settings_attribute() -> None:
    class P:
        settings = {"redact": {"columns": ["t.c"]}}

    assert Redactor.for_project(P()).is_sensitive("c", "t")
    assert Redactor.for_project(None).is_sensitive("password")


def test_row_and_frame_mask_values_keep_nulls_and_reveal_only_on_request() -> None:
    r = Redactor()
    assert r.row({"id": 1, "email": "a@b", "token": None}) == {"id": 1, "email": MASK, "token": None}
    assert r.row({"email": "a@b"}, reveal=True) == {"email": "a@b"}
    frame = pd.DataFrame({"id": [1, 2], "password": ["s1", None]})
    masked = r.frame(frame)
    assert list(masked["password"]) == [MASK, None]
    assert frame["password"].iloc[0] == "s1"  # the input is not modified
    assert r.frame(frame, reveal=True)["password"].iloc[0] == "s1"
    multi = pd.DataFrame({("before", "email"): ["x"], ("after", "email"): ["y"]})
    assert r.frame(multi).iloc[0].tolist() == [MASK, MASK]


# -- by value ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [
    "+358 40 123 4567", "+14155550123", "+1 (415) 555-0123", "+44 20 7946 0958", "040 123 4567", "0401234567",
    "(555) 123-4567", "555-123-4567", "415.555.0123", "0049 30 1234567",
    "AC0123456789abcdef0123456789abcdef", "MG0123456789abcdef0123456789abcdef", "SM9f8e7d6c5b4a39281706f5e4d3c2b1a0",
    "203.0.113.7", "10.0.0.1", "2001:db8::1", "::1", "fe80::1ff:fe23:4567:890a",
    "ann@example.org", "first.last+tag@mail.example.co.uk",
    "sk_live_abcdefgh12345678", "ghp_" + "a1" * 18, "AKIAIOSFODNN7EXAMPLE", "xoxb-1234567890-abcdefghij",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-nature_x",
    "$2b$12$" + "R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
    "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
    "4111 1111 1111 1111", "5500-0000-0000-0004", "4111111111111111", "3782-822463-10005",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
])
def test_secret_shaped_values_are_masked_whatever_the_column(value: str) -> None:
    r = Redactor()
    assert r.cell(value, "notes", "t") == MASK
    assert value not in r.scrub(f"seen: {value} (ok)")


@pytest.mark.parametrize("value", [
    # times, dates, counts, ids, versions: near misses of the shapes above
    "2024-01-15", "15.01.2024", "01.02.2024 10:00", "12:30:45", "1700000000", "1700000000000", "000000123",
    "v1.2.3.4", "version 10.0.0.1", "1.2.3.4.5", "999.1.1.1", "2.0.1", "3.40.1",
    "std::fmt", "aa:bb:cc:dd:ee:ff", "user@localhost", "4111111111111112", "ACME-2024-0001",
    "order 1234", "room 101", "pinned", "ticket #55512",
    # diesel migration versions (these are Luhn-valid digits): named in errors, never a card
    "2020-01-01-000000_create_users", "2020-01-01-000000-0000_create_users", "20200101000000",
])
def test_near_misses_stay_visible(value: str) -> None:
    assert Redactor().cell(value, "notes", "t") == value


def test_a_dotted_quad_in_a_version_column_is_a_version() -> None:
    r = Redactor()
    assert r.cell("1.2.3.4", "app_version", "t") == "1.2.3.4"
    assert r.cell("1.2.3.4", "build", "t") == "1.2.3.4"
    assert r.cell("1.2.3.4", "last_login_from", "t") == MASK


def test_only_the_secret_part_of_a_text_is_masked() -> None:
    r = Redactor()
    assert r.scrub("call +1 (415) 555-0123 now") == f"call {MASK} now"
    assert r.scrub("postgres://app:hunter2@db/prod") == f"postgres://app:{MASK}@db/prod"
    assert r.scrub("password=hunter2&user=ann") == f"password={MASK}&user=ann"
    assert r.scrub("Authorization: Bearer abcdefgh.ijklmnop") == f"Authorization: Bearer {MASK}"
    assert r.scrub("from 10.0.0.1:5432") == f"from {MASK}:5432"


def test_json_text_keeps_its_structure_and_masks_secret_keys() -> None:
    r = Redactor()
    text = ('{"plan":"pro","auth":{"token":"tok-1","scopes":["a"]},"password":"pw-1","contact":"+14155550123",'
            '"email_timestamp":1700000000,"items":[{"api_key":"k-1","n":2}],"ok":true}')
    masked = r.cell(text, "settings", "users")
    data = json.loads(masked)
    assert data == {"plan": "pro", "auth": {"token": MASK, "scopes": ["a"]}, "password": MASK, "contact": MASK,
                    "email_timestamp": 1700000000, "items": [{"api_key": MASK, "n": 2}], "ok": True}
    assert ", " not in masked  # compact stays compact
    spaced = '{"a": 1, "secret": {"x": [1, 2]}}'
    assert json.loads(r.scrub(spaced)) == {"a": 1, "secret": MASK} and ", " in r.scrub(spaced)
    assert r.scrub('{"plan": "pro"}') == '{"plan": "pro"}'  # unchanged text is returned as it was
    assert r.scrub("[1, 2, 3]") == "[1, 2, 3]"
    assert "tok-9" not in r.scrub('{"token": "tok-9", broken')  # not JSON: key=value rule still applies


def test_integers_of_time_columns_stay_visible_text_does_not() -> None:
    r = Redactor()
    assert is_time_name("email_timestamp") and is_time_name("token_expires_at") and not is_time_name("timestamp")
    assert r.is_sensitive("email_timestamp")  # the name holds a sensitive word ...
    assert r.cell(1700000000, "email_timestamp", "t") == 1700000000  # ... but an integer there is a time
    assert r.cell(1.5e9, "password_changed_at", "t") == 1.5e9
    assert r.cell("2024-01-01 ann@example.org", "email_timestamp", "t") == MASK
    assert r.row({"email_timestamp": 1700000000, "email": "a@b.org", "id": 7}) == \
        {"email_timestamp": 1700000000, "email": MASK, "id": 7}
    explicit = Redactor.from_settings({"redact": {"columns": ["t.login_at"]}})
    assert explicit.cell(1700000000, "login_at", "t") == MASK  # an explicit column is masked whatever it holds


def test_integers_are_never_secrets_by_value() -> None:
    r = Redactor()
    for value in (14155550123, 4111111111111111, 1700000000, 2001, 10001):
        assert r.cell(value, "contact", "t") == value


def test_encrypted_columns_are_masked_by_name() -> None:
    r = Redactor()
    assert r.is_sensitive("encrypted_notes") and r.is_sensitive("notes_encrypted")
    assert r.is_sensitive("encryptedPayload") and r.is_sensitive("ciphertext")


def test_derived_pairs_are_masked_and_exemptions_still_win() -> None:
    r = Redactor.from_settings({"redact": {"exempt": ["audit.note"]}}).with_derived(
        [("users", "mirror"), ("audit", "note")])
    assert r.is_sensitive("mirror", "users") and not r.is_sensitive("mirror", "other")
    assert r.is_sensitive("mirror")  # a query column of unknown table: by column name
    assert not r.is_sensitive("note", "audit")
    assert Redactor().with_derived([]) == Redactor()


def test_messages_mask_quoted_data_and_secret_shapes() -> None:
    assert mask_message("JSON path error near 'sk-live-ABCDEFGH'") == f"JSON path error near '{MASK}'"
    assert mask_message('fts5: syntax error near "ann.secret"') == f'fts5: syntax error near "{MASK}"'
    kept = 'near "UNION": syntax error; UNIQUE constraint failed: users.email (up.sql line 3)'
    assert mask_message(kept) == kept
    kept = ('Failed to run 1_x with: unrecognized token: "}" (up.sql line 1: CREATE TABLE t (id INTEGER}); '
            'no such column: password; duplicate column name: pin; ambiguous column name: token')
    assert mask_message(kept) == kept
    assert "hunter2" not in mask_message("Failed: UPDATE users SET password = 'hunter2' WHERE id = 1")
    assert "+14155550123" not in mask_message("CHECK constraint failed: phone <> '+14155550123'")


def test_frame_scrubs_values_and_keeps_the_input() -> None:
    r = Redactor()
    frame = pd.DataFrame({"id": [1, 2], "contact": ["+14155550123", "n/a"], "email_timestamp": [1700000000, None]})
    masked = r.frame(frame)
    assert masked["contact"].tolist() == [MASK, "n/a"] and masked["email_timestamp"].tolist()[0] == 1700000000
    assert frame["contact"][0] == "+14155550123"


def test_key_value_pairs_are_found_inside_the_values_of_other_keys() -> None:
    text = "row: {'id': 1, 'settings': '{\"plan\":\"pro\",\"auth\":{\"token\":\"tok-77\"}}', 'api_key': 'k-77'}"
    masked = mask_message(text)
    assert "tok-77" not in masked and "k-77" not in masked and '"plan":"pro"' in masked


def test_a_check_constraint_quoted_in_an_error_is_masked() -> None:
    for text in ("CHECK constraint failed: password <> 'hunter2'", "CHECK constraint failed: pin != '4821'",
                 "CHECK constraint failed: api_key == 'abc-77'"):
        masked = mask_message(text)
        assert masked.startswith("CHECK constraint failed: ") and MASK in masked
        assert not any(v in masked for v in ("hunter2", "4821", "abc-77"))
    assert mask_message("CHECK constraint failed: balance >= 0") == "CHECK constraint failed: balance >= 0"

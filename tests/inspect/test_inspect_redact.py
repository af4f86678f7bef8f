from __future__ import annotations

import pandas as pd
import pytest

from lightnb.inspect.redact import MASK, Redactor, name_words


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

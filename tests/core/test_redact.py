"""Redaction replaces whole secrets, in every encoding obs sends them, and never a fragment of a word."""

from __future__ import annotations

import base64

from obs.core.redact import basic_auth_forms, redact, secret_forms


def test_a_short_secret_does_not_mangle_ordinary_words():
    text = "Grafana answered 403: the credentials lack a permission"
    assert redact(text, ["cr", "ed", "answer"]) == text


def test_whole_occurrences_are_replaced():
    assert redact("token=glsa_abc123 rejected", ["glsa_abc123"]) == "token=*** rejected"
    assert redact('{"password":"hunter2"}', ["hunter2"]) == '{"password":"***"}'


def test_every_encoding_obs_sends_is_covered():
    password = "p@ss w/rd"
    header = "Authorization: Basic " + base64.b64encode(f"admin:{password}".encode()).decode()
    forms = basic_auth_forms("admin", password)
    assert redact(header, forms) == "Authorization: Basic ***"
    assert redact("https://h/?password=p%40ss%20w%2Frd", forms) == "https://h/?password=***"
    assert redact("form: password=p%40ss+w%2Frd", secret_forms(password)) == "form: password=***"


def test_credentials_in_urls_are_removed():
    assert redact("see https://admin:secret@grafana.example/api", []) == "see https://***@grafana.example/api"


def test_a_header_after_a_percent_escape_is_redacted():
    forms = basic_auth_forms("ops", "s3cretPassword")
    token = base64.b64encode(b"ops:s3cretPassword").decode()
    assert redact(f"GET /x?auth=Basic%20{token} refused", forms) == "GET /x?auth=Basic%20*** refused"


def test_a_long_secret_is_replaced_even_inside_a_word():
    assert redact("tokenglsa_abc123456z", ["glsa_abc123456"]) == "token***z"

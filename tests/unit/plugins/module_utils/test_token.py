from __future__ import annotations

import pytest

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._token import TokenError, client_token

CONTENT = {"template": "ACS-ECS-BulkyApplyPatchBaseline", "parameters": {"action": "scan", "targets": ["i-1", "i-2"]}}


def test_equal_content_gives_the_same_token_whatever_the_key_order():
    reordered = {"parameters": {"targets": ["i-1", "i-2"], "action": "scan"}, "template": "ACS-ECS-BulkyApplyPatchBaseline"}
    assert client_token(CONTENT) == client_token(reordered)


@pytest.mark.parametrize("change", [
    {"template": "other"},
    {"parameters": {"action": "install", "targets": ["i-1", "i-2"]}},
    {"parameters": {"action": "scan", "targets": ["i-2", "i-1"]}},
    {"parameters": {"action": "scan", "targets": ["i-1"]}},
])
def test_different_content_gives_a_different_token(change):
    assert client_token(dict(CONTENT, **change)) != client_token(CONTENT)


def test_user_token_prefixes_and_changes_the_token():
    base = client_token(CONTENT)
    mine = client_token(CONTENT, user_token="change-4711")
    assert mine.startswith("change-4711-")
    assert mine != base
    assert client_token(CONTENT, user_token="change-4712") != mine


@pytest.mark.parametrize("user_token", [None, "x", "y" * 64, "run-2026-11-21"])
def test_tokens_are_at_most_64_printable_ascii(user_token):
    token = client_token(CONTENT, user_token=user_token)
    assert 0 < len(token) <= 64
    assert all(33 <= ord(c) <= 126 for c in token)


@pytest.mark.parametrize("bad", ["", "has space", "ü", "z" * 65])
def test_bad_user_tokens_are_rejected(bad):
    with pytest.raises(TokenError):
        client_token(CONTENT, user_token=bad)


def test_token_is_not_time_based(monkeypatch):
    import time

    first = client_token(CONTENT)
    monkeypatch.setattr(time, "time", lambda: 4102444800.0)
    assert client_token(CONTENT) == first

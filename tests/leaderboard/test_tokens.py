"""API tokens: shown once, stored hashed, expiring and revocable."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from leaderboard.models import ApiToken
from leaderboard.tokens import TokenInvalid, authenticate_token, create_token, revoke_token

pytestmark = pytest.mark.django_db


def test_it_stores_only_a_hash_of_the_secret(alice):
    new = create_token(alice, "CI")
    secret = new.plaintext.split("_", 2)[2]
    row = ApiToken.objects.get()
    assert secret not in (row.secret_hash, row.prefix) and len(row.secret_hash) == 64
    assert new.plaintext.startswith(f"elue_{row.prefix}_")


def test_it_authenticates_and_records_the_use(alice):
    new = create_token(alice, "CI")
    assert authenticate_token(new.plaintext).user == alice
    assert ApiToken.objects.get().last_used_at is not None


def test_it_records_the_use_at_most_once_a_minute(alice, django_assert_num_queries):
    """A write per API call would queue every call behind any other writer (SQLite)."""
    new = create_token(alice, "CI")
    authenticate_token(new.plaintext)
    first = ApiToken.objects.get().last_used_at
    with django_assert_num_queries(1):  # the look-up only, no UPDATE
        authenticate_token(new.plaintext)
    assert ApiToken.objects.get().last_used_at == first
    ApiToken.objects.update(last_used_at=first - timedelta(seconds=61))
    authenticate_token(new.plaintext)
    assert ApiToken.objects.get().last_used_at > first


@pytest.mark.parametrize("mangle, message", [
    (lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"), "unknown or revoked"),
    (lambda t: "token " + t, "malformed"),
    (lambda t: t.replace("elue_", "xyz_", 1), "malformed"),
])
def test_it_refuses_a_wrong_token(alice, mangle, message):
    new = create_token(alice, "CI")
    with pytest.raises(TokenInvalid, match=message):
        authenticate_token(mangle(new.plaintext))


def test_it_refuses_an_expired_token(alice):
    new = create_token(alice, "CI", expires_in_days=1)
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(TokenInvalid, match="expired"):
        authenticate_token(new.plaintext)
    assert not ApiToken.objects.active().exists()


def test_it_refuses_a_revoked_token_and_only_the_owner_revokes(alice, django_user_model):
    bob = django_user_model.objects.create_user("bob", "bob@example.org", "pw-bob-123")
    new = create_token(alice, "CI", expires_in_days=None)
    assert not revoke_token(bob, new.token.pk)
    authenticate_token(new.plaintext)
    assert revoke_token(alice, new.token.pk)
    with pytest.raises(TokenInvalid, match="unknown or revoked"):
        authenticate_token(new.plaintext)


def test_it_writes_the_last_use_at_most_once_a_minute(alice, django_assert_num_queries):
    new = create_token(alice, "poller")
    authenticate_token(new.plaintext)  # the first use is written
    first = ApiToken.objects.get().last_used_at
    with django_assert_num_queries(3):  # three look-ups, no UPDATE
        for _ in range(3):
            authenticate_token(new.plaintext)
    assert ApiToken.objects.get().last_used_at == first
    ApiToken.objects.update(last_used_at=first - timedelta(seconds=61))
    authenticate_token(new.plaintext)
    assert ApiToken.objects.get().last_used_at > first

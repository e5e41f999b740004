"""Accounts: sign up, log in and out, password change and reset, API tokens."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from leaderboard.models import ApiToken
from leaderboard.tokens import authenticate_token

pytestmark = pytest.mark.django_db


def test_it_signs_up_and_logs_in(client, django_user_model):
    response = client.post("/accounts/signup/", {
        "username": "carol", "email": "carol@example.org",
        "password1": "a-long-pass-123", "password2": "a-long-pass-123"})
    assert response["Location"] == "/submit/"
    assert client.get("/submit/").status_code == 200
    assert django_user_model.objects.get(username="carol").email == "carol@example.org"


def test_it_shows_signup_errors_next_to_the_field(client, alice):
    html = client.post("/accounts/signup/", {
        "username": "alice", "email": "x@example.org",
        "password1": "a-long-pass-123", "password2": "other-pass-456"}).content.decode()
    assert "A user with that username already exists." in html
    assert "The two password fields didn" in html


def test_it_logs_in_and_out(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": "pw-alice-123"})
    assert response["Location"] == "/me/submissions/"
    assert "Log out alice" in client.get("/").content.decode()
    client.post("/accounts/logout/")
    assert "Log in" in client.get("/").content.decode()


def test_it_changes_the_password(alice_client, alice):
    alice_client.post("/accounts/password/", {
        "old_password": "pw-alice-123", "new_password1": "a-new-pass-789",
        "new_password2": "a-new-pass-789"})
    alice.refresh_from_db()
    assert alice.check_password("a-new-pass-789")


def test_it_resets_a_password_by_email(client, alice):
    client.post("/accounts/password/reset/", {"email": "alice@example.org"})
    assert len(mail.outbox) == 1 and mail.outbox[0].subject == "Reset your ELUE password"
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/)", mail.outbox[0].body)[1]
    form_url = client.get(link)["Location"]
    client.post(form_url, {"new_password1": "reset-pass-321", "new_password2": "reset-pass-321"})
    alice.refresh_from_db()
    assert alice.check_password("reset-pass-321")


def test_it_shows_a_new_token_once(alice_client, alice):
    html = alice_client.post("/accounts/tokens/", {"name": "laptop", "expires": "30"}
                             ).content.decode()
    plaintext = re.search(r'<code id="new-token">([^<]+)</code>', html)[1]
    assert authenticate_token(plaintext).user == alice
    assert plaintext not in alice_client.get("/accounts/tokens/").content.decode()


def test_it_revokes_only_my_tokens(alice_client, alice, bob):
    alice_client.post("/accounts/tokens/", {"name": "laptop", "expires": "never"})
    token = ApiToken.objects.get(user=alice)
    assert token.expires_at is None
    from leaderboard.tokens import create_token

    theirs = create_token(bob, "bob's").token
    alice_client.post(f"/accounts/tokens/{theirs.pk}/revoke/")
    alice_client.post(f"/accounts/tokens/{token.pk}/revoke/")
    assert list(ApiToken.objects.all()) == [theirs]

"""Accounts: sign up (limited per client address), confirm the e-mail address (one account
per confirmed address, needed to submit), log in and out (locked after repeated failures),
password change and reset, API tokens."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.signing import TimestampSigner
from django.utils import timezone

from leaderboard.accounts import SALT, confirmation_token, is_confirmed, mark_confirmed
from leaderboard.models import Account, ApiToken, Submission
from leaderboard.tokens import authenticate_token
from tests.pipeline.bundles import declared_bundle

pytestmark = pytest.mark.django_db


def sign_up(client, username: str, email: str | None = None, **extra):
    return client.post("/accounts/signup/", {
        "username": username, "email": email or f"{username}@example.org",
        "password1": "a-long-pass-123", "password2": "a-long-pass-123"}, **extra)


def confirmation_link(address: str) -> str:
    [sent] = [m for m in mail.outbox if m.to == [address]]
    return re.search(r"http://testserver(/accounts/confirm/\S+/)", sent.body)[1]


def test_it_signs_up_and_logs_in(client, django_user_model):
    response = sign_up(client, "carol")
    assert response["Location"] == "/submit/"
    assert client.get("/submit/").status_code == 200
    assert django_user_model.objects.get(username="carol").email == "carol@example.org"


def test_signing_up_sends_a_link_that_confirms_the_address(client, django_user_model):
    sign_up(client, "carol")
    carol = django_user_model.objects.get(username="carol")
    assert not is_confirmed(carol)
    [sent] = mail.outbox
    assert sent.subject == "Confirm your e-mail address for ELUE"
    html = client.get("/submit/").content.decode()
    assert "Confirm your e-mail address before your first submission" in html
    client.post("/accounts/logout/")
    # The link works without logging in, once; a second visit says it is done.
    for _ in range(2):
        page = client.get(confirmation_link("carol@example.org")).content.decode()
        assert "carol@example.org is confirmed: carol can submit now." in page
    assert is_confirmed(carol)


def test_an_unconfirmed_account_logs_in_but_cannot_submit(client, carl, settings, tmp_path,
                                                          enqueued):
    settings.MEDIA_ROOT = tmp_path / "uploads"
    client.post("/accounts/login/", {"username": "carl", "password": "pw-carl-123"})
    bundle = declared_bundle(tmp_path / "b.zip", tasks=("sst-2",))
    response = client.post("/submit/", {"name": "X", "visibility": "public", "files": [
        SimpleUploadedFile("b.zip", bundle.read_bytes())]})
    assert response.status_code == 400 and not Submission.objects.exists()
    assert "Confirm your e-mail address before your first submission" in (
        response.content.decode())
    response = client.post("/submit/published/", {
        "entry-name": "Paper", "entry-visibility": "public", "points-TOTAL_FORMS": "1",
        "points-INITIAL_FORMS": "0", "points-0-task": "sst-2", "points-0-name": "6L",
        "points-0-mflops": "2000", "points-0-performance": "88.1",
        "points-0-mflops_basis": "declared"})
    assert "confirm your e-mail address before submitting" in response.content.decode()
    assert not carl.entries.exists()


def test_it_sends_the_link_again_but_not_too_often(client, carl):
    client.force_login(carl)
    assert "Send the link again" in client.get("/accounts/confirm/").content.decode()
    first = client.post("/accounts/confirm/", follow=True).content.decode()
    again = client.post("/accounts/confirm/", follow=True).content.decode()
    assert "A new link is on its way to carl@example.org." in first
    assert "A link was sent less than two minutes ago" in again
    assert len(mail.outbox) == 1
    client.get(confirmation_link("carl@example.org"))
    assert is_confirmed(carl)
    assert "Send the link again" not in client.get("/accounts/confirm/").content.decode()


def test_one_confirmed_address_is_one_account(client, alice, django_user_model):
    html = sign_up(client, "alias", "ALICE@Example.org").content.decode()
    assert "An ELUE account already uses this address" in html
    assert not django_user_model.objects.filter(username="alias").exists()
    # Two accounts may claim an address no one has confirmed; the first to confirm keeps it.
    first = django_user_model.objects.create_user("x1", "shared@example.org", "pw-x-12345")
    second = django_user_model.objects.create_user("x2", "Shared@Example.org", "pw-x-12345")
    links = [f"/accounts/confirm/{confirmation_token(u)}/" for u in (first, second)]
    assert client.get(links[0]).status_code == 200
    refused = client.get(links[1])
    assert refused.status_code == 400
    assert "Shared@example.org already belongs to another ELUE account" in (
        refused.content.decode())
    assert is_confirmed(first) and not is_confirmed(second)


def test_a_bad_or_old_link_says_why(client, carl):
    token = confirmation_token(carl)
    html = client.get(f"/accounts/confirm/{token[:-3]}xyz/").content.decode()
    assert "this link is not one ELUE sent" in html
    old = TimestampSigner(salt=SALT).sign_object(
        {"user": carl.pk, "email": "carl@example.org"})
    with pytest.MonkeyPatch.context() as patch:
        later = timezone.now() + timedelta(days=4)
        patch.setattr("django.core.signing.time.time", lambda: later.timestamp())
        html = client.get(f"/accounts/confirm/{old}/").content.decode()
    assert "this link is older than 3 days" in html
    carl.email = "carl@new.example.org"
    carl.save()
    html = client.get(f"/accounts/confirm/{token}/").content.decode()
    assert "an address the account no longer has" in html
    assert not is_confirmed(carl)


def test_sign_ups_are_limited_per_client_address(client, settings, django_user_model):
    settings.ELUE_SIGNUPS_PER_IP = 2
    for name in ("s1", "s2"):
        assert sign_up(client, name, REMOTE_ADDR="10.0.0.7").status_code == 302
        client.post("/accounts/logout/")
    response = sign_up(client, "s3", REMOTE_ADDR="10.0.0.7")
    assert response.status_code == 429
    assert re.search(r"2 accounts were created from your network in the last 24 hours, the "
                     r"most ELUE allows; try again after \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC",
                     response.content.decode())
    assert not django_user_model.objects.filter(username="s3").exists()
    assert sign_up(client, "s3", REMOTE_ADDR="10.0.0.8").status_code == 302
    # The address is kept only as a keyed hash.
    assert "10.0.0.7" not in str(list(Account.objects.values_list("signup_ip", flat=True)))
    # Behind a trusted proxy, the client is the last address it appended.
    settings.ELUE_TRUSTED_PROXIES = ["10.0.0.1"]
    client.post("/accounts/logout/")
    assert sign_up(client, "s4", REMOTE_ADDR="10.0.0.1",
                   HTTP_X_FORWARDED_FOR="10.0.0.7").status_code == 429


def test_repeated_failed_log_ins_lock_the_account_with_a_clear_message(client, alice):
    for i in range(5):
        client.post("/accounts/login/", {"username": "alice", "password": "wrong"},
                    REMOTE_ADDR=f"10.1.0.{i}")
    response = client.post("/accounts/login/", {"username": "alice",
                                                 "password": "pw-alice-123"},
                           REMOTE_ADDR="10.1.0.9")
    html = response.content.decode()
    assert response.status_code == 429 and "_auth_user_id" not in client.session
    assert re.search(r"Log-in is locked until \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC: 5 failed "
                     r"attempts for this account or from your network", html)
    assert "reset it by e-mail" in html


def test_repeated_failures_from_one_address_lock_that_address(client, alice, bob):
    for name in ("x", "y", "z", "w", "v"):
        client.post("/accounts/login/", {"username": name, "password": "wrong"},
                    REMOTE_ADDR="10.2.0.1")
    locked = client.post("/accounts/login/", {"username": "alice", "password": "pw-alice-123"},
                         REMOTE_ADDR="10.2.0.1")
    assert locked.status_code == 429
    other = client.post("/accounts/login/", {"username": "bob", "password": "pw-bob-123"},
                        REMOTE_ADDR="10.2.0.2")
    assert other.status_code == 302 and other["Location"] == "/me/submissions/"


def test_mark_confirmed_refuses_an_address_another_account_confirmed(alice,
                                                                     django_user_model):
    from leaderboard.accounts import ConfirmationFailed

    twin = django_user_model.objects.create_user("twin", "Alice@example.org", "pw-twin-123")
    with pytest.raises(ConfirmationFailed, match="already belongs to another ELUE account"):
        mark_confirmed(twin)


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


def test_a_mail_server_down_does_not_break_signing_up(client, monkeypatch, django_user_model):
    import smtplib

    def down(*args, **kwargs):
        raise smtplib.SMTPServerDisconnected("connection unexpectedly closed")

    monkeypatch.setattr("leaderboard.accounts.send_mail", down)
    page = sign_up(client, "carol", follow=True).content.decode()
    assert "could not be sent just now; ask for it again in a few minutes" in page
    assert django_user_model.objects.filter(username="carol").exists()
    monkeypatch.undo()
    again = client.post("/accounts/confirm/", follow=True).content.decode()
    assert "A new link is on its way to carol@example.org." in again

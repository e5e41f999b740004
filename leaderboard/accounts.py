"""Accounts that are not free (docs/integrity.md, "Accounts"): e-mail confirmation before the
first submission, one account per confirmed address, and sign-ups per client address limited.

- ``require_confirmed`` is the one door check that every way of submitting calls (the site,
  the API with a session or a token, ``elue_submit``, resubmitting, published entries), through
  ``leaderboard.submissions.submit_bundle`` and ``leaderboard.published``.
- ``send_confirmation`` mails a signed link (``confirmation_token``); ``confirm`` checks it and
  marks the address confirmed unless another account already confirmed it (case-insensitive).
- ``check_signup_rate`` counts the accounts created from one client address in the last day;
  the address is kept only as a keyed hash (``address_hash``).
- ``client_ip`` is the client's address, also used by django-axes, which locks log-ins after
  repeated failures (``elue/settings.py``, ``leaderboard.views.accounts.locked_out``).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from leaderboard.client_address import client_address
from leaderboard.models import Account

SALT = "elue.email-confirmation"
# A new confirmation mail at most this often per account (asking again sooner is refused).
RESEND_AFTER = timedelta(minutes=2)


class EmailNotConfirmed(Exception):
    """The account's e-mail address is not confirmed, which submitting needs."""

    def __init__(self, user):
        address = user.email or "your address"
        super().__init__(f"confirm your e-mail address before submitting: open the link ELUE "
                         f"sent to {address} (a new one can be sent from "
                         f"{reverse('leaderboard:confirm_email_send')})")


class ConfirmationFailed(Exception):
    """A confirmation link that cannot confirm anything; the message says why."""


class SignupLimited(Exception):
    """Too many accounts created from one client address; ``resets_at`` is when one frees."""

    def __init__(self, limit: int, resets_at: datetime):
        self.limit, self.resets_at = limit, resets_at
        super().__init__(f"{limit} accounts were created from your network in the last 24 "
                         f"hours, the most ELUE allows; try again after "
                         f"{resets_at:%Y-%m-%d %H:%M} UTC")


# --- who is confirmed ---------------------------------------------------------------------

def normalized(email: str) -> str:
    return email.strip().lower()


def is_confirmed(user) -> bool:
    """Whether ``user`` confirmed the address the account has now."""
    account = Account.objects.filter(user_id=user.pk).first()
    return bool(account and account.email_confirmed_at and user.email
                and account.confirmed_email == normalized(user.email))


def require_confirmed(user) -> None:
    """Raise ``EmailNotConfirmed`` unless ``user`` may submit."""
    if not is_confirmed(user):
        raise EmailNotConfirmed(user)


def address_taken(email: str, by_other_than=None) -> bool:
    """Whether an account (other than ``by_other_than``) confirmed ``email``."""
    taken = Account.objects.filter(confirmed_email=normalized(email)).exclude(
        confirmed_email="")
    if by_other_than is not None:
        taken = taken.exclude(user_id=by_other_than.pk)
    return taken.exists()


def mark_confirmed(user, now: datetime | None = None) -> Account:
    """Confirm ``user``'s current address (the link's job; also for operators and scripts).

    Raises ``ConfirmationFailed`` when the account has no address or another account
    confirmed it first.
    """
    if not user.email:
        raise ConfirmationFailed("this account has no e-mail address to confirm")
    if address_taken(user.email, by_other_than=user):
        raise ConfirmationFailed(f"{user.email} already belongs to another ELUE account; "
                                 "one address, one account")
    account, _ = Account.objects.get_or_create(user=user)
    account.confirmed_email = normalized(user.email)
    account.email_confirmed_at = now or timezone.now()
    try:
        with transaction.atomic():
            account.save(update_fields=["confirmed_email", "email_confirmed_at"])
    except IntegrityError:  # confirmed by another account a moment ago
        raise ConfirmationFailed(f"{user.email} already belongs to another ELUE account; "
                                 "one address, one account") from None
    return account


# --- the confirmation link ----------------------------------------------------------------

def confirmation_token(user) -> str:
    """A signed, timestamped token for ``user``'s current address."""
    return signing.dumps({"user": user.pk, "email": normalized(user.email)}, salt=SALT)


def confirm(token: str, user_model) -> object:
    """Confirm the address a link was sent for; returns the user. Raises
    ``ConfirmationFailed`` for a link that is broken, expired, or for an address the account
    no longer has."""
    max_age = timedelta(days=settings.ELUE_EMAIL_CONFIRMATION_DAYS)
    try:
        signed = signing.loads(token, salt=SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise ConfirmationFailed(f"this link is older than "
                                 f"{settings.ELUE_EMAIL_CONFIRMATION_DAYS} days; log in and "
                                 "ask for a new one") from None
    except signing.BadSignature:
        raise ConfirmationFailed("this link is not one ELUE sent (was it cut short when "
                                 "copied?); log in and ask for a new one") from None
    user = user_model.objects.filter(pk=signed.get("user")).first()
    if user is None or normalized(user.email) != signed.get("email"):
        raise ConfirmationFailed("this link is for an address the account no longer has; "
                                 "log in and ask for a new one")
    if is_confirmed(user):
        return user
    mark_confirmed(user)
    return user


def send_confirmation(user, base_url: str, now: datetime | None = None) -> bool:
    """Mail ``user`` a confirmation link (``base_url``: the site's, e.g. from the request).
    Returns ``False``, sending nothing, when one was sent less than ``RESEND_AFTER`` ago."""
    now = now or timezone.now()
    account, _ = Account.objects.get_or_create(user=user)
    if account.confirmation_sent_at and now - account.confirmation_sent_at < RESEND_AFTER:
        return False
    link = base_url.rstrip("/") + reverse("leaderboard:confirm_email",
                                          kwargs={"token": confirmation_token(user)})
    context = {"user": user, "link": link, "days": settings.ELUE_EMAIL_CONFIRMATION_DAYS}
    send_mail("Confirm your e-mail address for ELUE",
              render_to_string("leaderboard/accounts/confirm_email.txt", context),
              None, [user.email])
    Account.objects.filter(pk=account.pk).update(confirmation_sent_at=now)
    return True


# --- sign-ups per client address ----------------------------------------------------------

def client_ip(request) -> str:
    """The client's address, as the API's throttles see it (``leaderboard.client_address``:
    ``X-Forwarded-For`` believed only from a proxy in ``ELUE_TRUSTED_PROXIES``)."""
    return client_address(request.META)


def address_hash(ip: str) -> str:
    """A keyed hash of a client address: sign-ups from one address can be counted without
    keeping the address."""
    return hmac.new(settings.SECRET_KEY.encode(), ip.encode(), hashlib.sha256).hexdigest()


def check_signup_rate(ip: str, now: datetime | None = None) -> None:
    """Raise ``SignupLimited`` when ``ELUE_SIGNUPS_PER_IP`` accounts were created from ``ip``
    in the last 24 hours."""
    now = now or timezone.now()
    limit = settings.ELUE_SIGNUPS_PER_IP
    recent = list(Account.objects.filter(signup_ip=address_hash(ip),
                                         created_at__gte=now - timedelta(days=1))
                  .order_by("created_at").values_list("created_at", flat=True)[:limit])
    if len(recent) >= limit:
        oldest = recent[0] if recent else now
        raise SignupLimited(limit, oldest + timedelta(days=1))


def record_signup(user, ip: str) -> Account:
    """The new account's record, with the keyed hash of the address it signed up from."""
    account, _ = Account.objects.update_or_create(user=user,
                                                  defaults={"signup_ip": address_hash(ip)})
    return account

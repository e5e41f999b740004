"""What ELUE keeps about a user and their use of the API: the account (confirmed e-mail,
sign-up address), API tokens, and the first answer to each idempotent request."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from leaderboard.models.submissions import Submission


class Account(models.Model):
    """What ELUE keeps about a user beyond Django's ``User`` (``leaderboard.accounts``):
    whether the e-mail address is confirmed, which a submission needs; each confirmed address
    (lower-cased) belongs to one account. ``signup_ip`` is a keyed hash of the address the
    account signed up from, never the address itself: sign-ups per address are limited."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="account")
    confirmed_email = models.EmailField(blank=True, help_text="Lower-cased; empty until "
                                        "confirmed.")
    email_confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    signup_ip = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(
            fields=["confirmed_email"], condition=~Q(confirmed_email=""),
            name="one_account_per_confirmed_email")]

    def __str__(self) -> str:
        state = f"confirmed {self.confirmed_email}" if self.email_confirmed_at else "unconfirmed"
        return f"{self.user} ({state})"


class ApiTokenQuerySet(models.QuerySet):
    def active(self, now=None) -> ApiTokenQuerySet:
        now = now or timezone.now()
        return self.filter(Q(expires_at=None) | Q(expires_at__gt=now))


class ApiToken(models.Model):
    """A token for the REST API and the ``elue`` client. Only a SHA-256 hash of the secret
    is stored: the token is shown once, when it is created (``leaderboard.tokens``)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="api_tokens")
    name = models.CharField(max_length=80, help_text="What the token is for, e.g. 'CI'.")
    prefix = models.CharField(max_length=16, unique=True,
                              help_text="The token's public first part, shown in lists.")
    secret_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never.")
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class IdempotencyRecord(models.Model):
    """The first response to an API request sent with an ``Idempotency-Key`` header, so that a
    retry (same user, same key) gets that response again instead of creating anything twice.
    ``fingerprint`` (SHA-256 of the method, path and parsed body) tells a retry from a
    different request that reuses the key; ``status`` is 0 while the first is in progress."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="idempotency_records")
    key = models.CharField(max_length=200)
    fingerprint = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField(default=0)
    body = models.JSONField(null=True, blank=True)
    submission = models.ForeignKey(Submission, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"],
                                               name="unique_idempotency_key")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key} -> {self.status}"

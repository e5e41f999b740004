"""One lock per account: what counts an account's quota and inserts what the quota limits
runs under it, one request at a time per account (submissions, published entries, and the
points a model the platform ran produced)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.contrib.auth import get_user_model
from django.db import transaction


@contextmanager
def owner_lock(owner) -> Iterator[None]:
    """A transaction holding ``owner``'s lock until it ends.

    PostgreSQL: ``SELECT ... FOR NO KEY UPDATE`` on the user's row (it does not block rows
    that merely refer to the user). SQLite: the transaction is ``IMMEDIATE`` (settings), so
    it holds the database's write lock from its start. Nested in an outer transaction (an
    ``Idempotency-Key`` request), the lock is held until that one ends.
    """
    with transaction.atomic():
        users = get_user_model().objects.select_for_update(no_key=True).filter(pk=owner.pk)
        list(users.values_list("pk", flat=True))
        yield

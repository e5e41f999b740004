"""The version number of what the public pages show, the key of their cache."""

from __future__ import annotations

from django.db import models


class BoardVersion(models.Model):
    """One row whose ``number`` grows with every change to what the public pages show:
    entries, their points and scores, the reference curve, tasks and test data. Database
    triggers bump it (migration ``0011_board_version``) in the transaction of the change,
    whatever made it (the ORM, a bulk update, a cascade, the admin); cached pages are keyed
    by it (``leaderboard.board_cache``)."""

    number = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"board version {self.number}"

"""python manage.py elue_confirm_email USERNAME [USERNAME ...]

For operators: confirm accounts' e-mail addresses by hand (an account for a script, or one
created with ``createsuperuser``), as following the confirmation link would; each address
still belongs to one account only.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from leaderboard.accounts import ConfirmationFailed, mark_confirmed


class Command(BaseCommand):
    help = "Confirm the e-mail address of the given users, which submitting needs."

    def add_arguments(self, parser):
        parser.add_argument("usernames", nargs="+")

    def handle(self, usernames: list[str], **options):
        users = get_user_model().objects
        for username in usernames:
            user = users.filter(username=username).first()
            if user is None:
                raise CommandError(f"no user named {username!r}")
            try:
                mark_confirmed(user)
            except ConfirmationFailed as exc:
                raise CommandError(f"{username}: {exc}") from None
            self.stdout.write(f"{username}: {user.email} confirmed")

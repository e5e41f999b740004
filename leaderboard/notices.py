"""Notices to users by e-mail, through Django's mail backend (the console in development,
``DJANGO_EMAIL_BACKEND``): staff's review of a published entry.

A notice that cannot be sent is logged, not raised: the decision it reports stands, and the
owner also sees it on the entry page and on My submissions.
"""

from __future__ import annotations

import logging

from django.core.mail import send_mail
from django.template.loader import render_to_string

from leaderboard.models import Entry

logger = logging.getLogger(__name__)
TEMPLATES = "leaderboard/emails/"


def send_review_notice(entry: Entry, link: str = "") -> bool:
    """E-mail the owner of ``entry`` staff's decision and reason; whether it was sent."""
    owner = entry.owner
    if owner is None or not owner.email:
        return False
    context = {"entry": entry, "owner": owner, "link": link,
               "approved": entry.review == Entry.Review.APPROVED}
    subject = render_to_string(TEMPLATES + "review_subject.txt", context).strip()
    body = render_to_string(TEMPLATES + "review.txt", context)
    try:
        send_mail(subject, body, None, [owner.email])
    except OSError:
        logger.warning("could not e-mail %s the review of entry %s", owner.email, entry.pk,
                       exc_info=True)
        return False
    return True

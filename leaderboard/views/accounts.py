"""Accounts beyond what ``django.contrib.auth`` provides: signing up (limited per client
address), confirming the e-mail address (which submitting needs), the page shown while log-ins
are locked after repeated failures, and API tokens."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from leaderboard.accounts import (
    ConfirmationFailed,
    SignupLimited,
    check_signup_rate,
    client_ip,
    confirm,
    is_confirmed,
    record_signup,
    send_confirmation,
)
from leaderboard.forms import SignupForm, TokenForm
from leaderboard.models import ApiToken
from leaderboard.tokens import create_token, revoke_token

logger = logging.getLogger(__name__)


def site_url(request) -> str:
    return request.build_absolute_uri("/")


def mail_link(request, user) -> bool | None:
    """Send the confirmation link: ``True`` sent, ``False`` one was sent moments ago, ``None``
    the mail server failed (logged; the page says so rather than failing)."""
    try:
        return send_confirmation(user, site_url(request))
    except Exception:  # SMTP and socket errors alike: the account stays, the mail can wait
        logger.exception("sending the confirmation mail to user %s failed", user.pk)
        return None


def signup(request):
    if request.user.is_authenticated:
        return redirect("leaderboard:my_submissions")
    form = SignupForm(request.POST or None)
    limited = None
    if request.method == "POST":
        ip = client_ip(request)
        try:
            check_signup_rate(ip)
        except SignupLimited as exc:
            limited = exc
        else:
            if form.is_valid():
                user = form.save()
                record_signup(user, ip)
                sent = mail_link(request, user)
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                if sent:
                    messages.success(request, f"Welcome, {user.username}. We sent a link to "
                                     f"{user.email}: open it to confirm your address, then "
                                     "submit.")
                else:
                    messages.error(request, f"Welcome, {user.username}. The mail with your "
                                   "confirmation link could not be sent just now; ask for it "
                                   "again in a few minutes.")
                return redirect("leaderboard:submit")
    status = 429 if limited else 400 if form.errors else 200
    return render(request, "leaderboard/accounts/signup.html",
                  {"form": form, "limited": limited}, status=status)


def confirm_email(request, token: str):
    """The link from the confirmation mail: confirms the address, logged in or not."""
    try:
        user = confirm(token, get_user_model())
    except ConfirmationFailed as exc:
        return render(request, "leaderboard/accounts/confirm_email.html",
                      {"failed": str(exc)}, status=400)
    return render(request, "leaderboard/accounts/confirm_email.html", {"confirmed": user})


@login_required
def confirm_email_send(request):
    """Where an unconfirmed user stands, and a button that sends the link again."""
    confirmed = is_confirmed(request.user)
    if request.method == "POST" and not confirmed:
        if not request.user.email:
            messages.error(request, "Your account has no e-mail address; ask the ELUE team "
                           "to add one.")
        else:
            sent = mail_link(request, request.user)
            if sent:
                messages.success(request, f"A new link is on its way to {request.user.email}.")
            elif sent is None:
                messages.error(request, "The mail could not be sent just now; try again in a "
                               "few minutes.")
            else:
                messages.error(request, "A link was sent less than two minutes ago; check your "
                               "mail (and its spam folder) before asking again.")
        return redirect("leaderboard:confirm_email_send")
    return render(request, "leaderboard/accounts/confirm_email.html",
                  {"pending": not confirmed, "confirmed": request.user if confirmed else None})


def locked_out(request, response=None, credentials=None):
    """django-axes's lockout response: the log-in page saying why and until when (each
    attempt while locked, even with the right password, starts the wait again)."""
    minutes = settings.ELUE_LOGIN_LOCKOUT_MINUTES
    until = timezone.now() + settings.AXES_COOLOFF_TIME
    message = (f"Log-in is locked until {until:%Y-%m-%d %H:%M} UTC: "
               f"{settings.ELUE_LOGIN_FAILURES} failed attempts for this account or from "
               f"your network. Each attempt while locked starts the {minutes} minutes again; "
               "if you forgot your password, reset it by e-mail instead.")
    form = AuthenticationForm(request)
    return render(request, "leaderboard/accounts/login.html",
                  {"form": form, "locked": message, "next": request.POST.get("next", "")},
                  status=429)


@login_required
def tokens(request):
    """The user's API tokens; a new one's secret is shown on this response only."""
    form = TokenForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        created = create_token(request.user, form.cleaned_data["name"], form.days())
        form = TokenForm()
    return render(request, "leaderboard/accounts/tokens.html", {
        "form": form, "created": created,
        "tokens": ApiToken.objects.filter(user=request.user),
    })


@login_required
@require_POST
def token_revoke(request, pk: int):
    if revoke_token(request.user, pk):
        messages.success(request, "The token was revoked; programs using it are refused now.")
    else:
        messages.error(request, f"You have no token {pk}.")
    return redirect("leaderboard:tokens")

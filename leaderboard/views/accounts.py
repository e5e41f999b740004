"""Accounts beyond what ``django.contrib.auth`` provides: signing up and API tokens."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from leaderboard.forms import SignupForm, TokenForm
from leaderboard.models import ApiToken
from leaderboard.tokens import create_token, revoke_token


def signup(request):
    if request.user.is_authenticated:
        return redirect("leaderboard:my_submissions")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome, {user.username}. Your account is ready.")
        return redirect("leaderboard:submit")
    return render(request, "leaderboard/accounts/signup.html", {"form": form},
                  status=400 if form.errors else 200)


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

"""Every page: renders, carries CSRF tokens on its forms, loads nothing from another host."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from leaderboard.models import Entry

pytestmark = pytest.mark.django_db
PAGES = ["/", "/about/", "/tasks/sst-2/", "/submit/", "/submit/published/", "/me/submissions/",
         "/accounts/tokens/", "/accounts/password/", "/accounts/login/", "/accounts/signup/",
         "/accounts/password/reset/", "/?max_mflops=2000&max_mparams=70",
         "/tasks/sst-2/?max_mflops=2000&max_mparams=70"]


def get(client, url: str) -> str:
    """The page as its audience sees it: signed in, but signed out for sign-up and log-in."""
    if url in ("/accounts/login/", "/accounts/signup/"):
        client.logout()
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


@pytest.mark.parametrize("url", PAGES)
def test_every_form_carries_a_csrf_token(alice_client, seeded, url):
    html = get(alice_client, url)
    forms = re.findall(r'<form[^>]*method="post".*?</form>', html, re.S)
    assert forms, f"{url} has no form"
    assert all("csrfmiddlewaretoken" in form for form in forms)


@pytest.mark.parametrize("url", PAGES)
def test_no_page_loads_anything_from_another_host(alice_client, seeded, url):
    html = get(alice_client, url)
    loaded = re.findall(r'<(?:script|link|img|iframe)[^>]+(?:src|href)="([^"]+)"', html)
    assert loaded and all(u.startswith("/") and not u.startswith("//") for u in loaded), loaded


def test_a_post_without_the_csrf_token_is_refused(alice, seeded):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    entry = Entry.objects.first()
    assert client.post("/accounts/tokens/", {"name": "x", "expires": "30"}).status_code == 403
    assert client.post(f"/entries/{entry.pk}/visibility/", {"visibility": "private"}
                       ).status_code == 403


def test_the_about_page_explains_the_rules(client, seeded):
    html = client.get("/about/").content.decode()
    for needed in ("python -m evaluator check", "elue check", "index\tprediction",
                   "costs.json", "7,080,960·L", "config.json", 'id="score-figure"'):
        assert needed in html, needed
    assert "score, -1.17" in html  # the worked example of SPEC §4, computed from the curve
    text = " ".join(html.split())
    assert "at most 16 operating points per task" in text  # the point rules, from the settings
    assert "96 points scored in any 24 hours and 48 on each task in any 30 days" in text


def test_the_about_page_shows_the_model_code_interface_with_the_tested_example(client, seeded):
    html = client.get("/about/").content.decode()
    for needed in ("build(num_labels: int) -&gt; torch.nn.Module", "predict(model, input_ids",
                   "elue.json",
                   "def predict(model, input_ids, attention_mask, threshold, token_type_ids=None):",
                   "return tuple(logits)"):
        assert needed in html, needed


def test_the_about_page_lists_the_architectures_the_checker_accepts(client, seeded):
    from evaluator.cost.families import ARCHITECTURE_NAMES

    html = client.get("/about/").content.decode()
    assert ", ".join(ARCHITECTURE_NAMES.values()) in html
    assert "DeBERTa-v2/v3" in html and "ModernBERT" in html


def test_the_about_page_works_without_a_reference(client, db):
    html = client.get("/about/").content.decode()
    assert client.get("/about/").status_code == 200 and "score-figure" not in html

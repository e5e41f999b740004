"""Named actors and the seeded benchmark, for every test that touches the database.

Registered for the whole suite by ``pytest_plugins`` in ``tests/conftest.py``. ``db`` here
becomes a transactional database when the test also asks for one (the real-component tests).
"""

from __future__ import annotations

import pytest

from leaderboard.accounts import mark_confirmed
from leaderboard.scoring import rescore_all
from leaderboard.seeding import load_published, load_reference


def confirmed_user(user_model, username: str, password: str, **extra):
    """A user whose e-mail address (``username@example.org``) is confirmed: one who may
    submit, as after following the confirmation link."""
    user = user_model.objects.create_user(username, f"{username}@example.org", password,
                                          **extra)
    mark_confirmed(user)
    return user


@pytest.fixture
def alice(db, django_user_model):
    return confirmed_user(django_user_model, "alice", "pw-alice-123")


@pytest.fixture
def bob(db, django_user_model):
    return confirmed_user(django_user_model, "bob", "pw-bob-123")


@pytest.fixture
def carl(db, django_user_model):
    """Signed up but never confirmed his address: may log in, may not submit."""
    return django_user_model.objects.create_user("carl", "carl@example.org", "pw-carl-123")


@pytest.fixture
def seeded(db):
    """The reference curve and the published entries, scored (what `elue_seed` does)."""
    version, _ = load_reference()
    load_published()
    rescore_all(version)
    return version


@pytest.fixture
def data_root(settings, tmp_path):
    """A private hidden-data root for the test."""
    settings.ELUE_DATA_ROOT = tmp_path / "hidden-data"
    return settings.ELUE_DATA_ROOT


@pytest.fixture
def stored(settings, tmp_path, data_root, seeded):
    """Uploads under ``tmp_path``, and the real SST-2 and MRPC test data on the server."""
    from evaluator.benchmark import TASKS
    from leaderboard.testdata import import_test_data
    from tests.conftest import ELUE_DATA_DIR

    settings.MEDIA_ROOT = tmp_path / "uploads"
    import_test_data(ELUE_DATA_DIR, [TASKS["sst-2"], TASKS["mrpc"]])
    return settings.MEDIA_ROOT


@pytest.fixture
def enqueued(monkeypatch):
    """Capture what would be sent to the broker, instead of sending it."""
    from leaderboard import submissions, tasks

    sent = []
    record = lambda pk: sent.append(pk) or True  # noqa: E731
    monkeypatch.setattr(submissions, "enqueue_evaluation", record)
    monkeypatch.setattr(tasks, "enqueue_evaluation", record)
    return sent

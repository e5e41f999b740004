"""The web process stays light: serving pages never loads the evaluation stack."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO_DIR

HEAVY = ("torch", "transformers", "fvcore", "sklearn", "scipy", "numpy")

PROBE = """
import json, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "elue.settings")
import django
django.setup()
import elue.urls, leaderboard.api.urls, leaderboard.submissions, leaderboard.tasks  # noqa
print(json.dumps([name for name in %r if name in sys.modules]))
"""


def test_importing_the_site_and_the_task_modules_loads_no_evaluation_stack():
    run = subprocess.run([sys.executable, "-c", PROBE % (HEAVY,)], cwd=REPO_DIR,
                         capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(run.stdout.strip().splitlines()[-1]) == []

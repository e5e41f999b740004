"""Write load, optionally with faults: submissions posted through the API as fast as the
server takes them, scored by real workers; afterwards every accepted submission must be scored
(or failed with a reason), none lost and none duplicated.

    .venv/bin/python proof/write_load.py [--submissions 200] [--clients 8] [--workers 2]
        [--faults | --kill-worker] [--two-machines] [--out var/proof/write_load.json]

Starts gunicorn, two Celery workers and beat on a private PostgreSQL and Redis
(proof/servers.py). Each submission is a real five-task declared-cost bundle built from
../shared/elue-data, posted by one of ``--clients`` threads with its own ``Idempotency-Key``;
a client retries a request that got no answer, a 5xx or a 409 "in progress", with the same key,
as a careful script would.

With ``--faults``, while the uploads arrive: one worker is killed with SIGKILL (and another
started), Redis is restarted (empty: every queued message is lost), and PostgreSQL is
restarted (open connections are cut). The reaper must then find what was lost. With
``--kill-worker``, only the worker is killed.

With ``--two-machines``, uploads and the hidden test data are in a private S3-compatible
store (SeaweedFS on loopback) and each worker is a machine of its own: its own ELUE_VAR_DIR,
upload, data and temporary folders, sharing only PostgreSQL, Redis and the store. Extra
checks: every upload is in the store and no machine holds a copy, scratch space is removed
after each evaluation, and every machine scored submissions.

Prints the HTTP outcomes (every 5xx counted, also those later retried), the upload-to-scored
median and p95 (from the start of the upload to the server's ``finished_at``), and the checks.
Exits 1 if a check fails.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from proof.servers import REPO_DIR, Site  # noqa: E402
from tests.pipeline.bundles import declared_bundle  # noqa: E402

DISTINCT_BUNDLES = 7  # different wrong labels, so different scores
# Seconds a client keeps retrying one submission: longer than a key whose request died with
# the database stays reserved (ELUE_IDEMPOTENCY_ABANDONED_AFTER, 180 s).
GIVE_UP_AFTER = 400.0
RETRYABLE = {409, 429, 500, 502, 503, 504}


@dataclass
class Outcome:
    """What one submission's client saw."""

    key: str
    sent_at: float = 0.0  # wall clock (time.time()) when the first attempt started
    submission_id: int | None = None
    statuses: list[int | str] = field(default_factory=list)  # every attempt's status or error


def post_one(url: str, token: str, bundle: Path, index: int) -> Outcome:
    outcome = Outcome(key=str(uuid.uuid4()), sent_at=time.time())
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": outcome.key}
    deadline = time.monotonic() + GIVE_UP_AFTER
    while time.monotonic() < deadline:
        try:
            with open(bundle, "rb") as handle:
                response = requests.post(
                    f"{url}/api/v1/submissions/", headers=headers, timeout=60,
                    data={"name": f"Load {index:04d}", "visibility": "public"},
                    files={"bundle": (bundle.name, handle, "application/zip")})
        except requests.RequestException as error:
            outcome.statuses.append(type(error).__name__)
            time.sleep(1)
            continue
        outcome.statuses.append(response.status_code)
        if response.status_code in (200, 201):
            outcome.submission_id = response.json()["id"]
            return outcome
        if response.status_code not in RETRYABLE:
            return outcome
        time.sleep(1)
    return outcome


def build_bundles(folder: Path) -> list[Path]:
    return [declared_bundle(folder / f"bundle-{seed}.zip", seed=seed)
            for seed in range(DISTINCT_BUNDLES)]


def create_token(site: Site) -> str:
    code = ("from django.contrib.auth import get_user_model; "
            "from leaderboard.tokens import create_token; "
            "from leaderboard.accounts import mark_confirmed; "
            "user = get_user_model().objects.create_user('loader', 'l@example.org', 'pw-load-1'); "
            "mark_confirmed(user); "
            "print(create_token(user, 'proof', None).plaintext)")
    return site.django(code).strip().splitlines()[-1]


# The server-side truth, read straight from the database after the run.
AUDIT = """
import json
from leaderboard.models import Entry, Submission
subs = list(Submission.objects.filter(owner__username='loader').values(
    'id', 'status', 'failure_reason', 'finished_at', 'entry_id', 'attempts'))
entries = list(Entry.objects.filter(owner__username='loader').values('id', 'submission'))
print(json.dumps({'submissions': subs, 'entries': entries}, default=str))
"""


def audit(site: Site) -> dict:
    return json.loads(site.django(AUDIT).strip().splitlines()[-1])


def wait_until_final(site: Site, accepted: set[int], timeout: float) -> dict:
    """The audit once every accepted submission (and any other) is final, or at ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        state = audit(site)
        open_ = [s for s in state["submissions"]
                 if s["status"] not in ("scored", "failed", "cancelled")]
        if accepted <= {s["id"] for s in state["submissions"]} and not open_:
            return state
        if time.monotonic() > deadline:
            return state
        time.sleep(3)


def fault_plan(site: Site, kill_only: bool) -> list[tuple[float, str, object]]:
    """Kill a worker at +3 s, restart Redis at +8 s, restart PostgreSQL at +12 s: while the
    uploads still arrive (200 take about 17 s here). ``kill_only``: the worker only."""
    plan = [(3, "kill -9 worker 1, start a replacement", lambda: (site.workers.started[0].kill(),
                                                                  site.workers.start())),
            (8, "restart Redis (queued messages lost)", site.redis.restart),
            (12, "restart PostgreSQL (connections cut)", site.postgres.restart)]
    return plan[:1] if kill_only else plan


def inject_faults(site: Site, start: float, log: list[str], kill_only: bool = False) -> None:
    for at, what, action in fault_plan(site, kill_only):
        time.sleep(max(0.0, start + at - time.monotonic()))
        began = time.monotonic()
        action()
        log.append(f"+{began - start:5.1f} s  {what} ({time.monotonic() - began:.1f} s)")


def checks(outcomes: list[Outcome], state: dict) -> dict[str, bool]:
    accepted = {o.submission_id for o in outcomes if o.submission_id is not None}
    subs = {s["id"]: s for s in state["submissions"]}
    entry_owners = Counter(e["submission"] for e in state["entries"])
    return {
        "every request accepted": len(accepted) == len(outcomes),
        "no submission created twice": set(subs) == accepted,
        "every accepted submission finished": all(
            subs[i]["status"] in ("scored", "failed") for i in accepted if i in subs),
        "every failure has a reason": all(
            s["failure_reason"] for s in subs.values() if s["status"] == "failed"),
        "one entry per scored submission": all(
            entry_owners[i] == 1 for i, s in subs.items() if s["status"] == "scored"),
        "no entry without its submission": None not in entry_owners,
    }


def latencies(outcomes: list[Outcome], state: dict) -> list[float]:
    finished = {s["id"]: datetime.fromisoformat(s["finished_at"]).timestamp()
                for s in state["submissions"] if s["status"] == "scored"}
    return sorted(finished[o.submission_id] - o.sent_at for o in outcomes
                  if o.submission_id in finished)


SCORED_BY_WORKER = re.compile(r"evaluate_submission\[[^\]]+\] succeeded in [\d.]+s: 'scored'")


def machine_checks(site: Site, outcomes: list[Outcome], killed: int | None) -> dict[str, bool]:
    """Two machines sharing only PostgreSQL, Redis and the object store: every upload is in
    the store and nothing on a machine's disk; every surviving worker cleaned its scratch
    space and scored some (a killed worker's scratch stays behind: kill -9)."""
    accepted = sum(o.submission_id is not None for o in outcomes)
    scored = [len(SCORED_BY_WORKER.findall(w.output()))
              for i, w in enumerate(site.workers.started) if i != killed]
    survivors = [m for i, m in enumerate(site.machines()) if i != killed]
    return {
        "every upload in the object store": len(site.s3.object_keys("uploads/")) == accepted,
        "the hidden data only in the object store": all(
            not (m / "var" / "data").exists() and not (m / "var" / "uploads").exists()
            for m in site.machines()),
        "scratch space removed after each evaluation": all(
            not list((m / "tmp").glob("elue-*")) for m in survivors),
        "every surviving machine scored submissions": all(n > 0 for n in scored),
    }


def report(outcomes: list[Outcome], state: dict, posting: float, fault_log: list[str]) -> dict:
    statuses = Counter(str(s) for o in outcomes for s in o.statuses)
    times = latencies(outcomes, state)
    final = Counter(s["status"] for s in state["submissions"])
    result = {
        "submissions": len(outcomes), "posting_seconds": round(posting, 2),
        "posted_per_second": round(len(outcomes) / posting, 1),
        "http": dict(statuses), "http_5xx": sum(n for s, n in statuses.items()
                                                if s.isdigit() and int(s) >= 500),
        "final": dict(final), "faults": fault_log,
        "attempts_over_1": sum(1 for s in state["submissions"] if s["attempts"] > 1),
        "upload_to_scored_median_s": round(statistics.median(times), 2) if times else None,
        "upload_to_scored_p95_s": round(times[int(0.95 * (len(times) - 1))], 2) if times else None,
        "checks": checks(outcomes, state),
    }
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--faults", action="store_true")
    parser.add_argument("--two-machines", action="store_true",
                        help="uploads and test data in a private S3 store (SeaweedFS); each "
                        "worker a machine of its own")
    parser.add_argument("--kill-worker", action="store_true",
                        help="only kill -9 a worker mid-way (and start a replacement)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to drain")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    name = ("two_machines" if args.two_machines else "write") + (
        "_faults" if args.faults else "_kill" if args.kill_worker else "_load")
    out = args.out or REPO_DIR / "var" / "proof" / f"{name}.json"
    faulty = args.faults or args.kill_worker

    root = Path(tempfile.mkdtemp(prefix=f"elue-proof-{name}-"))
    site = Site(root, object_store=args.two_machines)
    try:
        site.start(workers=args.workers)
        token = create_token(site)
        bundles = build_bundles(root / "bundles")
        fault_log: list[str] = []
        start = time.monotonic()
        faults = threading.Thread(target=inject_faults, daemon=True,
                                  args=(site, start, fault_log, not args.faults))
        if faulty:
            faults.start()
        with ThreadPoolExecutor(args.clients) as pool:
            outcomes = list(pool.map(
                lambda i: post_one(site.url, token, bundles[i % len(bundles)], i),
                range(args.submissions)))
        posting = time.monotonic() - start
        if faulty:
            faults.join()  # every fault happens before the drain is judged
        accepted = {o.submission_id for o in outcomes if o.submission_id is not None}
        state = wait_until_final(site, accepted, args.timeout)
        result = report(outcomes, state, posting, fault_log)
        if not args.faults:
            result["checks"]["no 5xx response"] = result["http_5xx"] == 0
        if args.two_machines:
            result["scored_per_worker"] = [len(SCORED_BY_WORKER.findall(w.output()))
                                           for w in site.workers.started]
            result["checks"] |= machine_checks(site, outcomes, 0 if args.kill_worker else None)
    finally:
        site.close()
        shutil.rmtree(root, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0 if all(result["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())

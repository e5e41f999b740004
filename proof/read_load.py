"""Read load: the leaderboard page and the leaderboard API under concurrent clients.

    .venv/bin/python proof/read_load.py [--entries 300] [--clients 50] [--seconds 60]
        [--web-workers 2] [--modes uncached,cached] [--out var/proof/read_load.json]

Starts gunicorn (production settings, PostgreSQL, Redis; proof/servers.py) on loopback,
seeds ``--entries`` synthetic entries on top of the published ones, then runs ``wrk`` with
``--clients`` connections for ``--seconds`` against each URL in turn, first with the page
cache off (gunicorn started with ``ELUE_CACHE_PAGES=false``: every request computes the
board), then on. Prints one line per mode and URL: requests per second, p50/p95/p99 latency,
every error kind (connect, read, write, timeout, and responses other than 2xx/3xx), and the
CPU time gunicorn, PostgreSQL and Redis (and wrk) spent per request, which, unlike the
throughput, does not depend on what else the machine is running. Exits 1 if any request
failed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from proof.servers import REPO_DIR, Site  # noqa: E402

URLS = ("/", "/api/v1/leaderboard/")
# Before and after in the same run: the same server, with the page cache off, then on
# (ELUE_CACHE_PAGES; leaderboard/board_cache.py).
MODES = {"uncached": "false", "cached": "true"}
SUMMARY = Path(__file__).with_name("wrk_summary.lua")


def run_wrk(url: str, clients: int, seconds: int) -> dict:
    """One wrk run; its JSON summary (proof/wrk_summary.lua) and wrk's own CPU seconds."""
    threads = min(2, clients)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(clients), "-d", f"{seconds}s", "--timeout", "10s",
         "-s", str(SUMMARY), url], capture_output=True, text=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wrk_cpu_s"] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return result


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def server_cpu(roots: list[int]) -> dict[int, float]:
    """CPU seconds used so far by every live process descending from ``roots``."""
    parent = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))):
            parent[int(entry.name)] = int(fields[1])
    found, todo = set(), [r for r in roots if r in parent]
    while todo:
        pid = todo.pop()
        found.add(pid)
        todo += [child for child, up in parent.items() if up == pid and child not in found]
    ticks = os.sysconf("SC_CLK_TCK")
    return {pid: (int(f[11]) + int(f[12])) / ticks for pid in found if (f := _stat(pid))}


def server_roots(site: Site) -> list[int]:
    """gunicorn, PostgreSQL's postmaster and Redis: the server side of a request."""
    postmaster = int((site.postgres.data / "postmaster.pid").read_text().split()[0])
    return [site.web.process.pid, postmaster, site.redis.process.pid]


def measure(site: Site, path: str, clients: int, seconds: int) -> dict:
    """wrk on ``path``, with the CPU the servers and wrk spent per request: the cost of a
    request whatever else runs on the machine (throughput and latency depend on that)."""
    before = server_cpu(server_roots(site))
    result = run_wrk(site.url + path, clients, seconds)
    after = server_cpu(server_roots(site))
    spent = sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())
    requests = max(result["requests"], 1)
    result["server_cpu_ms_per_request"] = round(spent * 1000 / requests, 3)
    result["wrk_cpu_ms_per_request"] = round(result["wrk_cpu_s"] * 1000 / requests, 3)
    return result


def failures(result: dict) -> int:
    return sum(result["errors"].values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=300)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    # One gunicorn process per core of the 2-core machine (each with gunicorn.conf.py's
    # threads): 4 processes measured p95 106 ms against 88 ms with 2, the same throughput.
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--modes", default=",".join(MODES),
                        help="which of uncached,cached to run (both: the before and after)")
    parser.add_argument("--out", type=Path, default=REPO_DIR / "var" / "proof" / "read_load.json")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian package wrk; `make proof` installs it)")

    root = Path(tempfile.mkdtemp(prefix="elue-proof-read-"))
    site = Site(root, web_workers=args.web_workers)
    results = {}
    try:
        site.start(workers=1)
        site.django(f"from proof.synthetic import seed; print(seed({args.entries}))")
        for mode in args.modes.split(","):
            pages = MODES[mode]
            site.restart_web(ELUE_CACHE_PAGES=pages)
            for path in URLS:
                run_wrk(site.url + path, args.clients, 3)  # warm the processes up
                results[f"{mode} {path}"] = result = measure(site, path, args.clients,
                                                             args.seconds)
                print(f"{mode:9} {path:24} {line(result)}", flush=True)
    finally:
        site.close()
        shutil.rmtree(root, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                    "results": results}, indent=2))
    return 1 if any(failures(r) for r in results.values()) else 0


def line(result: dict) -> str:
    return (f"{result['rps']:8.1f} req/s  p50 {result['p50_ms']:7.1f} ms  "
            f"p95 {result['p95_ms']:7.1f} ms  p99 {result['p99_ms']:7.1f} ms  "
            f"requests {result['requests']}  errors {failures(result)} {result['errors']}  "
            f"CPU per request: servers {result['server_cpu_ms_per_request']:.2f} ms, "
            f"wrk {result['wrk_cpu_ms_per_request']:.2f} ms")


if __name__ == "__main__":
    sys.exit(main())

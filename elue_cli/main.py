"""The ``elue`` command: ``check``, ``submit``, ``status`` and ``leaderboard``.

Exit codes: 0 success; 1 refused or failed (invalid bundle, failed evaluation, quota,
conflict); 2 usage or local problem (missing file, config, dependencies); 3 authentication
(no, wrong, revoked or expired token); 4 the server could not be reached or answered with an
error of its own.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import TextIO

from elue_cli import __version__
from elue_cli.client import ApiError, Client
from elue_cli.config import Config, ConfigError, load_config

OK, REFUSED, USAGE, AUTH, SERVER = 0, 1, 2, 3, 4
FINAL = ("scored", "failed", "cancelled")
TASKS = ("sst-2", "imdb", "snli", "scitail", "mrpc", "sts-b")
CHECK_EXTRA = "pip install 'elue-platform[check]'"


def _number(value, digits: int = 2, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.{digits}f}" if signed else f"{value:,.{digits}f}"


def _where(error: dict) -> str:
    if error.get("file") and error.get("line") is not None:
        return f"{error['file']} line {error['line']}: "
    return f"{error['file']}: " if error.get("file") else ""


def report_error(exc: ApiError, config: Config, err: TextIO) -> int:
    """Print every error the server gave; returns the exit code for it."""
    if exc.status == 401:
        message = exc.errors[0].get("message", "") if exc.errors else ""
        err.write(f"elue: authentication failed: {message}\n"
                  f"Create a token at {config.url}/accounts/tokens/ and set ELUE_TOKEN "
                  f"(or token = \"…\" in {config.path}).\n")
        return AUTH
    if exc.status == 0 or exc.status >= 500:
        for error in exc.errors:
            err.write(f"elue: {error.get('message')}\n")
        return SERVER
    count = len(exc.errors)
    err.write(f"elue: the server refused the request ({exc.status}), "
              f"{count} problem{'s' if count != 1 else ''}:\n")
    for error in exc.errors:
        err.write(f"  {_where(error)}{error.get('message')}  [{error.get('code')}]\n")
    if exc.resets_at:
        err.write(f"Try again after {exc.resets_at}.\n")
    return REFUSED


def need_token(config: Config, err: TextIO) -> bool:
    if config.token:
        return True
    err.write(f"elue: no API token. Create one at {config.url}/accounts/tokens/ and set "
              f"ELUE_TOKEN, or add token = \"…\" to {config.path}.\n")
    return False


def zipped(path: Path, scratch: Path) -> Path:
    """The bundle as a zip: a zip as it is, a folder zipped into ``scratch``."""
    if path.is_dir():
        return Path(shutil.make_archive(str(scratch / path.name), "zip", root_dir=path))
    return path


def print_log(lines: list[dict], start: int, out: TextIO) -> None:
    for line in lines[start:]:
        took = "" if line.get("seconds") is None else f"+{line['seconds']:.1f}s"
        out.write(f"  {took:>8}  {line['status']:<10}  {line.get('message', '')}\n")


def follow(client: Client, submission: dict, interval: float, timeout: float,
           out: TextIO, err: TextIO) -> dict:
    """Poll until the submission is final, printing each new log line (and, on a
    terminal, a ticking status line)."""
    shown, started = 0, time.monotonic()
    live = err.isatty()
    while True:
        lines = submission.get("log", [])
        if len(lines) > shown:
            if live:
                err.write("\r\033[K")
            print_log(lines, shown, out)
            out.flush()
            shown = len(lines)
        if submission["status"] in FINAL:
            return submission
        elapsed = time.monotonic() - started
        if elapsed > timeout:
            raise TimeoutError(f"submission {submission['id']} is still "
                               f"{submission['status']} after {timeout:.0f} s; follow it "
                               f"with: elue status {submission['id']}")
        if live:
            err.write(f"\r{submission['status']}… {elapsed:.0f} s")
            err.flush()
        time.sleep(interval)
        submission = client.submission(submission["id"])


def print_scores(client: Client, submission: dict, out: TextIO) -> None:
    points: dict[str, list[dict]] = {}
    if submission.get("entry") is not None:
        for point in client.entry(submission["entry"])["points"]:
            points.setdefault(point["task"], []).append(point)
    for score in submission["scores"]:
        out.write(f"  {score['task']:<8} ELUE score {_number(score['score'], signed=True):>7}")
        out.write("".join(f"   {_number(p['performance'])} @ {_number(p['mflops'])} MFLOPs"
                          for p in points.get(score["task"], [])[:3]) + "\n")
    out.write(f"Overall ELUE score: {_number(submission['overall'], signed=True)} "
              f"({len(submission['scores'])} of 6 tasks scored)\n")


def print_outcome(client: Client, submission: dict, out: TextIO) -> int:
    name = f"submission {submission['id']} ({submission['name']})"
    if submission["status"] == "scored":
        where = (f": entry {submission['entry']}, {client.url}/entries/{submission['entry']}/"
                 if submission.get("entry") is not None else "")
        out.write(f"{name} scored{where}\n")
        print_scores(client, submission, out)
        return OK
    if submission["status"] == "failed":
        out.write(f"{name} failed: {submission['failure_reason']}\n")
        return REFUSED
    out.write(f"{name} is {submission['status']}\n")
    return REFUSED if submission["status"] == "cancelled" else OK


def cmd_submit(args, config: Config, out: TextIO, err: TextIO) -> int:
    if not need_token(config, err):
        return AUTH
    if not args.bundle.exists():
        err.write(f"elue: bundle {args.bundle} does not exist\n")
        return USAGE
    client = Client(config.url, config.token)
    fields = {"name": args.name, "description": args.description,
              "affiliation": args.affiliation, "paper_url": args.paper_url,
              "code_url": args.code_url, "visibility": args.visibility}
    with tempfile.TemporaryDirectory(prefix="elue-") as scratch:
        submission = client.submit(zipped(args.bundle, Path(scratch)), fields,
                                   args.idempotency_key)
    out.write(f"Submitted: submission {submission['id']} ({submission['name']}), "
              f"{submission['status']}\n")
    if not args.wait:
        out.write(f"Follow it with: elue status {submission['id']}\n")
        return OK
    try:
        submission = follow(client, submission, args.interval, args.timeout, out, err)
    except TimeoutError as exc:
        err.write(f"\nelue: {exc}\n")
        return SERVER
    return print_outcome(client, submission, out)


def cmd_status(args, config: Config, out: TextIO, err: TextIO) -> int:
    if not need_token(config, err):
        return AUTH
    client = Client(config.url, config.token)
    submission = client.submission(args.id)
    out.write(f"Submission {submission['id']} ({submission['name']}, {submission['kind']}, "
              f"{submission['visibility']}): {submission['status']}\n")
    print_log(submission["log"], 0, out)
    return print_outcome(client, submission, out)


def print_board(rows: list[dict], out: TextIO) -> None:
    out.write(f"{'#':>3}  {'name':<28} {'kind':<10} {'MParams':>8} {'overall':>8}"
              + "".join(f" {slug:>8}" for slug in TASKS) + "\n")
    for row in rows:
        scores = "".join(f" {_number(row['scores'].get(s), signed=True):>8}" for s in TASKS)
        out.write(f"{row['rank']:>3}  {row['entry']['name'][:28]:<28} "
                  f"{row['entry']['kind']:<10} {_number(row['mparams'], 1):>8} "
                  f"{_number(row['overall'], signed=True):>8}{scores}\n")


def print_budget_board(rows: list[dict], out: TextIO) -> None:
    """Within a budget: each entry's best point within it per task (its performance), the
    mean performance (the ranking) and the mean difference from the reference."""
    out.write(f"{'#':>3}  {'name':<28} {'kind':<10} {'MParams':>8} {'perf':>6} {'vs ref':>7}"
              + "".join(f" {slug:>8}" for slug in TASKS) + "\n")
    for row in rows:
        budget = row["budget"]
        chosen = "".join(f" {_number((budget['points'].get(s) or {}).get('performance'), 1):>8}"
                         for s in TASKS)
        out.write(f"{row['rank']:>3}  {row['entry']['name'][:28]:<28} "
                  f"{row['entry']['kind']:<10} {_number(budget['mparams'], 1):>8} "
                  f"{_number(budget['performance']):>6} "
                  f"{_number(budget['difference'], signed=True):>7}{chosen}\n")


def cmd_leaderboard(args, config: Config, out: TextIO, err: TextIO) -> int:
    client = Client(config.url, config.token)
    filters = {"task": args.task, "track": args.track, "kind": args.kind,
               "max_mflops": args.max_mflops, "max_mparams": args.max_mparams}
    if args.csv:
        out.write(client.leaderboard_csv(**filters))
        return OK
    rows = list(client.leaderboard(**filters))  # every page first: no half table on errors
    within_budget = args.max_mflops is not None or args.max_mparams is not None
    (print_budget_board if within_budget else print_board)(rows, out)
    return OK


def cmd_check(args, config: Config, out: TextIO, err: TextIO) -> int:
    try:
        from evaluator.checker import main as checker_main
    except ImportError as exc:
        err.write(f"elue check needs the evaluator's dependencies ({exc.name or exc} is "
                  f"missing): {CHECK_EXTRA}\n")
        return USAGE
    if args.data is None:
        err.write("elue check needs the ELUE data: --data DIR or ELUE_DATA_DIR\n")
        return USAGE
    argv = ["check", str(args.bundle), "--data", str(args.data)]
    return checker_main([*argv, "--json"] if args.json else argv, out)


def parser() -> argparse.ArgumentParser:
    import os

    main = argparse.ArgumentParser(prog="elue", description="The ELUE benchmark from the "
                                   "command line (server: ELUE_URL, token: ELUE_TOKEN).")
    main.add_argument("--version", action="version", version=f"elue {__version__}")
    commands = main.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="validate and score a bundle offline")
    check.add_argument("bundle", type=Path, help="a zip file or a folder")
    check.add_argument("--data", type=Path, default=os.environ.get("ELUE_DATA_DIR"),
                       help="ELUE data in its own layout (default: $ELUE_DATA_DIR)")
    check.add_argument("--json", action="store_true", help="print JSON")
    submit = commands.add_parser("submit", help="upload a bundle for evaluation")
    submit.add_argument("bundle", type=Path, help="a zip file or a folder")
    submit.add_argument("--name", required=True, help="the model's name on the leaderboard")
    for option in ("description", "affiliation", "paper-url", "code-url"):
        submit.add_argument(f"--{option}", default="")
    submit.add_argument("--visibility", choices=("public", "private"), default="public")
    submit.add_argument("--idempotency-key", help="reuse to make a retried submit a no-op "
                        "(default: a new key per run)")
    submit.add_argument("--wait", action="store_true", help="follow until scored or failed")
    submit.add_argument("--interval", type=float, default=2.0, help="seconds between polls")
    submit.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait at most")
    status = commands.add_parser("status", help="a submission's status, log and scores")
    status.add_argument("id", type=int)
    board = commands.add_parser("leaderboard", help="the ranked leaderboard")
    board.add_argument("--task", choices=TASKS, help="rank by one task's score")
    board.add_argument("--track", type=int, choices=(40, 55, 70, 110),
                       help="at most this many million parameters")
    board.add_argument("--kind", choices=("published", "declared", "verified", "model"))
    board.add_argument("--max-mflops", metavar="MFLOPS", help="a budget: rank each entry by "
                       "its best point within at most this many MFLOPs per example")
    board.add_argument("--max-mparams", metavar="MPARAMS", help="a budget: at most this many "
                       "million parameters per point")
    board.add_argument("--csv", action="store_true", help="print CSV")
    return main


COMMANDS = {"check": cmd_check, "submit": cmd_submit, "status": cmd_status,
            "leaderboard": cmd_leaderboard}


def main(argv: list[str] | None = None, out: TextIO = sys.stdout,
         err: TextIO = sys.stderr) -> int:
    args = parser().parse_args(argv)
    try:
        config = load_config()
    except ConfigError as exc:
        err.write(f"elue: {exc}\n")
        return USAGE
    try:
        return COMMANDS[args.command](args, config, out, err)
    except ApiError as exc:
        return report_error(exc, config, err)
    except KeyboardInterrupt:
        err.write("\nelue: interrupted\n")
        return 130

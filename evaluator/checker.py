"""The offline checker: ``python -m evaluator check BUNDLE --data DIR [--json]``.

Validates a submission bundle against ELUE data on the submitter's machine and prints, per
task and operating point, the performance (where labels are present), MFLOPs, MParams and
the ELUE score, or every validation error. It runs the same code as the platform's workers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import TextIO

from evaluator.benchmark import get_task
from evaluator.bundle.load import load_bundle
from evaluator.errors import EvaluationFailed, InvalidInput, Problem
from evaluator.evaluate import PointReport, Report, evaluate_bundle

OK, INVALID, UNUSABLE = 0, 1, 2


def _number(value: float | None, digits: int = 2, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.{digits}f}" if signed else f"{value:,.{digits}f}"


def _point_line(point: PointReport) -> str:
    name = point.point or "static"
    spread = ""
    if point.median_mflops is not None:
        spread = f"  (median {_number(point.median_mflops)}, p95 {_number(point.p95_mflops)})"
    return (f"  {name:>8}  {point.predictions_file:<34} perf {_number(point.performance, 1):>5}"
            f"  MFLOPs {_number(point.mflops):>10}{spread}  MParams {_number(point.mparams)}"
            f"  [{point.basis}]  vs ref {_number(point.difference, signed=True)}")


def format_report(report: Report) -> str:
    lines = []
    for task in report.tasks:
        spec = get_task(task.task)
        lines.append(f"{spec.name} ({spec.metric}): ELUE score {_number(task.score, signed=True)}")
        lines.extend(_point_line(p) for p in task.points)
        for point in task.points:
            if point.exit_histogram and len(point.exit_histogram) > 1:
                bars = " ".join(f"{k}:{v}" for k, v in sorted(point.exit_histogram.items()))
                lines.append(f"  {point.point or 'static':>8}  exit layers {bars}")
    scored = sum(t.score is not None for t in report.tasks)
    lines.append(f"Overall ELUE score: {_number(report.overall, signed=True)} "
                 f"({scored} of 6 tasks scored)")
    if any(p.performance is None for t in report.tasks for p in t.points):
        lines.append("Performance needs labels (test_full.tsv); without them only costs are shown.")
    if report.ignored:
        lines.append(f"Ignored: {', '.join(report.ignored)}")
    return "\n".join(lines)


def format_problems(problems: list[Problem]) -> str:
    header = f"{len(problems)} problem(s) found; nothing was scored:"
    return "\n".join([header, *(f"  {p}  [{p.code}]" for p in problems)])


def check(bundle_path: Path, data_dir: Path) -> Report:
    """Load, validate and evaluate ``bundle_path``; raises the domain errors."""
    with tempfile.TemporaryDirectory(prefix="elue-check-") as scratch:
        bundle = load_bundle(bundle_path, Path(scratch) / "bundle")
        return evaluate_bundle(bundle, data_dir)


def run_check(bundle: Path, data: Path, as_json: bool, out: TextIO) -> int:
    """Run the checker and print its result; returns the process exit code."""
    try:
        report = check(bundle, data)
    except InvalidInput as exc:
        problems = exc.problems
    except EvaluationFailed as exc:
        problems = [Problem("evaluation_failed", str(exc))]
    else:
        out.write((json.dumps({"valid": True, **report.as_dict()}, indent=2) if as_json
                   else format_report(report)) + "\n")
        return OK
    out.write((json.dumps({"valid": False, "errors": [p.as_dict() for p in problems]},
                          indent=2) if as_json else format_problems(problems)) + "\n")
    return INVALID


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m evaluator", description=__doc__.split("\n")[0])
    commands = main.add_subparsers(dest="command", required=True)
    checker = commands.add_parser("check", help="validate and score a bundle offline")
    checker.add_argument("bundle", type=Path, help="a zip file or a folder")
    default_data = os.environ.get("ELUE_DATA_DIR")
    checker.add_argument("--data", type=Path, default=default_data, required=not default_data,
                         help="ELUE data in its own layout (default: $ELUE_DATA_DIR)")
    checker.add_argument("--json", action="store_true", help="print JSON")
    return main


def main(argv: list[str] | None = None, out: TextIO = sys.stdout) -> int:
    args = parser().parse_args(argv)
    for path, what in ((args.bundle, "bundle"), (args.data, "data folder")):
        if not path.exists():
            print(f"{what} {path} does not exist", file=sys.stderr)
            return UNUSABLE
    return run_check(args.bundle, args.data, args.json, out)

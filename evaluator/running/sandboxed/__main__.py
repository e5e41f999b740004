"""``python -m evaluator.running.sandboxed JOB.json``: capture, count or run a submitted model,
in the sandbox.

Exit status 0 with the result file written, or 3 with ``error.json`` explaining the failure
(any other status: the process was killed, see ``evaluator.running.sandbox_policy.explain``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from evaluator.running.sandboxed import guard
from evaluator.running.sandboxed.jobs import run_job
from evaluator.running.sandboxed.protocol import JobFailed, describe

FAILED = 3


def main(argv: list[str]) -> int:
    job = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    guard.install()
    try:
        run_job(job)
    except JobFailed as failure:
        guard.report(failure.code, str(failure))
        return FAILED
    except MemoryError:
        guard.report("memory", "exceeded the memory limit")
        return FAILED
    except Exception as error:  # submitter code may raise anything: name it, with the line
        guard.report("model_error", describe(error))
        return FAILED
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

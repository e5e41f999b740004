"""Bad input: fuzzing the API and the upload surface of a live production-shaped server.
Every malformed input must get a 4xx with a message, never a 5xx.

    .venv/bin/python proof/fuzz.py [--examples 300] [--schema-examples 40]
        [--out var/proof/fuzz.json]

1. schemathesis over every operation of the published OpenAPI schema (``/api/v1/schema/``),
   authenticated with a token, positive and negative data: no 5xx, and every response
   matches the schema.
2. hypothesis generates malformed submissions (random bytes, zips with hostile, unknown or
   truncated members, garbage TSVs, broken costs.json, odd metadata) and posts each to
   ``/api/v1/submissions/``: the answer must be a 4xx whose body is
   ``{"errors": [{"code", "message", ...}]}`` with non-empty messages (or a 201 when the
   generated upload happens to be valid).
3. the same for the site's upload surface (logged in, with CSRF): the live check
   (``/submit/check/``) must answer with problems that each have a message, and the submit
   form a 400 page with the errors (or a redirect when the upload was valid).
4. archive mutations (``tests/evaluator/archive_mutations.py``: real zips with the header
   fields zipfile trusts overwritten, bytes flipped, cut, inserted, truncated) posted to the
   API and to the live check: a 4xx with messages, never a 5xx.
5. integer query parameters (``?track=``, ``?ids=``, ``?page=``, ``?page_size=``) with
   superscripts, other scripts' digits, signs, spaces, huge numbers and text, on the
   leaderboard page, the status poller and the API lists: a 2xx, 4xx, never a 5xx.

``--parts`` runs some of these only (e.g. ``--parts archive,params``).
"""

from __future__ import annotations

import argparse
import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
import warnings
import zipfile
from collections import Counter
from pathlib import Path

import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from proof.servers import REPO_DIR, VENV_BIN, Site  # noqa: E402
from proof.write_load import create_token  # noqa: E402
from tests.evaluator.archive_mutations import mutated_zip  # noqa: E402

PARTS = ("uploads", "site_uploads", "archive", "params", "schemathesis")
NAMES = ["sst-2.tsv", "mrpc.tsv", "sts-b.tsv", "snli_0.5.tsv", "snli_infer_exit_layer_0.5.tsv",
         "costs.json", "config.json", "vocab.txt", "model.py", "../escape.tsv", "/abs.tsv",
         "a/b/c/sst-2.tsv", "SST-2.TSV", "weights.bin", "x" * 300, "ünïcode.tsv", ""]
HEADERS = ["index\tprediction", "index\tlabel", "", "prediction", "index\tprediction\textra"]


@st.composite
def tsv_text(draw) -> str:
    header = draw(st.sampled_from(HEADERS))
    rows = draw(st.lists(st.tuples(st.integers(-3, 2000), st.sampled_from(
        ["0", "1", "positive", "entailment", "2.5", "-1", "nan", "", "1e309", "\x00"])),
        max_size=30))
    return "\n".join([header, *(f"{i}\t{v}" for i, v in rows)])


costs_text = st.one_of(
    st.text(max_size=200),
    st.recursive(st.one_of(st.none(), st.booleans(), st.floats(), st.integers(), st.text()),
                 lambda inner: st.dictionaries(st.sampled_from(
                     ["sst-2", "mrpc", "mflops", "mparams", "x"]), inner, max_size=4),
                 max_leaves=10).map(json.dumps))


@st.composite
def zip_bytes(draw) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w") as archive:
        warnings.simplefilter("ignore")  # duplicate member names are part of the fuzzing
        for name in draw(st.lists(st.sampled_from(NAMES), max_size=6)):
            if not name:
                continue
            content = draw(costs_text) if name.endswith(".json") else draw(tsv_text())
            archive.writestr(name, content)
    data = buffer.getvalue()
    if draw(st.booleans()) and len(data) > 10:
        data = data[: draw(st.integers(1, len(data) - 1))]  # truncated
    return data


uploads = st.one_of(st.binary(max_size=2000), zip_bytes())
metadata = st.fixed_dictionaries({
    "name": st.one_of(st.just("Fuzz"), st.text(max_size=300)),
    "visibility": st.sampled_from(["public", "private", "", "secret"]),
    "paper_url": st.sampled_from(["", "https://example.org/p", "javascript:alert(1)", "x"]),
})


def check_answer(response: requests.Response) -> str | None:
    """What is wrong with the server's answer to a fuzzed upload, or None."""
    if response.status_code >= 500:
        return f"{response.status_code}: {response.text[:300]}"
    if response.status_code == 201:
        return None
    if not 400 <= response.status_code < 500:
        return f"unexpected status {response.status_code}"
    try:
        errors = response.json()["errors"]
    except (ValueError, KeyError, TypeError):
        return f"{response.status_code} without an errors list: {response.text[:300]}"
    if not errors or not all(isinstance(e, dict) and e.get("message") for e in errors):
        return f"{response.status_code} with an error lacking a message: {errors}"
    return None


def fuzz_uploads(url: str, token: str, examples: int, keep: Path) -> dict:
    """Post ``examples`` generated uploads; each one that got a bad answer is kept in
    ``keep`` (with its metadata) to reproduce."""
    statuses: Counter[int] = Counter()
    problems: list[str] = []

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(upload=uploads, fields=metadata)
    def post(upload: bytes, fields: dict) -> None:
        response = requests.post(f"{url}/api/v1/submissions/", data=fields, timeout=60,
                                 headers={"Authorization": f"Bearer {token}"},
                                 files={"bundle": ("bundle.zip", upload, "application/zip")})
        statuses[response.status_code] += 1
        problem = check_answer(response)
        if problem:
            keep.mkdir(parents=True, exist_ok=True)
            (keep / f"upload-{len(problems)}.zip").write_bytes(upload)
            (keep / f"upload-{len(problems)}.json").write_text(json.dumps(fields))
            problems.append(problem)

    post()
    return {"examples": sum(statuses.values()), "statuses": dict(statuses),
            "problems": problems[:20], "problem_count": len(problems)}


files_strategy = st.lists(st.tuples(st.sampled_from(NAMES + ["a.zip", "..", "x.tsv"]),
                                    st.one_of(st.binary(max_size=500), zip_bytes(),
                                              tsv_text().map(str.encode))),
                          max_size=4)


def site_session(url: str, username: str, password: str) -> requests.Session:
    """A logged-in browser-like session (CSRF cookie and token) on the site's forms."""
    session = requests.Session()
    session.get(f"{url}/accounts/login/", timeout=30)
    response = session.post(f"{url}/accounts/login/", timeout=30, allow_redirects=False, data={
        "username": username, "password": password,
        "csrfmiddlewaretoken": session.cookies["csrftoken"]})
    if response.status_code != 302:
        raise RuntimeError(f"log-in failed: {response.status_code}")
    return session


def check_site_answer(path: str, response: requests.Response) -> str | None:
    """The live check answers 200 with problems (each with a message); the submit form 400
    with the errors on the page, or a redirect when the upload happened to be valid."""
    if response.status_code >= 500:
        return f"{path} {response.status_code}: {response.text[:300]}"
    if path == "/submit/check/":
        body = response.json()
        if not body["ok"] and not all(p.get("message") for p in body["problems"]):
            return f"{path}: a problem without a message: {body}"
    elif response.status_code not in (302, 400):
        return f"{path}: unexpected status {response.status_code}"
    return None


def fuzz_site_uploads(url: str, examples: int, keep: Path) -> dict:
    """The site's upload surface: the live check and the submit form, with generated files."""
    session = site_session(url, "loader", "pw-load-1")
    statuses: Counter[str] = Counter()
    problems: list[str] = []

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(files=files_strategy, path=st.sampled_from(["/submit/check/", "/submit/"]))
    def post(files: list[tuple[str, bytes]], path: str) -> None:
        response = session.post(
            f"{url}{path}", timeout=60, allow_redirects=False,
            headers={"X-CSRFToken": session.cookies["csrftoken"]},
            data={"name": "Fuzz", "visibility": "public",
                  "csrfmiddlewaretoken": session.cookies["csrftoken"]},
            files=[("files", (name or "unnamed", content)) for name, content in files])
        statuses[f"{path} {response.status_code}"] += 1
        problem = check_site_answer(path, response)
        if problem:
            keep.mkdir(parents=True, exist_ok=True)
            (keep / f"site-{len(problems)}.json").write_text(json.dumps(
                {"path": path, "files": [[n, c.hex()] for n, c in files]}))
            problems.append(problem)

    post()
    return {"examples": sum(statuses.values()), "statuses": dict(statuses),
            "problems": problems[:20], "problem_count": len(problems)}


def fuzz_archive_mutations(url: str, token: str, examples: int, keep: Path) -> dict:
    """Mutated zips to the API (as a bundle) and the live check (as the one file)."""
    session = site_session(url, "loader", "pw-load-1")
    statuses: Counter[str] = Counter()
    problems: list[str] = []

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(upload=mutated_zip())
    def post(upload: bytes) -> None:
        api = requests.post(f"{url}/api/v1/submissions/", data={"name": "Fuzz"}, timeout=60,
                            headers={"Authorization": f"Bearer {token}"},
                            files={"bundle": ("bundle.zip", upload, "application/zip")})
        check = session.post(f"{url}/submit/check/", timeout=60,
                             headers={"X-CSRFToken": session.cookies["csrftoken"]},
                             files=[("files", ("bundle.zip", upload))])
        statuses[f"api {api.status_code}"] += 1
        statuses[f"check {check.status_code}"] += 1
        problem = check_answer(api) or check_site_answer("/submit/check/", check)
        if problem:
            keep.mkdir(parents=True, exist_ok=True)
            (keep / f"mutated-{len(problems)}.zip").write_bytes(upload)
            problems.append(problem)

    post()
    return {"examples": sum(statuses.values()) // 2, "statuses": dict(statuses),
            "problems": problems[:20], "problem_count": len(problems)}


INTEGER_PARAMETERS = [("/", "track"), ("/me/submissions/status.json", "ids"),
                      ("/api/v1/leaderboard/", "track"), ("/api/v1/leaderboard/", "page"),
                      ("/api/v1/entries/", "page_size"), ("/api/v1/entries/", "page")]
odd_integers = st.one_of(
    st.text(alphabet=st.sampled_from("0123456789²³¹⁰١٢٣٤੧௫𝟘-+_ ,.eEx\t"), max_size=25),
    st.integers(-10**30, 10**30).map(str), st.text(max_size=12))


def fuzz_query_parameters(url: str, examples: int) -> dict:
    """Integer query parameters everywhere they are read; a 5xx is a failure."""
    session = site_session(url, "loader", "pw-load-1")
    statuses: Counter[str] = Counter()
    problems: list[str] = []

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(where=st.sampled_from(INTEGER_PARAMETERS), value=odd_integers,
           second=st.one_of(st.none(), odd_integers))
    def get(where: tuple[str, str], value: str, second: str | None) -> None:
        path, name = where
        value = value if second is None else f"{value},{second}"
        response = session.get(f"{url}{path}", params={name: value}, timeout=60)
        statuses[f"{path} {response.status_code}"] += 1
        if response.status_code >= 500:
            problems.append(f"{path}?{name}={value!r}: {response.status_code}")

    get()
    return {"examples": sum(statuses.values()), "statuses": dict(statuses),
            "problems": problems[:20], "problem_count": len(problems)}


def run_schemathesis(url: str, token: str, examples: int, report_dir: Path) -> dict:
    command = [str(VENV_BIN / "schemathesis"), "run", f"{url}/api/v1/schema/",
               "--header", f"Authorization: Bearer {token}",
               "--checks", "not_a_server_error,response_schema_conformance",
               "--max-examples", str(examples), "--seed", "20261124",
               "--generation-database", "none", "--report", "junit",
               "--report-dir", str(report_dir), "--request-timeout", "30"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=report_dir)
    tail = done.stdout.strip().splitlines()[-25:]
    return {"exit_code": done.returncode, "summary": tail}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=300)
    parser.add_argument("--schema-examples", type=int, default=40)
    parser.add_argument("--out", type=Path, default=REPO_DIR / "var" / "proof" / "fuzz.json")
    parser.add_argument("--parts", default=",".join(PARTS),
                        help=f"comma-separated, of: {', '.join(PARTS)}")
    args = parser.parse_args()
    parts = [p for p in args.parts.split(",") if p]
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(args.out.parent / "fuzz-failures", ignore_errors=True)

    root = Path(tempfile.mkdtemp(prefix="elue-proof-fuzz-"))
    site = Site(root, web_workers=2)
    try:
        site.start(workers=1)
        token = create_token(site)
        keep = args.out.parent / "fuzz-failures"
        runs = {
            "uploads": lambda: fuzz_uploads(site.url, token, args.examples, keep),
            "site_uploads": lambda: fuzz_site_uploads(site.url, args.examples // 2, keep),
            "archive": lambda: fuzz_archive_mutations(site.url, token, args.examples, keep),
            "params": lambda: fuzz_query_parameters(site.url, args.examples),
            "schemathesis": lambda: run_schemathesis(site.url, token, args.schema_examples,
                                                     root),
        }
        result = {part: runs[part]() for part in parts}
        access_log = (site.root / "access.log").read_text()
        result["5xx_in_access_log"] = len(re.findall(r'HTTP/1\.[01]" 5\d\d ', access_log))
        shutil.copy(site.root / "gunicorn.log", args.out.parent / "fuzz-gunicorn.log")
    finally:
        site.close()
        shutil.rmtree(root, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    ok = (all(result[part].get("problem_count", 0) == 0 for part in parts)
          and result.get("schemathesis", {}).get("exit_code", 0) == 0
          and result["5xx_in_access_log"] == 0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

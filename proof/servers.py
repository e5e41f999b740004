"""A production-shaped ELUE on loopback for the proof runs: a private PostgreSQL cluster, a
private Redis, optionally a private S3-compatible store (SeaweedFS), gunicorn, Celery workers
and beat, all started here and all stopped at the end.

With the object store, every worker is a separate "machine": its own ELUE_VAR_DIR, upload
and data folders and temporary folder, sharing only PostgreSQL, Redis and the store.

Nothing touches the machine's own PostgreSQL or Redis: faults (restarts, kills) hit only the
private copies.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_DIR))

from tests.pipeline.harness import (  # noqa: E402
    RedisServer,
    S3Server,
    Workers,
    base_env,
    free_port,
    wait_for,
)

VENV_BIN = Path(sys.executable).parent
DATA_DIR = REPO_DIR.parent / "shared" / "elue-data"


def postgres_bin() -> Path:
    """The newest installed PostgreSQL server binaries (Debian's layout)."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                      key=lambda p: int(p.parent.name))
    if not versions:
        raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql")
    return versions[-1]


class PostgresServer:
    """A throwaway PostgreSQL cluster on a free loopback port (trust auth, no fsync: the
    proof measures ELUE, not the disk). As root, it runs as the ``postgres`` user, since
    PostgreSQL refuses to run as root."""

    def __init__(self, directory: Path, port: int | None = None):
        self.directory, self.port = directory, port or free_port()
        self.data, self.log = directory / "data", directory / "postgres.log"

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        done = subprocess.run([*prefix, *command], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command[:1])} failed: {done.stderr[-2000:]}")

    def url(self, database: str = "elue") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> PostgresServer:
        if not self.data.exists():
            self.directory.mkdir(parents=True, exist_ok=True)
            if os.geteuid() == 0:
                # The postgres user must reach its folder through the (root-owned) parents.
                temp = Path(tempfile.gettempdir())
                for parent in reversed(self.directory.parents):
                    if parent.is_relative_to(temp) and parent.stat().st_uid == 0:
                        parent.chmod(parent.stat().st_mode | 0o005)
                shutil.chown(self.directory, "postgres", "postgres")
            self._run(str(postgres_bin() / "initdb"), "-D", str(self.data), "-A", "trust",
                      "-U", "postgres", "--no-sync")
        options = (f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c synchronous_commit=off -c max_connections=200")
        self._run(str(postgres_bin() / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                  "-o", options, "-w", "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        with contextlib.suppress(RuntimeError):
            self._run(str(postgres_bin() / "pg_ctl"), "-D", str(self.data), "-m", mode,
                      "-w", "stop")

    def restart(self) -> None:
        """A fast shutdown (open connections are cut) and a start on the same port."""
        self.stop("fast")
        self.start()

    def create_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')


class Process:
    """A long-running command in its own process group, logging to a file."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path):
        self.log = log
        with open(log, "ab") as out:
            self.process = subprocess.Popen(command, cwd=REPO_DIR, env=env, stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self, grace: float = 5) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(grace)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@dataclass
class Site:
    """Everything one proof run starts; ``close()`` stops it all (also after a failure).
    ``object_store``: uploads and test data in a private SeaweedFS, and every worker on a
    machine of its own (``machine_env``)."""

    root: Path
    web_workers: int = 4
    object_store: bool = False
    postgres: PostgresServer = field(init=False)
    redis: RedisServer = field(init=False)
    s3: S3Server | None = field(init=False, default=None)
    env: dict[str, str] = field(default_factory=dict)
    processes: list[Process] = field(default_factory=list)
    web: Process | None = None
    workers: Workers | None = None
    url: str = ""

    def __post_init__(self) -> None:
        self.postgres = PostgresServer(self.root / "postgres")
        self.redis = RedisServer(self.root / "redis")
        if self.object_store:
            self.s3 = S3Server(self.root / "s3")

    def start(self, workers: int = 2) -> Site:
        # A SIGTERM (a CI time-out, `kill`) unwinds like Ctrl-C, so that ``close()`` in the
        # caller's ``finally`` stops everything this run started.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        self.postgres.start()
        self.postgres.create_database("elue")
        self.redis.start()
        self.env = production_env(self.root, self.postgres.url(), self.redis.url)
        if self.s3 is not None:
            self.s3.start()
            self.env["ELUE_STORAGE_URL"] = self.s3.url
        self.manage("collectstatic", "--noinput", "-v", "0")
        self.manage("migrate", "--noinput", "-v", "0")
        self.manage("elue_seed")
        self.manage("elue_import_data", str(DATA_DIR))
        self.start_web()
        self.processes.append(Process(
            [str(VENV_BIN / "celery"), "-A", "elue", "beat", "--schedule",
             str(self.root / "celerybeat-schedule"), "--loglevel", "INFO"],
            self.env, self.root / "beat.log"))
        self.workers = Workers(self.machine_env, self.root / "workers")
        for _ in range(workers):
            self.workers.start()
        return self

    def machine_env(self) -> dict[str, str]:
        """The next worker's environment: with the object store, a machine of its own (no
        folder shared with the web server or another worker)."""
        env = dict(self.env)
        if self.s3 is not None:
            machine = self.root / f"machine-{len(self.workers.started) + 1}"
            (machine / "tmp").mkdir(parents=True, exist_ok=True)
            env.update(ELUE_VAR_DIR=str(machine / "var"),
                       ELUE_UPLOAD_DIR=str(machine / "var" / "uploads"),
                       ELUE_DATA_ROOT=str(machine / "var" / "data"), TMPDIR=str(machine / "tmp"))
        return env

    def machines(self) -> list[Path]:
        return sorted(self.root.glob("machine-*"))

    def restart_web(self, **env: str) -> None:
        """Stop gunicorn and start it again with ``env`` added to its environment."""
        if self.web is not None:
            self.web.stop()
            self.processes.remove(self.web)
        self.env.update(env)
        self.start_web()

    def start_web(self) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.web = Process(
            [str(VENV_BIN / "gunicorn"), "elue.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", str(self.web_workers), "--access-logfile",
             str(self.root / "access.log"), "--error-logfile", "-"],
            self.env, self.root / "gunicorn.log")
        self.processes.append(self.web)
        wait_for(lambda: http_ok(self.url + "/healthz"), 60, 0.2,
                 f"gunicorn at {self.url} (log {self.root / 'gunicorn.log'})")

    def manage(self, *args: str) -> str:
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO_DIR, env=self.env,
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")
        return done.stdout

    def django(self, code: str) -> str:
        """Run Python ``code`` with Django set up in this site's environment; its stdout."""
        return self.manage("shell", "-c", code)

    def close(self) -> None:
        if self.workers is not None:
            self.workers.stop_all()
        for process in reversed(self.processes):
            process.stop()
        self.redis.stop()
        if self.s3 is not None:
            self.s3.stop()
        self.postgres.stop("immediate")


def production_env(root: Path, database_url: str, broker_url: str) -> dict[str, str]:
    """The production settings (DEBUG off, JSON logs, hashed static files), served over plain
    HTTP on loopback, so the HTTPS redirect and secure cookies are off. Throttles and the
    daily quota are raised: the proof measures the server, not the limits."""
    return base_env(
        DJANGO_DEBUG="false", DJANGO_SECRET_KEY="proof-" + "k" * 60,
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost", DJANGO_SECURE_SSL_REDIRECT="false",
        DJANGO_SECURE_COOKIES="false", DJANGO_SECURE_HSTS_SECONDS="0",
        DATABASE_URL=database_url, ELUE_BROKER_URL=broker_url, ELUE_VAR_DIR=root / "var",
        # The page cache and the throttle counters shared by the gunicorn processes, in
        # their own Redis database; connections kept between requests (checked before use).
        ELUE_CACHE_URL=broker_url.rsplit("/", 1)[0] + "/1", DATABASE_CONN_MAX_AGE=60,
        ELUE_STATIC_ROOT=root / "static", ELUE_DAILY_SUBMISSIONS=1_000_000,
        ELUE_DAILY_POINTS=100_000_000, ELUE_MONTHLY_POINTS_PER_TASK=100_000_000,
        ELUE_API_ANON_RATE="1000000/minute", ELUE_API_USER_RATE="1000000/minute",
        ELUE_API_SUBMIT_RATE="1000000/minute", ELUE_LIVE_CHECK_RATE="1000000/minute",
        ELUE_LOG_LEVEL="INFO", ELUE_LOG_FORMAT="json",
        # Production timings for the pipeline, shortened only where a fault run would
        # otherwise wait minutes for the reaper.
        ELUE_HEARTBEAT_SECONDS=2, ELUE_STALE_AFTER=10, ELUE_REQUEUE_AFTER=20, ELUE_REAP_EVERY=5,
    )

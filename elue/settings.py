"""ELUE settings: everything from the environment, working with nothing set.

With no variables: SQLite and uploads under ``var/``, and Celery on kombu's filesystem
transport (no broker server). ``DATABASE_URL`` selects PostgreSQL and ``ELUE_BROKER_URL``
Redis. ``docker/.env.example`` lists every variable.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from elue.env import env_bool, env_int, env_list, env_path, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = env_path("ELUE_VAR_DIR", BASE_DIR / "var")

DEBUG = env_bool("DJANGO_DEBUG", True)
DEVELOPMENT_SECRET_KEY = "insecure-development-key-set-DJANGO_SECRET_KEY"
SECRET_KEY = env_str("DJANGO_SECRET_KEY", DEVELOPMENT_SECRET_KEY)
if not DEBUG and SECRET_KEY == DEVELOPMENT_SECRET_KEY:
    # A public server signing sessions with a key from a public repository is worse than
    # one that does not start.
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "leaderboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "elue.urls"
WSGI_APPLICATION = "elue.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'elue.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The embedded default must work on a fresh clone: make sure its folder exists.
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # A file, not memory, so that worker processes started by the tests share it.
    TEST_SQLITE = env_str("ELUE_TEST_SQLITE", str(VAR_DIR / "test.sqlite3"))
    DATABASES["default"]["TEST"] = {"NAME": TEST_SQLITE}
    # Workers and the web write concurrently: IMMEDIATE transactions queue for the write
    # lock instead of failing with "database is locked" when a reader starts writing.
    DATABASES["default"]["OPTIONS"] = {"timeout": 30, "transaction_mode": "IMMEDIATE"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Accounts: password reset mails go through Django's backend; the console by default.
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "leaderboard:my_submissions"
LOGOUT_REDIRECT_URL = "leaderboard:index"
EMAIL_BACKEND = env_str("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("DJANGO_EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("DJANGO_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("DJANGO_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("DJANGO_EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DJANGO_DEFAULT_FROM_EMAIL", "ELUE <noreply@localhost>")

# --- REST API (leaderboard.api, docs/api.md) ---
# Throttle counters live in the default cache: per process with the local-memory cache.
# The cache holds the API's throttle counters. Per process by default; with several web
# processes (gunicorn) set ELUE_CACHE_URL=redis://host:6379/1 so that the limits are shared.
ELUE_CACHE_URL = env_str("ELUE_CACHE_URL", "")
CACHES = {"default": (
    {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": ELUE_CACHE_URL,
     "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2}}
    if ELUE_CACHE_URL else
    {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"})}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "leaderboard.api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "leaderboard.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("ELUE_API_ANON_RATE", "120/minute"),
        "user": env_str("ELUE_API_USER_RATE", "600/minute"),
    },
    "EXCEPTION_HANDLER": "leaderboard.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "leaderboard.api.schema.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ELUE API",
    "DESCRIPTION": "The ELUE benchmark and leaderboard: tasks, reference curve, leaderboard, "
                   "entries and submissions. See docs/api.md.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
# --- end REST API ---

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env_path("ELUE_STATIC_ROOT", VAR_DIR / "static")
# WhiteNoise serves static files from the web process. Outside development, hashed and
# compressed files from `collectstatic` (forever-cacheable names); in development and tests,
# the app folders directly, with no collectstatic step.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
                    if env_bool("ELUE_STATIC_MANIFEST", not DEBUG)
                    else "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG
if DEBUG:
    # In development files come from the apps (finders); WhiteNoise still wants the folder.
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)

# Security. Behind a TLS-terminating proxy set DJANGO_SECURE_PROXY_SSL_HEADER=true so that
# Django knows the request came over HTTPS. All of these are on by default outside DEBUG.
SECURE = not DEBUG
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", SECURE)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", SECURE)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # probed over plain HTTP from inside the network
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31536000 if SECURE else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", SECURE)
# The header only allows listing; a domain is preloaded when its owner submits it.
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", SECURE)
if env_bool("DJANGO_SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Uploads and the hidden test data live under var/, never under a publicly served path.
MEDIA_ROOT = env_path("ELUE_UPLOAD_DIR", VAR_DIR / "uploads")
ELUE_DATA_ROOT = env_path("ELUE_DATA_ROOT", VAR_DIR / "data")

# Celery. The default broker is kombu's filesystem transport: a real, separate worker
# process with no server to install. ELUE_BROKER_URL=redis://host:6379/0 selects Redis.
ELUE_BROKER_DIR = env_path("ELUE_BROKER_DIR", VAR_DIR / "broker")
CELERY_BROKER_URL = env_str("ELUE_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(ELUE_BROKER_DIR / "queue"),
        "data_folder_out": str(ELUE_BROKER_DIR / "queue"),
        "processed_folder": str(ELUE_BROKER_DIR / "processed"),
        "control_folder": str(ELUE_BROKER_DIR / "control"),
        "store_processed": False,
    }
    for folder in ("queue", "processed", "control"):
        (ELUE_BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # A message unacknowledged this long (its worker died) goes back to the queue; the claim
    # guard makes a redelivery of a still-running submission harmless.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("ELUE_TASK_TIME_LIMIT",
                                                                     1860) + 300}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("ELUE_TASK_SOFT_TIME_LIMIT", 1800)
CELERY_TASK_TIME_LIMIT = env_int("ELUE_TASK_TIME_LIMIT", 1860)
CELERY_TASK_DEFAULT_QUEUE = "site"
CELERY_TASK_ROUTES = {"leaderboard.tasks.evaluate_submission": {"queue": "evaluation"}}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env_bool("ELUE_CELERY_EAGER", False)
# With the broker down, give up publishing quickly: the submission stays queued and the
# reaper enqueues it again once the broker is back.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5,
                                    "interval_max": 1}
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env_int("ELUE_WORKER_MAX_MEMORY_MB", 4096) * 1024  # KiB
CELERY_BEAT_SCHEDULE = {
    "reap-submissions": {"task": "leaderboard.tasks.reap_submissions",
                         "schedule": env_int("ELUE_REAP_EVERY", 30)},
}

# The submission pipeline.
ELUE_DAILY_SUBMISSIONS = env_int("ELUE_DAILY_SUBMISSIONS", 20)  # per user, rolling 24 hours
ELUE_HEARTBEAT_SECONDS = env_int("ELUE_HEARTBEAT_SECONDS", 5)
ELUE_STALE_AFTER = env_int("ELUE_STALE_AFTER", 30)  # a running attempt silent this long is lost
ELUE_REQUEUE_AFTER = env_int("ELUE_REQUEUE_AFTER", 120)  # queued this long: enqueue again
ELUE_MAX_ATTEMPTS = env_int("ELUE_MAX_ATTEMPTS", 3)  # worker losses before giving up
# An API request that died holding an Idempotency-Key (e.g. the database went away) frees
# the key after this many seconds; longer than any request may run (gunicorn's timeout).
ELUE_IDEMPOTENCY_ABANDONED_AFTER = env_int("ELUE_IDEMPOTENCY_ABANDONED_AFTER", 180)
# Limits on an uploaded archive (see evaluator.bundle.archive.ArchiveLimits).
ELUE_UPLOAD_MAX_MEMBERS = env_int("ELUE_UPLOAD_MAX_MEMBERS", 200)
ELUE_UPLOAD_MAX_MB = env_int("ELUE_UPLOAD_MAX_MB", 512)  # uncompressed, whole archive
ELUE_UPLOAD_MAX_RATIO = env_int("ELUE_UPLOAD_MAX_RATIO", 200)
# Submitted model code and models the platform runs, in the sandbox (docs/sandbox.md).
ELUE_SANDBOX_MEMORY_MB = env_int("ELUE_SANDBOX_MEMORY_MB", 4096)  # address space
ELUE_SANDBOX_CPU_SECONDS = env_int("ELUE_SANDBOX_CPU_SECONDS", 1200)  # per process
ELUE_SANDBOX_WALL_SECONDS = env_int("ELUE_SANDBOX_WALL_SECONDS", 900)  # per sandbox run
ELUE_SANDBOX_PROCESSES = env_int("ELUE_SANDBOX_PROCESSES", 64)  # processes and threads
ELUE_SANDBOX_FILE_MB = env_int("ELUE_SANDBOX_FILE_MB", 256)  # largest file written
ELUE_SANDBOX_THREADS = env_int("ELUE_SANDBOX_THREADS", 1)  # torch threads inside
ELUE_INFERENCE_TOKEN_BUDGET = env_int("ELUE_INFERENCE_TOKEN_BUDGET", 8192)  # tokens per batch
ELUE_RERUN_SAMPLE = env_int("ELUE_RERUN_SAMPLE", 200)  # kind-3 examples re-run per point
# Where models run (docs/measurement.md): auto (the GPU ELUE_CUDA_DEVICE when this host has
# it), cpu or cuda; the sandbox's wall time per run on a GPU. With ELUE_GPU_QUEUE set (e.g.
# evaluation-gpu), submissions whose model the platform runs go to that queue, for GPU workers.
ELUE_DEVICE = env_str("ELUE_DEVICE", "auto")
if ELUE_DEVICE not in ("auto", "cpu", "cuda"):
    raise ImproperlyConfigured(f"ELUE_DEVICE={ELUE_DEVICE!r}: expected auto, cpu or cuda")
ELUE_CUDA_DEVICE = env_int("ELUE_CUDA_DEVICE", 0)
ELUE_SANDBOX_WALL_SECONDS_CUDA = env_int("ELUE_SANDBOX_WALL_SECONDS_CUDA", 600)
ELUE_GPU_QUEUE = env_str("ELUE_GPU_QUEUE", "")
# Measured latency, throughput, memory and energy of every point the platform runs.
ELUE_MEASURE = env_bool("ELUE_MEASURE", True)
ELUE_MEASURE_SAMPLE = env_int("ELUE_MEASURE_SAMPLE", 1000)  # single-stream examples
ELUE_MEASURE_WARMUP = env_int("ELUE_MEASURE_WARMUP", 50)
ELUE_MEASURE_REPEATS = env_int("ELUE_MEASURE_REPEATS", 3)
ELUE_MEASURE_IDLE_SECONDS = env_int("ELUE_MEASURE_IDLE_SECONDS", 2)
# The reference (ElasticBERT-BASE at 1..12 layers) measured once per hardware profile.
ELUE_REFERENCE_TIME_LIMIT = env_int("ELUE_REFERENCE_TIME_LIMIT", 6 * 3600)
# Run custom model code with limits but no namespaces where bubblewrap is unusable. Only for
# a host where every submitter is trusted: the code could then read the database settings.
ELUE_ALLOW_UNSANDBOXED_CODE = env_bool("ELUE_ALLOW_UNSANDBOXED_CODE", False)

# Logs go to stdout: one JSON object per line in production (ELUE_LOG_FORMAT=json, the
# default outside DEBUG) for a log collector, plain text for a person at a terminal.
LOG_FORMAT = env_str("ELUE_LOG_FORMAT", "text" if DEBUG else "json")
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured(f"ELUE_LOG_FORMAT={LOG_FORMAT!r}: expected json or text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "pythonjsonlogger.json.JsonFormatter",
                 "fmt": "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s",
                 "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"}},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout",
                             "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env_str("ELUE_LOG_LEVEL", "INFO")},
}
# Celery replaces the root logger's handlers unless told not to; JSON logs must stay JSON.
CELERY_WORKER_HIJACK_ROOT_LOGGER = LOG_FORMAT == "text"

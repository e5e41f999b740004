"""ELUE settings: everything from the environment, working with nothing set.

With no variables: SQLite and uploads under ``var/``, and Celery on kombu's filesystem
transport (no broker server). ``DATABASE_URL`` selects PostgreSQL and ``ELUE_BROKER_URL``
Redis. ``docker/.env.example`` lists every variable.
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from elue.env import env_bool, env_float, env_int, env_list, env_path, env_str
from elue.storage_url import storage_settings

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
    "axes",
    "leaderboard",
]

MIDDLEWARE = [
    # First: anonymous reads of shared pages are answered from the whole kept response.
    "leaderboard.shared_responses.SharedResponseMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    # Before anything reads the body (the CSRF check reads a form's whole body).
    "leaderboard.request_limits.RefuseOversizedBodies",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out log-in into the lockout page.
    "axes.middleware.AxesMiddleware",
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
        # Seconds a connection is kept for the next request (0: one per request). Kept ones
        # are checked before reuse, so a database restart costs no failed request.
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
        conn_health_checks=env_bool("DATABASE_CONN_HEALTH_CHECKS", True),
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

# Accounts (docs/integrity.md, "Accounts"): a confirmed e-mail address before the first
# submission, one account per confirmed address, sign-ups per client address limited, and
# log-ins locked after repeated failures (django-axes, per client address and per username).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
ELUE_EMAIL_CONFIRMATION_DAYS = env_int("ELUE_EMAIL_CONFIRMATION_DAYS", 3)  # link validity
ELUE_SIGNUPS_PER_IP = env_int("ELUE_SIGNUPS_PER_IP", 5)  # accounts per client address a day
# Proxies in front of the web server that append the client to X-Forwarded-For (0: none;
# REMOTE_ADDR is the client). Sign-up limits and log-in lockouts count per client address.
ELUE_LOGIN_FAILURES = env_int("ELUE_LOGIN_FAILURES", 5)  # failed log-ins before a lockout
ELUE_LOGIN_LOCKOUT_MINUTES = env_int("ELUE_LOGIN_LOCKOUT_MINUTES", 15)
AXES_FAILURE_LIMIT = ELUE_LOGIN_FAILURES
AXES_COOLOFF_TIME = timedelta(minutes=ELUE_LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]  # each counted on its own
AXES_CLIENT_IP_CALLABLE = "leaderboard.accounts.client_ip"
AXES_LOCKOUT_CALLABLE = "leaderboard.views.accounts.locked_out"
AXES_DISABLE_ACCESS_LOG = True  # failed attempts only; no log of every log-in
AXES_VERBOSE = False

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
# The cache holds the API's throttle counters and the cached pages. Per process by default;
# with several web processes (gunicorn) set ELUE_CACHE_URL=redis://host:6379/1 so that the
# limits and the pages are shared.
ELUE_CACHE_URL = env_str("ELUE_CACHE_URL", "")
CACHES = {"default": (
    {"BACKEND": "elue.cache.RedisCache", "LOCATION": ELUE_CACHE_URL,
     "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2}}
    if ELUE_CACHE_URL else
    {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"})}

# The leaderboard page, task pages and leaderboard API are served from this cache, keyed by
# the board version (leaderboard/board_cache.py). Off only to measure the difference.
ELUE_CACHE_PAGES = env_bool("ELUE_CACHE_PAGES", True)
# Proxies (addresses or CIDR blocks) whose X-Forwarded-For the throttles believe; from any
# other address the header is ignored, or a client could pose as a new one per request.
ELUE_TRUSTED_PROXIES = env_list("ELUE_TRUSTED_PROXIES", [])
for _proxy in ELUE_TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"ELUE_TRUSTED_PROXIES: {_proxy!r} is not an address or "
                                   "CIDR block") from None

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "leaderboard.api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "leaderboard.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": [
        "leaderboard.api.throttling.AnonRateThrottle",
        "leaderboard.api.throttling.UserRateThrottle",
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

# Where uploads and the hidden test data live: local folders (the default, below) or an
# S3-compatible store shared by every web and worker machine; the hidden data may have its own
# bucket (and narrower credentials) with ELUE_DATA_STORAGE_URL.
ELUE_STORAGE_URL = env_str("ELUE_STORAGE_URL", "")
ELUE_DATA_STORAGE_URL = env_str("ELUE_DATA_STORAGE_URL", ELUE_STORAGE_URL)

STATIC_URL = "static/"
STATIC_ROOT = env_path("ELUE_STATIC_ROOT", VAR_DIR / "static")
# WhiteNoise serves static files from the web process. Outside development, hashed and
# compressed files from `collectstatic` (forever-cacheable names); in development and tests,
# the app folders directly, with no collectstatic step.
STORAGES = {
    # Uploads and the hidden test data (elue/storage.py): folders under var/ unless
    # ELUE_STORAGE_URL names an S3-compatible store (elue/storage_url.py). Never served.
    "default": storage_settings(ELUE_STORAGE_URL, "uploads", "elue.storage.LocalStore"),
    "elue_data": storage_settings(ELUE_DATA_STORAGE_URL, "data", "elue.storage.HiddenDataStorage"),
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
# Content-Security-Policy (django-csp): every script comes from this site (plotly.js too) and
# no page has an inline script, so an injected <script> or on* attribute never runs. Styles
# may be inline: plotly.js sets style attributes as it draws.
CONTENT_SECURITY_POLICY = {"DIRECTIVES": {
    "default-src": [SELF], "script-src": [SELF], "style-src": [SELF, UNSAFE_INLINE],
    "img-src": [SELF, "data:"], "font-src": [SELF], "connect-src": [SELF],
    "object-src": [NONE], "base-uri": [NONE], "form-action": [SELF], "frame-ancestors": [NONE],
}}
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Without ELUE_STORAGE_URL, uploads and the hidden test data live under var/, never under a
# publicly served path.
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
# Published entries (numbers typed in from a paper): per user, rolling 24 hours, and points.
ELUE_DAILY_PUBLISHED = env_int("ELUE_DAILY_PUBLISHED", 5)
ELUE_PUBLISHED_MAX_POINTS_PER_TASK = env_int("ELUE_PUBLISHED_MAX_POINTS_PER_TASK", 24)
ELUE_PUBLISHED_MAX_POINTS = env_int("ELUE_PUBLISHED_MAX_POINTS", 72)  # per entry, all tasks
# Scores must not become a label oracle (docs/integrity.md, "Labels cannot be probed"):
# operating points per task in one submission, scored points per user in a rolling day (all
# tasks) and per task in a rolling 30 days, and how different two points of one user on a
# task must be unless identical (a share of the test set, and at least so many examples).
ELUE_MAX_POINTS_PER_TASK = env_int("ELUE_MAX_POINTS_PER_TASK", 16)
ELUE_DAILY_POINTS = env_int("ELUE_DAILY_POINTS", 96)
ELUE_MONTHLY_POINTS_PER_TASK = env_int("ELUE_MONTHLY_POINTS_PER_TASK", 48)
ELUE_MIN_POINT_DIFFERENCE_PERCENT = env_float("ELUE_MIN_POINT_DIFFERENCE_PERCENT", 0.5)
ELUE_MIN_POINT_DIFFERENCE_EXAMPLES = env_int("ELUE_MIN_POINT_DIFFERENCE_EXAMPLES", 10)
ELUE_HEARTBEAT_SECONDS = env_int("ELUE_HEARTBEAT_SECONDS", 5)
ELUE_STALE_AFTER = env_int("ELUE_STALE_AFTER", 30)  # a running attempt silent this long is lost
ELUE_REQUEUE_AFTER = env_int("ELUE_REQUEUE_AFTER", 120)  # queued this long: enqueue again
# ... and after each re-send twice as long, up to this (leaderboard/reaper.py).
ELUE_REQUEUE_MAX_AFTER = env_int("ELUE_REQUEUE_MAX_AFTER", 3600)
ELUE_MAX_ATTEMPTS = env_int("ELUE_MAX_ATTEMPTS", 3)  # worker losses before giving up
# An API request that died holding an Idempotency-Key (e.g. the database went away) frees
# the key after this many seconds; longer than any request may run (gunicorn's timeout).
ELUE_IDEMPOTENCY_ABANDONED_AFTER = env_int("ELUE_IDEMPOTENCY_ABANDONED_AFTER", 180)
# One working directory per evaluation attempt (unpacked bundle, sandbox files), swept once
# the attempt no longer runs (leaderboard/workdirs.py).
ELUE_WORK_DIR = env_path("ELUE_WORK_DIR", VAR_DIR / "work")
# Limits on an uploaded archive (see evaluator.bundle.archive_limits.ArchiveLimits).
ELUE_UPLOAD_MAX_MEMBERS = env_int("ELUE_UPLOAD_MAX_MEMBERS", 200)
ELUE_UPLOAD_MAX_MB = env_int("ELUE_UPLOAD_MAX_MB", 512)  # uncompressed, whole archive
ELUE_UPLOAD_MAX_RATIO = env_int("ELUE_UPLOAD_MAX_RATIO", 200)
# The live check (/submit/check/) unpacks an upload like a submission but costs no quota.
ELUE_LIVE_CHECK_RATE = env_str("ELUE_LIVE_CHECK_RATE", "30/minute")
# Submitted model code and models the platform runs, in the sandbox (docs/sandbox.md).
ELUE_SANDBOX_MEMORY_MB = env_int("ELUE_SANDBOX_MEMORY_MB", 4096)  # the sandbox's one process
ELUE_SANDBOX_CPU_SECONDS = env_int("ELUE_SANDBOX_CPU_SECONDS", 1200)  # CPU time
ELUE_SANDBOX_WALL_SECONDS = env_int("ELUE_SANDBOX_WALL_SECONDS", 900)  # per sandbox run
ELUE_SANDBOX_PROCESSES = env_int("ELUE_SANDBOX_PROCESSES", 64)  # threads (no second process)
ELUE_SANDBOX_FILE_MB = env_int("ELUE_SANDBOX_FILE_MB", 256)  # largest file written
ELUE_SANDBOX_SCRATCH_MB = env_int("ELUE_SANDBOX_SCRATCH_MB", 512)  # all it writes (tmpfs)
ELUE_SANDBOX_THREADS = env_int("ELUE_SANDBOX_THREADS", 1)  # torch threads inside
ELUE_INFERENCE_TOKEN_BUDGET = env_int("ELUE_INFERENCE_TOKEN_BUDGET", 8192)  # tokens per batch
ELUE_RERUN_SAMPLE = env_int("ELUE_RERUN_SAMPLE", 200)  # kind-3 examples re-run per point
# All sandbox runs of one evaluation together (capturing, counting, running). It must end
# before the task's soft limit, leaving the platform's own work time: a submission whose
# model uses it up fails as its own fault, never as the platform's (docs/integrity.md).
ELUE_SANDBOX_BUDGET_SECONDS = env_int("ELUE_SANDBOX_BUDGET_SECONDS", 1500)
SANDBOX_BUDGET_MARGIN = 60  # seconds of the soft limit kept for tokenising and scoring
if ELUE_SANDBOX_BUDGET_SECONDS + SANDBOX_BUDGET_MARGIN > CELERY_TASK_SOFT_TIME_LIMIT:
    raise ImproperlyConfigured(
        f"ELUE_SANDBOX_BUDGET_SECONDS={ELUE_SANDBOX_BUDGET_SECONDS} must be at least "
        f"{SANDBOX_BUDGET_MARGIN} s below ELUE_TASK_SOFT_TIME_LIMIT="
        f"{CELERY_TASK_SOFT_TIME_LIMIT}: a model that uses up its sandbox time must fail "
        "before the task's time limit")
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
    # django-axes logs every log-in at INFO; failures and lockouts are warnings.
    "loggers": {"axes": {"level": "WARNING"}},
}
# Celery replaces the root logger's handlers unless told not to; JSON logs must stay JSON.
CELERY_WORKER_HIJACK_ROOT_LOGGER = LOG_FORMAT == "text"

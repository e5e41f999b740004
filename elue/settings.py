"""ELUE settings: everything from the environment, working with nothing set.

With no variables: SQLite and uploads under ``var/``, and Celery on kombu's filesystem
transport (no broker server). ``DATABASE_URL`` selects PostgreSQL and ``ELUE_BROKER_URL``
Redis. ``docker/.env.example`` lists every variable.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url

from elue.env import env_bool, env_int, env_list, env_path, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = env_path("ELUE_VAR_DIR", BASE_DIR / "var")

DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "insecure-development-key-set-DJANGO_SECRET_KEY")
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

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"

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
CELERY_IMPORTS = ["evaluator.tasks"]  # not a Django app, so autodiscovery misses it
CELERY_TASK_DEFAULT_QUEUE = "site"
CELERY_TASK_ROUTES = {"evaluator.tasks.*": {"queue": "evaluation"}}
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
# Limits on an uploaded archive (see evaluator.archive.ArchiveLimits).
ELUE_UPLOAD_MAX_MEMBERS = env_int("ELUE_UPLOAD_MAX_MEMBERS", 200)
ELUE_UPLOAD_MAX_MB = env_int("ELUE_UPLOAD_MAX_MB", 512)  # uncompressed, whole archive
ELUE_UPLOAD_MAX_RATIO = env_int("ELUE_UPLOAD_MAX_RATIO", 200)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("ELUE_LOG_LEVEL", "INFO")},
}

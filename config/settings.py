"""Prefer settings: one file, everything that differs between machines comes from the environment."""

import json
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# PREFER_ENV=production turns on every safety switch and refuses to start without a real secret key.
PRODUCTION = os.environ.get("PREFER_ENV", "development").lower() == "production"
DEBUG = env_bool("DJANGO_DEBUG", default=not PRODUCTION)

# Keys anybody can read (this repository's examples and development key): sessions, CSRF and the annotator
# pseudonyms derived from them would be forgeable or reversible.
KNOWN_KEYS = {"change-me-to-a-long-random-string", "build-only-not-a-secret"}
DEV_KEY = "dev-insecure-key-do-not-use-in-production-" + "x" * 20
_KEY_COMMAND = "python -c 'import secrets; print(secrets.token_urlsafe(50))'"


def production_key_problem(name: str, key: str) -> str:
    """Why `key` cannot guard a production deployment ("" when it can): Django's own bar (50 characters,
    5 distinct) and no published value."""
    if not key:
        return f"{name} must be set when PREFER_ENV=production"
    if key in KNOWN_KEYS or key == DEV_KEY or key.startswith(("django-insecure-", "dev-insecure-")):
        return f"{name} is a published placeholder: generate a new one ({_KEY_COMMAND})"
    if len(key) < 50 or len(set(key)) < 5:
        return f"{name} is too weak: at least 50 random characters, got {len(key)} ({_KEY_COMMAND})"
    return ""


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if PRODUCTION and (problem := production_key_problem("DJANGO_SECRET_KEY", SECRET_KEY)):
    raise ImproperlyConfigured(problem)
if not SECRET_KEY:
    # Development only: a fixed, obviously-insecure key so that sessions survive restarts.
    SECRET_KEY = DEV_KEY

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "" if PRODUCTION else "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "axes",
    "csp",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "annotation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "annotation.accounts.sessions.SessionIdleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a lockout flagged during authentication into the lockout answer.
    "axes.middleware.AxesMiddleware",
]

# The lockout backend first: a locked-out username or address is refused before its password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]

# Postgres is the one database (no SQLite code path). `make demo`/`make test` export DATABASE_URL, pointing
# at the server given by the user or at the embedded one they start under ./var/.
DATABASE_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/prefer")
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")))
}
if not DATABASES["default"]["ENGINE"].endswith("postgresql"):
    raise ImproperlyConfigured("Prefer needs PostgreSQL: DATABASE_URL must be a postgres:// URL")
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("TEST", {})["NAME"] = os.environ.get("PREFER_TEST_DB_NAME", "test_prefer")

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
# Redis holds nothing an annotator needs (DESIGN section 2): every client of it gives up within seconds
# instead of hanging a request, and each use of the cache falls back to the database (sessions live there).
REDIS_TIMEOUTS = {"socket_connect_timeout": 1.0, "socket_timeout": 2.0}
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": REDIS_TIMEOUTS,
    }
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Artifacts (snapshots, checkpoints, converted models) live here; a shared volume in a cluster.
PREFER_DATA_DIR = Path(os.environ.get("PREFER_DATA_DIR", BASE_DIR / "var" / "data"))
# Keyed hash for annotator pseudonyms in exports; defaults to a key derived from SECRET_KEY.
PREFER_PSEUDONYM_KEY = os.environ.get("PREFER_PSEUDONYM_KEY", "")
if (
    PRODUCTION
    and PREFER_PSEUDONYM_KEY
    and (problem := production_key_problem("PREFER_PSEUDONYM_KEY", PREFER_PSEUDONYM_KEY))
):
    raise ImproperlyConfigured(problem)
# Largest accepted text (message content or response) and upload, in bytes.
PREFER_MAX_TEXT_BYTES = int(os.environ.get("PREFER_MAX_TEXT_BYTES", str(256 * 1024)))
PREFER_MAX_IMPORT_BYTES = int(os.environ.get("PREFER_MAX_IMPORT_BYTES", str(200 * 1024 * 1024)))
# The longest line of an import file (a prompt with its responses); longer is a line error, read in bounded
# chunks (a file without newlines costs linear time, never a line held whole in memory).
PREFER_MAX_IMPORT_LINE_BYTES = int(os.environ.get("PREFER_MAX_IMPORT_LINE_BYTES", str(8 * 1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first so that anonymous API calls get 401 with a WWW-Authenticate header.
        "annotation.accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # JSON bodies only (a form or multipart body is a 415), as the schema says; the import endpoint alone
    # takes a multipart upload (its own parser_classes). With form parsers here, a PATCH whose multipart
    # body held no parsable field was an empty, accepted change (found by schemathesis).
    "DEFAULT_PARSER_CLASSES": ["annotation.parsers.JSONParser"],
    # Django's test client speaks the API's language unless a test names another format.
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "EXCEPTION_HANDLER": "annotation.rest.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "token": "30/min",
        "members": "60/min",
        # Annotation submissions per user; empty: no limit (the throughput benchmarks).
        "submit": os.environ.get("PREFER_SUBMIT_RATE", "120/min") or None,
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # How many reverse proxies in front of the app append to X-Forwarded-For; the throttles and the login
    # lockout believe that many entries and no more (0: the header is ignored, REMOTE_ADDR is the client).
    "NUM_PROXIES": int(os.environ.get("PREFER_NUM_PROXIES", "0")),
}

# API tokens: hashed at rest, expiring after this many days (a client may ask for fewer).
PREFER_TOKEN_DAYS = int(os.environ.get("PREFER_TOKEN_DAYS", "30"))

# Failed sign-ins (page, admin, token endpoint) before a lockout, within the cool-off window: per username,
# and per client address (generous: a whole office may share one). annotation/accounts/lockout.py.
PREFER_LOGIN_FAILURES_PER_USERNAME = int(os.environ.get("PREFER_LOGIN_FAILURES_PER_USERNAME", "10"))
PREFER_LOGIN_FAILURES_PER_ADDRESS = int(os.environ.get("PREFER_LOGIN_FAILURES_PER_ADDRESS", "100"))
AXES_HANDLER = "annotation.accounts.lockout.LoginLockoutHandler"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_FAILURE_LIMIT = 1  # the handler reports 1 once any parameter reached its own limit above
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("PREFER_LOGIN_COOLOFF_MINUTES", "15")))
AXES_CLIENT_IP_CALLABLE = "annotation.accounts.lockout.client_address"
AXES_LOCKOUT_CALLABLE = "annotation.accounts.lockout.lockout_response"
AXES_RESET_ON_SUCCESS = False  # one account's success must not clear an address's count for everyone
AXES_SENSITIVE_PARAMETERS = ["password"]

SPECTACULAR_SETTINGS = {
    "TITLE": "Prefer API",
    "DESCRIPTION": "Human preference annotation with the RLHF training loop built in.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its docs page are for signed-in users (tokens or a session), not the open internet.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "annotation.rest.document_common_errors",
    ],
    # Swagger UI / Redoc assets from the sidecar package: no CDN, the docs work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "RoundKindEnum": "annotation.models.RoundKind",
        "MemberRoleEnum": "annotation.models.Role",
        "TaskKindEnum": ["scoring", "pairwise", "ranking"],
        "PairKindEnum": ["ranking", "edit", "rating", "harmless"],
        "MessageRoleEnum": ["system", "user", "assistant"],
    },
}

# Celery: Redis broker; Postgres holds all state, results are never relied upon.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", REDIS_URL)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_BEAT_SCHEDULE = {
    "rounds-schedule": {"task": "annotation.tasks.rounds_schedule", "schedule": 60.0},
    "rounds-reap-stale": {"task": "annotation.tasks.rounds_reap_stale", "schedule": 60.0},
    "leases-expire": {"task": "annotation.tasks.leases_expire", "schedule": 300.0},
    "tokens-purge": {"task": "annotation.tasks.tokens_purge", "schedule": 3600.0},
    "artifacts-sweep": {"task": "annotation.tasks.artifacts_sweep", "schedule": 3600.0},
}
# Checkpoints no version refers to (rejected policies, failed rounds) are deleted this long after they were
# written (annotation/rounds/artifacts.py): time to look at a rejected policy, not to fill the disk.
PREFER_ARTIFACT_GRACE_HOURS = float(os.environ.get("PREFER_ARTIFACT_GRACE_HOURS", "24"))
# A round's worker refreshes its heartbeat this often; a round silent for 3x the stale time is failed.
PREFER_ROUND_HEARTBEAT_SECONDS = float(os.environ.get("PREFER_ROUND_HEARTBEAT_SECONDS", "10"))
PREFER_ROUND_STALE_SECONDS = float(os.environ.get("PREFER_ROUND_STALE_SECONDS", "120"))
# The longest a training round may run (CELERY_TASK_TIME_LIMIT in the environment, as in .env.example). It
# is also the default for tasks that set none; each task (annotation/rounds/tasks.py,
# annotation/queue/tasks.py) has its own, shorter limits for generation and for the periodic bookkeeping. The
# training tasks name their queue ("gpu") where they are declared; the rest go to CELERY_TASK_DEFAULT_QUEUE.
CELERY_TASK_TIME_LIMIT = int(os.environ.get("CELERY_TASK_TIME_LIMIT", str(6 * 3600)))
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 60
PREFER_TRAINING_TIME_LIMIT = CELERY_TASK_TIME_LIMIT
PREFER_GENERATION_TIME_LIMIT = min(CELERY_TASK_TIME_LIMIT, 3600)
# Redis re-delivers an unacknowledged (acks_late) message after the visibility timeout: it must exceed the
# longest task, or a healthy long round gets a second delivery mid-run.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT + 3600, **REDIS_TIMEOUTS}
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = REDIS_TIMEOUTS["socket_connect_timeout"]
CELERY_REDIS_SOCKET_TIMEOUT = REDIS_TIMEOUTS["socket_timeout"]
# What a project admin's round config may name and ask for (annotation/rounds/limits.py): models beyond the
# built-in ones and the project's own (comma-separated directories or Hub ids), and caps over its LIMITS as
# JSON, e.g. {"ppo": {"steps": 1000}}.
PREFER_ROUND_ALLOWED_MODELS = [
    ref.strip() for ref in os.environ.get("PREFER_ROUND_ALLOWED_MODELS", "").split(",") if ref.strip()
]
PREFER_ROUND_LIMITS = json.loads(os.environ.get("PREFER_ROUND_LIMITS", "") or "{}")
# A round taken over from lost workers more often than this is failed (a stage that kills its worker).
PREFER_ROUND_MAX_RESUMES = int(os.environ.get("PREFER_ROUND_MAX_RESUMES", "2"))
# A round still queued this long (its message lost?) has its task sent again, the wait doubling each time.
PREFER_ROUND_REQUEUE_SECONDS = float(os.environ.get("PREFER_ROUND_REQUEUE_SECONDS", "300"))
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE

# Sessions in Postgres only: a logged-in annotator's pages must not depend on Redis (one query a page).
SESSION_ENGINE = "django.contrib.sessions.backends.db"
# A sign-in ends after PREFER_SESSION_IDLE_SECONDS without a request, and PREFER_SESSION_SECONDS after it
# began however busy (not Django's two weeks). The idle clock is pushed forward at most once a minute
# (annotation/accounts/sessions.py), not by SESSION_SAVE_EVERY_REQUEST, which would write the session row
# on every annotate call.
PREFER_SESSION_IDLE_SECONDS = int(os.environ.get("PREFER_SESSION_IDLE_SECONDS", str(2 * 3600)))
PREFER_SESSION_SECONDS = int(os.environ.get("PREFER_SESSION_SECONDS", str(12 * 3600)))
SESSION_COOKIE_AGE = PREFER_SESSION_IDLE_SECONDS
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the annotate page reads it to send X-CSRFToken
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
# Every response: scripts, styles and images from this site only, no inline script or style, no plugins,
# no <base>, never framed. The one exception is the API docs page (data: images in Swagger UI's CSS,
# config/urls.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

"""Django settings, all driven by environment variables (see README "Configuration")."""

from __future__ import annotations

import datetime
import os
from typing import Any

import dj_database_url
import django_stubs_ext
from csp.constants import NONE, SELF, UNSAFE_HASHES, UNSAFE_INLINE

from hpdash.ops.config import HpdashSettings
from hpdash.ops.containers import container_settings_from_env
from hpdash.ops.env import env_bool, env_choice, env_float, env_int, env_list
from hpdash.ops.paths import BASE_DIR, data_dir, redis_url, secret_key, secure_data_dir
from hpdash.ops.sandbox import trial_user_from_env
from hpdash.ops.trial_box import trial_box_from_env

django_stubs_ext.monkeypatch()  # generic Django classes (ModelAdmin[Job]) at run time

DATA_DIR = data_dir()
# Trainers run as this user (None: as the service's own user); see hpdash/ops/sandbox.py.
TRIAL_USER = trial_user_from_env()
secure_data_dir(DATA_DIR, TRIAL_USER.gid if TRIAL_USER else None)
# Each trial in a box of its own (None: unboxed); see hpdash/ops/trial_box.py.
TRIAL_BOX = trial_box_from_env(TRIAL_USER)
# Trials of jobs naming an image run in it with podman (None: not here); hpdash/ops/containers.py.
CONTAINERS = container_settings_from_env()

SECRET_KEY = secret_key()
DEBUG = env_bool("HPDASH_DEBUG")
ALLOWED_HOSTS = env_list("HPDASH_ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("HPDASH_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "hpdash.dashboard.static_storage.StaticFilesConfig",  # django.contrib.staticfiles
    "csp",  # django-csp: its checks refuse settings of the old (3.x) format
    "django_rq",
    "axes",
    "hpdash",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Content-Security-Policy on every page (not on static files, answered above); the policy
    # is CONTENT_SECURITY_POLICY below.
    "hpdash.dashboard.csp.CSPMiddleware",
    # Pages and JSON are gzipped (a 10,000-trial job page: ~400 KB → ~70 KB); static files are
    # answered above by whitenoise, from the gzip copies collectstatic wrote. BREACH: a
    # compressed page that reflects input next to a secret leaks the secret. The only secret
    # in hpdash's pages is the CSRF token, which Django masks afresh in every response, and
    # GZipMiddleware pads each response with up to 100 random bytes ("Heal the Breach").
    # API tokens are shown once, by the create_api_token command, never in a page.
    "django.middleware.gzip.GZipMiddleware",
    # A NUL character in a URL or query string is a 400 (PostgreSQL refuses one in a query),
    # before the session, a view or the login throttle (which records the path) reads it.
    "hpdash.nul.RefuseNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Login throttling: after AXES_FAILURE_LIMIT failed logins a user and address pair is locked
    # out for AXES_COOLOFF_TIME.  Last, as django-axes asks.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("HPDASH_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_float("HPDASH_LOGIN_LOCKOUT_MINUTES", 15.0))
# Lock a user name per client address: one attacker cannot lock a user out from everywhere.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True

ROOT_URLCONF = "hpdash.urls"
WSGI_APPLICATION = "hpdash.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
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

if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "hpdash.sqlite3"),
            "OPTIONS": {
                # IMMEDIATE takes the write lock when a transaction starts, so two workers
                # advancing jobs queue up instead of deadlocking on lock upgrades.
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns about a missing one
# plotly.js is served from here (no CDN): /static/plotly/plotly-strict.min.js, plotly.js's
# "strict" bundle, which draws WebGL charts (the parallel coordinates) without eval, as the
# Content-Security-Policy below requires. The plotly package's own plotly.min.js compiles
# shaders with Function() at run time. static/plotly/README.md says where it comes from.
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
# Files browsers ask for at the site's root (/favicon.ico): without one, every first page of a
# visit logs a 404 in the browser's console.
WHITENOISE_ROOT = BASE_DIR / "webroot"
# Hashed names + immutable caching once collectstatic has run (hpdash/dashboard/static_storage).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "hpdash.dashboard.static_storage.HashedStaticStorage"},
}
WHITENOISE_AUTOREFRESH = DEBUG

LOGIN_URL = "/accounts/login/"

# Content-Security-Policy (django-csp 4), on every page the site answers, DEBUG or not. Only
# files from this origin run: no inline <script>, no inline event handler, no eval. Pages pass
# data to their static scripts as <script type="application/json"> (json_script), which is
# data, not code, and so not subject to script-src. tests/test_csp.py and the browser test
# (tests/e2e/test_browser_csp.py) hold the pages to it; README "Security" explains it.
#
# Styles: hpdash's own are static files, and no page has a style="" attribute. Plotly (4.x)
# needs three inline styles, each allowed by its hash, so no 'unsafe-inline' is needed:
# - an empty <style> element it adds at load and fills through the CSSOM (insertRule, which
#   CSP does not police): its modebar, tooltip and cursor rules;
# - empty style="" attributes it sets on colorbar fills ('unsafe-hashes' lets a hash match an
#   attribute; the only attribute value it can match here is the empty one);
# - the stylesheet of the map library it bundles, injected at load (hpdash draws no maps).
# Hashes of content that changes with the plotly.js version are checked against the bundle
# served by tests/dashboard/test_csp.py.
EMPTY_INLINE_STYLE_HASH = "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"  # sha256("")
PLOTLY_MAPLIBRE_CSS_HASH = "'sha256-ji27qzEtxXZW+7dun6UwjHXJ18e6WAin1VvNtkzIE/o='"
CONTENT_SECURITY_POLICY: dict[str, Any] = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_HASHES, EMPTY_INLINE_STYLE_HASH, PLOTLY_MAPLIBRE_CSS_HASH],
        # Plotly's modebar and image export draw from data: URIs.
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
# Directives replaced on the pages under a URL prefix, for apps whose templates are not ours.
HPDASH_CSP_PREFIX_REPLACE: dict[str, dict[str, list[str]]] = {
    # django-rq's queue pages (staff only) carry inline <style> blocks: styles only are relaxed
    # there. Their one inline script stays blocked: it calls a jQuery plugin Django's admin no
    # longer has (it would throw), and the admin's actions.js does its work anyway.
    "/django-rq/": {"style-src": [SELF, UNSAFE_INLINE]},
}

# Request bodies: a job spec is small; refuse anything larger than 1 MiB.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

if not DEBUG:
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SECURE = env_bool("HPDASH_SECURE_COOKIES")
    CSRF_COOKIE_SECURE = env_bool("HPDASH_SECURE_COOKIES")
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"
    SECURE_REFERRER_POLICY = "same-origin"

REDIS_URL = redis_url()
RQ_QUEUES = {
    # Trials run as long as they need: their time limit is enforced by hpdash's runner.
    "default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": -1},
}

# hpdash's own knobs, typed: hpdash/ops/config.py says what each is and reads it.
HPDASH = HpdashSettings.from_env(data_dir=DATA_DIR)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"stamped": {"format": "%(asctime)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "stamped"}},
    "loggers": {
        # propagate=False: `manage.py serve` also configures the root logger, and each line
        # should appear once.
        "hpdash": {"handlers": ["console"], "level": env_choice(
            "HPDASH_LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")),
                   "propagate": False},
    },
}
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

"""weibao settings: everything that differs between deployments comes from the environment.

Defaults are safe for production (DEBUG off, secure cookies, keys required). The demo and
the test suite opt into development mode explicitly (``WEIBAO_DEBUG=true`` or running
under pytest). Every variable is documented in ``.env.example``.
"""

import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from weibao.lib.env import env_bool, env_float, env_int, env_list, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
TESTING = "pytest" in sys.modules or sys.argv[1:2] == ["test"]

DEBUG = env_bool("WEIBAO_DEBUG", False)
DEV_MODE = DEBUG or TESTING  # fixed development keys allowed, demo logins printed

ALLOWED_HOSTS = env_list("WEIBAO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEV_MODE else [])
CSRF_TRUSTED_ORIGINS = env_list("WEIBAO_CSRF_TRUSTED_ORIGINS", [])


def _key(name: str, dev_value: str) -> str:
    value = env_secret(name)
    if value:
        return value
    if DEV_MODE:
        return dev_value
    raise ImproperlyConfigured(f"{name} (or {name}_FILE) must be set when WEIBAO_DEBUG is off")


SECRET_KEY = _key("WEIBAO_SECRET_KEY", "dev-only-insecure-secret-key-" + "x" * 40)
# Keys for identifier encryption, the blind index and the audit chain. 32 bytes, base64.
FIELD_ENCRYPTION_KEY = _key("WEIBAO_FIELD_KEY", "ZGV2LW9ubHktZmllbGQta2V5LTAwMDAwMDAwMDAwMDA=")
BLIND_INDEX_KEY = _key("WEIBAO_BLIND_INDEX_KEY", "ZGV2LW9ubHktYmxpbmQta2V5LTAwMDAwMDAwMDAwMDA=")
AUDIT_CHAIN_KEY = _key("WEIBAO_AUDIT_KEY", "ZGV2LW9ubHktYXVkaXQta2V5LTAwMDAwMDAwMDAwMDA=")
FIELD_CIPHER = env_str("WEIBAO_FIELD_CIPHER", "aes-gcm")  # or "sm4-gcm" for 商用密码
if FIELD_CIPHER not in {"aes-gcm", "sm4-gcm"}:
    raise ImproperlyConfigured("WEIBAO_FIELD_CIPHER must be aes-gcm or sm4-gcm")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "django_filters",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_tasks_db",
    "weibao.accounts",
    "weibao.audit",
    "weibao.registry",
    "weibao.feeds",
    "weibao.notifications",
    "weibao.reports",
    "weibao.cases",
    "weibao.alerts",
    "weibao.ui",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "weibao.audit.middleware.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "weibao.lib.middleware.RefuseUnstorableTextMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "weibao.accounts.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "weibao.urls"
WSGI_APPLICATION = "weibao.wsgi.application"
ASGI_APPLICATION = "weibao.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "weibao" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "weibao.ui.context_processors.navigation",
                "weibao.notifications.views.unread_count",
            ],
        },
    }
]

_default_db = f"sqlite:///{BASE_DIR / 'var' / 'weibao.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(env_str("DATABASE_URL", _default_db), conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["axes.backends.AxesBackend", "django.contrib.auth.backends.ModelBackend"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
if TESTING:  # the suite creates hundreds of users; the production hasher is tested on its own
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "weibao.accounts.passwords.CharacterClassValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "ui:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Lockout after 5 failed logins (django-axes), unlocked by a security administrator or after 30 min.
AXES_FAILURE_LIMIT = env_int("WEIBAO_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("WEIBAO_LOGIN_COOLOFF_MINUTES", 30) / 60
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False

OTP_TOTP_ISSUER = "weibao 未保"

# Idle timeout: the session expires after this many seconds without a request.
SESSION_COOKIE_AGE = env_int("WEIBAO_IDLE_TIMEOUT_SECONDS", 30 * 60)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

SECURE = not DEV_MODE and env_bool("WEIBAO_SECURE_COOKIES", True)
SESSION_COOKIE_SECURE = SECURE
CSRF_COOKIE_SECURE = SECURE
SECURE_SSL_REDIRECT = SECURE and env_bool("WEIBAO_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("WEIBAO_HSTS_SECONDS", 31536000) if SECURE else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
SECURE_HSTS_PRELOAD = SECURE
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("WEIBAO_BEHIND_PROXY", False) else None
)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "weibao" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
NODE_MODULES = BASE_DIR / "node_modules"
# Front-end packages come from the npm registry at setup (package.json) and are served by us.
STATICFILES_DIRS = [
    ("vendor/tabler", NODE_MODULES / "@tabler" / "core" / "dist"),
    ("vendor/tabler-icons", NODE_MODULES / "@tabler" / "icons-webfont" / "dist"),
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/echarts", NODE_MODULES / "echarts" / "dist"),
    ("vendor/swagger-ui", NODE_MODULES / "swagger-ui-dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEV_MODE
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = BASE_DIR / "var" / "media"

# Record linkage (issue 4): match-probability thresholds (defaults from bench/linkage.py quality, see
# docs/PERFORMANCE.md), the registry's feature cache, DuckDB's memory cap (it spills to its temp directory).
LINKAGE_UPPER_THRESHOLD = env_float("WEIBAO_LINKAGE_UPPER_THRESHOLD", 0.95)
LINKAGE_LOWER_THRESHOLD = env_float("WEIBAO_LINKAGE_LOWER_THRESHOLD", 0.5)
if not 0 < LINKAGE_LOWER_THRESHOLD <= LINKAGE_UPPER_THRESHOLD <= 1:
    raise ImproperlyConfigured(
        "WEIBAO_LINKAGE_LOWER_THRESHOLD ≤ WEIBAO_LINKAGE_UPPER_THRESHOLD must lie in (0, 1]"
    )
LINKAGE_CACHE_DIR = Path(env_str("WEIBAO_LINKAGE_CACHE_DIR", str(BASE_DIR / "var" / "linkage")))
LINKAGE_MEMORY_LIMIT = env_str("WEIBAO_LINKAGE_MEMORY_LIMIT", "3GB")
WHITENOISE_USE_FINDERS = DEV_MODE
DATA_UPLOAD_MAX_MEMORY_SIZE = 50 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "weibao.accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["weibao.accounts.permissions.AuthenticatedWithSecondFactor"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "weibao.lib.api_defaults.Pagination",
    "DEFAULT_PARSER_CLASSES": [
        "weibao.lib.api_defaults.StrictJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "weibao.lib.api.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "weibao API",
    "DESCRIPTION": "未保 — Shanghai minor-protection information management system",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The API reference page (Swagger UI) is served from npm's swagger-ui-dist, never a CDN, and asks no
    # outside validator about the schema.
    "SWAGGER_UI_DIST": f"/{STATIC_URL}vendor/swagger-ui",
    "SWAGGER_UI_FAVICON_HREF": f"/{STATIC_URL}vendor/swagger-ui/favicon-32x32.png",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "PersonKindEnum": "weibao.registry.choices.PersonKind",
        "StreetKindEnum": "weibao.accounts.choices.StreetKind",
        "ReportStatusEnum": "weibao.reports.choices.Status",
        "SexEnum": "weibao.registry.choices.Sex",
        "UrgencyEnum": "weibao.reports.choices.Urgency",  # the same set as cases.choices.Priority
        "CaseStateEnum": "weibao.cases.choices.State",
        "AlertStateEnum": "weibao.alerts.choices.AlertState",
        "PlanStatusEnum": "weibao.cases.choices.PlanStatus",
        "InterventionStatusEnum": "weibao.cases.choices.InterventionStatus",
        "ReferralStatusEnum": "weibao.cases.choices.ReferralStatus",
    },
}
API_TOKEN_DAYS = env_int("WEIBAO_API_TOKEN_DAYS", 90)

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
if TESTING:
    TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}

MAILERS = {
    "default": {"BACKEND": env_str("WEIBAO_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")}
}
DEFAULT_FROM_EMAIL = env_str("WEIBAO_FROM_EMAIL", "weibao@localhost")
# Links in e-mail and SMS; pluggable SMS backend (weibao/notifications/sms.py).
SITE_URL = env_str("WEIBAO_SITE_URL", "http://localhost:8000")
SMS_BACKEND = env_str(
    "WEIBAO_SMS_BACKEND",
    "weibao.notifications.sms.LocmemBackend" if TESTING else "weibao.notifications.sms.DisabledBackend",
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("WEIBAO_LOG_LEVEL", "WARNING")},
}

# axes.W006 asks for lockout by IP too; government offices sit behind shared NAT addresses, so one
# address locking out a whole district office would be a denial of service. Lockout is per account.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

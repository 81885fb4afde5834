"""Settings read from PORTAL_* environment variables, with embedded defaults.

Every setting the portal reads is listed in SETTINGS; the README's configuration table is this list.
"""

import os
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# name: (default, description) — the default may use {instance} for the instance folder.
SETTINGS: dict[str, tuple[str, str]] = {
    "PORTAL_INSTANCE_PATH": (str(PROJECT_ROOT / "instance"), "Folder for the SQLite files, the secret key and PDFs."),
    "PORTAL_DATABASE_URL": ("sqlite:///{instance}/vitrine.db", "SQLAlchemy URL of the system of record."),
    "PORTAL_SECRET_KEY": ("", "Signs sessions and tokens; generated into the instance folder when empty."),
    "PORTAL_REDIS_URL": ("", "Redis for jobs and rate limits; when empty, Huey uses SQLite and limits memory."),
    "PORTAL_DEFAULT_LOCALE": ("en", "Language when neither the user nor the browser chooses one."),
    "PORTAL_DEFAULT_TIMEZONE": ("America/Santiago", "Time zone for organisations that have none."),
    "PORTAL_SMTP_HOST": ("", "SMTP server; when empty, e-mails are kept in the outbox and logged (whole only "
                                "under `flask run`)."),
    "PORTAL_SMTP_PORT": ("25", "SMTP port."),
    "PORTAL_SMTP_USER": ("", "SMTP user name (optional)."),
    "PORTAL_SMTP_PASSWORD": ("", "SMTP password (optional)."),
    "PORTAL_SMTP_STARTTLS": ("0", "1 to upgrade the SMTP connection with STARTTLS."),
    "PORTAL_MAIL_FROM": ("Vitrine <no-reply@vitrine.localhost>", "Sender of every e-mail."),
    "PORTAL_MAIL_CLAIM_SECONDS": ("300", "How long a worker holds an e-mail it is sending before another may send it "
                                  "(its sender taken for dead); keep it above the SMTP timeout of 20 s."),
    "PORTAL_FRAME_ANCESTORS": ("'self'", "Origins allowed to frame the portal (CSP frame-ancestors)."),
    "PORTAL_PROXY_HOPS": ("0", "Reverse proxies in front (trusted X-Forwarded-* headers)."),
    "PORTAL_TRUSTED_PROXIES": ("", "Addresses or networks of the reverse proxies (comma-separated): X-Forwarded-* "
                               "headers and the sign-on header are believed only from them."),
    "PORTAL_TRUSTED_USER_HEADER": ("", "Header in which a trusted proxy names the signed-on user's e-mail (e.g. "
                                   "X-Remote-User); empty: off."),
    "PORTAL_HTTPS": ("0", "1 when served over HTTPS: cookies are marked Secure."),
    "PORTAL_SESSION_IDLE_MINUTES": ("30", "A session ends after this many minutes without a request."),
    "PORTAL_SESSION_MAX_HOURS": ("12", "A session ends this many hours after login, whatever happens."),
    "PORTAL_MAX_UPLOAD_MB": ("10", "Largest request body accepted."),
    "PORTAL_LOGIN_LIMIT": ("10 per 15 minutes", "Failed logins allowed per account and per address; a browser that "
                           "logged in to the account before is counted on its own instead."),
    "PORTAL_BRAND_NAME": ("Vitrine", "Name shown in the top bar, e-mails and invoices."),
    "PORTAL_BRAND_LOGO": ("", "Path of the logo file (PNG, JPEG or SVG, at most 1 MB) for the top bar and invoices; "
                          "empty: Vitrine's."),
    "PORTAL_BRAND_COLOUR": ("", "Main colour, #rrggbb, dark enough for white text (4.5:1); empty: Vitrine's blue."),
    "PORTAL_BASE_URL": ("http://localhost:5000", "External address used in e-mailed links."),
    "PORTAL_LOG_FORMAT": ("text", "json: one JSON object a line (time, level, request id, user, organisation, route, "
                          "status, duration); text: readable lines."),
    "PORTAL_LOG_LEVEL": ("INFO", "Least level written to the log (DEBUG, INFO, WARNING, ERROR)."),
    "PORTAL_DUNNING_GRACE_DAYS": ("15", "Days after an invoice's due date before an account that has not paid it is "
                                  "blocked (paying lifts the block at once)."),
    "PORTAL_FISCAL_ZIP_PREPARE_FROM": ("2000", "A month with at least this many XMLs is zipped by a job (with its "
                                       "progress shown) instead of streamed at once."),
    "PORTAL_SIGNUP_PLANS": ("", "Codes of the plans a new organisation tries for its first month, the first sold in "
                            "its currency; empty: the cheapest plan sold in it."),
}


def instance_path() -> str:
    return os.environ.get("PORTAL_INSTANCE_PATH") or SETTINGS["PORTAL_INSTANCE_PATH"][0]


def env(name: str, instance_path: str = "") -> str:
    default = SETTINGS[name][0].replace("{instance}", instance_path)
    return os.environ.get(name, default)


def _secret_key(instance_path: str) -> str:
    """PORTAL_SECRET_KEY, or a key generated once into the instance folder.

    Several worker processes may start at once on a new install: the key is written to a private
    temporary file and linked into place, so exactly one key wins and no process reads a half-written one.
    """
    given = env("PORTAL_SECRET_KEY")
    if given:
        return given
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".secret_key.")
        try:
            os.write(descriptor, secrets.token_urlsafe(48).encode())
            os.close(descriptor)
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    return path.read_text().strip()


def _int(name: str) -> int:
    value = env(name)
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {value!r}") from None


def database_url(url: str) -> str:
    """PostgreSQL URLs without a driver (postgres://, postgresql://) use psycopg 3, the driver installed."""
    for bare in ("postgres://", "postgresql://"):
        if url.startswith(bare):
            return "postgresql+psycopg://" + url[len(bare):]
    return url


def load(instance_path: str) -> dict:
    """Return the Flask config mapping built from the environment."""
    https = env("PORTAL_HTTPS") == "1"
    return {
        "SECRET_KEY": _secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": database_url(env("PORTAL_DATABASE_URL", instance_path)),
        "REDIS_URL": env("PORTAL_REDIS_URL"),
        "BABEL_DEFAULT_LOCALE": env("PORTAL_DEFAULT_LOCALE"),
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "BABEL_TRANSLATION_DIRECTORIES": str(PROJECT_ROOT / "portal" / "translations"),
        "DEFAULT_TIMEZONE": env("PORTAL_DEFAULT_TIMEZONE"),
        "SMTP_HOST": env("PORTAL_SMTP_HOST"),
        "SMTP_PORT": _int("PORTAL_SMTP_PORT"),
        "SMTP_USER": env("PORTAL_SMTP_USER"),
        "SMTP_PASSWORD": env("PORTAL_SMTP_PASSWORD"),
        "SMTP_STARTTLS": env("PORTAL_SMTP_STARTTLS") == "1",
        "MAIL_FROM": env("PORTAL_MAIL_FROM"),
        "MAIL_CLAIM": timedelta(seconds=max(_int("PORTAL_MAIL_CLAIM_SECONDS"), 30)),
        "FRAME_ANCESTORS": env("PORTAL_FRAME_ANCESTORS"),
        "PROXY_HOPS": _int("PORTAL_PROXY_HOPS"),
        "TRUSTED_PROXIES": env("PORTAL_TRUSTED_PROXIES"),
        "TRUSTED_USER_HEADER": env("PORTAL_TRUSTED_USER_HEADER").strip(),
        "SESSION_COOKIE_SECURE": https,
        "REMEMBER_COOKIE_SECURE": https,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_NAME": "vitrine_session",
        "PREFERRED_URL_SCHEME": "https" if https else "http",
        "SESSION_IDLE": timedelta(minutes=_int("PORTAL_SESSION_IDLE_MINUTES")),
        "SESSION_MAX": timedelta(hours=_int("PORTAL_SESSION_MAX_HOURS")),
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=_int("PORTAL_SESSION_MAX_HOURS")),
        # The cookie is signed and sent again only when the session changes (the idle clock, at most once a
        # minute): it then still outlives the server's limits, and a page no longer signs it for nothing.
        "SESSION_REFRESH_EACH_REQUEST": False,
        "MAX_CONTENT_LENGTH": _int("PORTAL_MAX_UPLOAD_MB") * 1024 * 1024,
        "LOGIN_LIMIT": env("PORTAL_LOGIN_LIMIT"),
        "BRAND_NAME": env("PORTAL_BRAND_NAME"),
        "BRAND_LOGO": env("PORTAL_BRAND_LOGO"),
        "BRAND_COLOUR": env("PORTAL_BRAND_COLOUR"),
        "BASE_URL": env("PORTAL_BASE_URL").rstrip("/"),
        "SIGNUP_PLANS": env("PORTAL_SIGNUP_PLANS"),
        "DUNNING_GRACE_DAYS": _int("PORTAL_DUNNING_GRACE_DAYS"),
        "FISCAL_ZIP_PREPARE_FROM": _int("PORTAL_FISCAL_ZIP_PREPARE_FROM"),
        "LOG_FORMAT": env("PORTAL_LOG_FORMAT"),
        "LOG_LEVEL": env("PORTAL_LOG_LEVEL").upper(),
        "RATELIMIT_STORAGE_URI": env("PORTAL_REDIS_URL") or "memory://",
        "RATELIMIT_STRATEGY": "moving-window",
        "RATELIMIT_KEY_PREFIX": "vitrine",
        # A Redis outage must not lock everyone out of the login: limits then live in memory meanwhile.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": bool(env("PORTAL_REDIS_URL")),
        "RATELIMIT_HEADERS_ENABLED": False,
        "WTF_CSRF_TIME_LIMIT": None,
        "WTF_CSRF_HEADERS": ["X-CSRFToken"],
        "RESET_TOKEN_HOURS": 2,
        "INVITE_TOKEN_DAYS": 7,
        # Argon2id cost (argon2-cffi's RFC 9106 low-memory profile); the test suite lowers it for speed.
        "PASSWORD_HASH_TIME_COST": 3,
        "PASSWORD_HASH_MEMORY_KIB": 65536,
        "PASSWORD_HASH_PARALLELISM": 4,
    }


def engine_options(url: str) -> dict:
    """SQLite waits for a busy writer; PostgreSQL connections are checked before use."""
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 15}}
    return {"pool_pre_ping": True}

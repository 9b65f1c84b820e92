"""Settings from environment variables, with safe defaults.

Every setting the operator may change is read here and listed in README.md.
"""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

#: The repository root: templates/ and migrations/ live beside the package.
ROOT = Path(__file__).resolve().parent.parent


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


#: files written by the app (database, photos, letters, exports, uploads) are its own alone
UMASK = 0o077


def _instance_dir() -> Path:
    """The instance folder, 0700: it holds the database and the stored files (personal data)."""
    path = Path(os.environ.get("EXAMADMIN_INSTANCE", ROOT / "instance"))
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        # mkdir's mode is cut by the umask, and an instance folder made before this rule is 0755.
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o700)
    except PermissionError:  # a folder someone else owns: the operator's choice, left as it is
        pass
    return path


def _secret_key(instance: Path) -> str:
    """SECRET_KEY from the environment, else generated once and kept in instance/."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    key_file = instance / "secret_key"
    if not key_file.exists():
        # Written with 0600 so other local users cannot forge sessions.
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return key_file.read_text().strip()


def normalise_database_url(url: str) -> str:
    """Accept the common `postgres://` and `postgresql://` forms and use psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def load() -> dict:
    """Build the Flask config dict from the environment."""
    instance = _instance_dir()
    https = _flag("HTTPS")
    idle_minutes = int(os.environ.get("SESSION_IDLE_MINUTES", "30"))
    redis_url = os.environ.get("REDIS_URL") or None
    return {
        "INSTANCE_DIR": str(instance),
        "SECRET_KEY": _secret_key(instance),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(
            os.environ.get("DATABASE_URL", f"sqlite:///{instance / 'examadmin.db'}")
        ),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": redis_url,
        "STORAGE_DIR": os.environ.get("STORAGE_DIR", str(instance / "storage")),
        "HUEY_SQLITE_PATH": os.environ.get("HUEY_SQLITE_PATH", str(instance / "huey.db")),
        "HUEY_IMMEDIATE": _flag("HUEY_IMMEDIATE"),
        # Flask's unsafe defaults, set explicitly.
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_UPLOAD_MB", "50")) * 1024 * 1024,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": https,
        "PREFERRED_URL_SCHEME": "https" if https else "http",
        "TRUST_PROXY": _flag("TRUST_PROXY"),
        "PERMANENT_SESSION_LIFETIME": timedelta(minutes=idle_minutes),
        "SESSION_IDLE_MINUTES": idle_minutes,
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "WTF_I18N_ENABLED": False,  # WTForms' own Chinese messages, see core.forms.BaseForm
        # Shared by every web process: Redis in production, else a SQLite file (core.ratelimit).
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI")
        or redis_url or f"examadmin-sqlite://{instance / 'ratelimit.db'}",
        "RATELIMIT_ENABLED": _flag("RATELIMIT_ENABLED", True),
        # a 429 says when to try again (Retry-After), for people and for a provider's callback
        "RATELIMIT_HEADERS_ENABLED": True,
        # When the shared store is unreachable (Redis restarting), the limits count in this
        # process's memory until it is back, rather than the sign-in answering 500 (a limit
        # per process is weaker but still a limit); a dead Redis is noticed within 2 s.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_STORAGE_OPTIONS": ({"socket_connect_timeout": 2, "socket_timeout": 2}
                                      if (os.environ.get("RATELIMIT_STORAGE_URI") or redis_url or "").startswith("redis")
                                      else {}),
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "5 per minute"),
        # the public score lookup, per address: every lookup counts, found or not (enumeration)
        "SCORE_LOOKUP_RATE_LIMIT": os.environ.get("SCORE_LOOKUP_RATE_LIMIT", "10 per minute;50 per day"),
        #: public certificate verification, per address (against enumeration)
        "VERIFY_RATE_LIMIT": os.environ.get("VERIFY_RATE_LIMIT", "10 per minute"),
        "BOOTSTRAP_SERVE_LOCAL": True,
        "BOOTSTRAP_BOOTSWATCH_THEME": None,
        #: a request slower than this (ms) is logged at WARNING with its SQL query count
        "SLOW_REQUEST_MS": int(os.environ.get("SLOW_REQUEST_MS", "1000")),
        "PAGE_SIZE": int(os.environ.get("PAGE_SIZE", "20")),
        #: the public address printed in certificates' QR codes, e.g. https://zs.example.cn
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", ""),
        "MAX_IMPORT_ROWS": int(os.environ.get("MAX_IMPORT_ROWS", "50000")),
        # Uploaded sheets (core.excel): the widest first sheet read, and the memory and time
        # the read may take in its child process.
        "MAX_IMPORT_COLUMNS": int(os.environ.get("MAX_IMPORT_COLUMNS", "100")),
        "SHEET_READ_MEMORY_MB": int(os.environ.get("SHEET_READ_MEMORY_MB", "1024")),
        "SHEET_READ_SECONDS": int(os.environ.get("SHEET_READ_SECONDS", "60")),
        # builtin, a name registered in candidates.verification, or module:Class
        "CANDIDATE_VERIFIER": os.environ.get("CANDIDATE_VERIFIER", "builtin"),
        # voucher, a name registered in registrations.providers, or module:Class (an online provider)
        "PAYMENT_PROVIDER": os.environ.get("PAYMENT_PROVIDER", "voucher"),
        # The account a voucher payment is transferred to, shown on each order; empty: 以评价组织通知为准
        "PAYMENT_PAYEE_NAME": os.environ.get("PAYMENT_PAYEE_NAME", "").strip(),
        "PAYMENT_PAYEE_BANK": os.environ.get("PAYMENT_PAYEE_BANK", "").strip(),
        "PAYMENT_PAYEE_ACCOUNT": os.environ.get("PAYMENT_PAYEE_ACCOUNT", "").strip(),
        # Photo zips (candidates.photos): the zip, its photo files, one photo, the compression ratio.
        "MAX_PHOTO_ZIP_MB": int(os.environ.get("MAX_PHOTO_ZIP_MB", "300")),
        "MAX_PHOTO_FILES": int(os.environ.get("MAX_PHOTO_FILES", "5000")),
        "MAX_PHOTO_FILE_MB": int(os.environ.get("MAX_PHOTO_FILE_MB", "20")),
        "MAX_PHOTO_RATIO": int(os.environ.get("MAX_PHOTO_RATIO", "100")),
        # Admission tickets of a site are released only when every scheduled room has this
        # many proctors in each of its sessions (scheduling.services.proctors).
        "MIN_PROCTORS_PER_ROOM": int(os.environ.get("MIN_PROCTORS_PER_ROOM", "2")),
        # Pixels of one photo, read from its header before decoding (a photo needs far fewer).
        "MAX_PHOTO_MEGAPIXELS": int(os.environ.get("MAX_PHOTO_MEGAPIXELS", "25")),
        # A TrueType CJK font to embed in PDFs; empty: WenQuanYi Micro Hei where Debian puts it.
        "PDF_FONT_PATH": os.environ.get("PDF_FONT_PATH", ""),
        # Renewal reminders by e-mail (renewals.reminders): without SMTP_HOST they go to the outbox
        # table that the sysadmin reads at /renewals/outbox.
        "SMTP_HOST": os.environ.get("SMTP_HOST", "").strip(),
        "SMTP_PORT": int(os.environ.get("SMTP_PORT", "587")),
        "SMTP_USER": os.environ.get("SMTP_USER", ""),
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD", ""),
        "SMTP_FROM": os.environ.get("SMTP_FROM", "noreply@localhost"),
        # starttls (default), ssl (implicit TLS, port 465) or none
        "SMTP_SECURITY": os.environ.get("SMTP_SECURITY", "starttls").strip().lower(),
    }

"""Settings for the records store and the web app, read from the environment in one place.

Every setting has a ``POINTILLIST_`` environment variable (``POINTILLIST_DATA``,
``POINTILLIST_DATABASE_URL``, ``POINTILLIST_UPLOAD_MAX_BYTES`` ...). With none set, a
clinic gets a SQLite database, photos and a secret key under
``~/.local/share/pointillist``: no set-up.
"""

from __future__ import annotations

import os
import secrets
from functools import cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pointillist.errors import PointillistError

DEFAULT_DATA_DIR = Path("~/.local/share/pointillist")


class Settings(BaseSettings):
    """Where the clinic's records live and the limits the server enforces."""

    model_config = SettingsConfigDict(env_prefix="POINTILLIST_", extra="ignore")

    data: Path = Field(
        default=DEFAULT_DATA_DIR,
        description="Data directory: SQLite database, photos, secret key, backups.",
    )
    database_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy or libpq URL, e.g. postgresql://user@host/db; "
            "unset means SQLite in the data directory."
        ),
    )
    upload_max_bytes: int = Field(
        default=25 * 1024 * 1024,
        gt=0,
        description="Largest photo upload accepted, in bytes (a 50 MP phone JPEG is ~15 MB).",
    )
    photo_max_pixels: int = Field(
        default=50_000_000,
        gt=0,
        description="Largest photo accepted, in pixels (a 48 MP phone fits); stops pixel bombs.",
    )
    session_max_age_seconds: int = Field(
        default=8 * 3600,
        gt=0,
        description="Absolute browser session lifetime: one working day, however active.",
    )
    session_idle_seconds: int = Field(
        default=30 * 60,
        gt=0,
        description=(
            "A browser session unused this long ends (OWASP Session Management Cheat Sheet: "
            "15-30 minutes for low-risk applications; a shared clinic screen is the risk)."
        ),
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description=(
            "Addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For is "
            "believed; empty: the header is ignored and the peer address is the client's."
        ),
    )
    cookie_secure: bool | None = Field(
        default=None,
        description=(
            "Mark the session cookie Secure (sent back over HTTPS only): true or false; "
            "'auto' (the default) follows the scheme of each sign-in request, so sign-in "
            "works over plain HTTP on the clinic's network and stays Secure over HTTPS "
            "(behind a TLS proxy, the proxy must be in trusted_proxies and send "
            "X-Forwarded-Proto)."
        ),
    )
    max_concurrent_requests: int = Field(
        default=4,
        gt=0,
        description="Requests one server process works on at once; the others queue. "
        "The database pool is sized to match, so no request waits for a connection. "
        "A process runs Python on one core at a time: more threads than this only take "
        "turns, and the switching cost CPU (SQLite, 50 users: 12 ms a request at 4, "
        "14 ms at 16, and p95 300 against 440 ms).",
    )
    max_queued_requests: int = Field(
        default=256,
        ge=0,
        description="Requests one process lets wait for a turn; past that, 503 at once.",
    )
    queue_wait_seconds: float = Field(
        default=5.0,
        gt=0,
        description="Longest wait for a turn before the answer is 503 with Retry-After.",
    )
    max_concurrent_decodes: int = Field(
        default=2,
        gt=0,
        description="Photos decoded at once per process: a 50 MP photo takes ~150 MB "
        "decoded and ~0.5 GB while it is converted, so more only risks running out of memory.",
    )
    audit_chain_interval_seconds: float = Field(
        default=2.0,
        gt=0,
        description="How often the server chains new audit entries (in the background).",
    )
    records_override: Path | None = Field(
        default=None,
        description="A clinic's own records.toml (retention, roles, consent text).",
    )
    clinic_file: Path | None = Field(
        default=None,
        description="The clinic policy (TOML: [plan], [zones], [aftercare], [pricing]) "
        "every consultation uses; `serve --clinic`.",
    )
    rules_file: Path | None = Field(
        default=None,
        description="The clinic's own screening rules (TOML); `serve --rules`.",
    )
    pigments_file: Path | None = Field(
        default=None,
        description="The clinic's pigment catalogue (TOML, brand shades); `serve --pigments`.",
    )

    @field_validator("cookie_secure", mode="before")
    @classmethod
    def _auto(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() in ("", "auto"):
            return None
        return value

    @field_validator("clinic_file", "rules_file", "pigments_file", mode="after")
    @classmethod
    def _expand_file(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @field_validator("data", mode="after")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def photo_dir(self) -> Path:
        """Content-addressed photo store."""
        return self.data / "photos"

    @property
    def secret_key_file(self) -> Path:
        """File holding the key that signs session cookies and CSRF tokens."""
        return self.data / "secret_key"

    @property
    def sqlite_path(self) -> Path:
        """The default SQLite database file."""
        return self.data / "pointillist.sqlite3"

    def cookie_security(self) -> str:
        """How session cookies are marked, in words (``serve`` prints it at start-up)."""
        if self.cookie_secure is None:
            return (
                "session cookies follow the request: Secure over https, plain over http "
                "(POINTILLIST_COOKIE_SECURE=auto)"
            )
        if self.cookie_secure:
            return (
                "session cookies are Secure (POINTILLIST_COOKIE_SECURE=true): sign in over "
                "https, or http://localhost"
            )
        return "session cookies are not Secure (POINTILLIST_COOKIE_SECURE=false)"

    def resolved_database_url(self) -> str:
        """The database URL in use: ``database_url`` or SQLite in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.sqlite_path}"

    @property
    def integrity_key_file(self) -> Path:
        """File holding the key that seals signed consents and the audit log's chain.

        Kept outside the database on purpose: someone who can write to the database but
        not read this file cannot forge a seal.
        """
        return self.data / "integrity_key"

    @property
    def client_keys_file(self) -> Path:
        """File holding each client's encryption key (see pointillist.store.client_keys).

        Outside the database on purpose: erasure overwrites a client's key here, and the
        copies of their rows left in the database's files, logs and dumps stay unreadable.
        Lose this file and every client's details are lost with it: back it up (the
        ``backup`` command does).
        """
        return self.data / "client_keys"

    def secret_key(self) -> str:
        """Return the cookie-signing key, creating it (mode 0600) on first use."""
        return _read_or_create_key(self.secret_key_file, "secret key")

    def integrity_key(self) -> bytes:
        """Return the sealing key (see :attr:`integrity_key_file`), created on first use."""
        return _read_or_create_key(self.integrity_key_file, "integrity key").encode("ascii")


def _read_or_create_key(path: Path, what: str) -> str:
    try:
        key = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        key = ""
    except OSError as exc:
        raise PointillistError(f"{path}: cannot read the {what} ({exc})") from None
    if key:
        return key
    key = secrets.token_urlsafe(48)
    try:
        # Health data: only the account running pointillist may enter the directory.
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # O_EXCL: two workers starting at once must not each write a different key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(key + "\n")
    except FileExistsError:
        return _read_or_create_key(path, what)
    except OSError as exc:
        raise PointillistError(
            f"{path}: cannot write the {what} ({exc}); set POINTILLIST_DATA to a writable directory"
        ) from None
    return key


@cache
def get_settings() -> Settings:
    """The process-wide settings from the environment (tests build :class:`Settings`)."""
    return Settings()

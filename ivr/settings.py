"""Every setting the service reads, in one place, from the environment.

Each secret may also come from a file named by `<NAME>_FILE` (Docker and systemd
credentials). In production a missing setting or a development default stops start-up
with one line that names the setting; development runs with documented defaults so a
fresh clone works with no set-up.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError


class StartupError(Exception):
    """A problem that must stop the service before it answers a call. One line."""


class ConfigError(StartupError):
    pass


PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The app's instance folder: runtime state (the development database, the spool), never
# the sources. Ignored by git.
INSTANCE_PATH = PROJECT_ROOT / "instance"

# Development defaults. They are public (they are in this file), so production refuses them.
DEV_TWILIO_ACCOUNT_SID = "AC" + "0" * 32
DEV_TWILIO_AUTH_TOKEN = "dev-twilio-auth-token"  # noqa: S105
DEV_SECRET_KEY = "dev-secret-key-do-not-use-in-production"  # noqa: S105
DEV_PHONE_ENCRYPTION_KEY = "ZGV2LW9ubHktcGhvbmUtZW5jcnlwdGlvbi1rZXkhISE="
DEV_PHONE_HASH_KEY = "dev-only-phone-hash-key-do-not-use-in-production"
DEV_TELEGRAM_WEBHOOK_SECRET = "dev-telegram-webhook-secret"  # noqa: S105
# What Telegram allows in a webhook's secret token.
TELEGRAM_SECRET_CHARACTERS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")

SECRETS = ("DATABASE_URL", "TWILIO_AUTH_TOKEN", "SECRET_KEY", "PHONE_ENCRYPTION_KEYS",
           "PHONE_HASH_KEY", "METRICS_TOKEN", "TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET")
ENVIRONMENTS = ("development", "production")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
SECOND_FACTOR = ("required", "optional")


@dataclass(frozen=True)
class Settings:
    env: str
    database_url: str
    twilio_account_sid: str
    twilio_auth_token: str
    public_base_url: str | None
    trusted_proxy_hops: int
    secret_key: str
    phone_encryption_keys: tuple[str, ...]
    phone_hash_key: str
    log_level: str
    prompts_dir: Path
    hotline_number: str | None
    spool_dir: Path
    # The operators' page: a claimed request goes back to the queue after this long.
    claim_minutes: int
    metrics_token: str | None
    retention_days: int
    # The operators' page: a second factor (TOTP) for everyone, or for those who enrolled.
    operators_2fa: str
    # Revealing a number asks for a code again once the last one is older than this.
    reveal_2fa_max_age_minutes: int
    # Hours a finished call's record stays at Twilio before it is deleted (0: at once).
    twilio_call_retention_hours: int
    # A number that calls this many times within this many minutes is flagged for supervisors.
    flag_calls_from_one_number: int
    flag_window_minutes: int
    # Numbers a call back may show the caller: (destination country code or None, number).
    callback_caller_ids: tuple[tuple[int | None, str], ...] = ()
    callback_may_show_hotline_number: bool = False
    # The desk's time zone: every time on the operators' page, and what "today" means there.
    desk_timezone: str = "Europe/Kyiv"
    # After each conversation an operator is not rung for this long (their notes, a breath).
    wrap_up_seconds: int = 60
    # An operator who misses this many rings in a row is paused (0: never).
    missed_rings_to_pause: int = 2
    # After "no answer", the minutes before the next try, one per attempt (the last repeats).
    callback_retry_minutes: tuple[int, ...] = (15, 30, 60, 120)
    # After this many tries without an answer, a supervisor decides instead.
    callback_max_attempts: int = 5
    # The website's chat: the longest message a person or an operator may send (characters),
    # and how many messages one chat may send in a minute before it is asked to wait.
    chat_message_limit: int = 2000
    chat_messages_per_minute: int = 12
    # The Telegram bot: its token from @BotFather (None: no bot), and the secret Telegram
    # sends with every update (X-Telegram-Bot-Api-Secret-Token).
    telegram_bot_token: str | None = None
    telegram_webhook_secret: str | None = None
    # A chat waiting for an operator whose person's page has not asked for news or sent
    # anything for this long (the browser closed without "leave now") ends, counted abandoned.
    chat_idle_minutes: int = 10

    @property
    def production(self) -> bool:
        return self.env == "production"


def load_settings(environ: Mapping[str, str], instance_path: Path) -> Settings:
    source = _Source(environ)
    env = source.choice("IVR_ENV", ENVIRONMENTS, default="development")
    production = env == "production"
    dev_database = f"sqlite:///{instance_path / 'ivr.sqlite3'}"
    settings = Settings(
        env=env,
        database_url=_database_url(source.get("DATABASE_URL", dev_database, production)),
        twilio_account_sid=source.get("TWILIO_ACCOUNT_SID", DEV_TWILIO_ACCOUNT_SID, production),
        twilio_auth_token=source.get("TWILIO_AUTH_TOKEN", DEV_TWILIO_AUTH_TOKEN, production),
        public_base_url=_public_base_url(source.optional("PUBLIC_BASE_URL"), production),
        trusted_proxy_hops=source.integer("TRUSTED_PROXY_HOPS", default=0, low=0, high=5),
        secret_key=source.get("SECRET_KEY", DEV_SECRET_KEY, production),
        phone_encryption_keys=_fernet_keys(
            source.get("PHONE_ENCRYPTION_KEYS", DEV_PHONE_ENCRYPTION_KEY, production)
        ),
        phone_hash_key=source.get("PHONE_HASH_KEY", DEV_PHONE_HASH_KEY, production),
        log_level=source.choice("LOG_LEVEL", LOG_LEVELS, default="INFO", upper=True),
        prompts_dir=_prompts_dir(source),
        hotline_number=_hotline_number(source.optional("HOTLINE_NUMBER"), production),
        spool_dir=_spool_dir(source, instance_path),
        claim_minutes=source.integer("CLAIM_MINUTES", default=30, low=1, high=24 * 60),
        metrics_token=_metrics_token(source.optional("METRICS_TOKEN")),
        retention_days=source.integer("RETENTION_DAYS", default=90, low=1, high=3650),
        operators_2fa=source.choice("OPERATORS_2FA", SECOND_FACTOR,
                                    default="required" if production else "optional"),
        reveal_2fa_max_age_minutes=source.integer("REVEAL_2FA_MAX_AGE_MINUTES", default=15,
                                                  low=1, high=12 * 60),
        twilio_call_retention_hours=source.integer("TWILIO_CALL_RETENTION_HOURS", default=24,
                                                   low=0, high=24 * 30),
        flag_calls_from_one_number=source.integer("FLAG_CALLS_FROM_ONE_NUMBER", default=10,
                                                  low=2, high=1000),
        flag_window_minutes=source.integer("FLAG_WINDOW_MINUTES", default=60, low=1,
                                           high=24 * 60),
        callback_caller_ids=_caller_ids(source.optional("CALLBACK_CALLER_IDS")),
        callback_may_show_hotline_number=source.boolean("CALLBACK_MAY_SHOW_HOTLINE_NUMBER"),
        desk_timezone=_time_zone("DESK_TIMEZONE", source.optional("DESK_TIMEZONE")
                                 or "Europe/Kyiv"),
        wrap_up_seconds=source.integer("WRAP_UP_SECONDS", default=60, low=0, high=1800),
        missed_rings_to_pause=source.integer("MISSED_RINGS_TO_PAUSE", default=2, low=0,
                                             high=20),
        callback_retry_minutes=_retry_minutes(source.optional("CALLBACK_RETRY_MINUTES")),
        callback_max_attempts=source.integer("CALLBACK_MAX_ATTEMPTS", default=5, low=1,
                                             high=50),
        chat_message_limit=source.integer("CHAT_MESSAGE_LIMIT", default=2000, low=100,
                                          high=20_000),
        chat_messages_per_minute=source.integer("CHAT_MESSAGES_PER_MINUTE", default=12, low=1,
                                                high=600),
        telegram_bot_token=source.optional("TELEGRAM_BOT_TOKEN"),
        telegram_webhook_secret=_telegram_secret(source, production),
        chat_idle_minutes=source.integer("CHAT_IDLE_MINUTES", default=10, low=1, high=1440),
    )
    if production:
        _refuse_dev_values(settings)
    _check_values(settings)
    return settings


class _Source:
    """Reads raw values, resolving `<NAME>_FILE` for secrets."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ

    def optional(self, name: str) -> str | None:
        value = self.environ.get(name)
        file_name = self.environ.get(f"{name}_FILE") if name in SECRETS else None
        if value and file_name:
            raise ConfigError(f"{name} and {name}_FILE are both set; set only one")
        if file_name:
            return _read_secret_file(name, file_name)
        return value.strip() if value and value.strip() else None

    def get(self, name: str, dev_default: str, required: bool) -> str:
        value = self.optional(name)
        if value is None and required:
            raise ConfigError(f"{name} is not set (required when IVR_ENV=production)")
        return value or dev_default

    def choice(self, name: str, allowed: tuple[str, ...], default: str, upper: bool = False) -> str:
        value = self.optional(name) or default
        value = value.upper() if upper else value.lower()
        if value not in allowed:
            raise ConfigError(f"{name}={value!r} is not one of {', '.join(allowed)}")
        return value

    def boolean(self, name: str) -> bool:
        raw = (self.optional(name) or "false").lower()
        if raw not in ("true", "false"):
            raise ConfigError(f"{name}={raw!r} is not true or false")
        return raw == "true"

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.optional(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{name}={raw!r} is not a whole number") from None
        if not low <= value <= high:
            raise ConfigError(f"{name}={value} is outside {low}..{high}")
        return value


def _time_zone(name: str, value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{name}={value!r} is not a time zone like Europe/Kyiv") from None
    return value


def _hotline_number(number: str | None, production: bool) -> str | None:
    if number is None:
        if production:
            raise ConfigError("HOTLINE_NUMBER is not set (required when IVR_ENV=production: "
                              "operators and callbacks are called from it)")
        return None
    if not _is_e164(number):
        raise ConfigError(f"HOTLINE_NUMBER={number!r} is not an E.164 number like +15005550006")
    return number


def _is_e164(number: str) -> bool:
    digits = number[1:]
    return (number.startswith("+") and digits.isascii() and digits.isdigit()
            and 8 <= len(number) <= 16)


def _caller_ids(raw: str | None) -> tuple[tuple[int | None, str], ...]:
    """`+441234567890,+7:+74951234567`: a `+CC:` prefix keeps a number for callers in that
    country code; plain numbers are for everyone else. Kept in the order given."""
    pool: list[tuple[int | None, str]] = []
    for entry in (part.strip() for part in (raw or "").split(",")):
        if not entry:
            continue
        country, _, number = entry.rpartition(":")
        code = country[1:]
        if country and not (country.startswith("+") and code.isascii() and code.isdigit()
                            and 1 <= len(code) <= 3):
            raise ConfigError(f"CALLBACK_CALLER_IDS: {country!r} is not a country code like +7")
        if not _is_e164(number):
            raise ConfigError(f"CALLBACK_CALLER_IDS: {number!r} is not an E.164 number like "
                              "+15005550006")
        pool.append((int(code) if country else None, number))
    return tuple(pool)


def _retry_minutes(raw: str | None) -> tuple[int, ...]:
    """`15,30,60,120`: the delay after the first no answer, the second, ...; the last repeats."""
    if raw is None:
        return (15, 30, 60, 120)
    delays = []
    for part in (part.strip() for part in raw.split(",")):
        if not (part.isascii() and part.isdigit() and 1 <= int(part) <= 7 * 24 * 60):
            raise ConfigError(f"CALLBACK_RETRY_MINUTES: {part!r} is not a number of minutes "
                              "from 1 to 10080; write them like 15,30,60,120")
        delays.append(int(part))
    if len(delays) > 20:
        raise ConfigError("CALLBACK_RETRY_MINUTES: at most 20 delays")
    return tuple(delays)


def _metrics_token(token: str | None) -> str | None:
    if token is not None and len(token) < 16:
        raise ConfigError("METRICS_TOKEN must be at least 16 characters long")
    return token


def _prompts_dir(source: _Source) -> Path:
    path = Path(source.optional("PROMPTS_DIR") or PROJECT_ROOT / "prompts")
    if not path.is_dir():
        raise ConfigError(f"PROMPTS_DIR={path} is not a directory")
    return path


def prompts_dir_from_environment() -> Path:
    """For the prompt commands, which must work even when the app cannot start."""
    return _prompts_dir(_Source(os.environ))


def _spool_dir(source: _Source, instance_path: Path) -> Path:
    return Path(source.optional("SPOOL_DIR") or instance_path / "spool")


def spool_dir_from_environment() -> Path:
    """SPOOL_DIR as the service reads it, for `ivr prompts reload` (it works without the app):
    the one folder each instance is sure to write, so its reload marker lives there."""
    return _spool_dir(_Source(os.environ), INSTANCE_PATH)


def _read_secret_file(name: str, path: str) -> str:
    try:
        value = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise ConfigError(f"{name}_FILE={path}: cannot read it ({reason})") from None
    if not value:
        raise ConfigError(f"{name}_FILE={path}: the file is empty")
    return value


def _database_url(url: str) -> str:
    # psycopg 3 is the driver we ship; accept the plain and the Heroku-style spellings.
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix):]
            break
    _check_database_driver(url)
    return url


def _check_database_driver(url: str) -> None:
    """Refuse, at start-up, a URL SQLAlchemy cannot read or whose driver is not installed.
    The value itself is never shown: it may hold the database's password."""
    try:
        parsed = make_url(url)
        dialect = parsed.get_dialect()
    except NoSuchModuleError:
        raise ConfigError("DATABASE_URL names a database SQLAlchemy does not know; use "
                          "postgresql://user:pass@host/db or sqlite:///path") from None
    except (ArgumentError, ValueError):
        raise ConfigError("DATABASE_URL is not a database URL like "
                          "postgresql://user:pass@host/db or sqlite:///path") from None
    try:
        dialect.import_dbapi()
    except ImportError as error:
        raise ConfigError(f"DATABASE_URL: the {parsed.drivername} driver is not installed "
                          f"({error}); use postgresql://... or sqlite:///...") from None


def _public_base_url(url: str | None, production: bool) -> str | None:
    if url is None:
        if production:
            raise ConfigError(
                "PUBLIC_BASE_URL is not set (required when IVR_ENV=production: "
                "it is the URL Twilio signs)"
            )
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(f"PUBLIC_BASE_URL={url!r} is not a base URL like https://ivr.example.org")
    if production and parts.scheme != "https":
        raise ConfigError("PUBLIC_BASE_URL must be https:// when IVR_ENV=production")
    return url.rstrip("/")


def _fernet_keys(raw: str) -> tuple[str, ...]:
    keys = tuple(key.strip() for key in raw.split(",") if key.strip())
    for number, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError:
            raise ConfigError(
                f"PHONE_ENCRYPTION_KEYS: key {number} of {len(keys)} is not a Fernet key "
                "(make one with: ivr keys new)"
            ) from None
    if not keys:
        raise ConfigError("PHONE_ENCRYPTION_KEYS is empty")
    return keys


def _telegram_secret(source: _Source, production: bool) -> str | None:
    secret = source.optional("TELEGRAM_WEBHOOK_SECRET")
    if secret is None and source.optional("TELEGRAM_BOT_TOKEN") is not None:
        if production:
            raise ConfigError("TELEGRAM_WEBHOOK_SECRET is not set (required with "
                              "TELEGRAM_BOT_TOKEN when IVR_ENV=production)")
        secret = DEV_TELEGRAM_WEBHOOK_SECRET
    if secret is not None and not (
            1 <= len(secret) <= 256 and set(secret) <= TELEGRAM_SECRET_CHARACTERS):
        raise ConfigError("TELEGRAM_WEBHOOK_SECRET must be 1 to 256 of A-Z, a-z, 0-9, _ and -")
    return secret


def _refuse_dev_values(settings: Settings) -> None:
    dev_values = {
        "TWILIO_ACCOUNT_SID": settings.twilio_account_sid == DEV_TWILIO_ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": settings.twilio_auth_token == DEV_TWILIO_AUTH_TOKEN,
        "SECRET_KEY": settings.secret_key == DEV_SECRET_KEY,
        "PHONE_ENCRYPTION_KEYS": DEV_PHONE_ENCRYPTION_KEY in settings.phone_encryption_keys,
        "PHONE_HASH_KEY": settings.phone_hash_key == DEV_PHONE_HASH_KEY,
        "TELEGRAM_WEBHOOK_SECRET": settings.telegram_webhook_secret == DEV_TELEGRAM_WEBHOOK_SECRET,
    }
    for name, is_dev in dev_values.items():
        if is_dev:
            raise ConfigError(f"{name} is the development default; set a real secret in production")
    if settings.operators_2fa != "required":
        raise ConfigError("OPERATORS_2FA must be required in production: the operators' page "
                          "reveals callers' numbers")


def _check_values(settings: Settings) -> None:
    sid = settings.twilio_account_sid
    if not (sid.startswith("AC") and len(sid) == 34 and sid[2:].isalnum()):
        raise ConfigError("TWILIO_ACCOUNT_SID does not look like an account SID (AC + 32 chars)")
    if len(settings.phone_hash_key.encode()) < 32:
        raise ConfigError("PHONE_HASH_KEY must be at least 32 bytes long")
    if settings.production and len(settings.secret_key) < 32:
        raise ConfigError("SECRET_KEY must be at least 32 characters long in production")
    pool = {number for _, number in settings.callback_caller_ids}
    if (settings.production and settings.hotline_number in pool
            and not settings.callback_may_show_hotline_number):
        raise ConfigError("CALLBACK_CALLER_IDS holds HOTLINE_NUMBER, which names the hotline on "
                          "a caller's phone; remove it, or set "
                          "CALLBACK_MAY_SHOW_HOTLINE_NUMBER=true")
    if (settings.production and settings.hotline_number is not None and not pool
            and not settings.callback_may_show_hotline_number):
        # Without a pool every call back would show the published number, even to a caller
        # who did not let us say who we are: that must be chosen, not fallen into.
        raise ConfigError("CALLBACK_CALLER_IDS is not set: every call back would show "
                          "HOTLINE_NUMBER, which names the hotline on a caller's phone; set a "
                          "pool of other numbers, or CALLBACK_MAY_SHOW_HOTLINE_NUMBER=true")


def settings_from_environment(
    instance_path: Path, overrides: Mapping[str, str] | None = None
) -> Settings:
    environ = dict(os.environ)
    environ.update(overrides or {})
    return load_settings(environ, instance_path)


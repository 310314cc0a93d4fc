"""Settings: read once from the environment into one frozen, validated object.

Only this module reads the environment. In ``prod`` a missing or placeholder secret, or a public
URL that is missing or not https, stops the process at start-up rather than running unsafely.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import msgspec

from cryptocfd.core.money import DecimalFormatError, cents

PLACEHOLDERS = frozenset({"", "changeme", "change-me", "secret", "placeholder", "dev", "test"})
MIN_SECRET_CHARS = 32
MIN_LEASE_TTL_MS = 150
MAX_RESUME_PER_ACCOUNT = 500  # half of a websocket's queue (gateway/live.py MAX_QUEUED_EVENTS)


class SettingsError(ValueError):
    """The environment does not describe a runnable process."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a process needs to know about where it runs."""

    env: Literal["dev", "prod"] = "dev"
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_prefix: str = ""  # prepended to every key, so tests and tenants can share a Redis
    database_url: str = "postgresql://127.0.0.1:5432/cryptocfd"
    state_dir: str = "state"
    http_port: int = 8000
    public_url: str = "http://localhost:8000"
    secret_key: str | None = None
    snapshot_key: str | None = None
    snapshot_every_s: float = 60.0
    snapshot_every_events: int = 100_000
    snapshots_kept: int = 3
    allow_redis_without_aof: bool = False
    engine_consumer: str = "engine-1"
    # The engine's Redis socket timeout: far above its 100 ms blocking reads and any pause of
    # a few seconds (a stalled host, a stopped process), so such a pause is not a failure.
    engine_redis_timeout_s: float = 30.0
    # The leader's lease: an engine that has not renewed it for this long is replaced by its
    # standby (renewed every third of it).
    engine_lease_ttl_ms: int = 2000
    # A standby publishes its state hash whenever it is caught up (a full pass: for checks).
    engine_standby_hash: bool = False
    # Requests per minute before a 429: every request per client IP, trading writes per user.
    rate_per_ip_per_min: int = 3_000
    rate_per_user_per_min: int = 600
    logins_per_ip_per_min: int = 30  # sign-in links and PIN tries, per client IP
    login_links_per_ip_per_hour: int = 60  # sign-in links asked for, per client IP
    engine_timeout_s: float = 5.0
    ws_recheck_s: float = 15.0  # how often an open websocket checks its sign-in still holds
    ws_heartbeat_s: float = 4.0  # a heartbeat frame this often: a bot sees a silent socket
    # The order events each gateway holds for ``resume`` (gateway/order_window.py): in all,
    # and of one account; older ones are answered RESYNC.
    ws_resume_frames: int = 100_000
    ws_resume_per_account: int = 500  # at most 500: a replay fits in a socket's queue of 1,000
    access_log: bool = True  # one JSON line per HTTP request
    # Limits at the socket, per gateway process (gateway/sockets.py).
    header_timeout_s: float = 10.0  # a request's headers must be in within this
    body_timeout_s: float = 30.0  # and its body within this of the headers
    max_header_bytes: int = 16_384  # request line and headers together; more is a 431
    connections_per_ip: int = 128  # open HTTP connections from one client address
    websockets_per_ip: int = 32  # open websockets from one client address
    # Proxies (IPs or CIDRs, comma separated) whose X-Forwarded-For names the client; empty:
    # the socket's peer is the client, and no header is believed.
    trusted_proxies: str = ""
    # /metrics wants ``Authorization: Bearer <this>``; unset, it answers loopback only in dev.
    metrics_token: str | None = None
    smtp_host: str | None = None  # none: the worker logs emails instead of sending them (dev)
    smtp_port: int = 587
    smtp_from: str = "CryptoCFD <no-reply@localhost>"
    smtp_user: str | None = None  # log in only when set
    smtp_password: str | None = None
    smtp_starttls: bool = False  # upgrade the connection with STARTTLS before logging in
    feed: str = "simulated"  # the price source: simulated, binance or replay:PATH
    binance_ws_url: str = "wss://stream.binance.com:9443"
    # Days of synthetic history `cryptocfd up` seeds in dev into an empty candle store (0: none).
    seed_days: int = 30
    # A deposit or withdrawal above this (cents) needs two operators' approvals: four eyes
    # (``CRYPTOCFD_FOUR_EYES_ABOVE``, in dollars: 1000.00 by default).
    four_eyes_above_cents: int = 100_000

    @property
    def trusted_proxy_list(self) -> tuple[str, ...]:
        """``trusted_proxies`` as a list, blanks dropped."""
        return tuple(item.strip() for item in self.trusted_proxies.split(",") if item.strip())

    @property
    def state_path(self) -> Path:
        """The state directory (snapshots, development keys, private databases)."""
        return Path(self.state_dir)


FOUR_EYES_VARIABLE = "CRYPTOCFD_FOUR_EYES_ABOVE"


def _amounts(env: Mapping[str, str]) -> dict[str, int]:
    """The settings given in dollars, in cents (exactly: never through a float)."""
    if FOUR_EYES_VARIABLE not in env:
        return {}
    try:
        value = cents(env[FOUR_EYES_VARIABLE].strip())
    except DecimalFormatError as exc:
        message = f"{FOUR_EYES_VARIABLE}: a dollar amount like 1000.00 ({exc})"
        raise SettingsError(message) from exc
    if value < 0:
        raise SettingsError(f"{FOUR_EYES_VARIABLE} must be 0 or more")
    return {"four_eyes_above_cents": int(value)}


def _secret_problem(name: str, value: str | None) -> str | None:
    if value is None or value.strip().lower() in PLACEHOLDERS:
        return f"{name} is missing or a placeholder"
    if len(value.strip()) < MIN_SECRET_CHARS:
        return f"{name} must be at least {MIN_SECRET_CHARS} characters"
    return None


def _public_url_problem(env: Mapping[str, str], url: str) -> str | None:
    # Emailed sign-in links and the websocket's origin check are built from it: over plain
    # http a link (a bearer secret) crosses the network readable by anyone on the path.
    if "CRYPTOCFD_PUBLIC_URL" not in env:
        return "CRYPTOCFD_PUBLIC_URL is missing: emailed sign-in links need the public https URL"
    parts = urlsplit(url.strip())
    if parts.scheme != "https" or not parts.hostname:
        return f"CRYPTOCFD_PUBLIC_URL must be an https:// URL with a host, not {url!r}"
    return None


def _check_trusted_proxies(proxies: tuple[str, ...]) -> None:
    for proxy in proxies:
        try:
            ipaddress.ip_network(proxy)  # strict: uvicorn would never match 10.0.0.1/8
        except ValueError as exc:
            raise SettingsError(f"CRYPTOCFD_TRUSTED_PROXIES: not an IP or CIDR: {proxy!r}") from exc


def _check_resume_window(settings: Settings) -> None:
    if min(settings.ws_resume_frames, settings.ws_resume_per_account) < 1:
        raise SettingsError("the websocket's resume window must hold at least one event")
    if settings.ws_resume_per_account > MAX_RESUME_PER_ACCOUNT:
        raise SettingsError(
            f"CRYPTOCFD_WS_RESUME_PER_ACCOUNT is at most {MAX_RESUME_PER_ACCOUNT}: a replay must"
            " fit in a socket's queue"
        )


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build settings from ``environ`` (the process environment by default)."""
    env = os.environ if environ is None else environ
    raw: dict[str, object] = {}
    names = {
        "CRYPTOCFD_ENV": "env",
        "REDIS_URL": "redis_url",
        "CRYPTOCFD_REDIS_PREFIX": "redis_prefix",
        "DATABASE_URL": "database_url",
        "CRYPTOCFD_STATE_DIR": "state_dir",
        "CRYPTOCFD_HTTP_PORT": "http_port",
        "CRYPTOCFD_PUBLIC_URL": "public_url",
        "CRYPTOCFD_SECRET_KEY": "secret_key",
        "CRYPTOCFD_SNAPSHOT_KEY": "snapshot_key",
        "CRYPTOCFD_SNAPSHOT_EVERY_S": "snapshot_every_s",
        "CRYPTOCFD_SNAPSHOT_EVERY_EVENTS": "snapshot_every_events",
        "CRYPTOCFD_SNAPSHOTS_KEPT": "snapshots_kept",
        "CRYPTOCFD_ALLOW_REDIS_WITHOUT_AOF": "allow_redis_without_aof",
        "CRYPTOCFD_ENGINE_CONSUMER": "engine_consumer",
        "CRYPTOCFD_ENGINE_REDIS_TIMEOUT_S": "engine_redis_timeout_s",
        "CRYPTOCFD_ENGINE_LEASE_TTL_MS": "engine_lease_ttl_ms",
        "CRYPTOCFD_ENGINE_STANDBY_HASH": "engine_standby_hash",
        "CRYPTOCFD_RATE_PER_IP_PER_MIN": "rate_per_ip_per_min",
        "CRYPTOCFD_RATE_PER_USER_PER_MIN": "rate_per_user_per_min",
        "CRYPTOCFD_LOGINS_PER_IP_PER_MIN": "logins_per_ip_per_min",
        "CRYPTOCFD_LOGIN_LINKS_PER_IP_PER_HOUR": "login_links_per_ip_per_hour",
        "CRYPTOCFD_ENGINE_TIMEOUT_S": "engine_timeout_s",
        "CRYPTOCFD_WS_RECHECK_S": "ws_recheck_s",
        "CRYPTOCFD_WS_HEARTBEAT_S": "ws_heartbeat_s",
        "CRYPTOCFD_WS_RESUME_FRAMES": "ws_resume_frames",
        "CRYPTOCFD_WS_RESUME_PER_ACCOUNT": "ws_resume_per_account",
        "CRYPTOCFD_ACCESS_LOG": "access_log",
        "CRYPTOCFD_METRICS_TOKEN": "metrics_token",
        "CRYPTOCFD_HEADER_TIMEOUT_S": "header_timeout_s",
        "CRYPTOCFD_BODY_TIMEOUT_S": "body_timeout_s",
        "CRYPTOCFD_MAX_HEADER_BYTES": "max_header_bytes",
        "CRYPTOCFD_CONNECTIONS_PER_IP": "connections_per_ip",
        "CRYPTOCFD_WEBSOCKETS_PER_IP": "websockets_per_ip",
        "CRYPTOCFD_TRUSTED_PROXIES": "trusted_proxies",
        "SMTP_HOST": "smtp_host",
        "SMTP_PORT": "smtp_port",
        "SMTP_FROM": "smtp_from",
        "SMTP_USER": "smtp_user",
        "SMTP_PASSWORD": "smtp_password",
        "SMTP_STARTTLS": "smtp_starttls",
        "CRYPTOCFD_FEED": "feed",
        "BINANCE_WS_URL": "binance_ws_url",
        "CRYPTOCFD_SEED_DAYS": "seed_days",
    }
    for variable, field in names.items():
        if variable in env:
            raw[field] = env[variable]
    raw.update(_amounts(env))
    try:
        settings = msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise SettingsError(f"bad setting: {exc}") from exc
    if settings.env == "prod":
        problems = [
            p
            for p in (
                _secret_problem("CRYPTOCFD_SECRET_KEY", settings.secret_key),
                _secret_problem("CRYPTOCFD_SNAPSHOT_KEY", settings.snapshot_key),
                _public_url_problem(env, settings.public_url),
            )
            if p is not None
        ]
        if not settings.smtp_host:
            # Without SMTP the worker logs emails, and sign-in links are secrets.
            problems.append("SMTP_HOST is missing: sign-in links would go to the log")
        if problems:
            raise SettingsError("refusing to start in prod: " + "; ".join(problems))
    if settings.snapshot_every_s <= 0 or settings.snapshot_every_events <= 0:
        raise SettingsError("snapshot cadence must be positive")
    if (
        min(settings.header_timeout_s, settings.body_timeout_s) <= 0
        or min(settings.max_header_bytes, settings.connections_per_ip, settings.websockets_per_ip)
        < 1
    ):
        raise SettingsError("socket limits must be positive")
    _check_resume_window(settings)
    _check_trusted_proxies(settings.trusted_proxy_list)
    if settings.engine_lease_ttl_ms < MIN_LEASE_TTL_MS:
        # Renewed every third of it: much shorter and a scheduling hiccup costs the lease.
        raise SettingsError(f"CRYPTOCFD_ENGINE_LEASE_TTL_MS must be at least {MIN_LEASE_TTL_MS}")
    if settings.snapshots_kept < 1:
        raise SettingsError("keep at least one snapshot")
    if settings.seed_days < 0:
        raise SettingsError("CRYPTOCFD_SEED_DAYS must be 0 or more")
    replay_path = settings.feed.removeprefix("replay:").strip()
    if settings.feed not in {"simulated", "binance"} and not (
        settings.feed.startswith("replay:") and replay_path
    ):
        raise SettingsError("CRYPTOCFD_FEED must be simulated, binance or replay:PATH")
    return settings

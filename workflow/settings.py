"""Settings of ``workflow serve``, built in one place from flags and the environment.

Every option has a flag and a ``WORKFLOW_*`` variable; a flag wins over the
variable, the variable over the default.  A bad value is reported with the
flag or variable it came from, and so are options that cannot go together:
reads protected without a token, or a non-loopback address without a token
unless the insecure bind is asked for.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workflow.errors import WorkflowError

__all__ = ["OPTIONS", "Option", "Settings", "SettingsError", "is_loopback", "load_settings"]

KIB = 1024
MIB = 1024 * KIB
WEB_ROOT = Path(__file__).resolve().parent.parent / "web"
_SWITCH_WORDS = {
    "1": True, "true": True, "yes": True, "on": True,
    "0": False, "false": False, "no": False, "off": False, "": False,
}


class SettingsError(WorkflowError):
    """A flag or environment variable has a value the server cannot use."""


def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("expected a non-empty value")
    return value.strip()


def _path(value: str) -> Path:
    return Path(_text(value))


def _token(value: str) -> str:
    # a blank token from an empty secrets file must not leave the server open
    if not value.strip():
        raise ValueError("is blank; set a long random secret, or leave it unset for no token")
    return value.strip()


def _port(value: str) -> int:
    if not value.strip().isdigit() or not 0 < int(value) < 65536:
        raise ValueError(f"{value!r} is not a port number (1-65535)")
    return int(value)


def _size(value: str) -> int:
    match = re.fullmatch(r"\s*(\d+)\s*([KkMm]i?[Bb]?)?\s*", value)
    if match is None or int(match[1]) == 0:
        raise ValueError(f"{value!r} is not a positive size in bytes (e.g. 65536, 64KiB, 1MiB)")
    unit = (match[2] or " ").upper()[0]
    return int(match[1]) * {"K": KIB, "M": MIB}.get(unit, 1)


def _backend_url(value: str) -> str | None:
    url = value.strip()
    if url and not url.startswith(("redis://", "rediss://", "unix://", "memory://")):
        raise ValueError(f"{url!r}: expected redis://host:port/db, rediss://... or memory://")
    return url or None


def _key_prefix(value: str) -> str:
    if not value or any(char.isspace() for char in value):
        raise ValueError(f"{value!r}: expected a non-empty name without spaces")
    return value


def _switch(value: str) -> bool:
    word = value.strip().lower()
    if word not in _SWITCH_WORDS:
        raise ValueError(f"{value!r}: expected 1, true, yes or on, or 0, false, no or off")
    return _SWITCH_WORDS[word]


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < 86400:
        raise ValueError(f"{value!r} is not a number of seconds (0 turns it off)")
    return seconds


def _origins(value: str) -> tuple[str, ...]:
    # browsers send scheme and host in lower case
    origins = tuple(
        origin.strip().rstrip("/").lower() for origin in value.split(",") if origin.strip()
    )
    for origin in origins:
        if origin != "*" and not re.fullmatch(r"https?://[^/\s]+", origin):
            raise ValueError(f"{origin!r} is not an origin like https://example.com:8443 or *")
    return origins


@dataclass(frozen=True)
class Option:
    """One setting: its field, its flag, its variable, how to read it, and its help."""

    name: str
    flag: str
    variable: str
    parse: Callable[[str], Any]
    help: str
    switch: bool = False


OPTIONS = (
    Option("plan", "--plan", "WORKFLOW_PLAN", _path,
           "the execution plan (default ./execution_plan.toml)"),
    Option("host", "--host", "WORKFLOW_HOST", _text, "address to bind (default 127.0.0.1)"),
    Option("port", "--port", "WORKFLOW_PORT", _port, "port to listen on (default 8081)"),
    Option("redis_url", "--redis-url", "WORKFLOW_REDIS_URL", _backend_url,
           "redis://host:port/db; without it, runs and records live in memory"),
    Option("key_prefix", "--key-prefix", "WORKFLOW_KEY_PREFIX", _key_prefix,
           "prefix of every Redis key and channel (default workflow)"),
    Option("access_token", "--access-token", "WORKFLOW_ACCESS_TOKEN", _token,
           "bearer token required for writes and WebSocket publishes"),
    Option("protect_reads", "--protect-reads", "WORKFLOW_PROTECT_READS", _switch,
           "reads of /api and listening on /ws need the access token too", switch=True),
    Option("allowed_origins", "--allowed-origins", "WORKFLOW_ALLOWED_ORIGINS", _origins,
           "comma-separated origins allowed besides the server's own (* for any)"),
    Option("allow_insecure_bind", "--allow-insecure-bind", "WORKFLOW_ALLOW_INSECURE_BIND",
           _switch, "serve a non-loopback address without an access token", switch=True),
    Option("max_body_size", "--max-body-size", "WORKFLOW_MAX_BODY_SIZE", _size,
           "largest request body (default 1MiB)"),
    Option("max_frame_size", "--max-frame-size", "WORKFLOW_MAX_FRAME_SIZE", _size,
           "largest WebSocket text frame (default 64KiB)"),
    Option("ws_ping_interval", "--ws-ping-interval", "WORKFLOW_WS_PING_INTERVAL", _seconds,
           "seconds between pings to each WebSocket client (default 20, 0 for none)"),
    Option("ws_ping_timeout", "--ws-ping-timeout", "WORKFLOW_WS_PING_TIMEOUT", _seconds,
           "seconds a client has to answer a ping before it is dropped (default 20)"),
)


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the server needs to know, in one immutable object."""

    plan: Path = Path("execution_plan.toml")
    host: str = "127.0.0.1"
    port: int = 8081
    redis_url: str | None = None
    key_prefix: str = "workflow"
    access_token: str | None = None
    protect_reads: bool = False
    allowed_origins: tuple[str, ...] = ()
    allow_insecure_bind: bool = False
    max_body_size: int = MIB
    max_frame_size: int = 64 * KIB
    ws_ping_interval: float = 20.0
    ws_ping_timeout: float = 20.0
    send_queue_size: int = 256
    web_root: Path = field(default=WEB_ROOT)


def is_loopback(host: str) -> bool:
    """Tell whether ``host`` names this machine only (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_settings(flags: Mapping[str, str | None], environ: Mapping[str, str]) -> Settings:
    """Build the settings from flag values (by option name) and environment variables.

    Raises SettingsError naming the flag or variable whose value is bad, or
    the options that cannot go together.
    """
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for option in OPTIONS:
        raw, source = flags.get(option.name), option.flag
        if raw is None:
            raw, source = environ.get(option.variable), option.variable
        if raw is None:
            continue
        try:
            values[option.name] = option.parse(raw)
        except ValueError as exc:
            raise SettingsError(f"{source}: {exc}") from exc
        sources[option.name] = source
    settings = Settings(**values)
    _check_access(settings, sources)
    return settings


def _check_access(settings: Settings, sources: Mapping[str, str]) -> None:
    if settings.access_token is not None:
        return
    if settings.protect_reads:
        raise SettingsError(
            f"{sources['protect_reads']}: reads can only be protected by an access token; "
            "set --access-token (WORKFLOW_ACCESS_TOKEN) too"
        )
    if not is_loopback(settings.host) and not settings.allow_insecure_bind:
        raise SettingsError(
            f"{sources.get('host', '--host')}: {settings.host!r} is not a loopback address and "
            "no access token is set, so anyone who reaches it could write and drive every run; "
            "set --access-token (WORKFLOW_ACCESS_TOKEN), or --allow-insecure-bind "
            "(WORKFLOW_ALLOW_INSECURE_BIND=1) if an open server is intended"
        )

"""Options of the mongo backend, the pymongo client they make, and safe error text.

Every option mistake is one ``BackendConfigError`` line naming the option.
The password (from the URI or ``MONGO_PASSWORD``) is kept out of everything
this module says: error texts are scrubbed of it literally, and of any
``user:password@`` in a URI, because pymongo's own messages are not ours to
trust on that.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus, unquote_plus

import pymongo
from pymongo.errors import (
    AutoReconnect,
    ConfigurationError,
    InvalidURI,
    NetworkTimeout,
    OperationFailure,
    PyMongoError,
    ServerSelectionTimeoutError,
)
from pymongo.uri_parser import parse_uri

from backends.sources import BackendConfigError, SourceError

PASSWORD_ENV = "MONGO_PASSWORD"
READ_PREFERENCES = (
    "primary",
    "primaryPreferred",
    "secondary",
    "secondaryPreferred",
    "nearest",
)
#: option -> default; seconds for the timeouts and ``full_every``, days for ``recent_days``.
DEFAULTS: Mapping[str, Any] = {
    "uri": None,
    "database": "run",
    "collection": "runs_new",
    "read_preference": "secondaryPreferred",
    "username": None,
    "server_selection_timeout": 5.0,
    "connect_timeout": 5.0,
    "socket_timeout": 10.0,
    "recent_days": 7.0,
    "full_every": 600.0,
    "profile": "xenon1t",
    # XENONnT: bootstrax's heartbeats (``set_state``), in the DAQ database.
    "heartbeat_database": "daq",
    "heartbeat_collection": "eb_monitor",
    "event_builders": tuple(f"eb{i}.xenon.local" for i in range(6)),
}
#: At most this many event builders (one small query each per poll).
MAX_EVENT_BUILDERS = 32
#: The runs database's shape: XENON1T's ``runs_new`` or XENONnT's ``runs``.
PROFILES = ("xenon1t", "xenonnt")
#: The collection of each profile when ``collection`` is not given.
COLLECTIONS: Mapping[str, str] = {"xenon1t": "runs_new", "xenonnt": "runs"}
_MASK = "***"
_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]*:)[^\s@/]*(@)")


@dataclass(frozen=True)
class Settings:
    #: Kept out of ``repr`` so that no log or traceback shows the credentials.
    uri: str = field(repr=False)
    database: str
    collection: str
    read_preference: str
    username: str | None
    password: str | None = field(repr=False)
    server_selection_timeout: float
    connect_timeout: float
    socket_timeout: float
    recent_days: float
    full_every: float
    #: Hosts of the URI, for messages (never the credentials).
    hosts: str
    #: The documents' shape (``PROFILES``).
    profile: str = "xenon1t"
    #: XENONnT: where bootstrax's heartbeats are, and of which hosts.
    heartbeat_database: str = "daq"
    heartbeat_collection: str = "eb_monitor"
    event_builders: tuple[str, ...] = DEFAULTS["event_builders"]

    @property
    def target(self) -> str:
        return f"{self.hosts}/{self.database}.{self.collection}"


def scrub(text: str, password: str | None) -> str:
    """``text`` without the password, in any form it may take in a message."""
    if password:
        for form in {password, quote_plus(password), quote_plus(password, safe="")}:
            text = text.replace(form, _MASK)
    return _USERINFO.sub(rf"\1{_MASK}\2", text)


def _name(options: Mapping[str, Any], key: str) -> str:
    value = options.get(key, DEFAULTS[key])
    if not isinstance(value, str) or not value or any(c in value for c in " $\0"):
        raise BackendConfigError(f"{key} must be a MongoDB name, got {value!r}")
    return value


def _seconds(options: Mapping[str, Any], key: str, unit: str = "seconds") -> float:
    value = options.get(key, DEFAULTS[key])
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise BackendConfigError(f"{key} must be a positive number of {unit}, got {value!r}")
    return float(value)


def _hosts(options: Mapping[str, Any]) -> tuple[str, ...]:
    value = options.get("event_builders", DEFAULTS["event_builders"])
    if (
        not isinstance(value, list | tuple)
        or not 0 < len(value) <= MAX_EVENT_BUILDERS
        or not all(isinstance(h, str) and 0 < len(h) <= 253 and h.isprintable() for h in value)
    ):
        raise BackendConfigError(
            f"event_builders must be a list of 1 to {MAX_EVENT_BUILDERS} host names, "
            f'e.g. ["eb3.xenon.local"], got {value!r}'[:300]
        )
    return tuple(dict.fromkeys(value))


def _uri(options: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The URI and what it says, checked without any network access."""
    uri = options.get("uri")
    if uri is None:
        raise BackendConfigError('uri is required, e.g. uri = "mongodb://host:27017/run"')
    if not isinstance(uri, str) or not uri.startswith(("mongodb://", "mongodb+srv://")):
        shown = scrub(uri, None) if isinstance(uri, str) else repr(uri)
        raise BackendConfigError(f"uri must start with mongodb:// or mongodb+srv://, got {shown!r}")
    if uri.startswith("mongodb+srv://"):
        # Resolving the SRV record needs DNS: leave it to the first fetch.
        authority = uri.split("://", 1)[1].split("/")[0]
        userinfo, _, host = authority.rpartition("@")
        user = unquote_plus(userinfo.split(":")[0]) if userinfo else None
        return uri, {"nodelist": [(host, None)], "username": user}
    try:
        parsed = parse_uri(uri, validate=True)
    except (InvalidURI, ConfigurationError, ValueError) as exc:
        password = _uri_password(uri)
        raise BackendConfigError(f"uri is not valid: {scrub(str(exc), password)}") from None
    return uri, parsed


def _uri_password(uri: str) -> str | None:
    match = re.match(r"[^:]+://[^:/@]*:([^@/]*)@", uri)
    return unquote_plus(match.group(1)) if match else None


def parse_settings(
    options: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> Settings:
    """Check every option; the password comes from the URI, else ``MONGO_PASSWORD``."""
    environ = os.environ if environ is None else environ
    unknown = sorted(set(options) - set(DEFAULTS))
    if unknown:
        raise BackendConfigError(
            f"unknown mongo option {unknown[0]!r} (known: {', '.join(DEFAULTS)})"
        )
    uri, parsed = _uri(options)
    profile = options.get("profile", DEFAULTS["profile"])
    if profile not in PROFILES:
        raise BackendConfigError(f"profile must be one of {', '.join(PROFILES)}, got {profile!r}")
    if "collection" not in options:
        options = {**options, "collection": COLLECTIONS[profile]}
    read_preference = options.get("read_preference", DEFAULTS["read_preference"])
    if read_preference not in READ_PREFERENCES:
        raise BackendConfigError(
            f"read_preference must be one of {', '.join(READ_PREFERENCES)}, got {read_preference!r}"
        )
    username = options.get("username")
    if username is not None and (not isinstance(username, str) or not username):
        raise BackendConfigError(f"username must be text, got {username!r}")
    username = username or parsed.get("username") or None
    password = parsed.get("password") or _uri_password(uri) or None
    if not password and username:
        password = environ.get(PASSWORD_ENV) or None
    mechanism = str(parsed.get("options", {}).get("authMechanism", "")).upper()
    if (
        username
        and not password
        and mechanism in ("", "DEFAULT", "SCRAM-SHA-1", "SCRAM-SHA-256", "PLAIN")
    ):
        raise BackendConfigError(
            f"uri names user {username!r} but no password: put it in the "
            f"{PASSWORD_ENV} environment variable (or in the uri)"
        )
    hosts = ",".join(
        host if port in (None, 27017) else f"{host}:{port}"
        for host, port in parsed.get("nodelist", [])
    )
    return Settings(
        uri=uri,
        database=_name(options, "database"),
        collection=_name(options, "collection"),
        read_preference=read_preference,
        username=username,
        password=password,
        server_selection_timeout=_seconds(options, "server_selection_timeout"),
        connect_timeout=_seconds(options, "connect_timeout"),
        socket_timeout=_seconds(options, "socket_timeout"),
        recent_days=_seconds(options, "recent_days", "days"),
        full_every=_seconds(options, "full_every"),
        hosts=hosts or "?",
        profile=profile,
        heartbeat_database=_name(options, "heartbeat_database"),
        heartbeat_collection=_name(options, "heartbeat_collection"),
        event_builders=_hosts(options),
    )


def make_client(settings: Settings, **extra: Any) -> pymongo.MongoClient[dict[str, Any]]:
    """A client that gives up within the configured times and never writes."""
    kwargs: dict[str, Any] = {
        "serverSelectionTimeoutMS": int(settings.server_selection_timeout * 1000),
        "connectTimeoutMS": int(settings.connect_timeout * 1000),
        "socketTimeoutMS": int(settings.socket_timeout * 1000),
        "readPreference": settings.read_preference,
        "retryWrites": False,
        "tz_aware": True,
        # A bad string or an out-of-range date in one document must not make
        # the whole batch undecodable: keep it, and let documents.py report it.
        "unicode_decode_error_handler": "replace",
        "datetime_conversion": "DATETIME_AUTO",
        "appname": "xenon-console",
        "connect": False,
    }
    if settings.username:
        kwargs["username"] = settings.username
    if settings.password:
        kwargs["password"] = settings.password
    kwargs.update(extra)
    return pymongo.MongoClient(settings.uri, **kwargs)


def source_error(exc: BaseException, settings: Settings, doing: str) -> SourceError:
    """One line saying what failed where, without credentials or pymongo's topology dump."""
    text = str(exc)
    if isinstance(exc, ServerSelectionTimeoutError):
        first = text.split(", Timeout:")[0].split(" (configured timeouts")[0]
        line = (
            f"cannot reach the runs database at {settings.hosts} within "
            f"{settings.server_selection_timeout:g} s: {first}"
        )
    elif isinstance(exc, NetworkTimeout):
        line = (
            f"the runs database at {settings.hosts} did not answer within "
            f"{settings.socket_timeout:g} s while {doing}"
        )
    elif isinstance(exc, AutoReconnect):
        line = f"lost the connection to the runs database at {settings.hosts} while {doing}"
    elif isinstance(exc, OperationFailure):
        code = f" (code {exc.code})" if exc.code is not None else ""
        reason = (exc.details or {}).get("errmsg") or text
        line = f"the runs database refused {doing}{code}: {reason}"
    elif isinstance(exc, PyMongoError):
        line = f"runs database error while {doing}: {type(exc).__name__}: {text}"
    else:
        line = f"{doing} failed: {type(exc).__name__}: {text}"
    line = " ".join(scrub(line, settings.password).split())
    return SourceError(line[:400])

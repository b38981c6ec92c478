"""The ``[backends.<name>]`` options of the Rucio backend, checked once at start.

Everything not given here is left to Rucio's own conventions (``rucio.cfg``
found through ``RUCIO_CONFIG`` or ``RUCIO_HOME``, ``RUCIO_ACCOUNT``,
``RUCIO_AUTH_TYPE``, ``X509_USER_PROXY``...), so a site that already has a
working ``rucio`` command line needs no option at all. A mistake is one
``BackendConfigError`` line naming the option; a secret's value is never in it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from backends.sources import BackendConfigError

#: XENON1T's raw-data DIDs: scope ``x1t_SR001_171115_1200_tpc``, name ``raw``.
DEFAULT_RUN_PATTERN = r"^x1t_SR\d+_(?P<name>\d{6}_\d{4})_"
AUTH_TYPES = ("userpass", "x509", "x509_proxy", "gss", "ssh", "oidc", "saml")

OPTIONS = (
    "host",
    "auth_host",
    "account",
    "rule_account",
    "auth_type",
    "username",
    "password",
    "client_cert",
    "client_key",
    "client_proxy",
    "ca_cert",
    "vo",
    "token_dir",
    "timeout",
    "rse_expression",
    "run_pattern",
    "admin",
    "source_rses",
    "full_sync_minutes",
    "rse_cache_minutes",
    "overlap_seconds",
    "max_request_lookups",
)


@dataclass(frozen=True, slots=True)
class RucioOptions:
    host: str | None = None
    auth_host: str | None = None
    account: str | None = None
    #: Whose rules the pane shows; default the account logged in as (an
    #: admin account may watch the experiment's).
    rule_account: str | None = None
    auth_type: str | None = None
    username: str | None = None
    password: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    client_proxy: str | None = None
    ca_cert: str | None = None
    vo: str | None = None
    #: Where the client keeps its token; default Rucio's (``/tmp/.rucio_<user>``).
    token_dir: str | None = None
    #: Seconds for one HTTP request to the server.
    timeout: float = 10.0
    #: Which RSEs the pane lists (``list_rses``); ``*`` is every RSE.
    rse_expression: str = "*"
    run_pattern: re.Pattern[str] = re.compile(DEFAULT_RUN_PATTERN)
    #: Whether the account may call the admin-only ``list_requests``.
    admin: bool = False
    #: Source RSEs ``list_requests`` is asked about (admin only).
    source_rses: tuple[str, ...] = ("LNGS_USERDISK",)
    #: A full listing of the rules every so often: incremental polls
    #: (``updated_after``) cannot see rules that were deleted.
    full_sync_minutes: float = 10.0
    rse_cache_minutes: float = 60.0
    #: How far back an incremental poll looks before the newest update seen,
    #: for rules written while the previous poll was reading.
    overlap_seconds: float = 120.0
    #: Cap on ``list_request_by_did`` calls for one run's details.
    max_request_lookups: int = 60

    def __repr__(self) -> str:  # never show the password, even in a traceback
        return f"RucioOptions(host={self.host!r}, account={self.account!r}, ...)"


def _text(options: Mapping[str, Any], key: str) -> str | None:
    if key not in options:
        return None
    value = options[key]
    if not isinstance(value, str) or not value.strip():
        raise BackendConfigError(f"rucio option {key!r} must be a non-empty string")
    return value


def _number(options: Mapping[str, Any], key: str, default: float, minimum: float) -> float:
    value = options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BackendConfigError(f"rucio option {key!r} must be a number, got {value!r}")
    if value < minimum:
        raise BackendConfigError(f"rucio option {key!r} must be >= {minimum:g}, got {value!r}")
    return float(value)


def _url(options: Mapping[str, Any], key: str) -> str | None:
    value = _text(options, key)
    if value is not None and not re.match(r"^https?://[^\s/@]+(?::\d+)?(/\S*)?$", value):
        # The value may carry credentials (user:pass@host): do not echo it.
        raise BackendConfigError(
            f"rucio option {key!r} must be an http(s)://host[:port] URL without credentials"
        )
    return value


def _pattern(options: Mapping[str, Any]) -> re.Pattern[str]:
    text = options.get("run_pattern", DEFAULT_RUN_PATTERN)
    if not isinstance(text, str):
        raise BackendConfigError("rucio option 'run_pattern' must be a regular expression string")
    try:
        pattern = re.compile(text)
    except re.error as exc:
        raise BackendConfigError(
            f"rucio option 'run_pattern' is not a valid regex: {exc}"
        ) from None
    if not {"number", "name"} & set(pattern.groupindex):
        raise BackendConfigError(
            "rucio option 'run_pattern' needs a named group 'number' and/or 'name'"
        )
    return pattern


def parse_options(options: Mapping[str, Any]) -> RucioOptions:
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise BackendConfigError(
            f"unknown rucio option {unknown[0]!r} (known: {', '.join(OPTIONS)})"
        )
    auth_type = _text(options, "auth_type")
    if auth_type is not None and auth_type not in AUTH_TYPES:
        raise BackendConfigError(
            f"rucio option 'auth_type' must be one of {', '.join(AUTH_TYPES)}, got {auth_type!r}"
        )
    if "password" in options and not isinstance(options["password"], str):
        raise BackendConfigError("rucio option 'password' must be a string")
    admin = options.get("admin", False)
    if not isinstance(admin, bool):
        raise BackendConfigError(f"rucio option 'admin' must be true or false, got {admin!r}")
    sources = options.get("source_rses", ["LNGS_USERDISK"])
    if not isinstance(sources, list) or not all(isinstance(s, str) and s for s in sources):
        raise BackendConfigError("rucio option 'source_rses' must be a list of RSE names")
    lookups = options.get("max_request_lookups", 60)
    if isinstance(lookups, bool) or not isinstance(lookups, int) or lookups < 0:
        raise BackendConfigError(
            f"rucio option 'max_request_lookups' must be an integer >= 0, got {lookups!r}"
        )
    return RucioOptions(
        host=_url(options, "host"),
        auth_host=_url(options, "auth_host"),
        account=_text(options, "account"),
        rule_account=_text(options, "rule_account"),
        auth_type=auth_type,
        username=_text(options, "username"),
        password=options.get("password") or None,
        client_cert=_text(options, "client_cert"),
        client_key=_text(options, "client_key"),
        client_proxy=_text(options, "client_proxy"),
        ca_cert=_text(options, "ca_cert"),
        vo=_text(options, "vo"),
        token_dir=_text(options, "token_dir"),
        timeout=_number(options, "timeout", 10.0, 0.1),
        rse_expression=_text(options, "rse_expression") or "*",
        run_pattern=_pattern(options),
        admin=admin,
        source_rses=tuple(sources),
        full_sync_minutes=_number(options, "full_sync_minutes", 10.0, 0.0),
        rse_cache_minutes=_number(options, "rse_cache_minutes", 60.0, 0.0),
        overlap_seconds=_number(options, "overlap_seconds", 120.0, 0.0),
        max_request_lookups=lookups,
    )

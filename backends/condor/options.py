"""The ``[backends.<name>]`` options of the condor backend, checked once.

Every mistake is one BackendConfigError line naming the option, so a bad
config never reaches a poll (and never shows a traceback).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from backends.condor.ads import DEFAULT_SITE_ATTRIBUTES
from backends.condor.redact import redact
from backends.condor.run_mapping import DEFAULT_RUN_ATTRIBUTE, DEFAULT_RUN_PATTERN
from backends.condor.transport import ScheddRef, looks_like_address
from backends.sources import BackendConfigError

OPTIONS = (
    "pool",
    "schedds",
    "constraint",
    "timeout",
    "history_hours",
    "site_attributes",
    "run_attribute",
    "run_pattern",
)
_ATTRIBUTE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


@dataclass(frozen=True, slots=True)
class CondorOptions:
    #: Collector (``host[:port]``) to locate schedds by name, or all of them.
    pool: str | None = None
    #: Schedds to read (names located through the pool, or addresses); empty
    #: means every schedd the collector knows.
    schedds: tuple[ScheddRef, ...] = ()
    #: ClassAd constraint on the queue and history (e.g. ``Owner == "xenon"``).
    constraint: str = "true"
    #: Seconds one schedd may take before it is reported unreachable.
    timeout_s: float = 5.0
    #: How long finished jobs stay in view.
    history_s: float = 3 * 3600.0
    site_attributes: tuple[str, ...] = DEFAULT_SITE_ATTRIBUTES
    run_attribute: str | None = DEFAULT_RUN_ATTRIBUTE
    run_pattern: str | None = DEFAULT_RUN_PATTERN


def _string(options: Mapping[str, Any], key: str) -> str | None:
    value = options.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise BackendConfigError(f"{key} must be a non-empty string, not {redact(repr(value))}")
    return value.strip()


def _seconds(options: Mapping[str, Any], key: str, default: float, scale: float = 1.0) -> float:
    value = options.get(key, default / scale)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BackendConfigError(f"{key} must be a number, not {redact(repr(value))}")
    if not math.isfinite(value) or value <= 0:
        raise BackendConfigError(f"{key} must be > 0 (got {value!r})")
    return float(value) * scale


def _names(options: Mapping[str, Any], key: str) -> list[str] | None:
    value = options.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise BackendConfigError(f"{key} must be a list of non-empty strings")
    return [v.strip() for v in value]


def parse_options(options: Mapping[str, Any]) -> CondorOptions:
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise BackendConfigError(
            f"unknown condor option {unknown[0]!r} (known: {', '.join(OPTIONS)})"
        )
    pool = _string(options, "pool")
    entries = _names(options, "schedds") or []
    if len(set(entries)) != len(entries):
        raise BackendConfigError("schedds lists a schedd twice")
    schedds = tuple(ScheddRef(e, e if looks_like_address(e) else None) for e in entries)
    sites = _names(options, "site_attributes")
    if sites is not None:
        bad = [s for s in sites if not _ATTRIBUTE.match(s)]
        if bad or not sites:
            raise BackendConfigError(
                f"site_attributes: {bad[0]!r} is not an attribute name"
                if bad
                else "site_attributes must not be empty"
            )
    run_attribute = options.get("run_attribute", DEFAULT_RUN_ATTRIBUTE)
    if run_attribute is not None and (
        not isinstance(run_attribute, str)
        or (run_attribute and not _ATTRIBUTE.match(run_attribute))
    ):
        raise BackendConfigError(
            f'run_attribute must be an attribute name or "", not {run_attribute!r}'
        )
    run_pattern = options.get("run_pattern", DEFAULT_RUN_PATTERN)
    if not isinstance(run_pattern, str):
        raise BackendConfigError(f"run_pattern must be a string, not {run_pattern!r}")
    if run_pattern:
        try:
            compiled = re.compile(run_pattern)
        except re.error as exc:
            raise BackendConfigError(f"run_pattern is not a regular expression: {exc}") from None
        if compiled.groups < 1:
            raise BackendConfigError("run_pattern needs a group that captures the run number")
    return CondorOptions(
        pool=pool,
        schedds=schedds,
        constraint=_string(options, "constraint") or "true",
        timeout_s=_seconds(options, "timeout", 5.0),
        history_s=_seconds(options, "history_hours", 3 * 3600.0, scale=3600.0),
        site_attributes=tuple(sites) if sites else DEFAULT_SITE_ATTRIBUTES,
        run_attribute=run_attribute or None,
        run_pattern=run_pattern or None,
    )

"""Reading a backend's config options into checked values, one clear line per mistake.

The console passes a backend section's keys verbatim to the backend; a typo or
a wrong type must end as one ``BackendConfigError`` line naming the option,
never as a traceback or as a fetch that fails later for a reason nobody sees.
Shared by the prometheus, localdisk and tsm backends.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from backends.sources import BackendConfigError


def _describe(value: object) -> str:
    return f"{type(value).__name__} {value!r}" if not isinstance(value, str) else repr(value)


def reject_unknown(options: Mapping[str, Any], known: Iterable[str], backend: str) -> None:
    known = tuple(known)
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise BackendConfigError(
            f"unknown {backend} option {unknown[0]!r} (known: {', '.join(known)})"
        )


def text(
    options: Mapping[str, Any], key: str, default: str | None = None, *, required: bool = False
) -> str | None:
    """A non-empty string option, or ``default`` when absent."""
    if key not in options:
        if required:
            raise BackendConfigError(f"option {key!r} is required")
        return default
    value = options[key]
    if not isinstance(value, str) or not value.strip():
        raise BackendConfigError(
            f"option {key!r} must be a non-empty string, got {_describe(value)}"
        )
    return value


def secret(options: Mapping[str, Any], key: str) -> str | None:
    """Like ``text`` but the value never appears in the message."""
    if key not in options:
        return None
    value = options[key]
    if not isinstance(value, str) or not value:
        raise BackendConfigError(f"option {key!r} must be a non-empty string")
    return value


def number(
    options: Mapping[str, Any],
    key: str,
    default: float,
    *,
    minimum: float = 0.0,
    inclusive: bool = False,
    maximum: float = 1_000_000.0,
) -> float:
    """A finite number above ``minimum`` (or equal to it when ``inclusive``)
    and at most ``maximum`` (hours, minutes or seconds beyond a million are a
    typo, and would overflow a ``timedelta`` or a wait)."""
    if key not in options:
        return default
    value = options[key]
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok:
        value = float(value)
        ok = (
            math.isfinite(value)
            and (value >= minimum if inclusive else value > minimum)
            and value <= maximum
        )
    if not ok:
        relation = ">=" if inclusive else ">"
        raise BackendConfigError(
            f"option {key!r} must be a number {relation} {minimum:g} and at most "
            f"{maximum:,.0f}, got {_describe(options[key])}"
        )
    return float(value)


def flag(options: Mapping[str, Any], key: str, default: bool) -> bool:
    if key not in options:
        return default
    value = options[key]
    if not isinstance(value, bool):
        raise BackendConfigError(f"option {key!r} must be true or false, got {_describe(value)}")
    return value

"""Threshold ranges in the syntax of the monitoring-plugins guidelines.

A range is ``[@][start:][end]``, and a value *alerts* when it is outside
``start .. end``, endpoints included in the range (or inside it, endpoints
included, with ``@``):

===========  ==========================================
``10``       alert if < 0 or > 10 (start 0 is implied)
``10:``      alert if < 10 (no end: + infinity)
``~:10``     alert if > 10 (``~`` is - infinity)
``10:20``    alert if < 10 or > 20
``@10:20``   alert if >= 10 and <= 20
===========  ==========================================

Numbers are plain decimals, negative ones too (``-5:-1``, ``0.5``); start
must not be greater than end (``20:10`` is an error, and so is ``-5``,
which means 0 .. -5). Anything else is refused with a ``RangeError`` rather
than read as something the user did not mean: the C library of the
monitoring-plugins reads ``abc`` as 0, this module does not.

``format_number`` writes a number as perfdata wants it: C locale, no
thousands separator, no exponent. Pure: no I/O, no console imports.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal

_NUMBER = r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_RANGE = re.compile(rf"(?P<inside>@)?(?:(?P<start>~|{_NUMBER}):)?(?P<end>{_NUMBER})?")


class RangeError(ValueError):
    """A range that does not follow the syntax, in words."""


def format_number(value: float) -> str:
    """``value`` in the C locale, positional (``50000000000000``, ``0.25``,
    ``-3``): never ``5e+13``, never ``1,000``; a whole float has no ``.0``."""
    if isinstance(value, int):
        return str(int(value))  # a bool as 0 or 1
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {value!r}")
    if value.is_integer():
        return str(int(value))
    return format(Decimal(repr(value)), "f")


def _shown(text: str) -> str:
    """``text`` quoted for a message, cut to 40 characters."""
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _number(text: str, whole: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise RangeError(f"{_shown(whole)}: a number is too large")
    return value


@dataclass(frozen=True, slots=True)
class Range:
    """``start .. end`` (infinite ends allowed); ``inside`` alerts within it."""

    start: float = 0.0
    end: float = math.inf
    inside: bool = False

    def __post_init__(self) -> None:
        if math.isnan(self.start) or math.isnan(self.end) or self.start > self.end:
            raise RangeError(f"start {self.start} is greater than end {self.end}")

    # ------------------------------------------------ the console's own limits

    @classmethod
    def above(cls, limit: float) -> Range:
        """Alert when the value is greater than ``limit`` (the range ``limit``
        for a limit >= 0, else ``~:limit``)."""
        return cls(0.0 if limit >= 0 else -math.inf, limit)

    @classmethod
    def at_least(cls, count: float) -> Range:
        """Alert at ``count`` or more, for whole numbers: above ``count - 1``.

        The console's count limits (``held_jobs_warning = 1``) alert *at*
        the limit; the range ``1`` would let 1 pass, ``0`` does not.
        """
        return cls.above(math.ceil(count) - 1)

    @classmethod
    def below(cls, limit: float) -> Range:
        """Alert when the value is less than ``limit`` (the range ``limit:``)."""
        return cls(limit, math.inf)

    # ----------------------------------------------------------------- use

    def alerts(self, value: float) -> bool:
        """Whether ``value`` raises the alert (NaN: it does, unless ``@``)."""
        within = self.start <= value <= self.end
        return within if self.inside else not within

    def __str__(self) -> str:
        """The range in the syntax, shortest form: ``parse_range(str(r)) == r``."""
        at = "@" if self.inside else ""
        end = format_number(self.end) if math.isfinite(self.end) else ""
        if self.start == 0 and end:
            return f"{at}{end}"
        start = "~" if self.start == -math.inf else format_number(self.start)
        return f"{at}{start}:{end}"

    def describe(self) -> str:
        """When it alerts, in words: ``alert if < 0 or > 10``."""
        low = self.start != -math.inf
        high = self.end != math.inf
        s = format_number(self.start) if low else ""
        e = format_number(self.end) if high else ""
        if self.inside:
            if low and high:
                return f"alert if >= {s} and <= {e}"
            if low or high:
                return f"alert if >= {s}" if low else f"alert if <= {e}"
            return "always alert"
        bounds = ([f"< {s}"] if low else []) + ([f"> {e}"] if high else [])
        return f"alert if {' or '.join(bounds)}" if bounds else "never alert"


def parse_range(text: str) -> Range:
    """The range ``text`` stands for; ``RangeError`` saying why when it is malformed."""
    if not text:
        raise RangeError("empty range")
    match = _RANGE.fullmatch(text)
    if match is None or (match["start"] is None and match["end"] is None):
        raise RangeError(
            f"{_shown(text)} is not a range: give [@][start:][end] with plain numbers, "
            "e.g. 10, 10:, ~:10, 10:20, @10:20"
        )
    raw_start = match["start"]
    if raw_start is None:
        start = 0.0
    elif raw_start == "~":
        start = -math.inf
    else:
        start = _number(raw_start, text)
    end = math.inf if match["end"] is None else _number(match["end"], text)
    if start > end:
        raise RangeError(
            f"{_shown(text)}: start {format_number(start)} is greater than end {format_number(end)}"
        )
    return Range(start, end, inside=match["inside"] is not None)

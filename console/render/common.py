"""What every renderer shares: the report context, cells, tables, JSON helpers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from rich.console import JustifyMethod
from rich.table import Table
from rich.text import Text

from backends.analysis.alarms import Thresholds
from backends.analysis.safety import DEFAULT_POLICY, SafetyPolicy
from backends.model import Kind, Snapshot
from console.safe_text import strip_controls

#: One table row: a stable key (for cursors and updates) and its cells.
Row = tuple[str, tuple[Text, ...]]


@dataclass(frozen=True, slots=True)
class Column:
    """A column of a fixed-width table (the runs table renders only visible rows)."""

    title: str
    width: int
    justify: JustifyMethod = "left"


@dataclass(frozen=True)
class Context:
    """What a renderer judges a snapshot by, beside the snapshot itself."""

    #: The time the data speaks of (ages, "stuck for", overdue runs).
    now: datetime
    thresholds: Thresholds = field(default_factory=Thresholds)
    policy: SafetyPolicy = DEFAULT_POLICY
    #: Every kind's snapshot, for views that join kinds (a run's DAG).
    snapshots: Mapping[Kind, Snapshot | None] = field(default_factory=dict)


def count_cell(value: int, style: str) -> Text:
    """A count in its colour, dim when it is zero (the table does not jump)."""
    return Text(str(value), style=style if value else "dim")


def untrusted(value: object, style: str = "") -> Text:
    """Text from a backend as plain Rich Text: no markup, no control sequences."""
    return Text("-" if value is None else strip_controls(value), style=style)


def table(
    columns: Sequence[str],
    rows: Sequence[Row],
    *,
    title: str | None = None,
    right: Sequence[str] = (),
) -> Table:
    """A Rich table of a renderer's rows, for ``report``."""
    out = Table(title=title, title_justify="left")
    for column in columns:
        out.add_column(column, justify="right" if column in right else "left", no_wrap=True)
    for _, cells in rows:
        out.add_row(*cells)
    return out


def iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def hours(delta: timedelta | None, digits: int = 3) -> float | None:
    return round(delta.total_seconds() / 3600, digits) if delta is not None else None


def rounded(value: float | None, digits: int = 3) -> float | None:
    return round(value, digits) if value is not None else None

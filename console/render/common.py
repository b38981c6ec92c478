"""What every renderer shares: the report context, cells, tables, JSON helpers."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from rich.console import Console, ConsoleOptions, JustifyMethod, RenderResult
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
    """A table column: its title, its width (fixed, or the least a ``cut``
    column is shortened to), and how important it is when space is short."""

    title: str
    width: int = 0
    justify: JustifyMethod = "left"
    #: 0: the key column, always shown (and kept in view when scrolling
    #: sideways); the higher, the sooner it is dropped when space is short.
    priority: int = 0
    #: Text that may be shortened (with an ellipsis) rather than dropped.
    cut: bool = False


def fit_columns(
    columns: Sequence[Column],
    natural: Sequence[int],
    available: int,
    *,
    gap: int = 1,
    wide: bool = False,
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Which columns fit in ``available`` cells, and how wide each is.

    ``natural`` is each column's full width. Text columns marked ``cut`` are
    shortened to their minimum first; then whole columns are dropped, least
    important (highest priority) first: a number is never cut. Space left
    over goes back to the cut columns. ``wide`` keeps every column in full.
    Returns (indices shown, width of every column).
    """
    widths = list(natural)
    shown = list(range(len(columns)))
    if wide:
        return tuple(shown), tuple(widths)

    def least(i: int) -> int:
        spec = columns[i]
        return min(widths[i], max(spec.width, len(spec.title))) if spec.cut else widths[i]

    def total(width_of: Callable[[int], int]) -> int:
        return sum(width_of(i) for i in shown) + gap * len(shown)

    while total(least) > available:
        droppable = [i for i in shown if columns[i].priority > 0]
        if not droppable:
            break
        shown.remove(max(droppable, key=lambda i: (columns[i].priority, i)))
    spare = available - total(least)
    for i in shown:
        if columns[i].cut:
            give = max(0, min(natural[i] - least(i), spare))
            widths[i] = least(i) + give
            spare -= give
    return tuple(shown), tuple(widths)


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


class FittedReportTable:
    """A renderer's rows as a Rich table that fits the width it is printed in.

    As in the TUI (``fit_columns``): a number is never cut; when the columns
    do not fit, ``cut`` text is shortened first, then the least important
    columns are left out, and the caption names them.
    """

    #: Cells a column costs beyond its text: a border and a cell of padding each side.
    GAP = 3

    def __init__(self, columns: Sequence[Column], rows: Sequence[Row], title: str | None) -> None:
        self.columns = tuple(columns)
        self.rows = list(rows)
        self.title = title

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.table(options.max_width)

    def table(self, width: int) -> Table:
        natural = [len(c.title) for c in self.columns]
        for _, cells in self.rows:
            for i, cell in enumerate(cells[: len(natural)]):
                natural[i] = max(natural[i], cell.cell_len)
        shown, widths = fit_columns(self.columns, natural, width - 1, gap=self.GAP)
        left_out = [c.title for i, c in enumerate(self.columns) if i not in shown]
        caption = f"left out for the width: {', '.join(left_out)}" if left_out else None
        out = Table(title=self.title, title_justify="left", caption=caption, caption_justify="left")
        for i in shown:
            column = self.columns[i]
            out.add_column(
                column.title,
                justify=column.justify,
                no_wrap=True,
                overflow="ellipsis" if column.cut else "fold",
                min_width=None if column.cut else widths[i],
                max_width=widths[i] if column.cut else None,
            )
        for _, cells in self.rows:
            out.add_row(*(cells[i] if i < len(cells) else Text() for i in shown))
        return out


def table(
    columns: Sequence[Column], rows: Sequence[Row], *, title: str | None = None
) -> FittedReportTable:
    """A renderer's rows (every column that fits) for ``report``."""
    return FittedReportTable(columns, rows, title)


def iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def hours(delta: timedelta | None, digits: int = 3) -> float | None:
    return round(delta.total_seconds() / 3600, digits) if delta is not None else None


def rounded(value: float | None, digits: int = 3) -> float | None:
    return round(value, digits) if value is not None else None

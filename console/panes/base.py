"""What every pane has: its source, the age of its data, and the last error.

A pane draws its source's ``SourceState`` (the app owns and updates it) with
the settings it was built with. When a poll fails or hangs, the last good
data stays on screen but the status line says STALE, how old it is and why,
so old data is never shown as current.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.widgets import DataTable, Input, Static

from backends.analysis.alarms import Thresholds
from backends.analysis.safety import DEFAULT_POLICY, SafetyPolicy
from backends.model import Kind, Snapshot
from console.format import format_age, format_duration, format_time
from console.safe_text import strip_controls
from console.state.source import SourceState
from console.trends import Trends
from console.widgets.compact import CompactStatic
from console.widgets.fitted_table import FittedTable
from console.widgets.quiet import show_text
from console.widgets.tables import AnyRow, sort_rows


class PaneStatus(CompactStatic):
    """One line: source, as-of time, age, STALE and the last error."""


@dataclass(frozen=True)
class PaneSettings:
    """What a pane is built with: its title and key, and what it judges by."""

    title: str
    number: int
    #: Alarm thresholds of the config: panes colour and mark by the same limits.
    thresholds: Thresholds = field(default_factory=Thresholds)
    #: What the data-safety verdicts are decided against.
    policy: SafetyPolicy = DEFAULT_POLICY
    #: The console's rolling history of key figures, for sparklines.
    trends: Trends | None = None


class SourcePane(Vertical, can_focus=False):
    """Base of the five panes. Subclasses implement :meth:`show`."""

    class RunRequested(Message):
        """The user asked for one run's details (Enter on a row naming a run)."""

        def __init__(self, run_number: int) -> None:
            super().__init__()
            self.run_number = run_number

    KIND: ClassVar[Kind]
    #: Whether `/` filters this pane's main table.
    FILTERABLE: ClassVar[bool] = False
    #: The id of the table that `s` sorts (None: the pane cannot be sorted).
    SORT_TABLE: ClassVar[str | None] = None

    BINDINGS = [
        # The app acts on `/` first (a priority binding, so the keys typed
        # right after it reach the box); this one gives it its place in the
        # footer, among the pane's keys.
        Binding("slash", "filter", "Filter"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("s", "sort", "Sort"),
        Binding("S", "sort_reverse", "Reverse sort", show=False),
        # Tab moves between panes: `t` between the tables of one (the DAGs
        # and the sites, the RSEs and the stuck rules).
        Binding("t", "next_table", "Next table"),
    ]

    DEFAULT_CSS = """
    SourcePane { border: round $panel-lighten-2; height: 1fr; }
    SourcePane:focus-within { border: round $accent; }
    SourcePane > PaneStatus { height: 1; color: $text-muted; }
    """

    def __init__(
        self, state: SourceState, settings: PaneSettings, *, id: str | None = None
    ) -> None:
        super().__init__(id=id or self.KIND.value)
        self.state = state
        self.settings = settings
        self.thresholds = settings.thresholds
        self.policy = settings.policy
        self.trends = settings.trends
        self.border_title = f"{settings.number} {settings.title}"
        self._status = PaneStatus(Text("waiting for first data…"), classes="pane-status")
        self.filter_text = ""
        #: Column the main table is sorted by (None: the pane's own order).
        self.sort_column: int | None = None
        self.sort_reverse = False

    @property
    def snapshot(self) -> Snapshot | None:
        return self.state.snapshot

    @property
    def error(self) -> str | None:
        return self.state.error

    def compose(self) -> ComposeResult:
        self._status = PaneStatus(Text("waiting for first data…"), classes="pane-status")
        yield self._status
        yield from self.compose_body()
        if self.FILTERABLE:
            yield Input(
                placeholder="filter: every word must match (Enter keeps it, Esc clears)",
                classes="pane-filter",
            )

    def compose_body(self) -> ComposeResult:
        yield from ()

    # ------------------------------------------------------------- filter

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("sort", "sort_reverse"):
            return self.sortable
        if action == "next_table":
            return len(self._tables_shown()) > 1
        return self.FILTERABLE or action not in ("filter", "clear_filter")

    # --------------------------------------------------------------- sort

    @property
    def sortable(self) -> bool:
        return self.SORT_TABLE is not None

    def sort_columns(self) -> list[str]:
        """The titles of the sort table's columns, every one (shown or not)."""
        if self.SORT_TABLE is None:
            return []
        table = self.query_one(f"#{self.SORT_TABLE}", DataTable)
        if isinstance(table, FittedTable):
            return table.titles
        return [str(column.label) for column in table.columns.values()]

    # ----------------------------------------------------- wide and detail

    def set_wide(self, wide: bool) -> None:
        """Every column in full (the tables scroll sideways), or as many as fit."""
        for table in self.query(FittedTable):
            table.set_wide(wide)

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """The row under the cursor, every column in full, in the detail line."""
        table = event.data_table
        if isinstance(table, FittedTable) and (table.has_focus or not self._focused_table()):
            self.show_detail(table.detail(table.cursor_key()))

    @on(events.DescendantFocus)
    def _table_focused(self, event: events.DescendantFocus) -> None:
        if isinstance(event.widget, FittedTable):
            self.show_detail(event.widget.detail(event.widget.cursor_key()))

    def set_unassigned(self) -> None:
        """No source serves this pane: its status line says so, nothing else
        is drawn (no empty table headers)."""
        self.add_class("-unassigned")
        for child in self.children:
            if child is not self._status:
                child.display = False

    def _tables_shown(self) -> list[FittedTable]:
        return [t for t in self.query(FittedTable) if t.display]

    def action_next_table(self) -> None:
        """Focus the pane's next table (Enter and the detail line follow it)."""
        tables = self._tables_shown()
        if not tables:
            return
        focused = self._focused_table()
        index = tables.index(focused) + 1 if focused in tables else 0
        self.screen.set_focus(tables[index % len(tables)])

    def _focused_table(self) -> FittedTable | None:
        return next((t for t in self.query(FittedTable) if t.has_focus), None)

    def refresh_detail(self) -> None:
        """The detail line for the row under the cursor now (after new rows):
        of the focused table, else of the main one."""
        table = self._focused_table()
        if table is None and self.SORT_TABLE is not None:
            with contextlib.suppress(NoMatches):
                table = self.query_one(f"#{self.SORT_TABLE}", FittedTable)
        if table is not None:
            self.show_detail(table.detail(table.cursor_key()))

    def show_detail(self, text: Text) -> None:
        with contextlib.suppress(NoMatches):  # a pane without a detail line
            # Wrapped when the pane is alone: its height may change.
            show_text(self.query_one(".row-detail", Static), text, layout=True)

    def action_sort(self) -> None:
        """Sort by the next column; after the last one, back to the pane's order."""
        columns = self.sort_columns()
        if not columns:
            return
        if self.sort_column is None:
            self.sort_column = 0
        elif self.sort_column + 1 < len(columns):
            self.sort_column += 1
        else:
            self.sort_column = None
        self.sort_reverse = False
        self._sorted()

    def action_sort_reverse(self) -> None:
        if self.sort_column is None:
            self.sort_column = 0
        self.sort_reverse = not self.sort_reverse
        self._sorted()

    def _sorted(self) -> None:
        columns = self.sort_columns()
        if self.sort_column is None:
            self.notify("Default order", timeout=2)
        else:
            arrow = "↓" if self.sort_reverse else "↑"
            self.notify(
                f"Sorted by {columns[self.sort_column]} {arrow} (s: next, S: reverse)", timeout=2
            )
        self.apply_sort()

    def apply_sort(self) -> None:
        """The sort changed (a key press): redraw now, with no typing pause."""
        self.apply_filter()

    def filter_and_sort(self, rows: Sequence[AnyRow]) -> list[AnyRow]:
        """Rows through the pane's filter and sort."""
        return sort_rows(
            [row for row in rows if self.matches(row[1])], self.sort_column, self.sort_reverse
        )

    def action_filter(self) -> None:
        box = self.query_one(".pane-filter", Input)
        box.add_class("-visible")
        # Focus now, not after the keys already queued (``focus()`` waits its
        # turn): the letters typed right after `/` belong to the filter, and
        # must not reach the app's bindings (`a` would open the alarms).
        self.screen.set_focus(box)

    def action_clear_filter(self) -> None:
        box = self.query_one(".pane-filter", Input)
        had_filter = bool(box.value)
        box.value = ""
        box.remove_class("-visible")
        self.focus_main()
        if had_filter:
            self.filter_text = ""
            self.apply_filter()

    @on(Input.Changed, ".pane-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.filter_text = event.value
        self.apply_filter()

    @on(Input.Submitted, ".pane-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not event.value:
            event.input.remove_class("-visible")
        self.flush_filter()
        self.focus_main()

    def flush_filter(self) -> None:
        """Enter in the filter box: apply what is typed now, with no typing
        pause (panes that wait for one override this)."""

    def apply_filter(self) -> None:
        """Redraw with the current filter; panes with their own tables override."""
        if self.snapshot is not None:
            self.show(self.snapshot)
            self.refresh_detail()

    def matches(self, cells: Iterable[Text | str]) -> bool:
        """Whether a row's text holds every word of the filter (case-insensitive)."""
        terms = self.filter_text.lower().split()
        if not terms:
            return True
        text = " ".join(c.plain if isinstance(c, Text) else str(c) for c in cells).lower()
        return all(term in text for term in terms)

    def focus_main(self) -> None:
        """Focus the pane's main table (or the pane itself)."""
        target = next(
            (w for w in self.query("*") if w.focusable and not isinstance(w, Input)), None
        )
        (target or self).focus()

    # ------------------------------------------------------------ updates

    async def reset(self) -> None:
        """Redraw empty after the app reset the state (a replay seeking backwards)."""
        self.forget()
        await self.recompose()

    def forget(self) -> None:
        """Drop what subclasses keep about past snapshots."""

    @classmethod
    def prepare(cls, snapshot: Snapshot) -> object | None:
        """Heavy, pure work on a new snapshot, done in the poll's worker thread.

        What it returns reaches :meth:`show` through :meth:`prepared_for`, so
        a pane over 100,000 jobs does not aggregate them on the UI thread.
        """
        return None

    def prepared_for(self, snapshot: Snapshot) -> object | None:
        """What :meth:`prepare` made of this very snapshot, if it ran."""
        return self.state.prepared if self.state.snapshot is snapshot else None

    def redraw(self, at: float, retry: bool = True) -> None:
        """Draw the state's snapshot and the status line (after a poll came back).

        Results can arrive while the pane's children are still being mounted
        (at start) or already removed (at exit); then try once more after the
        next refresh, and give up quietly if the pane is gone.
        """
        self.set_class(self.state.error is not None, "-error")
        try:
            if self.state.snapshot is not None:
                self.show(self.state.snapshot)
                self.refresh_detail()
            self.update_status(at)
        except NoMatches:
            if retry and self.is_attached:
                self.call_after_refresh(self.redraw, at, False)

    def show(self, snapshot: Snapshot) -> None:
        """Render a new snapshot into the pane's widgets."""
        raise NotImplementedError

    def update_status(self, now: float) -> None:
        """Redraw the status line; called on every result and every second."""
        if not self._status.is_attached:
            return  # not mounted yet, or already torn down
        state = self.state
        if not state.assigned:
            self.set_class(False, "-stale")
            show_text(self._status, Text("no source configured", style="dim"))
            return
        stale = state.stale(now)
        self.set_class(stale, "-stale")
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(strip_controls(state.backend), style="bold")
        taken = getattr(state.snapshot, "taken_at", None)
        if taken is not None:
            line.append(f" · as of {format_time(taken, zone=True)}")
        if state.received_at is not None:
            age = max(0.0, now - state.received_at)
            if stale:
                line.append(" ")
                line.append(f" STALE {format_duration(age)} ", style="bold white on red")
            else:
                # Coarse while fresh: a status line redrawn every second costs
                # five lines of terminal output a second, for no news.
                line.append(f" · {format_age(age)} ago")
        elif state.error is None:
            line.append(" · waiting for first data…")
        if state.timed_out(now):
            assert state.waiting_since is not None
            line.append(
                f" · no answer for {format_duration(now - state.waiting_since)}", style="bold red"
            )
        if state.error is not None:
            line.append(" · ")
            line.append(strip_controls(state.error), style="red")
        show_text(self._status, line)

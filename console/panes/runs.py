"""Runs pane: every run, newest first, with its data-safety verdict.

The history can hold the paper's 26,762 runs, so rows are rendered only
when they are on screen (VirtualTable) and each run's derived cells are
computed once per run object and cached: the simulator and the runs
database hand back the same immutable Run for a run that did not change.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.timer import Timer
from textual.widgets import Static

from backends.analysis.safety import copies_overdue
from backends.model import Dag, Kind, Run, RunsSnapshot
from console.panes.base import PaneSettings, SourcePane
from console.render.runs import COLUMNS, RunRow, build_row, detail_line
from console.state.source import SourceState
from console.widgets.tables import highlighted
from console.widgets.virtual_table import VirtualTable

#: Seconds of quiet in the filter box before the runs are scanned.
FILTER_DEBOUNCE = 0.25


class RunsPane(SourcePane):
    KIND = Kind.RUNS

    FILTERABLE = True

    def __init__(
        self, state: SourceState, settings: PaneSettings, *, id: str | None = None
    ) -> None:
        super().__init__(state, settings, id=id)
        self._runs: Sequence[Run] = ()
        #: Filtered/sorted indices into _order_runs (the runs they were computed on).
        self._order: list[int] | None = None
        self._order_runs: Sequence[Run] = ()
        self._rows: dict[int, RunRow] = {}
        self._dags: dict[int, Dag] = {}
        self._malformed = 0
        self._busy = False
        self._generation = 0
        self._order_token = 0
        self._order_timer: Timer | None = None
        self.filter_text = ""

    def compose_body(self) -> ComposeResult:
        yield VirtualTable(COLUMNS, id="runs-table")
        yield Static(classes="row-detail")
        yield Static(id="runs-footer")

    def set_wide(self, wide: bool) -> None:
        self.query_one(VirtualTable).set_wide(wide)

    @on(VirtualTable.CursorMoved, "#runs-table")
    def _cursor_moved(self, event: VirtualTable.CursorMoved) -> None:
        event.stop()
        self._show_cursor_detail()

    def refresh_detail(self) -> None:
        self._show_cursor_detail()

    def _show_cursor_detail(self) -> None:
        table = self.query_one(VirtualTable)
        if not table.row_count:
            self.show_detail(Text())
            return
        run = self.run_at(table.cursor_row)
        self.show_detail(detail_line(run, self.row_for(run), self.policy))

    # ------------------------------------------------------------ data

    def set_dags(self, dags: dict[int, Dag]) -> None:
        """DAGs by run number, from the jobs pane, for the processing column."""
        if dags == self._dags:
            return
        # Rebuild only the rows of runs whose DAG changed: clearing them all
        # would rebuild every run's cells at the next filter or sort.
        for number in dags.keys() | self._dags.keys():
            if dags.get(number) != self._dags.get(number):
                self._rows.pop(number, None)
        self._dags = dags
        self.query_one(VirtualTable).refresh()

    def show(self, snapshot: RunsSnapshot) -> None:  # type: ignore[override]
        # Cached rows stay valid while their Run object is the same one.
        self._generation += 1
        self._runs = snapshot.runs
        self._apply_filter()

    def forget(self) -> None:
        self._runs = ()
        self._order = None
        self._order_runs = ()
        self._rows.clear()
        self._malformed = 0

    def set_malformed(self, count: int) -> None:
        """Malformed documents in the snapshot (counted off the main thread)."""
        if count != self._malformed:
            self._malformed = count
            self._apply_filter()

    def row_for(self, run: Run) -> RunRow:
        overdue_before = None
        if self.snapshot is not None:
            overdue_before = self.snapshot.taken_at - timedelta(
                hours=self.thresholds.unsafe_after_hours
            )
        row = self._rows.get(run.number)
        if row is not None and row.run is not run and row.run != run:
            changed = self._generation  # the run changed since it was last shown
        else:
            changed = row.changed_in if row is not None else -1
        # A row is reused while its run is the same object and the run has not
        # crossed from "copies on their way" to overdue since it was built.
        if row is None or row.run is not run or row.overdue != copies_overdue(run, overdue_before):
            row = replace(
                build_row(run, self._dags.get(run.number), overdue_before, self.policy),
                changed_in=changed,
            )
            self._rows[run.number] = row
        return row

    def run_at(self, index: int) -> Run:
        if self._order is not None:
            return self._order_runs[self._order[index]]
        return self._runs[len(self._runs) - 1 - index]

    @property
    def busy(self) -> bool:
        """Whether a filter or sort is being computed (in a worker thread)."""
        return self._busy

    @property
    def ordered(self) -> bool:
        """Whether the rows shown are a filtered or sorted order (not the snapshot's)."""
        return self._order is not None

    def set_filter(self, text: str) -> None:
        """Filter the runs by these words now (as typed in the filter box)."""
        self.filter_text = text
        self._apply_filter()

    def render_row(self, index: int) -> Sequence[Text]:
        """The cells of row ``index`` as shown (highlighted when it just changed)."""
        row = self.row_for(self.run_at(index))
        if row.changed_in == self._generation:
            return [highlighted(cell) for cell in row.cells]
        return row.cells

    def _apply_filter(self, delay: float = 0.0) -> None:
        """Show the runs through the filter and sort.

        Without either, the rows are the snapshot's, newest first, at no
        cost. With them, every run's cells are needed (26,762 runs take a
        second or two the first time), so the order is computed in a worker
        thread and the table follows when it is ready.
        """
        terms = self.filter_text.lower().split()
        self._order_token += 1  # any order still being computed is now moot
        if self._order_timer is not None:
            self._order_timer.stop()
            self._order_timer = None
        if not terms and self.sort_column is None:
            self._busy = False
            self._order = None
            self._show_rows(len(self._runs))
            return
        self._busy = True
        self._update_footer(len(self._order) if self._order is not None else len(self._runs))
        # When typing, wait for a pause: one scan for a word, not one a letter.
        # New data is filtered at once (a fast source must not starve it).
        token = self._order_token
        args = (self._runs, tuple(terms), self.sort_column, self.sort_reverse, token)
        if delay > 0:
            self._order_timer = self.set_timer(delay, lambda: self._compute_order(*args))
        else:
            self._compute_order(*args)

    @work(thread=True, group="runs-order", exit_on_error=False)
    def _compute_order(
        self,
        runs: Sequence[Run],
        terms: tuple[str, ...],
        column: int | None,
        reverse: bool,
        token: int,
    ) -> None:
        order = []
        for n, i in enumerate(range(len(runs) - 1, -1, -1)):
            if n % 2048 == 0 and token != self._order_token:
                return  # superseded by newer keys or data: stop, do not compete
            if all(t in self.row_for(runs[i]).search for t in terms):
                order.append(i)
        if token != self._order_token:
            return
        if column is not None:
            keyed = [(self.row_for(runs[i]).keys[column], i) for i in order]
            present = [p for p in keyed if p[0][0] < 2]
            empty = [p for p in keyed if p[0][0] == 2]
            present.sort(key=lambda p: p[0], reverse=reverse)
            order = [i for _, i in present + empty]
        self.app.call_from_thread(self._order_ready, runs, order, token)

    def _order_ready(self, runs: Sequence[Run], order: list[int], token: int) -> None:
        if token != self._order_token:
            return  # newer keys or data came meanwhile; their own order is on the way
        self._busy = False
        self._order = order
        self._order_runs = runs
        self._show_rows(len(order))

    def _show_rows(self, count: int) -> None:
        self.query_one(VirtualTable).set_rows(count, self.render_row)
        self._update_footer(count)
        self._show_cursor_detail()

    def _update_footer(self, count: int) -> None:
        runs = self._runs
        footer = Text(no_wrap=True, overflow="ellipsis")
        footer.append(f"{count:,} of {len(runs):,} runs", style="bold")
        if self._busy:
            footer.append(" · filtering/sorting…", style="yellow")
        if self.filter_text.strip():
            footer.append(f" · filter: {self.filter_text}", style="yellow")
        if self.sort_column is not None:
            arrow = "↓" if self.sort_reverse else "↑"
            footer.append(f" · sorted by {COLUMNS[self.sort_column].title} {arrow}", style="yellow")
        if self._malformed:
            footer.append(f" · {self._malformed} malformed", style="red")
        footer.append(" · / filter · s sort · Enter details", style="dim")
        self.query_one("#runs-footer", Static).update(footer)

    @property
    def sortable(self) -> bool:
        return True

    def sort_columns(self) -> list[str]:
        return [column.title for column in COLUMNS]

    def apply_filter(self) -> None:
        """The filter text or the sort changed (keys): scan after a pause."""
        self._apply_filter(FILTER_DEBOUNCE)

    @on(VirtualTable.RowSelected, "#runs-table")
    def _row_selected(self, event: VirtualTable.RowSelected) -> None:
        event.stop()
        self.post_message(self.RunRequested(self.run_at(event.index).number))

    def jump_to_run(self, number: int) -> bool:
        """Move the cursor to a run by number; False when it is not shown."""
        table = self.query_one(VirtualTable)
        if self._order is None:
            # Runs are in ascending number order: bisect, so a lazy sequence
            # only builds the few runs it looks at.
            position = bisect_left(self._runs, number, key=lambda run: run.number)
            if position < len(self._runs) and self._runs[position].number == number:
                table.move_cursor(len(self._runs) - 1 - position)
                return True
            return False
        for index, run_index in enumerate(self._order):
            if self._order_runs[run_index].number == number:
                table.move_cursor(index)
                return True
        return False

"""Runs pane: every run, newest first, with its data-safety verdict.

The history can hold 267,620 runs, so cost follows the screen, not the
history:

- the rows on screen are the only ones rendered (``VirtualTable``), and their
  cells are built from the run's facts when first shown, then kept;
- the facts of every run (verdict, processing, copies, filter text, sort
  fields: ``analysis.run_index``) are derived in the polling thread, once
  per version of a run, and arrive here as a ``RunTable``; a filter or a sort
  is a scan of those facts in a worker thread;
- until a snapshot's table arrives, the rows on screen derive their own facts
  (a few dozen runs), and a filter or sort waits for the table.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from datetime import timedelta

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.timer import Timer
from textual.widgets import Static

from backends.analysis.alarms import silent_builders
from backends.analysis.run_index import RunFacts, RunTable, run_facts
from backends.model import Dag, Kind, Run, RunsSnapshot
from console.panes.base import PaneSettings, SourcePane
from console.render.runs import COLUMNS, RunRow, detail_line, row_cells, row_matcher, sorted_rows
from console.safe_text import strip_controls
from console.state.source import SourceState
from console.widgets.compact import CompactStatic
from console.widgets.quiet import show_text
from console.widgets.tables import highlighted
from console.widgets.virtual_table import VirtualTable

#: Seconds of quiet in the filter box before the runs are scanned.
FILTER_DEBOUNCE = 0.25
#: Rows whose cells are kept (a few screens' worth); beyond, the oldest go.
ROWS_KEPT = 2048
#: How far (rows) a poll may shift the run under the cursor and it follows.
KEEP_WINDOW = 64


class RunsPane(SourcePane):
    KIND = Kind.RUNS

    FILTERABLE = True

    def __init__(
        self, state: SourceState, settings: PaneSettings, *, id: str | None = None
    ) -> None:
        super().__init__(state, settings, id=id)
        self._runs: Sequence[Run] = ()
        #: The facts of every run, from the polling thread (maybe of older runs).
        self._table: RunTable | None = None
        #: Filtered/sorted indices into _order_runs (the runs they were computed on).
        self._order: list[int] | None = None
        self._order_runs: Sequence[Run] = ()
        #: Cells of the rows shown so far, by run number.
        self._rows: dict[int, RunRow] = {}
        #: The run under the cursor when its detail was last shown, and the
        #: one to keep the cursor on when new runs come.
        self._cursor_number: int | None = None
        self._keep_run: int | None = None
        #: Facts the rows on screen derived themselves (no table for these runs yet).
        self._own: dict[int, RunFacts] = {}
        self._dags: dict[int, Dag] = {}
        self._malformed = 0
        self._busy = False
        self._generation = 0
        self._order_token = 0
        self._order_timer: Timer | None = None
        self.filter_text = ""

    def compose_body(self) -> ComposeResult:
        yield VirtualTable(COLUMNS, id="runs-table", on_cursor=self._cursor_moved)
        yield CompactStatic(classes="row-detail")
        yield CompactStatic(id="runs-footer")

    def set_wide(self, wide: bool) -> None:
        self.query_one(VirtualTable).set_wide(wide)

    def _cursor_moved(self, _row: int) -> None:
        """The cursor moved: the detail line follows in the table's frame."""
        self._show_cursor_detail()

    def refresh_detail(self) -> None:
        self._show_cursor_detail()

    def _show_cursor_detail(self) -> None:
        table = self.query_one(VirtualTable)
        if not table.row_count:
            self._cursor_number = None
            self.show_detail(Text())
            return
        run = self.run_at(table.cursor_row)
        self._cursor_number = run.number
        self.show_detail(detail_line(run, self.row_for(run), self.policy))

    # ------------------------------------------------------------ data

    def set_dags(self, dags: dict[int, Dag]) -> None:
        """DAGs by run number, from the jobs pane: for the rows that derive
        their own facts (the table's facts come with their DAGs)."""
        if dags == self._dags:
            return
        for number in dags.keys() | self._dags.keys():
            if dags.get(number) != self._dags.get(number):
                self._own.pop(number, None)
        self._dags = dags
        for table in self.query(VirtualTable):  # none while the app shuts down
            table.refresh_changed()

    @property
    def table(self) -> RunTable | None:
        """The facts of the runs last derived (maybe of runs no longer shown)."""
        return self._table

    def set_table(self, table: RunTable) -> None:
        """The facts of every run, derived in the polling thread."""
        if not table.newer_than(self._table):
            return  # the jobs poll's newer table of these runs came first
        current = self._table is not None and self._table.runs is self._runs
        self._table = table
        if table.runs is not self._runs:
            return  # of runs no longer shown; the next one is on its way
        self._own.clear()
        self._malformed = table.malformed
        if not self.query(VirtualTable):
            return  # not mounted yet, or torn down (the app is leaving): kept for show
        if not current and (self.filter_text.strip() or self.sort_column is not None):
            self._apply_filter()  # it was waiting for these facts
        elif self._order is not None and table.derived:
            self._apply_filter()  # DAGs changed what some runs show
        else:
            self._update_footer(self.query_one(VirtualTable).row_count)
            self.query_one(VirtualTable).refresh_changed()
            # The cursor's run may have a new verdict (Rucio's word joined):
            # its detail line follows its row, not the next poll.
            self._show_cursor_detail()

    def show(self, snapshot: RunsSnapshot) -> None:  # type: ignore[override]
        self._generation += 1
        self._runs = snapshot.runs
        self._own.clear()
        # New runs shift the rows (the newest first, the oldest may leave):
        # the cursor stays on its run, unless it follows the newest.
        self._keep_run = self._cursor_number
        self._apply_filter()

    def forget(self) -> None:
        self._runs = ()
        self._table = None
        self._order = None
        self._order_runs = ()
        self._rows.clear()
        self._own.clear()
        self._malformed = 0

    @property
    def _current_table(self) -> RunTable | None:
        table = self._table
        return table if table is not None and table.runs is self._runs else None

    def _overdue_before(self) -> float | None:
        if self.snapshot is None:
            return None
        before = self.snapshot.taken_at - timedelta(hours=self.thresholds.unsafe_after_hours)
        return before.timestamp()

    def facts_for(self, run: Run) -> RunFacts:
        """The facts of a run shown: the table's, else derived here and kept."""
        table = self._table
        if table is not None:
            index = table.index_of(run.number)
            if index is not None:
                tabled = table.runs[index]
                if tabled is run or tabled == run:
                    return table.fact(index)
        own = self._own.get(run.number)
        if own is None or (own.version is not run and own.version != run):
            if len(self._own) >= ROWS_KEPT:
                self._own.clear()
            evidence = table.evidence if table is not None else None  # Rucio's word
            own = self._own[run.number] = run_facts(
                run, self._dags.get(run.number), self.policy, evidence=evidence
            )
        return own

    def row_for(self, run: Run) -> RunRow:
        """The row of a run as shown: its cells built once per version of the
        run (and again when it becomes overdue)."""
        facts = self.facts_for(run)
        overdue = facts.overdue(self._overdue_before())
        row = self._rows.get(run.number)
        if row is not None and row.facts is facts and row.overdue == overdue:
            return row
        if row is not None and row.facts.version is not facts.version and row.run != run:
            changed = self._generation  # shown before, and the run changed since
        else:
            changed = row.changed_in if row is not None else -1
        if len(self._rows) >= ROWS_KEPT:
            self._rows.clear()
        row = RunRow(run, facts, row_cells(run, facts, overdue), overdue, changed)
        self._rows[run.number] = row
        return row

    def run_at(self, index: int) -> Run:
        if self._order is not None:
            return self._order_runs[self._order[index]]
        return self._runs[len(self._runs) - 1 - index]

    @property
    def busy(self) -> bool:
        """Whether a filter or sort is being computed (or waits for the facts)."""
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
        cost. With them, the facts of every run are scanned in a worker
        thread and the table follows when the order is ready; before the
        facts of these runs have arrived, the previous order stays shown.
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
        table = self._current_table
        self._update_footer(len(self._order) if self._order is not None else len(self._runs))
        if table is None:
            return  # set_table starts it when the facts are in
        # When typing, wait for a pause: one scan for a word, not one a letter.
        token = self._order_token
        args = (table, tuple(terms), self.sort_column, self.sort_reverse, token)
        if delay > 0:
            self._order_timer = self.set_timer(delay, lambda: self._compute_order(*args))
        else:
            self._compute_order(*args)

    @work(thread=True, group="runs-order", exit_on_error=False, description="order the runs")
    def _compute_order(
        self,
        table: RunTable,
        terms: tuple[str, ...],
        column: int | None,
        reverse: bool,
        token: int,
    ) -> None:
        before = self._overdue_before()
        overdue = table.overdue
        matches = row_matcher(table, terms)
        order = []
        for n, i in enumerate(range(len(table) - 1, -1, -1)):
            if n % 4096 == 0 and token != self._order_token:
                return  # superseded by newer keys or data: stop, do not compete
            if not terms or matches(i, overdue(i, before)):
                order.append(i)
        if token != self._order_token:
            return
        if column is not None:
            order = sorted_rows(table, order, column, reverse, before)
        self.app.call_from_thread(self._order_ready, table.runs, order, token)

    def _order_ready(self, runs: Sequence[Run], order: list[int], token: int) -> None:
        if token != self._order_token:
            return  # newer keys or data came meanwhile; their own order is on the way
        self._busy = False
        self._order = order
        self._order_runs = runs
        self._show_rows(len(order))

    def _show_rows(self, count: int) -> None:
        table = self.query_one(VirtualTable)
        keep, self._keep_run = self._keep_run, None
        at = table.cursor_row
        table.set_rows(count, self.render_row)
        if keep is not None and at > 0 and count:
            row = self._row_near(keep, at, count)
            if row is not None and row != table.cursor_row:
                table.move_cursor(row)
        self._update_footer(count)
        self._show_cursor_detail()

    def _row_near(self, number: int, around: int, count: int) -> int | None:
        """The row of run ``number`` within ``KEEP_WINDOW`` rows of ``around``."""
        for step in range(KEEP_WINDOW + 1):
            for row in (around + step, around - step):
                if 0 <= row < count and self.run_at(row).number == number:
                    return row
        return None

    def _update_footer(self, count: int) -> None:
        runs = self._runs
        footer = Text(no_wrap=True, overflow="ellipsis")
        footer.append(f"{count:,} of {len(runs):,} runs", style="bold")
        if self._current_table is None and runs:
            # The rows on screen have theirs; the alarms, the malformed count,
            # a filter and a sort wait for every run's.
            footer.append(" · verdicts of every run on their way…", style="yellow")
        elif self._busy:
            footer.append(" · filtering/sorting…", style="yellow")
        if self.filter_text.strip():
            footer.append(f" · filter: {self.filter_text}", style="yellow")
        if self.sort_column is not None:
            arrow = "↓" if self.sort_reverse else "↑"
            footer.append(f" · sorted by {COLUMNS[self.sort_column].title} {arrow}", style="yellow")
        if self._malformed:
            footer.append(f" · {self._malformed} malformed", style="red")
        self._builders_footer(footer)
        footer.append(" · / filter · s sort · Enter details", style="dim")
        show_text(self.query_one("#runs-footer", Static), footer)

    def _builders_footer(self, footer: Text) -> None:
        """XENONnT: the event builders' heartbeats in a word (nothing without)."""
        snap = self.snapshot
        if not isinstance(snap, RunsSnapshot):
            return
        beats = snap.heartbeats or ()
        silent = silent_builders(snap, self.thresholds)
        if silent:
            names = ", ".join(
                strip_controls(b.host).split(".")[0] + (" never seen" if not b.seen else "")
                for b in silent
            )
            footer.append(f" · EB silent: {names}", style="bold red")
        elif snap.heartbeats_error is not None or any(b.unreadable for b in beats):
            footer.append(" · EB heartbeats unknown", style="yellow")
        elif beats:
            footer.append(f" · {len(beats)} EBs beating", style="dim")

    @property
    def sortable(self) -> bool:
        return True

    def sort_columns(self) -> list[str]:
        return [column.title for column in COLUMNS]

    def apply_filter(self) -> None:
        """The filter text changed (typing): scan after a pause."""
        self._apply_filter(FILTER_DEBOUNCE)

    def apply_sort(self) -> None:
        """The sort changed: at once (a key press, not typing)."""
        self._apply_filter()

    def flush_filter(self) -> None:
        """Enter: scan now rather than after the typing pause."""
        if self._order_timer is not None:
            self._apply_filter()

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

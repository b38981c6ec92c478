"""Runs pane: every run, newest first, with its data-safety verdict.

The history can hold the paper's 26,762 runs, so rows are rendered only
when they are on screen (VirtualTable) and each run's derived cells are
computed once per run object and cached: the simulator and the runs
database hand back the same immutable Run for a run that did not change.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Static

from backends.analysis.safety import (
    ProcessingState,
    copies_label,
    data_safety,
    processing_state,
)
from backends.model import Dag, Kind, Run, RunsSnapshot
from console.format import fmt_bytes
from console.panes.base import SourcePane
from console.safe_text import clean
from console.widgets.virtual_table import Column, VirtualTable

COLUMNS = (
    Column("Run", 6, "right"),
    Column("Source", 11),
    Column("SR", 3),
    Column("Start UTC", 14),
    Column("Safety", 16),
    Column("Processing", 10),
    Column("Copies", 14),
    Column("Events", 6, "right"),
    Column("Size", 8, "right"),
)

PROCESSING_STYLE = {
    ProcessingState.MINITREES: "green",
    ProcessingState.PROCESSED: "green",
    ProcessingState.PROCESSING: "cyan",
    ProcessingState.QUEUED: "yellow",
    ProcessingState.WAITING: "dim",
    ProcessingState.SKIPPED: "dim",
    ProcessingState.STALLED: "bold red",
    ProcessingState.FAILED: "bold red",
}


@dataclass(frozen=True, slots=True)
class RunRow:
    """The derived cells of one run, computed once per Run object."""

    run: Run
    cells: tuple[Text, ...]
    search: str


def build_row(run: Run, dag: Dag | None, overdue_before: datetime | None = None) -> RunRow:
    """Cells of one run. A run that is not yet safe is "wait" (yellow) until
    it ended before ``overdue_before``, then "MISS" (red): copies that should
    be there by now are not."""
    verdict = data_safety(run)
    processing = processing_state(run, dag)
    missing = " ".join(_short(m) for m in verdict.missing)
    overdue = overdue_before is None or (run.end or run.start) <= overdue_before
    if verdict.safe:
        safety = Text("safe", style="green")
    elif overdue:
        safety = Text(f"MISS: {missing}", style="bold red")
    else:
        safety = Text(f"wait: {missing}", style="yellow")
    number = Text(str(run.number), style="red" if run.malformed else "")
    cells = (
        number,
        Text(clean(run.source)),
        Text(run.science_run or "", style="cyan"),
        Text(run.start.strftime("%y-%m-%d %H:%M")),
        safety,
        Text(processing.value, style=PROCESSING_STYLE.get(processing, "")),
        Text(copies_label(run)),
        Text("-" if run.events is None else str(run.events)),
        Text(fmt_bytes(run.raw_size_bytes)),
    )
    search = " ".join(
        [
            str(run.number),
            run.name,
            run.source,
            run.science_run or "nonscience",
            "safe" if verdict.safe else ("unsafe missing" if overdue else "unsafe wait"),
            processing.value,
            copies_label(run),
            *run.tags,
        ]
    ).lower()
    return RunRow(run, cells, search)


def _short(requirement: str) -> str:
    return {"UC_OSG_USERDISK": "UC", "European RSE": "EU", "tape": "tape"}.get(
        requirement, requirement
    )


class RunsPane(SourcePane):
    KIND = Kind.RUNS
    TITLE = "Runs"
    NUMBER = 5

    FILTERABLE = True

    def __init__(self, *, interval: float, id: str | None = None) -> None:
        super().__init__(interval=interval, id=id)
        self._runs: Sequence[Run] = ()
        self._order: list[int] | None = None  # filtered indices into _runs, newest first
        self._rows: dict[int, RunRow] = {}
        self._dags: dict[int, Dag] = {}
        self._malformed = 0
        #: A run not data-safe this long after its end is shown as missing copies.
        self.overdue_after = timedelta(hours=48)
        self.filter_text = ""

    def compose_body(self) -> ComposeResult:
        table = VirtualTable(COLUMNS, id="runs-table")
        yield Static(table.header_text(), id="runs-header")
        yield table
        yield Static(id="runs-footer")

    # ------------------------------------------------------------ data

    def set_dags(self, dags: dict[int, Dag]) -> None:
        """DAGs by run number, from the jobs pane, for the processing column."""
        if dags != self._dags:
            self._dags = dags
            self._rows.clear()
            self.query_one(VirtualTable).refresh()

    def show(self, snapshot: RunsSnapshot) -> None:  # type: ignore[override]
        # Cached rows stay valid while their Run object is the same one.
        self._runs = snapshot.runs
        self._apply_filter()

    def set_malformed(self, count: int) -> None:
        """Malformed documents in the snapshot (counted off the main thread)."""
        if count != self._malformed:
            self._malformed = count
            self._apply_filter()

    def row_for(self, run: Run) -> RunRow:
        row = self._rows.get(run.number)
        if row is None or row.run is not run:
            overdue_before = None
            if self.snapshot is not None:
                overdue_before = self.snapshot.taken_at - self.overdue_after
            row = build_row(run, self._dags.get(run.number), overdue_before)
            self._rows[run.number] = row
        return row

    def run_at(self, index: int) -> Run:
        if self._order is not None:
            return self._runs[self._order[index]]
        return self._runs[len(self._runs) - 1 - index]

    def _render_row(self, index: int) -> Sequence[Text]:
        return self.row_for(self.run_at(index)).cells

    def _apply_filter(self) -> None:
        terms = self.filter_text.lower().split()
        runs = self._runs
        if terms:
            self._order = [
                i
                for i in range(len(runs) - 1, -1, -1)
                if all(t in self.row_for(runs[i]).search for t in terms)
            ]
            count = len(self._order)
        else:
            self._order = None
            count = len(runs)
        table = self.query_one(VirtualTable)
        table.set_rows(count, self._render_row)
        footer = Text(no_wrap=True, overflow="ellipsis")
        footer.append(f"{count:,} of {len(runs):,} runs", style="bold")
        if terms:
            footer.append(f" · filter: {self.filter_text}", style="yellow")
        if self._malformed:
            footer.append(f" · {self._malformed} malformed", style="red")
        footer.append(" · / filter · Enter details", style="dim")
        self.query_one("#runs-footer", Static).update(footer)

    def apply_filter(self) -> None:
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
            if self._runs[run_index].number == number:
                table.move_cursor(index)
                return True
        return False

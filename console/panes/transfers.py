"""Transfers pane: per RSE usage, rules by state, and every stuck or suspended rule."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from backends.model import Kind, Snapshot, TransfersSnapshot
from console.panes.base import SourcePane
from console.render import transfers as render
from console.render.eta import TransfersEtas, risk_line
from console.widgets.compact import CompactStatic
from console.widgets.fitted_table import FittedTable
from console.widgets.quiet import show_text


class TransfersPane(SourcePane):
    KIND = Kind.TRANSFERS
    FILTERABLE = True
    SORT_TABLE = "rse-table"

    def compose_body(self) -> ComposeResult:
        yield FittedTable(render.COLUMNS, id="rse-table")
        yield CompactStatic(id="stuck-line")
        yield CompactStatic(id="risk-line")
        yield FittedTable(render.STUCK_COLUMNS, id="stuck-table")
        yield CompactStatic(classes="row-detail")

    def prepare(self, snapshot: Snapshot) -> TransfersEtas | None:  # type: ignore[override]
        """The ETAs and the data-at-risk clock, in the worker."""
        if not isinstance(snapshot, TransfersSnapshot):
            return None
        return render.prepare(snapshot, self.policy)

    def show(self, snapshot: TransfersSnapshot) -> None:  # type: ignore[override]
        now = snapshot.taken_at
        etas = self.prepared_for(snapshot) or self.prepare(snapshot)
        assert isinstance(etas, TransfersEtas)
        rows = render.rse_rows(snapshot, now, self.trends, etas.rses)
        self.query_one("#rse-table", FittedTable).set_rows(self.filter_and_sort(rows))
        show_text(self.query_one("#stuck-line", Static), render.stuck_line(snapshot))
        show_text(self.query_one("#risk-line", Static), risk_line(etas.at_risk, now))
        stuck = [row for row in render.stuck_rows(snapshot, now) if self.matches(row[1])]
        table = self.query_one("#stuck-table", FittedTable)
        table.set_rows(stuck)
        table.display = bool(stuck)
        self.set_class(bool(stuck), "-stuck")

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on an RSE: the run of its oldest stuck rule; on a rule: its run."""
        event.stop()
        key = event.row_key.value or ""
        snapshot = self.snapshot
        if not isinstance(snapshot, TransfersSnapshot):
            return
        if event.data_table.id == "stuck-table":
            run = render.run_of_rule(snapshot, key)
        else:
            run = render.stuck_runs(snapshot, snapshot.taken_at).get(key)
        if run is None:
            self.notify(f"No stuck rule with a run at {key}", timeout=3)
        else:
            self.post_message(self.RunRequested(run))

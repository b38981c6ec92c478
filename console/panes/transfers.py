"""Transfers pane: per RSE usage, rules by state, stuck rules and throughput."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from backends.model import Kind, TransfersSnapshot
from console.panes.base import SourcePane
from console.render import transfers as render
from console.widgets.tables import sync_rows


class TransfersPane(SourcePane):
    KIND = Kind.TRANSFERS
    FILTERABLE = True
    SORT_TABLE = "rse-table"

    def compose_body(self) -> ComposeResult:
        table: DataTable = DataTable(id="rse-table", cursor_type="row", zebra_stripes=False)
        table.add_columns(*render.COLUMNS)
        yield table
        yield Static(id="stuck-line")

    def show(self, snapshot: TransfersSnapshot) -> None:  # type: ignore[override]
        now = snapshot.taken_at
        rows = render.rse_rows(snapshot, now, self.trends)
        sync_rows(self.query_one("#rse-table", DataTable), self.filter_and_sort(rows))
        self.query_one("#stuck-line", Static).update(render.stuck_line(snapshot))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on an RSE: the run of its oldest stuck rule."""
        event.stop()
        rse = event.row_key.value or ""
        snapshot = self.snapshot
        run = None
        if isinstance(snapshot, TransfersSnapshot):
            run = render.stuck_runs(snapshot, snapshot.taken_at).get(rse)
        if run is None:
            self.notify(f"No stuck rule at {rse}", timeout=3)
        else:
            self.post_message(self.RunRequested(run))

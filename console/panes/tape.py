"""Tape pane: the TSM queue at PDC Stockholm, verifications and failures."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from backends.analysis.eta import Eta, tape_drain_eta
from backends.model import Kind, Snapshot, TapeSnapshot
from console.panes.base import SourcePane
from console.render import tape as render
from console.widgets.compact import CompactStatic
from console.widgets.fitted_table import FittedTable
from console.widgets.quiet import show_text


class TapePane(SourcePane):
    KIND = Kind.TAPE
    FILTERABLE = True
    SORT_TABLE = "tape-table"

    def compose_body(self) -> ComposeResult:
        yield CompactStatic(id="tape-figures")
        yield FittedTable(render.COLUMNS, id="tape-table")
        yield CompactStatic(classes="row-detail")

    @classmethod
    def prepare(cls, snapshot: Snapshot) -> Eta | None:
        """When the queue drains, in the worker."""
        return tape_drain_eta(snapshot) if isinstance(snapshot, TapeSnapshot) else None

    def show(self, snapshot: TapeSnapshot) -> None:  # type: ignore[override]
        drain = self.prepared_for(snapshot) or self.prepare(snapshot)
        assert isinstance(drain, Eta)
        figures = render.figures(snapshot, self.thresholds, self.trends, drain)
        show_text(self.query_one("#tape-figures", Static), figures)
        rows = self.filter_and_sort(render.upload_rows(snapshot))[: render.UPLOADS_SHOWN]
        self.query_one("#tape-table", FittedTable).set_rows(rows)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on an upload: that run's details."""
        event.stop()
        run = render.run_of_row(event.row_key.value or "")
        if run is not None:
            self.post_message(self.RunRequested(run))

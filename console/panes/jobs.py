"""Jobs pane: HTCondor queues per site, one row per run's DAG, hold reasons.

The counts are aggregated in the poll's worker (``prepare``): 100,000 job
ads take most of a second, which the UI thread must not spend.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from backends.model import JobsSnapshot, Kind, Snapshot
from console.panes.base import SourcePane
from console.render import jobs as render
from console.widgets.compact import CompactStatic
from console.widgets.fitted_table import FittedTable
from console.widgets.quiet import show_text


class JobsPane(SourcePane):
    KIND = Kind.JOBS
    FILTERABLE = True
    SORT_TABLE = "dag-table"

    def compose_body(self) -> ComposeResult:
        status = CompactStatic(id="schedd-status")
        status.display = False  # only when a schedd is unreachable or ads were skipped
        yield status
        yield FittedTable(render.SITE_COLUMNS, id="site-table")
        yield CompactStatic(id="hold-reasons")
        yield FittedTable(render.DAG_COLUMNS, id="dag-table")
        yield CompactStatic(classes="row-detail")

    @classmethod
    def prepare(cls, snapshot: Snapshot) -> render.JobsView | None:
        """Aggregate the jobs in the worker."""
        return render.aggregate(snapshot) if isinstance(snapshot, JobsSnapshot) else None

    def show(self, snapshot: JobsSnapshot) -> None:  # type: ignore[override]
        view = self.prepared_for(snapshot) or self.prepare(snapshot)
        assert isinstance(view, render.JobsView)
        lines = render.schedd_lines(snapshot)
        status = self.query_one("#schedd-status", Static)
        show_text(status, Text("\n").join(lines), layout=True)
        status.display = bool(lines)
        sites = [
            row
            for row in render.site_rows(view)
            if row[0] == render.TOTAL_KEY or self.matches(row[1])
        ]
        self.query_one("#site-table", FittedTable).set_rows(sites)
        holds = Text("\n").join(render.hold_lines(view, self.trends))
        show_text(self.query_one("#hold-reasons", Static), holds, layout=True)
        dags = self.filter_and_sort(render.dag_rows_of(view, snapshot.taken_at))
        self.query_one("#dag-table", FittedTable).set_rows(dags)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a DAG: its run's details (processing, held jobs, copies)."""
        event.stop()
        snapshot = self.snapshot
        if not isinstance(snapshot, JobsSnapshot):
            return
        key = event.row_key.value
        run = next((d.run_number for d in snapshot.dags if render.dag_key(d) == key), None)
        if run is not None:
            self.post_message(self.RunRequested(run))

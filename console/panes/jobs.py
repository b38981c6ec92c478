"""Jobs pane: HTCondor queues per site, one row per run's DAG, hold reasons.

Colours follow condor_watch_q: held red, done green, running cyan, idle
yellow. Columns that are zero everywhere stay dim rather than vanish, so the
table does not jump about between refreshes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from backends.analysis.jobs import (
    SiteCounts,
    dag_rows,
    hold_reasons,
    jobs_by_site,
    jobs_total,
)
from backends.model import Dag, DagStatus, Job, JobsSnapshot, Kind, Snapshot
from console.format import fmt_duration
from console.panes.base import SourcePane
from console.safe_text import clean
from console.widgets.tables import sync_rows

SITE_COLUMNS = ("Site", "Idle", "Run", "Held", "Xfer", "Done", "Retried")
DAG_COLUMNS = ("Run", "Progress", "Done", "Fail", "Queue", "Held", "Total", "Age")


def _n(value: int, style: str) -> Text:
    return Text(str(value), style=style if value else "dim")


def progress_bar(dag: Dag, width: int = 12) -> Text:
    """Done in green, failed in red, the rest dim, like condor_watch_q."""
    total = max(1, dag.nodes_total)
    done = round(width * dag.nodes_done / total)
    failed = min(width - done, round(width * dag.nodes_failed / total))
    bar = Text()
    bar.append("█" * done, style="green")
    bar.append("█" * failed, style="red")
    bar.append("░" * (width - done - failed), style="grey37")
    bar.append(f" {100 * dag.progress:3.0f}%")
    return bar


def _per_schedd(snapshot: JobsSnapshot) -> list[SiteCounts]:
    """Counts per schedd, labelled by schedd, when there is more than one."""
    if len(snapshot.schedds) < 2:
        return []
    groups: dict[str, list[Job]] = {name: [] for name in snapshot.schedds}
    for job in snapshot.jobs:
        groups.setdefault(job.schedd, []).append(job)
    return [
        replace(jobs_total(replace(snapshot, jobs=tuple(jobs))), site=name)
        for name, jobs in groups.items()
    ]


@dataclass(frozen=True, slots=True)
class JobsView:
    """The pane's figures, computed off the UI thread (see SourcePane.prepare)."""

    counts: tuple[tuple[str, SiteCounts], ...]
    reasons: tuple[tuple[str, int], ...]
    dags: tuple[Dag, ...]


class JobsPane(SourcePane):
    KIND = Kind.JOBS
    TITLE = "Jobs (HTCondor)"
    NUMBER = 4
    FILTERABLE = True
    SORT_TABLE = "dag-table"

    def __init__(self, *, interval: float, id: str | None = None) -> None:
        super().__init__(interval=interval, id=id)
        #: DAG row key -> run number, for Enter on a DAG row.
        self._dag_runs: dict[str | None, int | None] = {}

    def compose_body(self) -> ComposeResult:
        status = Static(id="schedd-status")
        status.display = False  # only when a schedd is unreachable or ads were skipped
        yield status
        sites: DataTable = DataTable(id="site-table", cursor_type="row")
        sites.add_columns(*SITE_COLUMNS)
        yield sites
        yield Static(id="hold-reasons")
        dags: DataTable = DataTable(id="dag-table", cursor_type="row")
        dags.add_columns(*DAG_COLUMNS)
        yield dags

    @classmethod
    def prepare(cls, snapshot: Snapshot) -> JobsView | None:
        """Aggregate the jobs (100,000 ads take most of a second) in the worker."""
        if not isinstance(snapshot, JobsSnapshot):
            return None
        return JobsView(
            counts=(
                *((f"site:{c.site}", c) for c in jobs_by_site(snapshot)),
                *((f"schedd:{c.site}", c) for c in _per_schedd(snapshot)),
                ("site:all", jobs_total(snapshot)),
            ),
            reasons=tuple(hold_reasons(snapshot, top=3)),
            dags=tuple(dag_rows(snapshot)),
        )

    def show(self, snapshot: JobsSnapshot) -> None:  # type: ignore[override]
        now = snapshot.taken_at
        view = self.prepared_for(snapshot) or self.prepare(snapshot)
        assert isinstance(view, JobsView)
        self._show_schedd_status(snapshot)
        rows = []
        for key, counts in view.counts:
            style = "bold" if key == "site:all" else "italic" if key.startswith("schedd:") else ""
            label = Text(clean(counts.site), style=style)
            rows.append(
                (
                    key,
                    (
                        label,
                        _n(counts.idle, "yellow"),
                        _n(counts.running, "cyan"),
                        _n(counts.held, "bold red"),
                        _n(counts.transferring, "cyan"),
                        _n(counts.completed, "green"),
                        _n(counts.retried, "yellow"),
                    ),
                )
            )
        rows = [row for row in rows if row[0] == "site:all" or self.matches(row[1])]
        sync_rows(self.query_one("#site-table", DataTable), rows)

        reasons = view.reasons
        lines = []
        if self.trends is not None and len(self.trends.values("jobs.running")) > 1:
            trend = Text("Trend ", style="bold")
            for name, style in (("running", "cyan"), ("idle", "yellow"), ("held", "red")):
                trend.append(f" {name} ")
                trend.append(self.trends.spark(f"jobs.{name}", 12), style=style)
            lines.append(trend)
        if not reasons:
            lines.append(Text.assemble(("Held: ", "bold"), ("none", "green")))
        for reason, count in reasons:
            lines.append(
                Text.assemble(("Held ", "bold"), (f"{count:>5} ", "bold red"), clean(reason))
            )
        self.query_one("#hold-reasons", Static).update(Text("\n").join(lines))

        dag_table_rows = []
        self._dag_runs = {
            f"dag:{dag.schedd}:{dag.cluster_id}": dag.run_number for dag in snapshot.dags
        }
        for dag in view.dags:
            run = "-" if dag.run_number is None else str(dag.run_number)
            style = "" if not dag.finished else "dim"
            if dag.status not in (DagStatus.OK,):
                style = "red"
            dag_table_rows.append(
                (
                    f"dag:{dag.schedd}:{dag.cluster_id}",
                    (
                        Text(run, style=style),
                        progress_bar(dag),
                        _n(dag.nodes_done, "green"),
                        _n(dag.nodes_failed, "bold red"),
                        _n(dag.nodes_queued, "yellow"),
                        _n(dag.nodes_held, "bold red"),
                        str(dag.nodes_total),
                        fmt_duration(now - dag.submitted_at),
                    ),
                )
            )
        dag_table_rows = self.filter_and_sort(dag_table_rows)
        sync_rows(self.query_one("#dag-table", DataTable), dag_table_rows)

    def _show_schedd_status(self, snapshot: JobsSnapshot) -> None:
        """Unreachable schedds in red (their rows are their last data), skipped ads in yellow."""
        lines = [
            Text.assemble(
                ("✗ schedd unreachable: ", "bold red"),
                (clean(name), "bold"),
                (" " + clean(error), "red"),
            )
            for name, error in snapshot.schedd_errors
        ]
        lines.extend(Text(clean(problem), style="yellow") for problem in snapshot.ad_problems)
        status = self.query_one("#schedd-status", Static)
        status.update(Text("\n").join(lines))
        status.display = bool(lines)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a DAG: its run's details (processing, held jobs, copies)."""
        event.stop()
        run = self._dag_runs.get(event.row_key.value)
        if run is not None:
            self.post_message(self.RunRequested(run))

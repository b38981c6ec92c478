"""Jobs: counts per site (and schedd), hold reasons, one row per run's DAG.

Colours follow condor_watch_q: held red, done green, running cyan, idle
yellow. Counts that are zero are dim rather than gone, so the table does not
jump about between refreshes. ``aggregate`` does the heavy part (100,000 job
ads take most of a second) once, off the UI thread; the rows are drawn from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from backends.analysis.eta import Eta, dag_etas
from backends.analysis.jobs import (
    DagJobs,
    SiteCounts,
    dag_percent,
    dag_rows,
    hold_reasons,
    jobs_by_dag,
    jobs_by_site,
    jobs_total,
    stalled_dags,
)
from backends.model import Dag, DagStatus, Job, JobsSnapshot
from console.format import format_duration
from console.perfdata import Figure, FigureSpec
from console.ranges import Range
from console.render.common import Column, Context, Row, count_cell, table
from console.render.eta import eta_cell, eta_detail
from console.safe_text import strip_controls
from console.trends import Trends

#: Counts per site, as condor_watch_q colours them (held red, done green,
#: running cyan, idle yellow); the least important go first when space is short.
SITE_COLUMNS = (
    Column("Site"),
    Column("Idle", justify="right", priority=3),
    Column("Run", justify="right", priority=2),
    Column("Held", justify="right", priority=1),
    Column("Xfer", justify="right", priority=5),
    Column("Done", justify="right", priority=4),
    Column("Retried", justify="right", priority=6),
)
#: One row per run's DAG, as condor_watch_q shows a batch: its node jobs in
#: the queue by state, nodes done and in all, a progress bar, where it runs.
DAG_COLUMNS = (
    Column("Run"),
    Column("Idle", justify="right", priority=4),
    Column("Run", justify="right", priority=3),
    Column("Held", justify="right", priority=1),
    Column("Done", justify="right", priority=5),
    Column("Fail", justify="right", priority=2),
    Column("Total", justify="right", priority=6),
    Column("Progress", priority=2),
    #: When its nodes are all done, at the pace since it was submitted
    #: ("?": unknown, why in the row's detail, "ETA of").
    Column("ETA", justify="right", priority=6),
    Column("Site", priority=7, width=8, cut=True),
    Column("Age", justify="right", priority=8),
    Column("ETA of", priority=10),
)
TOTAL_KEY = "site:all"
TREND_STATES = (("running", "cyan"), ("idle", "yellow"), ("held", "red"))
DAGS_SHOWN = 15


_NO_JOBS = DagJobs(0, 0, 0, "-")


def trend_figure(state: str) -> str:
    return f"jobs.{state}"


@dataclass(frozen=True, slots=True)
class JobsView:
    """The figures of one snapshot, aggregated once (in the poll's worker)."""

    #: (row key, counts): every site, every schedd when there are several, all.
    counts: tuple[tuple[str, SiteCounts], ...]
    reasons: tuple[tuple[str, int], ...]
    dags: tuple[Dag, ...]
    #: Each DAG's node jobs in the queue, by (schedd, cluster).
    dag_jobs: Mapping[tuple[str, int], DagJobs]
    #: Each DAG's ETA (``analysis.eta.dag_eta``), by (schedd, cluster).
    etas: Mapping[tuple[str, int], Eta]


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


def aggregate(snapshot: JobsSnapshot) -> JobsView:
    return JobsView(
        counts=(
            *((f"site:{c.site}", c) for c in jobs_by_site(snapshot)),
            *((f"schedd:{c.site}", c) for c in _per_schedd(snapshot)),
            (TOTAL_KEY, jobs_total(snapshot)),
        ),
        reasons=tuple(hold_reasons(snapshot, top=3)),
        dags=tuple(dag_rows(snapshot)),
        dag_jobs=jobs_by_dag(snapshot),
        etas=dag_etas(snapshot),
    )


def progress_bar(dag: Dag, width: int = 10) -> Text:
    """Done in green, failed in red, the rest dim, like condor_watch_q; the
    bar and the percent round down, so only a DAG with every node done is full."""
    total = max(1, dag.nodes_total)
    done = width * dag.nodes_done // total
    failed = min(width - done, -(-width * dag.nodes_failed // total))
    bar = Text()
    bar.append("█" * done, style="green")
    bar.append("█" * failed, style="red")
    bar.append("░" * (width - done - failed), style="grey37")
    bar.append(f" {dag_percent(dag):3d}%")
    return bar


def site_rows(view: JobsView) -> list[Row]:
    """The totals first (all, then per schedd), then the sites: when the
    table is short and scrolls, what is on screen is the sum."""
    rows: list[Row] = []

    def rank(item: tuple[str, object]) -> int:
        key = item[0]
        return 0 if key == TOTAL_KEY else 1 if key.startswith("schedd:") else 2

    for key, counts in sorted(view.counts, key=rank):
        style = "bold" if key == TOTAL_KEY else "italic" if key.startswith("schedd:") else ""
        rows.append(
            (
                key,
                (
                    Text(strip_controls(counts.site), style=style),
                    count_cell(counts.idle, "yellow"),
                    count_cell(counts.running, "cyan"),
                    count_cell(counts.held, "bold red"),
                    count_cell(counts.transferring, "cyan"),
                    count_cell(counts.completed, "green"),
                    count_cell(counts.retried, "yellow"),
                ),
            )
        )
    return rows


def hold_lines(view: JobsView, trends: Trends | None = None) -> list[Text]:
    """The jobs trend (when the console has one) and the top hold reasons."""
    lines = []
    if trends is not None and len(trends.values(trend_figure("running"))) > 1:
        span = format_duration(trends.span(trend_figure("running")))
        trend = Text(f"Trend {span}", style="bold")
        for state, style in TREND_STATES:
            values = trends.values(trend_figure(state))
            trend.append(f" {state} ")
            trend.append(trends.spark(trend_figure(state), 12), style=style)
            trend.append(f" {min(values):.0f}..{max(values):.0f}", style="dim")
        lines.append(trend)
    if not view.reasons:
        lines.append(Text.assemble(("Held: ", "bold"), ("none", "green")))
    for reason, count in view.reasons:
        lines.append(
            Text.assemble(("Held ", "bold"), (f"{count:>5} ", "bold red"), strip_controls(reason))
        )
    return lines


def dag_key(dag: Dag) -> str:
    return f"dag:{dag.schedd}:{dag.cluster_id}"


def dag_rows_of(view: JobsView, now: datetime) -> list[Row]:
    rows: list[Row] = []
    for dag in view.dags:
        run = "-" if dag.run_number is None else str(dag.run_number)
        style = "" if not dag.finished else "dim"
        if dag.status is not DagStatus.OK:
            style = "red"
        queue = view.dag_jobs.get((dag.schedd, dag.cluster_id), _NO_JOBS)
        eta = view.etas.get((dag.schedd, dag.cluster_id))
        rows.append(
            (
                dag_key(dag),
                (
                    Text(run, style=style),
                    count_cell(queue.idle, "yellow"),
                    count_cell(queue.running, "cyan"),
                    count_cell(max(queue.held, dag.nodes_held), "bold red"),
                    count_cell(dag.nodes_done, "green"),
                    count_cell(dag.nodes_failed, "bold red"),
                    Text(str(dag.nodes_total)),
                    progress_bar(dag),
                    eta_cell(eta),
                    Text(strip_controls(queue.site), style="dim"),
                    Text(format_duration(now - dag.submitted_at)),
                    eta_detail(eta),
                ),
            )
        )
    return rows


def schedd_lines(snapshot: JobsSnapshot) -> list[Text]:
    """Unreachable schedds in red (their rows are their last data), skipped ads in yellow."""
    lines = [
        Text.assemble(
            ("✗ schedd unreachable: ", "bold red"),
            (strip_controls(name), "bold"),
            (" " + strip_controls(error), "red"),
        )
        for name, error in snapshot.schedd_errors
    ]
    lines.extend(Text(strip_controls(problem), style="yellow") for problem in snapshot.ad_problems)
    return lines


# ------------------------------------------------------------------ report


def to_rich(snapshot: JobsSnapshot, context: Context) -> RenderableType:
    view = aggregate(snapshot)
    parts: list[RenderableType] = [*schedd_lines(snapshot)]
    parts.append(table(SITE_COLUMNS, site_rows(view), title="jobs per site"))
    parts.extend(hold_lines(view))
    dags = dag_rows_of(view, context.now)
    if dags:
        parts.append(table(DAG_COLUMNS, dags[:DAGS_SHOWN], title=f"DAGs ({len(dags)})"))
    return Group(*parts)


def _counts_json(counts: SiteCounts) -> dict[str, Any]:
    return {
        "site": counts.site,
        "idle": counts.idle,
        "running": counts.running,
        "held": counts.held,
        "transferring": counts.transferring,
        "completed": counts.completed,
        "retried": counts.retried,
    }


def to_json(snapshot: JobsSnapshot | None, context: Context) -> dict[str, Any]:
    if snapshot is None:
        return {
            "totals": None,
            "sites": [],
            "dags": [],
            "hold_reasons": [],
            "schedds": [],
            "schedd_errors": [],
            "ad_problems": None,
        }
    return {
        "totals": _counts_json(jobs_total(snapshot)),
        "sites": [_counts_json(c) for c in jobs_by_site(snapshot)],
        "dags": [
            {
                "run": d.run_number,
                "batch": d.batch_name,
                "cluster": d.cluster_id,
                "status": d.status.name,
                "finished": d.finished,
                "done": d.nodes_done,
                "failed": d.nodes_failed,
                "queued": d.nodes_queued,
                "held": d.nodes_held,
                "total": d.nodes_total,
            }
            for d in dag_rows(snapshot)
        ],
        "hold_reasons": [{"reason": r, "count": n} for r, n in hold_reasons(snapshot)],
        "schedds": list(snapshot.schedds),
        "schedd_errors": [{"schedd": s, "error": e} for s, e in snapshot.schedd_errors],
        "ad_problems": len(snapshot.ad_problems),
    }


HELD = FigureSpec("jobs_held", "", "held jobs", "jobs.held")
STALLED = FigureSpec("dags_stalled", "", "DAGs with only held nodes left", "jobs.dags_stalled")
#: The figures of ``perfdata``, for ``check -w/-c``.
FIGURES = (HELD, STALLED)


def perfdata(snapshot: JobsSnapshot, context: Context) -> list[Figure]:
    thresholds = context.thresholds
    held = jobs_total(snapshot).held
    # The console only warns of stalled DAGs; a limit of 0 turns that off.
    stalled = thresholds.stalled_dags_warning
    return [
        HELD(
            held,
            warn=Range.at_least(thresholds.held_jobs_warning),
            crit=Range.at_least(thresholds.held_jobs_critical),
        ),
        STALLED(
            len(stalled_dags(snapshot)),
            warn=Range.at_least(stalled) if stalled > 0 else None,
        ),
    ]


def summary(snapshot: JobsSnapshot) -> str:
    return f"{jobs_total(snapshot).running} jobs running"


def trend_figures(snapshot: JobsSnapshot) -> dict[str, float | None]:
    total = jobs_total(snapshot)
    return {
        trend_figure("idle"): total.idle,
        trend_figure("running"): total.running,
        trend_figure("held"): total.held,
    }

"""Transfers: one row per RSE, the stuck-rules line; for the pane and the report."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from backends.analysis.eta import Eta
from backends.analysis.safety import DEFAULT_POLICY, SafetyPolicy
from backends.analysis.transfers import (
    RseSummary,
    rules_in,
    stuck_rules,
    stuck_since,
    summarize_transfers,
)
from backends.model import RuleState, TransfersSnapshot
from console.format import format_bytes, format_duration, format_rate
from console.perfdata import Figure, FigureSpec
from console.ranges import Range
from console.render.common import Column, Context, Row, count_cell, hours, rounded, table
from console.render.eta import (
    RISK_COLUMNS,
    RISK_SHOWN,
    TransfersEtas,
    eta_cell,
    eta_detail,
    risk_line,
    risk_rows,
    transfers_etas,
)
from console.safe_text import strip_controls
from console.trends import Trends

#: "Oldest": how long the oldest stuck rule has been stuck; "In/s": incoming
#: throughput and its trend; "Exp": LNGS rules expiring within 24 h; "ETA":
#: when the rules replicating there are all done ("?": unknown, why in the
#: row's detail, "ETA of").
COLUMNS = (
    Column("RSE"),
    Column("Used", justify="right", priority=7),
    Column("OK", justify="right", priority=3),
    Column("Repl", justify="right", priority=4),
    Column("Stuck", justify="right", priority=1),
    Column("Oldest", justify="right", priority=2),
    Column("In/s", justify="right", priority=6),
    Column("Exp", justify="right", priority=5),
    Column("ETA", justify="right", priority=6),
    #: What the In/s sparkline spans: in the row's detail line, and with ``w``.
    Column("In/s trend", priority=9),
    #: What the ETA was computed from, or why it is unknown (detail, ``w``).
    Column("ETA of", priority=10),
)
TREND_WIDTH = 5
STUCK_RULES_LISTED = 50
STUCK_RULES_SHOWN = 10


def throughput_figure(rse: str) -> str:
    """The trends' name of an RSE's incoming throughput."""
    return f"rse.{rse}.throughput"


def rse_row(
    rse: RseSummary, now: datetime, trends: Trends | None = None, eta: Eta | None = None
) -> Row:
    name = Text(strip_controls(rse.name), style="" if rse.available else "bold red")
    if not rse.available:
        name.append(" ✗")
    used = Text(format_bytes(rse.used_bytes))
    if rse.used_bytes is not None and rse.total_bytes:
        fill = rse.used_bytes / rse.total_bytes
        used.stylize("bold red" if fill >= 0.95 else "yellow" if fill >= 0.85 else "")
    if rse.oldest_stuck is not None:
        oldest = Text(format_duration(now - stuck_since(rse.oldest_stuck)), style="red")
    else:
        oldest = Text("-", style="dim")
    rate = Text(format_rate(rse.throughput_bps).rjust(9))
    if trends is not None:
        rate.append(" " + trends.spark(throughput_figure(rse.name), TREND_WIDTH), style="cyan")
    legend = trends.legend(throughput_figure(rse.name), format_rate) if trends else ""
    return (
        rse.name,
        (
            name,
            used,
            count_cell(rse.rules.get(RuleState.OK, 0), "green"),
            count_cell(rse.rules.get(RuleState.REPLICATING, 0), "cyan"),
            count_cell(rse.rules.get(RuleState.STUCK, 0), "bold red"),
            oldest,
            rate,
            count_cell(rse.expiring_soon, "yellow"),
            eta_cell(eta),
            Text(legend or "-", style="dim"),
            eta_detail(eta),
        ),
    )


def rse_rows(
    snapshot: TransfersSnapshot,
    now: datetime,
    trends: Trends | None = None,
    etas: Mapping[str, Eta] | None = None,
) -> list[Row]:
    """One row per RSE; ``etas``: ``rse_etas`` of the snapshot (made here without)."""
    if etas is None:
        etas = transfers_etas(snapshot).rses
    return [
        rse_row(rse, now, trends, etas.get(rse.name))
        for rse in summarize_transfers(snapshot, now=now)
    ]


def stuck_runs(snapshot: TransfersSnapshot, now: datetime) -> dict[str, int]:
    """RSE -> run of its oldest stuck rule (Enter on an RSE row opens that run)."""
    return {
        rse.name: rse.oldest_stuck.run_number
        for rse in summarize_transfers(snapshot, now=now)
        if rse.oldest_stuck is not None and rse.oldest_stuck.run_number is not None
    }


def stuck_line(snapshot: TransfersSnapshot) -> Text:
    """How many rules are stuck and the oldest one's run, RSE and error; rules
    suspended or waiting for approval; records the source could not read."""
    stuck = stuck_rules(snapshot)
    line = Text(no_wrap=True, overflow="ellipsis")
    if stuck:
        first = stuck[0]
        noun = "stuck rule" if len(stuck) == 1 else "stuck rules"
        line.append(f"{len(stuck)} {noun}", style="bold red")
        line.append(" · oldest: ")
        if first.run_number is not None:
            line.append(f"run {first.run_number} ")
        line.append(f"→ {strip_controls(first.rse)}: ")
        line.append(strip_controls(first.error or "no error given"), style="red")
    else:
        line.append("No stuck rules", style="green")
    suspended = len(rules_in(snapshot, RuleState.SUSPENDED))
    waiting = len(rules_in(snapshot, RuleState.WAITING_APPROVAL))
    if suspended:
        line.append(f" · {suspended} suspended", style="yellow")
    if waiting:
        line.append(f" · {waiting} waiting approval", style="yellow")
    if snapshot.malformed:
        line.append(f" · {len(snapshot.malformed)} unreadable records", style="yellow")
    return line


#: Every stuck or suspended rule, as the Rucio web UI lists them.
STUCK_COLUMNS = (
    Column("Run"),
    Column("RSE", priority=1),
    Column("State", priority=3),
    Column("Locks ok/repl/stuck", justify="right", priority=5),
    Column("For", justify="right", priority=2),
    Column("Rule", priority=6, width=8, cut=True),
    Column("Error", priority=4, width=12, cut=True),
)


def stuck_rows(snapshot: TransfersSnapshot, now: datetime) -> list[Row]:
    """Every stuck rule (oldest first), then every suspended one."""
    suspended = sorted(rules_in(snapshot, RuleState.SUSPENDED), key=lambda r: (r.updated_at, r.id))
    rows: list[Row] = []
    for rule in [*stuck_rules(snapshot), *suspended]:
        run = rule.run_number if rule.run_number is not None else rule.run_name
        state_style = "bold red" if rule.state is RuleState.STUCK else "yellow"
        rows.append(
            (
                rule.id,
                (
                    Text("-" if run is None else strip_controls(run)),
                    Text(strip_controls(rule.rse)),
                    Text(rule.state.value, style=state_style),
                    Text(f"{rule.locks_ok}/{rule.locks_replicating}/{rule.locks_stuck}"),
                    Text(format_duration(now - stuck_since(rule))),
                    Text(strip_controls(rule.id), style="dim"),
                    Text(strip_controls(rule.error or "-"), style="red"),
                ),
            )
        )
    return rows


def run_of_rule(snapshot: TransfersSnapshot, rule_id: str) -> int | None:
    """The run a rule row names (Enter on it opens the run)."""
    return next((r.run_number for r in snapshot.rules if r.id == rule_id), None)


# ------------------------------------------------------------------ report


def prepare(snapshot: TransfersSnapshot, policy: SafetyPolicy = DEFAULT_POLICY) -> TransfersEtas:
    """The ETAs the pane shows (in the poll's worker), and the passes over
    the rules the pane reads made here, once (``analysis.transfers``): the
    main thread finds them made."""
    summarize_transfers(snapshot, snapshot.taken_at)
    stuck_rules(snapshot)
    return transfers_etas(snapshot, policy)


def to_rich(snapshot: TransfersSnapshot, context: Context) -> RenderableType:
    etas = transfers_etas(snapshot, context.policy)
    parts: list[RenderableType] = [
        table(COLUMNS, rse_rows(snapshot, context.now, etas=etas.rses), title="RSEs"),
        stuck_line(snapshot),
        risk_line(etas.at_risk, snapshot.taken_at),
    ]
    stuck = stuck_rows(snapshot, context.now)
    if stuck:
        parts.append(
            table(
                STUCK_COLUMNS,
                stuck[:STUCK_RULES_SHOWN],
                title=f"stuck rules ({len(stuck)}, oldest first)",
            )
        )
    if etas.at_risk:
        rows = risk_rows(etas.at_risk, snapshot.taken_at)
        parts.append(
            table(
                RISK_COLUMNS,
                rows[:RISK_SHOWN],
                title=f"data at risk ({len(rows)}, soonest expiry first)",
            )
        )
    return Group(*parts)


def to_json(snapshot: TransfersSnapshot | None, context: Context) -> dict[str, Any]:
    if snapshot is None:
        return {"rses": [], "stuck_rules": [], "stuck_total": None}
    now = context.now
    rses = []
    for summary in summarize_transfers(snapshot, now):
        oldest = summary.oldest_stuck
        rses.append(
            {
                "name": summary.name,
                "region": summary.region,
                "available": summary.available,
                "used_bytes": summary.used_bytes,
                "total_bytes": summary.total_bytes,
                "throughput_bps": rounded(summary.throughput_bps, 1),
                "rules": {state.value: n for state, n in summary.rules.items()},
                "locks_ok": summary.locks_ok,
                "locks_total": summary.locks_total,
                "oldest_stuck": None
                if oldest is None
                else {
                    "id": oldest.id,
                    "run": oldest.run_number,
                    "stuck_hours": hours(now - stuck_since(oldest)),
                },
                "expiring_soon": summary.expiring_soon,
            }
        )
    stuck = stuck_rules(snapshot)
    return {
        "rses": rses,
        "stuck_total": len(stuck),
        "stuck_rules": [
            {
                "id": rule.id,
                "run": rule.run_number,
                "rse": rule.rse,
                "error": rule.error,
                "stuck_hours": hours(now - stuck_since(rule)),
                "locks_ok": rule.locks_ok,
                "locks_total": rule.locks_total,
            }
            for rule in stuck[:STUCK_RULES_LISTED]
        ],
    }


STUCK = FigureSpec("rules_stuck", "", "rules in STUCK, at every RSE")
STUCK_AGE = FigureSpec(
    "rules_stuck_age",
    "s",
    "how long the oldest stuck rule has been stuck, at any RSE (0: none is)",
    "rse.*.stuck",
)
#: The figures of ``perfdata``, for ``check -w/-c``.
FIGURES = (STUCK, STUCK_AGE)


def perfdata(snapshot: TransfersSnapshot, context: Context) -> list[Figure]:
    thresholds = context.thresholds
    stuck = stuck_rules(snapshot)
    # The oldest stuck rule of all is the oldest of its RSE: that RSE's alarm
    # is the one this figure stands for.
    oldest = stuck[0] if stuck else None
    age = max(0.0, (context.now - stuck_since(oldest)).total_seconds()) if oldest else 0.0
    return [
        STUCK(len(stuck)),
        STUCK_AGE(
            age,
            warn=Range.above(thresholds.rule_stuck_warning_hours * 3600),
            crit=Range.above(thresholds.rule_stuck_critical_hours * 3600),
            minimum=0,
            alarm=f"rse.{oldest.rse}.stuck" if oldest else None,
            words=f"{format_duration(timedelta(seconds=age))}"
            + (f" at {strip_controls(oldest.rse)}" if oldest else ""),
        ),
    ]


def summary(snapshot: TransfersSnapshot) -> str:
    return f"{len(snapshot.rules)} rules"


def trend_figures(snapshot: TransfersSnapshot) -> dict[str, float | None]:
    figures: dict[str, float | None] = {
        throughput_figure(rse.name): rse.throughput_bps for rse in snapshot.rses
    }
    figures["transfers.stuck"] = len(stuck_rules(snapshot))
    return figures

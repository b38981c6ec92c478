"""ETAs as the panes and the reports show them (``backends.analysis.eta``):
a cell, a phrase, JSON, and the top-level ``etas`` of ``report --json``.

An ETA reads "12 min" (known) or "?" (unknown) in a table cell, with the
basis or the reason in the row's detail; "in 12 min" / "unknown (reason)"
in a line. The same words on screen and in the report.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rich.text import Text

from backends.analysis.eta import (
    AtRisk,
    Eta,
    buffer_full_eta,
    dag_etas,
    data_at_risk,
    rse_etas,
    rule_etas,
    tape_drain_eta,
)
from backends.analysis.jobs import dag_rows
from backends.analysis.safety import DEFAULT_POLICY, SafetyPolicy
from backends.model import (
    BufferSnapshot,
    JobsSnapshot,
    Kind,
    RuleState,
    Snapshot,
    TapeSnapshot,
    TransfersSnapshot,
)
from console.format import format_duration
from console.render.common import Column, Row, iso, rounded
from console.safe_text import strip_controls

UNKNOWN = "?"


def eta_cell(eta: Eta | None) -> Text:
    """A table cell: the duration, "?" (unknown) in yellow, "-" (none)."""
    if eta is None:
        return Text("-", style="dim")
    if eta.seconds is None:
        return Text(UNKNOWN, style="yellow")
    if eta.seconds == 0:
        return Text("done", style="green")
    return Text(format_duration(eta.seconds))


def eta_words(eta: Eta | None) -> str:
    """A phrase: "in 12 min", "unknown (no tape rate reported)", "-"."""
    if eta is None:
        return "-"
    if eta.seconds is None:
        return f"unknown ({strip_controls(eta.basis)})"
    return f"in {format_duration(eta.seconds)}"


def eta_detail(eta: Eta | None) -> Text:
    """The detail-line column: what it was computed from, or why unknown."""
    if eta is None:
        return Text("-", style="dim")
    if eta.seconds is None:
        return Text("unknown: " + strip_controls(eta.basis), style="yellow")
    return Text(strip_controls(eta.basis), style="dim")


def eta_json(eta: Eta | None) -> dict[str, Any] | None:
    if eta is None:
        return None
    return {
        "known": eta.known,
        "seconds": rounded(eta.seconds, 1),
        "at": iso(eta.at),
        #: What it was computed from (known), or why it is unknown.
        "basis": eta.basis,
    }


# ------------------------------------------------------------ data at risk


def risk_line(risk: list[AtRisk] | None, now: datetime) -> Text:
    """The transfers pane's data-at-risk line: how many runs lose their
    LNGS_USERDISK copy before their other copies exist, the first one and when."""
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append("At risk: ", style="bold")
    if not risk:
        line.append("no LNGS copy expires before its copies are made", style="green")
        return line
    first = risk[0]
    noun = "run" if len(risk) == 1 else "runs"
    line.append(f"{len(risk)} {noun}", style="bold red")
    line.append(" · first: run ")
    line.append(strip_controls(first.run))
    line.append(f"'s LNGS copy {expiry_words(first, now)}, ")
    line.append(strip_controls(first.reason()), style="yellow")
    return line


def expiry_words(risk: AtRisk, now: datetime) -> str:
    """ "expires in 3.0 d" / "expired 2.0 h ago" (the LNGS_USERDISK copy)."""
    left = risk.expires_at - now
    if left <= timedelta(0):
        return f"expired {format_duration(-left)} ago"
    return f"expires in {format_duration(left)}"


#: The report's table of the runs at risk (the pane has the line).
RISK_COLUMNS = (
    Column("Run"),
    Column("LNGS copy", justify="right", priority=1),
    Column("Late copies", priority=2, width=20, cut=True),
)
RISK_SHOWN = 10


def risk_rows(risk: list[AtRisk], now: datetime) -> list[Row]:
    """One row per run at risk, soonest expiry first."""
    return [
        (
            r.rule_id,
            (
                Text(strip_controls(r.run)),
                Text(expiry_words(r, now), style="red" if r.expires_at <= now else "yellow"),
                Text(strip_controls(r.reason())),
            ),
        )
        for r in risk
    ]


def at_risk_json(risk: AtRisk, now: datetime) -> dict[str, Any]:
    return {
        "run": risk.run_number if risk.run_number is not None else risk.run_name,
        "rule": risk.rule_id,
        "expires_at": iso(risk.expires_at),
        "expires_in_seconds": rounded((risk.expires_at - now).total_seconds(), 1),
        "late": [{"slot": slot, **(eta_json(eta) or {})} for slot, eta in risk.late],
    }


# ------------------------------------------------------------ the whole set


@dataclass(frozen=True, slots=True)
class TransfersEtas:
    """What the transfers pane shows of the ETAs, made in the poll's worker."""

    #: Every rule not OK, by id.
    rules: Mapping[str, Eta]
    #: When the rules replicating into each RSE are done, by RSE.
    rses: Mapping[str, Eta]
    at_risk: list[AtRisk]


def transfers_etas(snap: TransfersSnapshot, policy: SafetyPolicy = DEFAULT_POLICY) -> TransfersEtas:
    rules = rule_etas(snap)
    return TransfersEtas(rules, rse_etas(snap, rules), data_at_risk(snap, policy, rules))


def etas_json(
    snapshots: Mapping[Kind, Snapshot | None],
    window: timedelta,
    policy: SafetyPolicy = DEFAULT_POLICY,
) -> dict[str, Any]:
    """``report --json``'s ``etas``: every ETA of every pane, None (or empty)
    where the pane has no data."""
    buffer = snapshots.get(Kind.BUFFER)
    tape = snapshots.get(Kind.TAPE)
    transfers = snapshots.get(Kind.TRANSFERS)
    jobs = snapshots.get(Kind.JOBS)
    out: dict[str, Any] = {
        "buffer_full": eta_json(buffer_full_eta(buffer, window))
        if isinstance(buffer, BufferSnapshot)
        else None,
        "tape_drain": eta_json(tape_drain_eta(tape)) if isinstance(tape, TapeSnapshot) else None,
        "rses": {},
        "rules": [],
        "dags": [],
        "data_at_risk": None,
    }
    if isinstance(transfers, TransfersSnapshot):
        etas = transfers_etas(transfers, policy)
        out["rses"] = {name: eta_json(eta) for name, eta in etas.rses.items()}
        out["rules"] = [
            {
                "id": rule.id,
                "run": rule.run_number if rule.run_number is not None else rule.run_name,
                "rse": rule.rse,
                **(eta_json(etas.rules[rule.id]) or {}),
            }
            for rule in transfers.rules
            if rule.state is RuleState.REPLICATING
        ]
        out["data_at_risk"] = [at_risk_json(r, transfers.taken_at) for r in etas.at_risk]
    if isinstance(jobs, JobsSnapshot):
        dags = dag_etas(jobs)
        out["dags"] = [
            {
                "run": dag.run_number,
                "cluster": dag.cluster_id,
                "schedd": dag.schedd,
                **(eta_json(dags[(dag.schedd, dag.cluster_id)]) or {}),
            }
            for dag in dag_rows(jobs)
        ]
    return out

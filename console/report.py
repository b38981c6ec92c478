"""One-shot views of all panes: ``report`` (Rich tables or JSON) and ``check`` (Nagios).

Both are built from the same ``collect_once`` results and the same analysis
functions as the TUI, so the three never disagree. Everything that came from a
backend is passed through ``clean`` before it is printed, and through ``Text``
(never markup) when it goes into a Rich table.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from backends.analysis.alarms import Alarm, Severity, data_time, evaluate, overall
from backends.analysis.buffer import buffer_forecast
from backends.analysis.jobs import dag_for_run, dag_rows, hold_reasons, jobs_by_site, jobs_total
from backends.analysis.safety import (
    copies_label,
    copies_overdue,
    count_malformed,
    data_safety,
    processing_state,
    purge_verdict,
    run_problems,
    verdict_word,
)
from backends.analysis.tape import failed_uploads, summarize_tape
from backends.analysis.transfers import stuck_rules, stuck_since, summarize_transfers
from backends.analysis.units import format_bytes, format_duration, format_rate
from backends.model import (
    BufferSnapshot,
    JobsSnapshot,
    Kind,
    RuleState,
    RunsSnapshot,
    TapeSnapshot,
    TransfersSnapshot,
)
from console.collect import Result
from console.config import Config
from console.format import fmt_verdict
from console.safe_text import clean

NEWEST_RUNS = 20
STUCK_RULES_LISTED = 50


# ------------------------------------------------------------------ shared


def reference_time(results: Mapping[Kind, Result]) -> datetime:
    """The time the report speaks of (see ``alarms.data_time``)."""
    return data_time(r.snapshot for r in results.values())


def alarms_for(results: Mapping[Kind, Result], config: Config) -> list[Alarm]:
    snapshots = {kind: r.snapshot for kind, r in results.items()}
    errors = {kind: r.error for kind, r in results.items()}
    return evaluate(
        snapshots, errors, config.thresholds, reference_time(results), policy=config.policy
    )


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _hours(td: timedelta | None, digits: int = 3) -> float | None:
    return round(td.total_seconds() / 3600, digits) if td is not None else None


def _round(x: float | None, digits: int = 3) -> float | None:
    return round(x, digits) if x is not None else None


def _snap(results: Mapping[Kind, Result], kind: Kind):
    result = results.get(kind)
    return result.snapshot if result is not None else None


def _head(results: Mapping[Kind, Result], kind: Kind) -> dict[str, Any]:
    result = results.get(kind)
    if result is None:
        return {"source": None, "taken_at": None, "error": "not collected"}
    snap = result.snapshot
    return {
        "source": result.source,
        "taken_at": _iso(snap.taken_at) if snap is not None else None,
        "error": result.error,
    }


# -------------------------------------------------------------------- JSON


def _buffer_json(snap: BufferSnapshot | None, config: Config) -> dict[str, Any]:
    if snap is None:
        keys = (
            "used_bytes",
            "free_bytes",
            "total_bytes",
            "fill_percent",
            "fill_rate_bps",
            "time_to_full_hours",
            "autonomy_days",
            "daq_write_bps",
            "uplink_up",
            "mount",
        )
        return {**dict.fromkeys(keys), "malformed": []}
    f = buffer_forecast(snap, timedelta(hours=config.thresholds.buffer_rate_window_hours))
    return {
        "used_bytes": f.used_bytes,
        "free_bytes": f.free_bytes,
        "total_bytes": f.total_bytes,
        "fill_percent": round(f.fill_fraction * 100, 2),
        "fill_rate_bps": _round(f.fill_rate_bps, 1),
        "time_to_full_hours": _hours(f.time_to_full),
        "autonomy_days": round(f.autonomy.total_seconds() / 86400, 3) if f.autonomy else None,
        "daq_write_bps": _round(snap.daq_write_bps, 1),
        "uplink_up": snap.uplink_up,
        "mount": snap.mount,
        "malformed": list(snap.malformed),
    }


def _transfers_json(snap: TransfersSnapshot | None, now: datetime) -> dict[str, Any]:
    if snap is None:
        return {"rses": [], "stuck_rules": [], "stuck_total": None}
    rses = []
    for s in summarize_transfers(snap, now):
        oldest = s.oldest_stuck
        rses.append(
            {
                "name": s.name,
                "region": s.region,
                "available": s.available,
                "used_bytes": s.used_bytes,
                "total_bytes": s.total_bytes,
                "throughput_bps": _round(s.throughput_bps, 1),
                "rules": {state.value: n for state, n in s.rules.items()},
                "locks_ok": s.locks_ok,
                "locks_total": s.locks_total,
                "oldest_stuck": None
                if oldest is None
                else {
                    "id": oldest.id,
                    "run": oldest.run_number,
                    "stuck_hours": _hours(now - stuck_since(oldest)),
                },
                "expiring_soon": s.expiring_soon,
            }
        )
    stuck = stuck_rules(snap)
    return {
        "rses": rses,
        "stuck_total": len(stuck),
        "stuck_rules": [
            {
                "id": r.id,
                "run": r.run_number,
                "rse": r.rse,
                "error": r.error,
                "stuck_hours": _hours(now - stuck_since(r)),
                "locks_ok": r.locks_ok,
                "locks_total": r.locks_total,
            }
            for r in stuck[:STUCK_RULES_LISTED]
        ],
    }


def _tape_json(snap: TapeSnapshot | None, now: datetime, config: Config) -> dict[str, Any]:
    keys = (
        "queued",
        "queued_bytes",
        "in_progress",
        "verified_runs",
        "verified_bytes",
        "failed_recent",
        "last_success",
        "rate_bps",
    )
    if snap is None:
        return {**dict.fromkeys(keys), "failed_uploads": [], "malformed": []}
    window = timedelta(hours=config.thresholds.tape_failure_window_hours)
    s = summarize_tape(snap, now, window)
    return {
        "queued": s.queued,
        "queued_bytes": s.queued_bytes,
        "in_progress": s.in_progress,
        "verified_runs": s.verified_runs,
        "verified_bytes": s.verified_bytes,
        "failed_recent": s.failed_recent,
        "last_success": _iso(s.last_success),
        "rate_bps": _round(s.rate_bps, 1),
        "failed_uploads": [
            {
                "run": u.run_number,
                "bytes": u.bytes,
                "return_code": u.return_code,
                "message": u.message,
                "at": _iso(u.finished_at or u.updated_at),
                "objects_inspected": u.objects_inspected,
                "objects_backed_up": u.objects_backed_up,
                "objects_failed": u.objects_failed,
                "bytes_transferred": u.bytes_transferred,
                "elapsed_seconds": u.elapsed_seconds,
            }
            for u in failed_uploads(snap)
        ],
        "malformed": list(snap.malformed),
    }


def _counts_json(c) -> dict[str, Any]:
    return {
        "site": c.site,
        "idle": c.idle,
        "running": c.running,
        "held": c.held,
        "transferring": c.transferring,
        "completed": c.completed,
        "retried": c.retried,
    }


def _jobs_json(snap: JobsSnapshot | None) -> dict[str, Any]:
    if snap is None:
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
        "totals": _counts_json(jobs_total(snap)),
        "sites": [_counts_json(c) for c in jobs_by_site(snap)],
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
            for d in dag_rows(snap)
        ],
        "hold_reasons": [{"reason": r, "count": n} for r, n in hold_reasons(snap)],
        "schedds": list(snap.schedds),
        "schedd_errors": [{"schedd": s, "error": e} for s, e in snap.schedd_errors],
        "ad_problems": len(snap.ad_problems),
    }


def _runs_json(
    snap: RunsSnapshot | None, jobs: JobsSnapshot | None, now: datetime, config: Config
) -> dict[str, Any]:
    if snap is None:
        return {
            "count": None,
            "data_taking": None,
            "unsafe": None,
            "unsafe_old": None,
            "failed": None,
            "malformed": None,
            "newest": [],
            "left_out": None,
        }
    policy = config.policy
    dags = dag_for_run(jobs) if jobs is not None else {}
    cutoff = now - timedelta(hours=config.thresholds.unsafe_after_hours)
    unsafe = unsafe_old = failed = 0
    for run in snap.runs:
        verdict = data_safety(run, policy)
        if not verdict.safe:
            unsafe += 1
            unsafe_old += copies_overdue(run, cutoff)
            failed += bool(verdict.failed)
    newest = sorted(snap.runs, key=lambda r: r.number, reverse=True)[:NEWEST_RUNS]
    rows = []
    for run in newest:
        safety = data_safety(run, policy)
        purge = purge_verdict(run, policy)
        rows.append(
            {
                "number": run.number,
                "name": run.name,
                "source": run.source,
                "science_run": run.science_run,
                "start": _iso(run.start),
                "end": _iso(run.end),
                "events": run.events,
                "size_bytes": run.raw_size_bytes,
                "copies": copies_label(run, policy),
                "processing": processing_state(run, dags.get(run.number)).value,
                "safe": safety.safe,
                "verdict": verdict_word(safety, copies_overdue(run, cutoff)),
                "missing": list(safety.missing),
                "failed": list(safety.failed),
                "safety_reason": safety.reason,
                "purge_allowed": purge.allowed,
                "on_buffer": purge.on_buffer,
                "purge_reason": purge.reason,
                "malformed": list(run_problems(run, policy)),
            }
        )
    return {
        "count": len(snap.runs),
        "data_taking": snap.data_taking,
        "unsafe": unsafe,
        "unsafe_old": unsafe_old,
        "failed": failed,
        "malformed": count_malformed(snap.runs, policy),
        "newest": rows,
        #: The runs not listed in "newest" (``xenon-console audit`` lists every run).
        "left_out": len(snap.runs) - len(rows),
    }


def alarm_json(alarm: Alarm) -> dict[str, Any]:
    return {
        "key": alarm.key,
        "severity": alarm.severity.name,
        "kind": alarm.kind.value if alarm.kind is not None else None,
        "title": alarm.title,
        "detail": alarm.detail,
        "since": _iso(alarm.since),
        "hint": alarm.hint,
    }


def report_data(results: Mapping[Kind, Result], config: Config) -> dict[str, Any]:
    """The whole report as JSON-ready data (texts from backends as they came)."""
    now = reference_time(results)
    alarms = alarms_for(results, config)
    jobs = _snap(results, Kind.JOBS)
    return {
        "now": now.isoformat(),
        "status": overall(alarms).name,
        "buffer": {
            **_head(results, Kind.BUFFER),
            **_buffer_json(_snap(results, Kind.BUFFER), config),
        },
        "transfers": {
            **_head(results, Kind.TRANSFERS),
            **_transfers_json(_snap(results, Kind.TRANSFERS), now),
        },
        "tape": {**_head(results, Kind.TAPE), **_tape_json(_snap(results, Kind.TAPE), now, config)},
        "jobs": {**_head(results, Kind.JOBS), **_jobs_json(jobs)},
        "runs": {
            **_head(results, Kind.RUNS),
            **_runs_json(_snap(results, Kind.RUNS), jobs, now, config),
        },
        "alarms": [alarm_json(a) for a in alarms],
    }


# -------------------------------------------------------------------- Rich

SEVERITY_STYLE = {
    Severity.OK: "green",
    Severity.WARNING: "yellow",
    Severity.CRITICAL: "bold red",
    Severity.UNKNOWN: "magenta",
}


def _t(value: object, style: str = "") -> Text:
    """Untrusted text as a plain Rich Text: no markup, no control sequences."""
    return Text("-" if value is None else clean(value), style=style)


def _num(n: int | None, style: str = "") -> Text:
    return Text("-" if n is None else f"{n:,}", style=style if n else "dim")


def _section_title(kind: Kind, result: Result | None) -> Text:
    title = Text(kind.value.upper(), style="bold")
    if result is not None:
        title.append(" from ", style="dim")
        title.append(clean(result.source))
        if result.snapshot is not None:
            title.append(f" at {result.snapshot.taken_at:%Y-%m-%d %H:%M:%S}", style="dim")
        if result.error is not None:
            title.append("  error: ", style="bold red")
            title.append(clean(result.error), style="red")
    return title


def _buffer_view(snap: BufferSnapshot, config: Config):
    f = buffer_forecast(snap, timedelta(hours=config.thresholds.buffer_rate_window_hours))
    t = config.thresholds
    percent = f.fill_fraction * 100
    style = (
        "bold red"
        if percent >= t.buffer_critical_percent
        else "yellow"
        if percent >= t.buffer_warning_percent
        else "green"
    )
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="dim", no_wrap=True)
    table.add_column()
    table.add_row("mount", _t(snap.mount))
    table.add_row(
        "used",
        Text(
            f"{format_bytes(f.used_bytes)} of {format_bytes(f.total_bytes)} ({percent:.1f} %)",
            style=style,
        ),
    )
    table.add_row("free", Text(format_bytes(f.free_bytes)))
    table.add_row("net fill rate", Text(format_rate(f.fill_rate_bps)))
    table.add_row(
        "time to full", Text(format_duration(f.time_to_full) if f.time_to_full else "not filling")
    )
    table.add_row("DAQ writes", Text(format_rate(snap.daq_write_bps)))
    table.add_row("autonomy (uplink down)", Text(format_duration(f.autonomy)))
    uplink = {True: Text("up", "green"), False: Text("DOWN", "bold red"), None: Text("unknown")}
    table.add_row("uplink", uplink[snap.uplink_up])
    return table


def _transfers_view(snap: TransfersSnapshot, now: datetime):
    table = Table(title="RSEs", title_justify="left")
    table.add_column("RSE", no_wrap=True)
    for col in ("up", "OK", "repl", "STUCK", "susp", "locks ok", "in/s", "exp<24h"):
        table.add_column(col, justify="right", no_wrap=True)
    table.add_column("oldest stuck", no_wrap=True)
    for s in summarize_transfers(snap, now):
        oldest = s.oldest_stuck
        table.add_row(
            _t(s.name),
            Text("yes", "green") if s.available else Text("NO", "bold red"),
            _num(s.rules[RuleState.OK], "green"),
            _num(s.rules[RuleState.REPLICATING], "cyan"),
            _num(s.rules[RuleState.STUCK], "bold red"),
            _num(s.rules[RuleState.SUSPENDED], "yellow"),
            Text(f"{s.progress:.1%}"),
            Text(format_rate(s.throughput_bps)),
            _num(s.expiring_soon, "yellow"),
            Text("-")
            if oldest is None
            else Text(f"{format_duration(now - stuck_since(oldest))} (run {oldest.run_number})"),
        )
    parts: list[Any] = [table]
    stuck = stuck_rules(snap)
    if stuck:
        st = Table(title=f"stuck rules ({len(stuck)}, oldest first)", title_justify="left")
        for col in ("rule", "run", "RSE", "stuck for", "locks"):
            st.add_column(col, no_wrap=True)
        st.add_column("error")
        for r in stuck[:10]:
            st.add_row(
                _t(r.id[:12]),
                _t(r.run_number),
                _t(r.rse),
                Text(format_duration(now - stuck_since(r))),
                Text(f"{r.locks_ok}/{r.locks_total}"),
                _t(r.error, "red"),
            )
        parts.append(st)
    return Group(*parts)


def _tape_view(snap: TapeSnapshot, now: datetime, config: Config):
    s = summarize_tape(snap, now, timedelta(hours=config.thresholds.tape_failure_window_hours))
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="dim")
    table.add_column()
    table.add_row("queued", Text(f"{s.queued} runs, {format_bytes(s.queued_bytes)}"))
    table.add_row("uploading/verifying", Text(str(s.in_progress)))
    table.add_row("verified", Text(f"{s.verified_runs:,} runs, {format_bytes(s.verified_bytes)}"))
    table.add_row(
        "failed (recent)", Text(str(s.failed_recent), "bold red" if s.failed_recent else "green")
    )
    last = (
        "-"
        if s.last_success is None
        else (f"{s.last_success:%Y-%m-%d %H:%M} ({format_duration(now - s.last_success)} ago)")
    )
    table.add_row("last success", Text(last))
    table.add_row("rate", Text(format_rate(s.rate_bps)))
    parts: list[Any] = [table]
    failed = failed_uploads(snap)
    if failed:
        ft = Table(title="failed uploads (newest first)", title_justify="left")
        for col in ("run", "at", "rc", "message"):
            ft.add_column(col)
        for u in failed[:10]:
            ft.add_row(
                _t(u.run_number),
                Text(f"{u.finished_at or u.updated_at:%m-%d %H:%M}"),
                _t(u.return_code),
                _t(u.message, "red"),
            )
        parts.append(ft)
    return Group(*parts)


def _jobs_view(snap: JobsSnapshot):
    table = Table(title="jobs per site", title_justify="left")
    cols = (
        ("site", ""),
        ("idle", "yellow"),
        ("running", "cyan"),
        ("held", "bold red"),
        ("transferring", "cyan"),
        ("completed", "green"),
        ("retried", ""),
    )
    for name, _ in cols:
        table.add_column(name, justify="left" if name == "site" else "right")
    for c in [*jobs_by_site(snap), jobs_total(snap)]:
        table.add_row(
            _t(c.site, "bold" if c.site == "all" else ""),
            *(_num(getattr(c, name), style) for name, style in cols[1:]),
        )
    parts: list[Any] = [table]
    dags = dag_rows(snap)
    if dags:
        dt = Table(title=f"DAGs ({len(dags)})", title_justify="left")
        for col in ("run", "status", "done", "failed", "queued", "held", "total", "progress"):
            dt.add_column(col, justify="left" if col in ("run", "status") else "right")
        for d in dags[:15]:
            dt.add_row(
                _t(d.run_number if d.run_number is not None else d.batch_name),
                Text(("finished " if d.finished else "") + d.status.name.lower()),
                _num(d.nodes_done, "green"),
                _num(d.nodes_failed, "bold red"),
                _num(d.nodes_queued, "cyan"),
                _num(d.nodes_held, "bold red"),
                Text(str(d.nodes_total)),
                Text(f"{d.progress:.0%}"),
            )
        parts.append(dt)
    reasons = hold_reasons(snap)
    if reasons:
        ht = Table(title="hold reasons", title_justify="left")
        ht.add_column("jobs", justify="right")
        ht.add_column("reason")
        for reason, n in reasons:
            ht.add_row(Text(str(n)), _t(reason))
        parts.append(ht)
    return Group(*parts)


def _purge_text(allowed: bool, on_buffer: bool, reason: str) -> Text:
    if allowed:
        return Text("ok", "green")
    if not on_buffer:
        if reason == "already purged":
            return Text("purged", "dim")
        if reason == "no copy recorded":
            return Text("no copy", "dim")
        # Gone from the buffer without the copies the purge rule asks for.
        return Text("purged, no valid copy", "bold red")
    short = []
    if "tape" in reason:
        short.append("tape")
    if "Rucio" in reason:
        short.append("Rucio")
    return Text("no: " + " ".join(short) if short else _t(reason).plain, "dim")


def _runs_view(snap: RunsSnapshot, jobs: JobsSnapshot | None, now: datetime, config: Config):
    data = _runs_json(snap, jobs, now, config)
    summary = Text(
        f"{data['count']:,} runs; {data['unsafe']:,} not data-safe "
        f"({data['unsafe_old']:,} older than "
        f"{format_duration(timedelta(hours=config.thresholds.unsafe_after_hours))}, "
        f"{data['failed']:,} with a failed copy); "
        f"{data['malformed']:,} malformed"
    )
    table = Table(title=f"newest {len(data['newest'])} runs", title_justify="left")
    for col in ("run", "source", "SR", "events", "size", "copies", "processing", "safe", "purge"):
        table.add_column(
            col, no_wrap=True, justify="right" if col in ("run", "events", "size") else "left"
        )
    for row in data["newest"]:
        safe = Text(*fmt_verdict(row["verdict"], row["missing"], row["failed"]))
        table.add_row(
            _t(row["number"]),
            _t(row["source"]),
            _t(row["science_run"]),
            _num(row["events"]),
            Text(format_bytes(row["size_bytes"])),
            _t(row["copies"]),
            _t(row["processing"]),
            safe,
            _purge_text(row["purge_allowed"], row["on_buffer"], row["purge_reason"]),
        )
    return Group(summary, table)


def _alarms_view(alarms: list[Alarm]):
    if not alarms:
        return Text("no alarms", style="green")
    table = Table()
    for col in ("severity", "alarm", "detail", "hint"):
        table.add_column(col)
    for a in alarms:
        table.add_row(
            Text(a.severity.name, SEVERITY_STYLE[a.severity]),
            _t(a.title),
            _t(a.detail),
            _t(a.hint, "dim"),
        )
    return table


def render_report(results: Mapping[Kind, Result], config: Config, console: Console) -> None:
    now = reference_time(results)
    alarms = alarms_for(results, config)
    status = overall(alarms)
    heading = Text("XENON computing chain ", style="bold")
    heading.append(status.name, style=SEVERITY_STYLE[status])
    heading.append(f"  {now:%Y-%m-%d %H:%M:%S %Z}", style="dim")
    console.print(heading)
    console.print()
    jobs = _snap(results, Kind.JOBS)
    for kind in Kind:
        result = results.get(kind)
        console.print(_section_title(kind, result))
        snap = result.snapshot if result is not None else None
        if snap is None:
            console.print(Text("no data", style="dim"))
        elif isinstance(snap, BufferSnapshot):
            console.print(_buffer_view(snap, config))
        elif isinstance(snap, TransfersSnapshot):
            console.print(_transfers_view(snap, now))
        elif isinstance(snap, TapeSnapshot):
            console.print(_tape_view(snap, now, config))
        elif isinstance(snap, JobsSnapshot):
            console.print(_jobs_view(snap))
        elif isinstance(snap, RunsSnapshot):
            console.print(_runs_view(snap, jobs, now, config))
        console.print()
    console.print(Text(f"ALARMS ({len(alarms)})", style="bold"))
    console.print(_alarms_view(alarms))


# ------------------------------------------------------------------- check


def _perfdata(results: Mapping[Kind, Result], config: Config) -> str:
    t = config.thresholds
    parts: list[str] = []
    buffer = _snap(results, Kind.BUFFER)
    if isinstance(buffer, BufferSnapshot):
        percent = buffer.used_bytes * 100 / buffer.total_bytes if buffer.total_bytes else 0.0
        parts.append(
            f"buffer_fill={percent:.1f}%;{t.buffer_warning_percent:g};"
            f"{t.buffer_critical_percent:g};0;100"
        )
        parts.append(f"buffer_free={buffer.free_bytes}B;;;0;{buffer.total_bytes}")
    transfers = _snap(results, Kind.TRANSFERS)
    if isinstance(transfers, TransfersSnapshot):
        parts.append(f"rules_stuck={len(stuck_rules(transfers))}")
    tape = _snap(results, Kind.TAPE)
    if isinstance(tape, TapeSnapshot):
        failed = summarize_tape(
            tape, reference_time(results), timedelta(hours=t.tape_failure_window_hours)
        ).failed_recent
        parts.append(f"tape_failed={failed};{t.tape_failures_warning};{t.tape_failures_critical}")
    jobs = _snap(results, Kind.JOBS)
    if isinstance(jobs, JobsSnapshot):
        held = jobs_total(jobs).held
        parts.append(f"jobs_held={held};{t.held_jobs_warning};{t.held_jobs_critical}")
    runs = _snap(results, Kind.RUNS)
    if isinstance(runs, RunsSnapshot):
        parts.append(f"runs={len(runs.runs)}")
    return " ".join(parts)


def _ok_summary(results: Mapping[Kind, Result]) -> str:
    bits: list[str] = []
    buffer = _snap(results, Kind.BUFFER)
    if isinstance(buffer, BufferSnapshot):
        bits.append(f"buffer {buffer.fill_fraction * 100:.1f} % full")
    transfers = _snap(results, Kind.TRANSFERS)
    if isinstance(transfers, TransfersSnapshot):
        bits.append(f"{len(transfers.rules)} rules")
    jobs = _snap(results, Kind.JOBS)
    if isinstance(jobs, JobsSnapshot):
        total = jobs_total(jobs)
        bits.append(f"{total.running} jobs running")
    runs = _snap(results, Kind.RUNS)
    if isinstance(runs, RunsSnapshot):
        bits.append(f"{len(runs.runs)} runs")
    return ", ".join(bits) or "all sources answered"


def check_line(
    results: Mapping[Kind, Result], config: Config, *, max_alarms: int = 3
) -> tuple[Severity, str]:
    """The Nagios plugin line and its status: 'XENON CRITICAL - ... | perfdata'."""
    alarms = alarms_for(results, config)
    status = overall(alarms)
    if alarms:
        shown = [a.title for a in alarms[:max_alarms]]
        summary = "; ".join(shown)
        if len(alarms) > max_alarms:
            summary += f" (+{len(alarms) - max_alarms} more)"
    else:
        summary = _ok_summary(results)
    summary = clean(summary).replace("|", "/").replace("\n", " ")
    perf = _perfdata(results, config)
    line = f"XENON {status.name} - {summary}"
    return status, f"{line} | {perf}" if perf else line

"""Tape: queue, verifications, failures, the open uploads; for the pane and the report."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from backends.analysis.alarms import Thresholds
from backends.analysis.eta import Eta, tape_drain_eta
from backends.analysis.tape import TapeSummary, failed_uploads, summarize_tape
from backends.model import TapeSnapshot, TapeState, TapeUpload
from console.format import format_bytes, format_duration, format_rate, format_time
from console.perfdata import Figure, FigureSpec
from console.ranges import Range
from console.render.common import Column, Context, Row, iso, rounded, table
from console.render.eta import eta_words
from console.safe_text import strip_controls
from console.trends import Trends

STATE_STYLE = {
    TapeState.QUEUED: "yellow",
    TapeState.UPLOADING: "cyan",
    TapeState.VERIFYING: "cyan",
    TapeState.VERIFIED: "green",
    TapeState.FAILED: "bold red",
}
#: Order of the upload list: what needs attention first.
STATE_ORDER = {
    TapeState.FAILED: 0,
    TapeState.UPLOADING: 1,
    TapeState.VERIFYING: 2,
    TapeState.QUEUED: 3,
    TapeState.VERIFIED: 4,
}
COLUMNS = (
    Column("Run"),
    Column("State", priority=1),
    Column("Size", justify="right", priority=5),
    Column("Updated UTC", priority=4),
    Column("RC", justify="right", priority=2),
    Column("Message", priority=3, width=16, cut=True),
)
#: Rows of the pane's upload list at most (the rest is in the report's JSON).
UPLOADS_SHOWN = 500
TREND_QUEUE = "tape.queue"
TREND_RATE = "tape.rate"


def _count(value: float) -> str:
    return f"{value:.0f}"


def summarize(snapshot: TapeSnapshot, thresholds: Thresholds) -> TapeSummary:
    window = timedelta(hours=thresholds.tape_failure_window_hours)
    return summarize_tape(snapshot, snapshot.taken_at, window)


def message_with_figures(upload: TapeUpload) -> str:
    """The dsmc summary figures a source gave (TSM logs), then the upload's message.

    Figures first: they are short, and a dsmc message (a file path) is long.
    """
    parts = []
    if upload.objects_inspected is not None:
        backed_up = upload.objects_backed_up if upload.objects_backed_up is not None else "?"
        parts.append(f"{backed_up}/{upload.objects_inspected} obj")
    if upload.objects_failed:
        parts.append(f"{upload.objects_failed} failed")
    if upload.bytes_transferred is not None:
        parts.append(f"{format_bytes(upload.bytes_transferred)} sent")
    if upload.transfer_rate_bps is not None:
        parts.append(format_rate(upload.transfer_rate_bps))
    if upload.elapsed_seconds is not None:
        parts.append(format_duration(upload.elapsed_seconds))
    return " · ".join([*parts, upload.message or ""]) if parts else upload.message or ""


def figures(
    snapshot: TapeSnapshot,
    thresholds: Thresholds,
    trends: Trends | None = None,
    drain: Eta | None = None,
) -> Text:
    """Queue, uploads in progress and rate; when the queue drains (``drain``:
    ``tape_drain_eta``, made here without); verified and failed; last success."""
    now = snapshot.taken_at
    tape = summarize(snapshot, thresholds)
    text = Text()
    text.append("Queue ", style="dim")
    text.append(f"{tape.queued} runs ({format_bytes(tape.queued_bytes)})", style="bold")
    if trends is not None and trends.legend(TREND_QUEUE, _count):
        text.append(" " + trends.spark(TREND_QUEUE, 8), style="yellow")
        text.append(f" {trends.legend(TREND_QUEUE, _count)}", style="dim")
    text.append("  In progress ", style="dim")
    text.append(str(tape.in_progress))
    text.append("  Rate ", style="dim")
    text.append(format_rate(tape.rate_bps))
    if trends is not None and trends.legend(TREND_RATE, format_rate):
        text.append(" " + trends.spark(TREND_RATE, 8), style="cyan")
        text.append(f" {trends.legend(TREND_RATE, format_rate)}", style="dim")
    drain = drain if drain is not None else tape_drain_eta(snapshot)
    text.append("\nQueue drains ", style="dim")
    if drain.seconds is None:
        text.append(eta_words(drain), style="yellow")
    elif drain.seconds == 0:
        text.append("now: nothing queued or uploading", style="green")
    else:
        text.append(eta_words(drain), style="bold")
        text.append(f" · {strip_controls(drain.basis)}", style="dim")
    text.append("\nVerified ", style="dim")
    text.append(f"{tape.verified_runs} runs ({format_bytes(tape.verified_bytes)})", style="green")
    text.append(f"  Failed {thresholds.tape_failure_window_hours:g}h ", style="dim")
    text.append(str(tape.failed_recent), style="bold red" if tape.failed_recent else "green")
    text.append("\nLast success ", style="dim")
    if tape.last_success is None:
        text.append("never", style="red")
    else:
        text.append(f"{format_duration(now - tape.last_success)} ago")
    if snapshot.malformed:
        text.append(f"  Unreadable {len(snapshot.malformed)}: ", style="yellow")
        text.append(strip_controls(snapshot.malformed[0]))
    return text


def upload_rows(snapshot: TapeSnapshot) -> list[Row]:
    """The uploads not yet verified, failures first, newest run first."""
    uploads = sorted(
        (u for u in snapshot.uploads if u.state is not TapeState.VERIFIED),
        key=lambda u: (STATE_ORDER[u.state], -u.run_number),
    )
    return [
        (
            f"{u.run_number}:{u.state.value}",
            (
                Text(str(u.run_number)),
                Text(u.state.value, style=STATE_STYLE[u.state]),
                Text(format_bytes(u.bytes)),
                Text(format_time(u.updated_at)),
                Text("-" if u.return_code is None else str(u.return_code)),
                Text(strip_controls(message_with_figures(u))),
            ),
        )
        for u in uploads
    ]


def run_of_row(key: str) -> int | None:
    """The run of an upload row's key (Enter on it opens the run)."""
    number = key.split(":")[0]
    return int(number) if number.isdigit() else None


# ------------------------------------------------------------------ report


def to_rich(snapshot: TapeSnapshot, context: Context) -> RenderableType:
    parts: list[RenderableType] = [figures(snapshot, context.thresholds)]
    rows = upload_rows(snapshot)
    if rows:
        parts.append(table(COLUMNS, rows[:10], title=f"uploads not verified ({len(rows)})"))
    return Group(*parts)


_JSON_KEYS = (
    "queued",
    "queued_bytes",
    "in_progress",
    "verified_runs",
    "verified_bytes",
    "failed_recent",
    "last_success",
    "rate_bps",
)


def to_json(snapshot: TapeSnapshot | None, context: Context) -> dict[str, Any]:
    if snapshot is None:
        return {**dict.fromkeys(_JSON_KEYS), "failed_uploads": [], "malformed": []}
    window = timedelta(hours=context.thresholds.tape_failure_window_hours)
    tape = summarize_tape(snapshot, context.now, window)
    return {
        "queued": tape.queued,
        "queued_bytes": tape.queued_bytes,
        "in_progress": tape.in_progress,
        "verified_runs": tape.verified_runs,
        "verified_bytes": tape.verified_bytes,
        "failed_recent": tape.failed_recent,
        "last_success": iso(tape.last_success),
        "rate_bps": rounded(tape.rate_bps, 1),
        "failed_uploads": [
            {
                "run": u.run_number,
                "bytes": u.bytes,
                "return_code": u.return_code,
                "message": u.message,
                "at": iso(u.finished_at or u.updated_at),
                "objects_inspected": u.objects_inspected,
                "objects_backed_up": u.objects_backed_up,
                "objects_failed": u.objects_failed,
                "bytes_transferred": u.bytes_transferred,
                "elapsed_seconds": u.elapsed_seconds,
            }
            for u in failed_uploads(snapshot)
        ],
        "malformed": list(snapshot.malformed),
    }


FAILED = FigureSpec(
    "tape_failed", "", "tape uploads failed within tape_failure_window_hours", "tape.failures"
)
#: The figures of ``perfdata``, for ``check -w/-c``.
FIGURES = (FAILED,)


def perfdata(snapshot: TapeSnapshot, context: Context) -> list[Figure]:
    thresholds = context.thresholds
    window = timedelta(hours=thresholds.tape_failure_window_hours)
    failed = summarize_tape(snapshot, context.now, window).failed_recent
    return [
        FAILED(
            failed,
            warn=Range.at_least(thresholds.tape_failures_warning),
            crit=Range.at_least(thresholds.tape_failures_critical),
        )
    ]


def summary(snapshot: TapeSnapshot) -> str | None:
    return None


def trend_figures(snapshot: TapeSnapshot) -> dict[str, float | None]:
    tape = summarize_tape(snapshot, snapshot.taken_at)
    return {TREND_QUEUE: tape.queued, TREND_RATE: tape.rate_bps, "tape.failed": tape.failed_recent}

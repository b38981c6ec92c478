"""Tape pane: the TSM queue at PDC Stockholm, verifications and failures."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from backends.analysis.tape import summarize_tape
from backends.model import Kind, TapeSnapshot, TapeState, TapeUpload
from console.format import fmt_bytes, fmt_duration, fmt_rate, fmt_time
from console.panes.base import SourcePane
from console.safe_text import clean
from console.widgets.tables import sync_rows

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


def message_with_figures(u: TapeUpload) -> str:
    """The dsmc summary figures a source gave (TSM logs), then the upload's message.

    Figures first: they are short, and a dsmc message (a file path) is long.
    """
    parts = []
    if u.objects_inspected is not None:
        parts.append(
            f"{u.objects_backed_up if u.objects_backed_up is not None else '?'}"
            f"/{u.objects_inspected} obj"
        )
    if u.objects_failed:
        parts.append(f"{u.objects_failed} failed")
    if u.bytes_transferred is not None:
        parts.append(f"{fmt_bytes(u.bytes_transferred)} sent")
    if u.transfer_rate_bps is not None:
        parts.append(fmt_rate(u.transfer_rate_bps))
    if u.elapsed_seconds is not None:
        parts.append(fmt_duration(u.elapsed_seconds))
    return " · ".join([*parts, u.message or ""]) if parts else u.message or ""


class TapePane(SourcePane):
    KIND = Kind.TAPE
    TITLE = "Tape (TSM, PDC)"
    NUMBER = 3
    FILTERABLE = True
    SORT_TABLE = "tape-table"

    def compose_body(self) -> ComposeResult:
        yield Static(id="tape-figures")
        table: DataTable = DataTable(id="tape-table", cursor_type="row")
        table.add_columns("Run", "State", "Size", "Updated", "RC", "Message")
        yield table

    def show(self, snapshot: TapeSnapshot) -> None:  # type: ignore[override]
        now = snapshot.taken_at
        s = summarize_tape(snapshot, now=now)
        fig = Text()
        fig.append("Queue ", style="dim")
        fig.append(f"{s.queued} runs ({fmt_bytes(s.queued_bytes)})", style="bold")
        if self.trends is not None:
            fig.append(" " + self.trends.spark("tape.queue", 8), style="yellow")
        fig.append("  In progress ", style="dim")
        fig.append(str(s.in_progress))
        fig.append("  Rate ", style="dim")
        fig.append(fmt_rate(s.rate_bps))
        if self.trends is not None:
            fig.append(" " + self.trends.spark("tape.rate", 8), style="cyan")
        fig.append("\nVerified ", style="dim")
        fig.append(f"{s.verified_runs} runs ({fmt_bytes(s.verified_bytes)})", style="green")
        fig.append("  Failed 24h ", style="dim")
        fig.append(str(s.failed_recent), style="bold red" if s.failed_recent else "green")
        fig.append("\nLast success ", style="dim")
        if s.last_success is None:
            fig.append("never", style="red")
        else:
            fig.append(f"{fmt_duration(now - s.last_success)} ago")
        if snapshot.malformed:
            fig.append(f"  Unreadable {len(snapshot.malformed)}: ", style="yellow")
            fig.append(clean(snapshot.malformed[0]))
        self.query_one("#tape-figures", Static).update(fig)

        uploads = sorted(
            (u for u in snapshot.uploads if u.state is not TapeState.VERIFIED),
            key=lambda u: (STATE_ORDER[u.state], -u.run_number),
        )
        rows = [
            (
                f"{u.run_number}:{u.state.value}",
                (
                    str(u.run_number),
                    Text(u.state.value, style=STATE_STYLE[u.state]),
                    fmt_bytes(u.bytes),
                    fmt_time(u.updated_at),
                    "-" if u.return_code is None else str(u.return_code),
                    clean(message_with_figures(u)),
                ),
            )
            for u in uploads
        ]
        rows = self.filter_and_sort(rows)[:500]
        sync_rows(self.query_one("#tape-table", DataTable), rows)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on an upload: that run's details."""
        event.stop()
        key = event.row_key.value or ""
        if key.split(":")[0].isdigit():
            self.post_message(self.RunRequested(int(key.split(":")[0])))

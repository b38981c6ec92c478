"""Transfers pane: per RSE usage, rules by state, stuck rules and throughput."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from backends.analysis.transfers import stuck_rules, summarize_transfers
from backends.model import Kind, RuleState, TransfersSnapshot
from console.format import fmt_bytes, fmt_duration, fmt_rate
from console.panes.base import SourcePane
from console.safe_text import clean
from console.widgets.tables import sync_rows

#: "Oldest": how long the oldest stuck rule has been stuck; "In/s": incoming
#: throughput and its trend; "Exp": LNGS rules expiring within 24 h.
COLUMNS = ("RSE", "Used", "OK", "Repl", "Stuck", "Oldest", "In/s", "Exp")
TREND_WIDTH = 5


def _count(n: int, style: str) -> Text:
    return Text(str(n), style=style if n else "dim")


class TransfersPane(SourcePane):
    KIND = Kind.TRANSFERS
    TITLE = "Transfers (Rucio)"
    NUMBER = 2
    FILTERABLE = True
    SORT_TABLE = "rse-table"

    def __init__(self, *, interval: float, id: str | None = None) -> None:
        super().__init__(interval=interval, id=id)
        #: RSE -> run of its oldest stuck rule, for Enter on an RSE row.
        self._stuck_run: dict[str, int] = {}

    def compose_body(self) -> ComposeResult:
        table: DataTable = DataTable(id="rse-table", cursor_type="row", zebra_stripes=False)
        table.add_columns(*COLUMNS)
        yield table
        yield Static(id="stuck-line")

    def show(self, snapshot: TransfersSnapshot) -> None:  # type: ignore[override]
        now = snapshot.taken_at
        rows = []
        summaries = summarize_transfers(snapshot, now=now)
        for rse in summaries:
            name = Text(clean(rse.name), style="" if rse.available else "bold red")
            if not rse.available:
                name.append(" ✗")
            used = Text(fmt_bytes(rse.used_bytes))
            if rse.used_bytes is not None and rse.total_bytes:
                fill = rse.used_bytes / rse.total_bytes
                used.stylize("bold red" if fill >= 0.95 else "yellow" if fill >= 0.85 else "")
            if rse.oldest_stuck is not None:
                since = rse.oldest_stuck.stuck_since or rse.oldest_stuck.updated_at
                oldest = Text(fmt_duration(now - since), style="red")
            else:
                oldest = Text("-", style="dim")
            rows.append(
                (
                    rse.name,
                    (
                        name,
                        used,
                        _count(rse.rules.get(RuleState.OK, 0), "green"),
                        _count(rse.rules.get(RuleState.REPLICATING, 0), "cyan"),
                        _count(rse.rules.get(RuleState.STUCK, 0), "bold red"),
                        oldest,
                        self._rate_cell(rse.name, rse.throughput_bps),
                        _count(rse.expiring_soon, "yellow"),
                    ),
                )
            )
        sync_rows(self.query_one("#rse-table", DataTable), self.filter_and_sort(rows))
        self._stuck_run = {
            rse.name: rse.oldest_stuck.run_number
            for rse in summaries
            if rse.oldest_stuck is not None and rse.oldest_stuck.run_number is not None
        }
        stuck = stuck_rules(snapshot)
        line = Text(no_wrap=True, overflow="ellipsis")
        if stuck:
            first = stuck[0]
            noun = "stuck rule" if len(stuck) == 1 else "stuck rules"
            line.append(f"{len(stuck)} {noun}", style="bold red")
            line.append(" · oldest: ")
            if first.run_number is not None:
                line.append(f"run {first.run_number} ")
            line.append(f"→ {clean(first.rse)}: ")
            line.append(clean(first.error or "no error given"), style="red")
        else:
            line.append("No stuck rules", style="green")
        suspended = sum(1 for r in snapshot.rules if r.state is RuleState.SUSPENDED)
        waiting = sum(1 for r in snapshot.rules if r.state is RuleState.WAITING_APPROVAL)
        if suspended:
            line.append(f" · {suspended} suspended", style="yellow")
        if waiting:
            line.append(f" · {waiting} waiting approval", style="yellow")
        if snapshot.malformed:
            line.append(f" · {len(snapshot.malformed)} unreadable records", style="yellow")
        self.query_one("#stuck-line", Static).update(line)

    def _rate_cell(self, rse: str, bps: float | None) -> Text:
        cell = Text(fmt_rate(bps).rjust(9))
        if self.trends is not None:
            cell.append(" " + self.trends.spark(f"rse.{rse}.throughput", TREND_WIDTH), style="cyan")
        return cell

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on an RSE: the run of its oldest stuck rule."""
        event.stop()
        rse = event.row_key.value
        run = self._stuck_run.get(rse)
        if run is None:
            self.notify(f"No stuck rule at {rse}", timeout=3)
        else:
            self.post_message(self.RunRequested(run))

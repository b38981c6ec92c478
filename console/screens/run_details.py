"""Details of one run: every copy, and the safety and purge verdicts in words."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Static

from backends.analysis.safety import data_safety, processing_state, purge_verdict
from backends.model import Dag, Run
from console.format import fmt_bytes, fmt_time
from console.safe_text import clean


def describe_run(run: Run, dag: Dag | None) -> Text:
    verdict = data_safety(run)
    purge = purge_verdict(run)
    text = Text()
    text.append(f"Run {run.number}", style="bold")
    text.append(f"  {clean(run.name)}  {clean(run.detector)}  source {clean(run.source)}")
    text.append(f"  {run.science_run or 'not science data'}\n")
    text.append(f"Start {fmt_time(run.start)}  end {fmt_time(run.end)}  ")
    text.append(f"events {run.events if run.events is not None else '-'}  ")
    text.append(f"size {fmt_bytes(run.raw_size_bytes)}  tags {clean(', '.join(run.tags)) or '-'}\n")
    text.append("Data safety: ", style="bold")
    text.append("safe" if verdict.safe else "NOT SAFE", style="green" if verdict.safe else "red")
    text.append(f" — {clean(verdict.reason)}\n")
    text.append("Purge from buffer: ", style="bold")
    text.append("allowed" if purge.allowed else "not allowed",
                style="green" if purge.allowed else "yellow")
    text.append(f" — {clean(purge.reason)}\n")
    text.append("Processing: ", style="bold")
    text.append(processing_state(run, dag).value)
    if dag is not None:
        text.append(
            f" — DAG {dag.cluster_id}: {dag.nodes_done}/{dag.nodes_total} done, "
            f"{dag.nodes_failed} failed, {dag.nodes_held} held"
        )
    if run.malformed:
        text.append("\nMalformed document: ", style="bold red")
        text.append(clean("; ".join(run.malformed)))
    return text


class RunDetailsScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q", "dismiss", "Close")]

    DEFAULT_CSS = """
    RunDetailsScreen { align: center middle; }
    RunDetailsScreen > Vertical {
        width: 95%; max-width: 140; height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    RunDetailsScreen #run-summary { height: auto; margin-bottom: 1; }
    """

    def __init__(self, run: Run, dag: Dag | None = None) -> None:
        super().__init__()
        self.run = run
        self.dag = dag

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(describe_run(self.run, self.dag), id="run-summary")
            table: DataTable = DataTable(id="copies-table", cursor_type="row")
            table.add_columns("Type", "Host", "RSE", "Status", "Created", "Checksum", "Location")
            for copy in self.run.copies:
                status = Text(clean(copy.status))
                if copy.checksum_problem:
                    status.append(" checksum problem", style="bold red")
                table.add_row(
                    Text(clean(copy.type)),
                    Text(clean(copy.host)),
                    Text(clean(copy.rse or "-")),
                    status,
                    Text(fmt_time(copy.creation_time)),
                    Text(clean((copy.checksum or "-")[:12])),
                    Text(clean(copy.location)),
                )
            yield table


class GoToRunScreen(ModalScreen[int | None]):
    """`:` then a run number."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]
    DEFAULT_CSS = """
    GoToRunScreen { align: center bottom; }
    GoToRunScreen > Input { width: 40; margin-bottom: 2; }
    """

    def compose(self) -> ComposeResult:
        yield Input(placeholder="run number", id="goto-run", restrict=r"[0-9]*")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(int(event.value) if event.value else None)

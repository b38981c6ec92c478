"""Drill-down into one run: every copy, rule, replica, tape upload and job.

The screen opens at once with what the console's own snapshots know, then
asks every backend that offers run details (Rucio replicas and requests, the
runs database, HTCondor) in a worker thread and merges what they answer.
Where something is wrong, a hint gives the command an operator would run,
as text to copy (`c` copies them all); the console runs nothing itself.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Static

from backends.analysis.drilldown import (
    Hint,
    builder_text,
    failing,
    hints,
    merge_details,
    overdue,
    run_status_text,
)
from backends.analysis.jobs import normalise_hold_reason
from backends.analysis.rucio_evidence import Evidence
from backends.analysis.safety import (
    DEFAULT_POLICY,
    Region,
    SafetyPolicy,
    copy_problems,
    counted_slots,
    data_safety,
    decided_by,
    documents,
    is_candidate,
    processing_state,
    purge_verdict,
    run_problems,
)
from backends.model import JobStatus, RunDetail
from console.format import format_bytes, format_time
from console.safe_text import strip_controls
from console.widgets.tables import SizedTable, sync_rows

#: Fetches the details of one run from one backend (called in a worker thread).
DetailFetcher = Callable[[int], RunDetail]


def describe_run(
    detail: RunDetail, overdue_before: datetime | None = None, policy: SafetyPolicy = DEFAULT_POLICY
) -> Text:
    """The run's identity and its verdicts, each with the reason in words."""
    run = detail.run
    text = Text()
    if run is None:
        text.append(f"Run {detail.run_number}", style="bold")
        text.append(" is not in the runs database snapshot", style="yellow")
        for note in detail.notes:
            text.append("\nNote: ", style="bold")
            text.append(strip_controls(note))
        return text
    verdict = data_safety(run, policy)
    purge = purge_verdict(run, policy)
    dag = detail.dags[-1] if detail.dags else None
    text.append(f"Run {run.number}", style="bold")
    name, detector, source = (strip_controls(v) for v in (run.name, run.detector, run.source))
    text.append(f"  {name}  {detector}  source {source}")
    text.append(f"  {run.science_run or 'not science data'}\n")
    text.append(f"Start {format_time(run.start)}  end {format_time(run.end, zone=True)}  ")
    text.append(f"events {run.events if run.events is not None else '-'}  ")
    tags = strip_controls(", ".join(run.tags)) or "-"
    text.append(f"size {format_bytes(run.raw_size_bytes)}  tags {tags}\n")
    text.append("Data safety: ", style="bold")
    if verdict.safe:
        text.append("safe", style="green")
    elif overdue(detail, overdue_before) or failing(detail, policy):
        text.append("NOT SAFE", style="bold red")
    else:
        text.append("not safe yet", style="yellow")
        text.append(" (a recent run: its copies are on their way)", style="yellow")
    text.append(f" — {strip_controls(verdict.reason)}\n")
    text.append("Purge from buffer: ", style="bold")
    text.append(
        "allowed" if purge.allowed else "not allowed", style="green" if purge.allowed else "yellow"
    )
    text.append(f" — {strip_controls(purge.reason)}\n")
    text.append("Policy: ", style="bold")
    text.append(strip_controls(decided_by(verdict, purge, policy)) + "\n")
    text.append("Processing: ", style="bold")
    text.append(processing_state(run, dag).value)
    if dag is not None:
        text.append(
            f" — DAG {dag.cluster_id}: {dag.nodes_done}/{dag.nodes_total} done, "
            # DAGMan's "queued" counts the held and running jobs too: say so.
            f"{dag.nodes_failed} failed, {dag.nodes_queued} in the queue"
            f" (of them {dag.nodes_held} held)"
        )
    status = run_status_text(run)
    if status is not None:
        text.append("\nRun status: ", style="bold")
        text.append(strip_controls(status), style="red" if "(trouble)" in status else "")
    builder = builder_text(run, detail.taken_at)
    if builder is not None and run.builder is not None:
        text.append("\nEvent builder: ", style="bold")
        bad = run.builder.state in ("failed", "abandoned", "unknown")
        text.append(strip_controls(builder), style="red" if bad else "")
    problems = run_problems(run, policy)
    if problems:
        text.append("\nMalformed: ", style="bold red")
        text.append(strip_controls("; ".join(problems)))
    for note in detail.notes:
        text.append("\nNote: ", style="bold")
        text.append(strip_controls(note))
    return text


def hints_text(found: Sequence[Hint]) -> Text:
    text = Text()
    if not found:
        text.append("Nothing to do for this run.", style="green")
        return text
    for i, hint in enumerate(found):
        if i:
            text.append("\n")
        text.append("▲ ", style="yellow")
        text.append(strip_controls(hint.problem))
        if hint.command:
            text.append("\n  $ ", style="dim")
            text.append(strip_controls(hint.command), style="bold cyan")
    return text


def copied_commands(found: Sequence[Hint]) -> list[str]:
    """The commands `c` copies: exactly the text shown after each ``$``."""
    return [strip_controls(h.command) for h in found if h.command]


def copy_rows(detail: RunDetail, policy: SafetyPolicy = DEFAULT_POLICY) -> list[tuple[str, tuple]]:
    """One row per copy of every document of the run, with whether it counts
    and, when it does not, why (``safety.copy_problems``)."""
    rows: list[tuple[str, tuple]] = []
    if detail.run is None:
        return rows
    for d, doc in enumerate(documents(detail.run), start=1):
        for i, copy in enumerate(doc.copies):
            status = Text(strip_controls(copy.status) or "-")
            if copy.checksum_problem:
                status.append(" checksum problem", style="bold red")
            problems = copy_problems(copy, policy)
            if not is_candidate(copy, policy):
                counts = Text("-", style="dim")  # not raw data on tape or in Rucio
            elif not problems and not counted_slots(copy, detail.run, policy):
                where = "at LNGS" if policy.rses.region(copy.rse) is Region.LNGS else "here"
                counts = Text(f"valid, but {where}: counts for no slot and no purge", style="dim")
            elif not problems:
                counts = Text("valid copy", style="green")
            else:
                counts = Text("not valid: " + strip_controls("; ".join(problems)), style="red")
            rows.append(
                (
                    f"doc{d}:copy{i}",
                    (  # sync_rows cleans the strings
                        str(d),
                        copy.type,
                        copy.host,
                        copy.rse or "-",
                        status,
                        counts,
                        format_time(copy.creation_time),
                        (copy.checksum or "-")[:12],
                        copy.location,
                    ),
                )
            )
    return rows


class RunDetailsScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q", "dismiss", "Close"),
        Binding("c", "copy_hints", "Copy hints"),
    ]

    DEFAULT_CSS = """
    RunDetailsScreen { align: center middle; }
    RunDetailsScreen > VerticalScroll {
        width: 96%; max-width: 160; height: 94%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    RunDetailsScreen .section { text-style: bold; margin-top: 1; color: $accent; }
    RunDetailsScreen DataTable { height: auto; max-height: 14; }
    RunDetailsScreen #detail-sources { color: $text-muted; }
    """

    def __init__(
        self,
        local: RunDetail,
        fetchers: Sequence[tuple[str, DetailFetcher]] = (),
        *,
        overdue_before: datetime | None = None,
        unavailable_rses: frozenset[str] = frozenset(),
        policy: SafetyPolicy = DEFAULT_POLICY,
        evidence: Evidence | None = None,
    ) -> None:
        """``evidence``: Rucio's word, as the runs' facts were derived with it
        (a policy with ``rucio_check``): the run's copies are judged with it."""
        super().__init__()
        self.policy = policy
        self.evidence = evidence
        #: Runs ended before this should be safe by now (else "on their way").
        self.overdue_before = overdue_before
        self.unavailable_rses = unavailable_rses
        self.detail = self._joined(local)
        self.run_number = local.run_number
        self._local = local
        self._fetchers = tuple(fetchers)
        self._answers: list[RunDetail] = []
        self._status: dict[str, str] = {}
        self.hints: list[Hint] = []
        self._summary = Static(id="run-summary")
        self._hints = Static(id="run-hints")
        self._sources = Static(id="detail-sources")
        self._tables = {
            "copies": self._table(
                "copies-table",
                "Doc",
                "Type",
                "Host",
                "RSE",
                "Status",
                "Counts",
                "Created UTC",
                "Checksum",
                "Location",
            ),
            "rules": self._table(
                "rules-table",
                "RSE",
                "State",
                "Locks ok/repl/stuck",
                "Progress",
                "Expires UTC",
                "Stuck since UTC",
                "Error",
                "Rule id",
            ),
            "replicas": self._table("replicas-table", "RSE", "State", "Files", "Bytes"),
            "tape": self._table("tape-uploads", "State", "Size", "Updated UTC", "RC", "Message"),
            "jobs": self._table(
                "jobs-table", "Job", "Node", "Status", "Site", "Starts", "Hold reason"
            ),
        }

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield self._summary
            yield Static("What to do", classes="section")
            yield self._hints
            yield Static("Copies in the runs database", classes="section")
            yield self._tables["copies"]
            yield Static("Rucio rules", classes="section")
            yield self._tables["rules"]
            yield Static("Rucio replicas and requests", classes="section")
            yield self._tables["replicas"]
            yield Static("Tape uploads", classes="section")
            yield self._tables["tape"]
            yield Static("Processing: held and retried jobs", classes="section")
            yield self._tables["jobs"]
            yield self._sources

    @staticmethod
    def _table(table_id: str, *columns: str) -> DataTable:
        table: DataTable = SizedTable(id=table_id, cursor_type="row")
        table.add_columns(*columns)
        return table

    def on_mount(self) -> None:
        self._draw_detail()
        for name, fetch in self._fetchers:
            self._status[name] = "asking…"
            self._ask(name, fetch)
        self._draw_sources()

    @work(thread=True, exit_on_error=False, group="drilldown")
    def _ask(self, name: str, fetch: DetailFetcher) -> None:
        try:
            answer: RunDetail | None = fetch(self.run_number)
            status = "answered"
        except Exception as exc:  # a backend's failure is shown, not raised
            from console.fetching import describe_error

            answer, status = None, f"failed: {describe_error(exc)}"
        self.app.call_from_thread(self._answered, name, answer, status)

    def _answered(self, name: str, answer: RunDetail | None, status: str) -> None:
        self._status[name] = status
        if answer is not None:
            self._answers.append(answer)
            self.detail = self._joined(merge_details([self._local, *self._answers]))
            self._draw_detail()
        self._draw_sources()

    def _joined(self, detail: RunDetail) -> RunDetail:
        """The detail with Rucio's word on its run's copies (``evidence``)."""
        if self.evidence is None or detail.run is None:
            return detail
        return replace(detail, run=self.evidence.join(detail.run))

    def _draw_sources(self) -> None:
        line = Text("Sources: console snapshots", style="dim")
        if not self._fetchers:
            line.append(
                " · no backend of this console gives run details: Rucio replicas and "
                "requests stay empty",
                style="dim",
            )
        for name, status in self._status.items():
            line.append(f" · {strip_controls(name)}: {strip_controls(status)}", style="dim")
        self._sources.update(line)

    def _draw_detail(self) -> None:
        detail = self.detail
        self._summary.update(describe_run(detail, self.overdue_before, self.policy))
        self.hints = hints(detail, self.overdue_before, self.unavailable_rses, self.policy)
        self._hints.update(hints_text(self.hints))
        sync_rows(self._tables["copies"], copy_rows(detail, self.policy))
        sync_rows(
            self._tables["rules"],
            [
                (
                    rule.id,
                    (
                        rule.rse,
                        Text(
                            rule.state.value,
                            style="bold red" if rule.state.value == "STUCK" else "",
                        ),
                        f"{rule.locks_ok}/{rule.locks_replicating}/{rule.locks_stuck}",
                        f"{100 * rule.progress:.0f}%",
                        format_time(rule.expires_at),
                        format_time(rule.stuck_since),
                        rule.error or "",
                        rule.id,
                    ),
                )
                for rule in detail.rules
            ],
        )
        by_rse_state = Counter((r.rse, r.state) for r in detail.replicas)
        size: Counter[tuple[str, str]] = Counter()
        for replica in detail.replicas:
            size[(replica.rse, replica.state)] += replica.bytes or 0
        replica_rows = [
            (f"rep:{rse}:{state}", (rse, state, str(n), format_bytes(size[(rse, state)])))
            for (rse, state), n in sorted(by_rse_state.items())
        ]
        replica_rows += [
            (f"req:{req.id}", (req.rse, f"request {req.state}", "-", req.error or ""))
            for req in detail.requests
        ]
        sync_rows(self._tables["replicas"], replica_rows)
        sync_rows(
            self._tables["tape"],
            [
                (
                    f"tape{i}",
                    (
                        upload.state.value,
                        format_bytes(upload.bytes),
                        format_time(upload.updated_at),
                        "-" if upload.return_code is None else str(upload.return_code),
                        upload.message or "",
                    ),
                )
                for i, upload in enumerate(detail.tape)
            ],
        )
        interesting = [j for j in detail.jobs if j.status is JobStatus.HELD or j.num_job_starts > 1]
        sync_rows(
            self._tables["jobs"],
            [
                (
                    f"{job.schedd}:{job.job_id}",
                    (
                        job.job_id,
                        job.node_name or "-",
                        Text(
                            job.status.name.lower(),
                            style="bold red" if job.status is JobStatus.HELD else "",
                        ),
                        job.site or "-",
                        str(job.num_job_starts),
                        normalise_hold_reason(job.hold_reason, job.hold_reason_code)
                        if job.hold_reason
                        else "",
                    ),
                )
                for job in interesting[:500]
            ],
        )

    def action_copy_hints(self) -> None:
        commands = copied_commands(self.hints)
        if not commands:
            self.notify("No commands to copy for this run")
            return
        self.app.copy_to_clipboard("\n".join(commands))
        self.notify(f"Copied {len(commands)} command(s) to the clipboard")


class GoToRunScreen(ModalScreen[int | None]):
    """`:` then a run number."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]
    DEFAULT_CSS = """
    GoToRunScreen { align: center bottom; }
    GoToRunScreen > Input { width: 40; margin-bottom: 2; }
    """

    def compose(self) -> ComposeResult:
        yield Input(placeholder="run number, then Enter", id="goto-run", restrict=r"[0-9]*")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(int(event.value) if event.value else None)

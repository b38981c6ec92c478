"""Runs: one row per run, its verdict, processing and copies; for the pane and the report.

What a run shows comes from its ``RunFacts`` (``analysis.run_index``: the
verdict and the rest, derived once per version of a run); this module turns
facts into cells (only for rows on screen), filter text and sort keys. The
runs pane and the report use the same functions.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from backends.analysis.alarms import runs_at_risk
from backends.analysis.jobs import dag_for_run
from backends.analysis.run_index import (
    EVENTS,
    NONE,
    NUMBER,
    SIZE,
    Judged,
    RunFacts,
    RunTable,
    run_facts,
    tabled,
)
from backends.analysis.safety import (
    DEFAULT_POLICY,
    ProcessingState,
    SafetyPolicy,
    SafetyVerdict,
    copies_label,
    data_safety,
    processing_state,
    purge_verdict,
    run_problems,
    verdict_word,
)
from backends.model import Dag, JobsSnapshot, Kind, Run, RunsSnapshot
from console.format import VERDICT_VIEW, format_bytes, format_duration, format_verdict, short_slots
from console.perfdata import Figure, FigureSpec
from console.ranges import Range
from console.render.common import Column, Context, iso, table
from console.safe_text import strip_controls

#: Runs listed by ``report``, newest first (``audit`` lists them all).
NEWEST_RUNS = 20

#: The runs table; when the width is short the least important go first
#: (at 80 columns: Source, then Events), the verdict and the copies last.
COLUMNS = (
    Column("Run", 6, "right"),
    Column("Source", 11, priority=8),
    Column("SR", 3, priority=4),
    Column("Start UTC", 14, priority=5),
    Column("Safety", 16, priority=1),
    Column("Processing", 10, priority=3),
    Column("Copies", 16, priority=2),
    Column("Events", 6, "right", priority=7),
    Column("Size", 8, "right", priority=6),
)
SAFETY_COLUMN = 4


def detail_line(run: Run, row: RunRow, policy: SafetyPolicy = DEFAULT_POLICY) -> Text:
    """The run under the cursor, in full: what the narrow table leaves out."""
    text = Text()
    text.append(f"{run.number} {strip_controls(run.name)}", style="bold")
    text.append(f" · {strip_controls(run.source)}", style="dim")
    text.append(f" · {row.cells[6].plain} · {row.cells[7].plain} events · {row.cells[8].plain}")
    text.append(" · ")
    text.append_text(row.cells[SAFETY_COLUMN])
    text.append(f" · {row.facts.verdict.reason}", style="dim")
    return text


PROCESSING_STYLE = {
    ProcessingState.MINITREES: "green",
    ProcessingState.PROCESSED: "green",
    ProcessingState.PROCESSING: "cyan",
    ProcessingState.QUEUED: "yellow",
    ProcessingState.WAITING: "dim",
    ProcessingState.SKIPPED: "dim",
    ProcessingState.STALLED: "bold red",
    ProcessingState.FAILED: "bold red",
}


@dataclass(frozen=True, slots=True)
class RunRow:
    """The cells of one run as shown, built from its facts."""

    run: Run
    facts: RunFacts
    cells: tuple[Text, ...]
    #: Whether the run was overdue (its copies due) when the row was built.
    overdue: bool = True
    #: The refresh in which this run changed (highlighted during that refresh).
    changed_in: int = -1

    @property
    def search(self) -> str:
        return search_text(self.facts, self.overdue)


def _timestamp(before: datetime | None) -> float | None:
    return None if before is None else before.timestamp()


def word_of(facts: RunFacts, overdue: bool) -> str:
    """The verdict word: safe, wait, miss or fail (``safety.verdict_word``)."""
    return verdict_word(facts.verdict, overdue)


def verdict_terms(verdict: SafetyVerdict, overdue: bool) -> str:
    """The words a filter finds in a run's verdict (they depend on its age)."""
    word = verdict_word(verdict, overdue)
    searched = VERDICT_VIEW[word][2]
    if word == "fail" and overdue:
        searched += " missing"
    return searched


#: The filter words a verdict adds: each matches as a whole word (``safe``
#: finds the safe runs; inside ``unsafe`` it found every run).
VERDICT_WORDS = frozenset(w for view in VERDICT_VIEW.values() for w in view[2].split()) | {
    "missing"
}


def term_in(term: str, text: str) -> bool:
    """Whether a filter word (lower case, no space) is in a run's search
    text: a verdict word as a whole word, any other as a part of one."""
    if term in VERDICT_WORDS:
        return f" {term} " in f" {text} "
    return term in text


def search_text(facts: RunFacts, overdue: bool) -> str:
    """Every word a filter matches for this run, the verdict's included."""
    return f"{facts.search} {verdict_terms(facts.verdict, overdue)}"


def row_matcher(table: RunTable, terms: tuple[str, ...]) -> Callable[[int, bool], bool]:
    """Whether row ``i`` of the table, overdue or not, holds every filter
    word (lower case): the words of ``search_text``, read from the columns.

    A term has no space, so it is in the words joined by spaces exactly when
    it is in the run's own words or in those its judgement shares; which
    terms the shared words hold is worked out once per judgement and age.
    """
    words, codes, judged = table.words, table.codes, table.judged
    left: dict[tuple[int, bool], tuple[str, ...]] = {}

    def match(i: int, overdue: bool) -> bool:
        key = (codes[i], overdue)
        rest = left.get(key)
        if rest is None:
            j = judged[key[0]]
            shared = f"{j.words} {verdict_terms(j.verdict, overdue)}"
            rest = left[key] = tuple(term for term in terms if not term_in(term, shared))
        own = words[i]
        return all(term_in(term, own) for term in rest)

    return match


def sorted_rows(
    table: RunTable, rows: list[int], column: int, reverse: bool, before: float | None
) -> list[int]:
    """``rows`` of the table in the order of column ``column`` by its exact
    values (the cells are rounded), rows without a value last; equal values
    keep their order. Keys are the columns' own values (numbers), or one
    shared key per judgement (text, the verdict): a sort of 267,620 rows
    makes no tuple per row."""
    if column in (0, 3, 7, 8):
        columns: dict[int, array[int] | array[float]] = {
            0: table.numbers,
            3: table.starts,
            7: table.events,
            8: table.sizes,
        }
        values = columns[column]
        present = [i for i in rows if values[i] != NONE]
        empty = [i for i in rows if values[i] == NONE]
        ints = {0: NUMBER, 7: EVENTS, 8: SIZE}.get(column)
        if ints is not None and any(c == ints for c, _ in table.big):
            # A value beyond 64 bits (garbage from a source): the exact one.
            present.sort(key=lambda i: table.int_at(ints, i) or 0, reverse=reverse)
        else:
            present.sort(key=values.__getitem__, reverse=reverse)
        return present + empty
    codes, judged, dues = table.codes, table.judged, table.dues
    keys: dict[tuple[int, bool], object] = {}

    def key(i: int) -> object:
        code = codes[i]
        overdue = before is None or dues[i] <= before
        k = keys.get((code, overdue))
        if k is None:
            k = keys[code, overdue] = _judged_key(judged[code], column, overdue)
        return k

    rows = list(rows)
    rows.sort(key=key, reverse=reverse)  # type: ignore[arg-type]
    return rows


def _judged_key(judged: Judged, column: int, overdue: bool) -> object:
    if column == 1:
        return judged.source.lower()
    if column == 2:
        return (judged.science_run or "~").lower()
    if column == SAFETY_COLUMN:
        rank = VERDICT_VIEW[verdict_word(judged.verdict, overdue)][3]
        return (rank, short_slots(judged.verdict.missing))
    if column == 5:
        return judged.builder or judged.processing.value
    return judged.copies.lower()


def row_cells(run: Run, facts: RunFacts, overdue: bool) -> tuple[Text, ...]:
    """The cells of a run on screen. A run that is not yet safe is "wait"
    (yellow) until it is overdue, then "MISS" (red): copies that should be
    there by now are not. A copy that failed its checksum is "FAIL" (red) at
    once, whatever the run's age. A red number: something is malformed."""
    verdict = facts.verdict
    word = word_of(facts, overdue)
    return (
        Text(str(run.number), style="red" if facts.problems else ""),
        Text(strip_controls(run.source)),
        Text(facts.science_run or "", style="cyan"),
        Text(run.start.strftime("%y-%m-%d %H:%M")),
        Text(*format_verdict(word, verdict.missing, verdict.failed)),
        # XENONnT: the event builder's trouble with the run, in its place.
        Text(facts.builder, style="bold red")
        if facts.builder
        else Text(facts.processing.value, style=PROCESSING_STYLE.get(facts.processing, "")),
        Text(facts.copies),
        Text("-" if run.events is None else str(run.events)),
        Text(format_bytes(run.raw_size_bytes)),
    )


def build_row(
    run: Run,
    dag: Dag | None,
    overdue_before: datetime | None = None,
    policy: SafetyPolicy = DEFAULT_POLICY,
    facts: RunFacts | None = None,
) -> RunRow:
    """The row of one run (its facts derived here unless given)."""
    if facts is None:
        facts = run_facts(run, dag, policy)
    overdue = facts.overdue(_timestamp(overdue_before))
    return RunRow(run, facts, row_cells(run, facts, overdue), overdue)


def overdue_before(now: datetime, unsafe_after_hours: float) -> datetime:
    """Runs ended before this should be safe by now."""
    return now - timedelta(hours=unsafe_after_hours)


# ------------------------------------------------------------------ report


def _dags(context: Context) -> dict[int, Dag]:
    jobs = context.snapshots.get(Kind.JOBS)
    return dag_for_run(jobs) if isinstance(jobs, JobsSnapshot) else {}


def newest_rows(snapshot: RunsSnapshot, context: Context) -> list[tuple[Run, RunRow]]:
    """The newest runs and their rows, as the runs pane shows them."""
    dags = _dags(context)
    before = overdue_before(context.now, context.thresholds.unsafe_after_hours)
    newest = sorted(snapshot.runs, key=lambda r: r.number, reverse=True)[:NEWEST_RUNS]
    return [(run, build_row(run, dags.get(run.number), before, context.policy)) for run in newest]


def counts(snapshot: RunsSnapshot, context: Context) -> dict[str, int]:
    """Runs not data-safe, of them overdue and with a failed copy; malformed runs
    (from the same facts as the alarms: ``analysis.run_index``)."""
    before = overdue_before(context.now, context.thresholds.unsafe_after_hours).timestamp()
    table = tabled(snapshot.runs, context.policy)
    unsafe = [f for _, f in table.unsafe()]
    return {
        "unsafe": len(unsafe),
        "unsafe_old": sum(1 for f in unsafe if f.overdue(before)),
        "failed": sum(1 for f in unsafe if f.verdict.failed),
        "malformed": table.malformed,
    }


PURGE_COLUMN = "Purge"


def purge_cell(run: Run, policy: SafetyPolicy) -> Text:
    purge = purge_verdict(run, policy)
    if purge.allowed:
        return Text("ok", "green")
    if not purge.on_buffer:
        if purge.reason == "already purged":
            return Text("purged", "dim")
        if purge.reason == "no copy recorded":
            return Text("no copy", "dim")
        # Gone from the buffer without the copies the purge rule asks for.
        return Text("purged, no valid copy", "bold red")
    short = [word for word in ("tape", "Rucio") if word in purge.reason]
    return Text("no: " + " ".join(short) if short else strip_controls(purge.reason), "dim")


def to_rich(snapshot: RunsSnapshot, context: Context) -> RenderableType:
    figures = counts(snapshot, context)
    after = format_duration(timedelta(hours=context.thresholds.unsafe_after_hours))
    summary_line = Text(
        f"{len(snapshot.runs):,} runs; {figures['unsafe']:,} not data-safe "
        f"({figures['unsafe_old']:,} older than {after}, {figures['failed']:,} with a failed "
        f"copy); {figures['malformed']:,} malformed"
    )
    rows = newest_rows(snapshot, context)
    out = table(
        (*COLUMNS, Column(PURGE_COLUMN, 10, priority=2)),
        [(str(run.number), (*row.cells, purge_cell(run, context.policy))) for run, row in rows],
        title=f"newest {len(rows)} runs",
    )
    return Group(summary_line, out)


def _builder_json(run: Run) -> dict[str, Any] | None:
    builder = run.builder
    if builder is None:
        return None
    return {
        "state": builder.state,
        "host": builder.host,
        "n_failures": builder.n_failures,
        "next_retry": iso(builder.next_retry),
    }


def to_json(snapshot: RunsSnapshot | None, context: Context) -> dict[str, Any]:
    if snapshot is None:
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
    policy = context.policy
    dags = _dags(context)
    listed = []
    for run, row in newest_rows(snapshot, context):
        safety = data_safety(run, policy)
        purge = purge_verdict(run, policy)
        listed.append(
            {
                "number": run.number,
                "name": run.name,
                "source": run.source,
                "science_run": run.science_run,
                "start": iso(run.start),
                "end": iso(run.end),
                "events": run.events,
                "size_bytes": run.raw_size_bytes,
                "copies": copies_label(run, policy),
                "processing": processing_state(run, dags.get(run.number)).value,
                "safe": safety.safe,
                "verdict": verdict_word(safety, row.overdue),
                "missing": list(safety.missing),
                "failed": list(safety.failed),
                "safety_reason": safety.reason,
                "purge_allowed": purge.allowed,
                "on_buffer": purge.on_buffer,
                "purge_reason": purge.reason,
                "malformed": list(run_problems(run, policy)),
                #: XENONnT: the run's status and its event builder's state (None for XENON1T).
                "run_status": run.status,
                "event_builder": _builder_json(run),
            }
        )
    return {
        "count": len(snapshot.runs),
        "data_taking": snapshot.data_taking,
        **counts(snapshot, context),
        "newest": listed,
        #: The runs not listed in "newest" (``xenon-console audit`` lists every run).
        "left_out": len(snapshot.runs) - len(listed),
    }


RUNS = FigureSpec("runs", "", "runs in the runs database")
UNSAFE = FigureSpec(
    "runs_unsafe",
    "",
    "runs ended over unsafe_after_hours ago that are not data-safe",
    "runs.unsafe",
)
TAPE_CHECKSUM = FigureSpec(
    "tape_checksum_failed", "", "runs whose tape copy failed its checksum", "tape.checksum"
)
RUCIO_CHECKSUM = FigureSpec(
    "rucio_checksum_failed",
    "",
    "runs whose Rucio copy (for a copy they lack) failed its checksum",
    "rucio.checksum",
)
#: The figures of ``perfdata``, for ``check -w/-c``.
FIGURES = (RUNS, UNSAFE, TAPE_CHECKSUM, RUCIO_CHECKSUM)


def perfdata(snapshot: RunsSnapshot, context: Context) -> list[Figure]:
    limits = context.thresholds
    risk = runs_at_risk(snapshot, limits, context.now, context.policy)
    return [
        RUNS(len(snapshot.runs)),
        UNSAFE(
            len(risk.unsafe),
            warn=Range.at_least(limits.unsafe_runs_warning),
            crit=Range.at_least(limits.unsafe_runs_critical),
        ),
        TAPE_CHECKSUM(
            len(risk.tape_failed),
            warn=Range.at_least(limits.tape_checksum_warning),
            crit=Range.at_least(limits.tape_checksum_critical),
        ),
        RUCIO_CHECKSUM(
            len(risk.rucio_failed),
            warn=Range.at_least(limits.tape_checksum_warning),
            crit=Range.at_least(limits.tape_checksum_critical),
        ),
    ]


def summary(snapshot: RunsSnapshot) -> str:
    return f"{len(snapshot.runs)} runs"


def trend_figures(snapshot: RunsSnapshot) -> dict[str, float | None]:
    return {}

"""The data-safety policy of DESIGN.md, decided from a run's copies (runs-DB view).

Science-run raw data needs three copies: UC_OSG_USERDISK (dCache Chicago),
one European RSE and a verified tape copy; other raw data needs a European RSE
and a verified tape copy. The buffer may be purged only with a
checksum-verified tape copy and a valid Rucio copy outside LNGS.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from backends.analysis.jobs import dag_stalled
from backends.model import (
    CHICAGO_RSE,
    EUROPEAN_RSES,
    HOST_BUFFER,
    HOST_RUCIO,
    HOST_TAPE,
    LNGS_RSE,
    CopyStatus,
    CopyType,
    Dag,
    DagStatus,
    DataCopy,
    Run,
)

SLOT_CHICAGO = CHICAGO_RSE
SLOT_EUROPE = "European RSE"
SLOT_TAPE = "tape"


def _is_raw(copy: DataCopy) -> bool:
    return copy.type == CopyType.RAW


def valid_rucio_copy(copy: DataCopy) -> bool:
    """A raw copy registered in Rucio, fully transferred, at a known RSE."""
    return (
        _is_raw(copy)
        and copy.host == HOST_RUCIO
        and copy.status == CopyStatus.TRANSFERRED
        and bool(copy.rse)
    )


def valid_tape_copy(copy: DataCopy) -> bool:
    """A raw copy on tape that passed the restore test and the checksum match."""
    return (
        _is_raw(copy)
        and copy.host == HOST_TAPE
        and copy.status == CopyStatus.TRANSFERRED
        and not copy.checksum_problem
    )


def rucio_rses(run: Run) -> tuple[str, ...]:
    """RSEs holding a valid raw copy of the run, in the order of the document."""
    seen: list[str] = []
    for copy in run.copies:
        if valid_rucio_copy(copy) and copy.rse not in seen:
            seen.append(copy.rse)  # type: ignore[arg-type]
    return tuple(seen)


def has_valid_tape(run: Run) -> bool:
    return any(valid_tape_copy(c) for c in run.copies)


def tape_checksum_problem(run: Run) -> bool:
    """Whether a raw tape copy exists that failed its checksum verification."""
    return any(_is_raw(c) and c.host == HOST_TAPE and c.checksum_problem for c in run.copies)


def on_buffer(run: Run) -> bool:
    return any(_is_raw(c) and c.host == HOST_BUFFER for c in run.copies)


def copies_overdue(run: Run, before: datetime | None) -> bool:
    """Whether all the run's copies should exist by now: it ended (or, with no
    end recorded, started) before ``before`` (now - unsafe_after_hours).

    Younger runs are not yet safe because their copies are on their way.
    ``before=None`` means no grace: every run counts as due.
    """
    return before is None or (run.end or run.start) <= before


@dataclass(frozen=True, slots=True)
class SafetyVerdict:
    safe: bool
    #: Requirement slots: "UC_OSG_USERDISK", "European RSE", "tape".
    required: tuple[str, ...]
    present: tuple[str, ...]
    missing: tuple[str, ...]
    reason: str


def data_safety(run: Run) -> SafetyVerdict:
    if run.science:
        required: tuple[str, ...] = (SLOT_CHICAGO, SLOT_EUROPE, SLOT_TAPE)
    else:
        required = (SLOT_EUROPE, SLOT_TAPE)
    rses = rucio_rses(run)
    satisfied = {
        SLOT_CHICAGO: CHICAGO_RSE in rses,
        SLOT_EUROPE: any(r in EUROPEAN_RSES for r in rses),
        SLOT_TAPE: has_valid_tape(run),
    }
    present = tuple(slot for slot in required if satisfied[slot])
    missing = tuple(slot for slot in required if not satisfied[slot])
    kind = "science run" if run.science else "non-science run"
    if missing:
        reason = f"{kind}: missing {', '.join(missing)}"
        if SLOT_TAPE in missing and tape_checksum_problem(run):
            reason += " (tape copy failed checksum)"
    else:
        reason = f"{kind}: {len(required)} copies ({', '.join(required)})"
    return SafetyVerdict(
        safe=not missing, required=required, present=present, missing=missing, reason=reason
    )


@dataclass(frozen=True, slots=True)
class PurgeVerdict:
    allowed: bool
    on_buffer: bool
    reason: str


def purge_verdict(run: Run) -> PurgeVerdict:
    """May the raw data of this run be deleted from the LNGS buffer?"""
    if not on_buffer(run):
        return PurgeVerdict(False, False, "already purged")
    problems: list[str] = []
    if not has_valid_tape(run):
        if tape_checksum_problem(run):
            problems.append("tape copy failed checksum verification")
        else:
            problems.append("no verified tape copy")
    outside = [r for r in rucio_rses(run) if r != LNGS_RSE]
    if not outside:
        problems.append("no valid Rucio copy outside LNGS")
    if problems:
        return PurgeVerdict(False, True, " and ".join(problems))
    return PurgeVerdict(True, True, f"verified tape copy and Rucio copy at {', '.join(outside)}")


class ProcessingState(StrEnum):
    WAITING = "waiting"
    SKIPPED = "skipped"
    QUEUED = "queued"
    PROCESSING = "processing"
    STALLED = "stalled"
    FAILED = "failed"
    PROCESSED = "processed"
    MINITREES = "minitrees"


DO_NOT_PROCESS_TAG = "donotprocess"
MUON_VETO = "muon_veto"
_DAG_FAILED = (DagStatus.ERROR, DagStatus.NODE_FAILED, DagStatus.ABORTED, DagStatus.REMOVED,
               DagStatus.CYCLE)


def _has(run: Run, copy_type: CopyType, status: CopyStatus) -> bool:
    return any(c.type == copy_type and c.status == status for c in run.copies)


def processing_state(run: Run, dag: Dag | None = None) -> ProcessingState:
    """Where a run is in processing, from its copies and (if given) its newest DAG.

    Copies recorded in the runs DB win over the queue: a run with a processed
    copy is processed whatever an old DAG says.
    """
    if DO_NOT_PROCESS_TAG in run.tags or run.detector == MUON_VETO:
        return ProcessingState.SKIPPED
    if _has(run, CopyType.MINITREES, CopyStatus.TRANSFERRED):
        return ProcessingState.MINITREES
    if _has(run, CopyType.PROCESSED, CopyStatus.TRANSFERRED):
        return ProcessingState.PROCESSED
    if dag is not None:
        if dag.finished:
            if dag.status is DagStatus.OK and dag.nodes_failed == 0:
                return ProcessingState.PROCESSED
            return ProcessingState.FAILED
        if dag.status in _DAG_FAILED:
            return ProcessingState.FAILED
        if dag_stalled(dag) or dag.status is DagStatus.HALTED:
            return ProcessingState.STALLED
        if dag.nodes_done > 0 or dag.nodes_queued > 0 or dag.nodes_failed > 0:
            return ProcessingState.PROCESSING
        return ProcessingState.QUEUED
    if _has(run, CopyType.PROCESSED, CopyStatus.ERROR):
        return ProcessingState.FAILED
    if any(
        c.type == CopyType.PROCESSED and c.status in (CopyStatus.TRANSFERRING, CopyStatus.VERIFYING)
        for c in run.copies
    ):
        return ProcessingState.PROCESSING
    return ProcessingState.WAITING


def copies_label(run: Run) -> str:
    """Compact copy list for the runs table: 'buf tape UC EU2' (at most 16 chars).

    Only copies that count are shown; 'tape!' flags a tape copy that failed its
    checksum, 'EU2' means two European RSEs, 'LN' a run in Rucio only at LNGS.
    """
    parts: list[str] = []
    if on_buffer(run):
        parts.append("buf")
    if has_valid_tape(run):
        parts.append("tape")
    elif tape_checksum_problem(run):
        parts.append("tape!")
    rses = rucio_rses(run)
    if CHICAGO_RSE in rses:
        parts.append("UC")
    n_eu = sum(1 for r in rses if r in EUROPEAN_RSES)
    if n_eu:
        parts.append("EU" if n_eu == 1 else f"EU{n_eu}")
    if LNGS_RSE in rses and not any(r != LNGS_RSE for r in rses):
        parts.append("LN")
    return " ".join(parts) or "-"

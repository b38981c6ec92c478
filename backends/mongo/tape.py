"""The tape pane from the runs database: the ``tsm-server`` copies of raw data.

The runs database is where the tape mover records its work, so the tape
pipeline can be read from it without asking TSM: a raw copy on
``tsm-server`` that is ``transferring`` is uploading, ``verifying`` is in its
restore test, ``transferred`` is verified (failed when ``checksumproblem``),
``error`` failed. A run that ended and is still on the LNGS buffer without
any tape copy is queued. The runs database records no dsmc return codes and
no upload rate, so those stay unknown.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from backends.analysis.safety import documents, valid_tape_copy
from backends.model import (
    HOST_BUFFER,
    HOST_TAPE,
    CopyStatus,
    CopyType,
    DataCopy,
    Run,
    TapeSnapshot,
    TapeState,
    TapeUpload,
)

#: Finished (verified or failed) uploads stay in the pane's list this long.
RECENT = timedelta(hours=48)

_STATES = {
    CopyStatus.TRANSFERRING.value: TapeState.UPLOADING,
    CopyStatus.VERIFYING.value: TapeState.VERIFYING,
    CopyStatus.TRANSFERRED.value: TapeState.VERIFIED,
    CopyStatus.ERROR.value: TapeState.FAILED,
}
#: When a run has several tape copies, the one that tells most about its safety.
_RANK = {
    TapeState.VERIFIED: 0,
    TapeState.VERIFYING: 1,
    TapeState.UPLOADING: 2,
    TapeState.FAILED: 3,
}


def copy_state(copy: DataCopy) -> TapeState | None:
    """The tape state of a ``tsm-server`` copy; None for a status nobody defined.

    A ``transferred`` copy is verified only when it is a valid tape copy
    (``analysis.safety``): with a checksum problem it failed; without a
    checksum, or malformed, it is still in verification as far as anyone can
    tell.
    """
    state = _STATES.get(copy.status)
    if state is TapeState.VERIFIED:
        if copy.checksum_problem:
            return TapeState.FAILED
        if not valid_tape_copy(copy):
            return TapeState.VERIFYING
    return state


def _raw(run: Run, host: str) -> list[DataCopy]:
    return [c for c in run.copies if c.type == CopyType.RAW and c.host == host]


#: Of several documents with one number, the upload that tells the worst.
_WORST_FIRST = {
    TapeState.FAILED: 0,
    TapeState.UPLOADING: 1,
    TapeState.VERIFYING: 2,
    TapeState.QUEUED: 3,
    TapeState.VERIFIED: 4,
}


def run_upload(run: Run) -> TapeUpload | None:
    """The run's tape upload as the database tells it, or None when it has none.

    Of several documents with the run's number, the worst one's: a failure
    in one is never hidden by a verified copy in the other.
    """
    uploads = [u for u in map(_document_upload, documents(run)) if u is not None]
    return min(uploads, key=lambda u: _WORST_FIRST[u.state], default=None)


def _document_upload(run: Run) -> TapeUpload | None:
    copies = _raw(run, HOST_TAPE)
    tape = [(state, c) for c in copies if (state := copy_state(c)) is not None]
    size = run.raw_size_bytes or 0
    if tape:
        state, copy = min(tape, key=lambda sc: _RANK[sc[0]])
        updated = copy.creation_time or run.end or run.start
        message = None
        if copy.checksum_problem:
            message = "checksum mismatch after the restore test (checksumproblem)"
        elif state is TapeState.FAILED:
            message = "tape copy in error"
        elif copy.status == CopyStatus.TRANSFERRED and state is TapeState.VERIFYING:
            message = (
                "transferred, but "
                + ("; ".join(copy.problems) if copy.problems else "no checksum recorded")
                + ": not shown to pass the restore test"
            )
        return TapeUpload(
            run_number=run.number,
            state=state,
            bytes=size,
            updated_at=updated,
            started_at=copy.creation_time,
            message=message,
        )
    if not copies and run.end is not None and _raw(run, HOST_BUFFER):
        return TapeUpload(run.number, TapeState.QUEUED, size, updated_at=run.end)
    return None


#: What the tape view needs of one run: its upload, and whether a tape copy
#: of it has a status nobody defined.
TapeFacts = tuple[TapeUpload | None, bool]


def run_facts(run: Run) -> TapeFacts:
    odd = any(copy_state(c) is None for doc in documents(run) for c in _raw(doc, HOST_TAPE))
    return run_upload(run), odd


class TapeView:
    """``tape_snapshot`` that re-derives only runs it has not seen.

    Between polls the cache hands out the very same ``Run`` objects for all
    but the recent tail, so facts are kept per object (the memo holds the run
    itself, so its ``id`` cannot be reused while remembered).
    """

    def __init__(self) -> None:
        self._memo: dict[int, tuple[Run, TapeFacts]] = {}

    def snapshot(self, runs: Iterable[Run], taken_at: datetime) -> TapeSnapshot:
        old = self._memo
        memo: dict[int, tuple[Run, TapeFacts]] = {}
        facts: list[tuple[Run, TapeFacts]] = []
        for run in runs:
            seen = old.get(id(run))
            if seen is None or seen[0] is not run:
                seen = (run, run_facts(run))
            memo[id(run)] = seen
            facts.append(seen)
        self._memo = memo
        return _snapshot(facts, taken_at)


def tape_snapshot(runs: Iterable[Run], taken_at: datetime) -> TapeSnapshot:
    """Open uploads, recent finished ones, and the totals over every run."""
    return _snapshot(((run, run_facts(run)) for run in runs), taken_at)


def _snapshot(facts: Iterable[tuple[Run, TapeFacts]], taken_at: datetime) -> TapeSnapshot:
    since = taken_at - RECENT
    uploads: list[TapeUpload] = []
    verified_runs = verified_bytes = 0
    last_success: datetime | None = None
    unknown: list[int] = []
    for run, (upload, odd) in facts:
        if odd:
            unknown.append(run.number)
        if upload is None:
            continue
        if upload.state is TapeState.VERIFIED:
            verified_runs += 1
            verified_bytes += upload.bytes
            if upload.started_at is not None and (
                last_success is None or upload.started_at > last_success
            ):
                last_success = upload.started_at
            if upload.updated_at >= since:
                uploads.append(upload)
        elif upload.state is TapeState.FAILED:
            if upload.updated_at >= since:
                uploads.append(upload)
        else:
            uploads.append(upload)
    return TapeSnapshot(
        taken_at=taken_at,
        uploads=tuple(uploads),
        verified_runs=verified_runs,
        verified_bytes=verified_bytes,
        last_success=last_success,
        rate_bps=None,
        malformed=_malformed(unknown),
    )


def _malformed(unknown: list[int]) -> tuple[str, ...]:
    if not unknown:
        return ()
    shown = ", ".join(str(n) for n in unknown[:5])
    more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
    return (
        f"{len(unknown)} runs have a tape copy in a status nobody defined "
        f"(runs {shown}{more}); not counted",
    )

"""The tape pipeline to PDC Stockholm: what waits, what moves, what failed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from backends.model import TapeSnapshot, TapeState, TapeUpload


@dataclass(frozen=True, slots=True)
class TapeSummary:
    queued: int
    queued_bytes: int
    #: Uploading or verifying (restore test and checksum).
    in_progress: int
    verified_runs: int
    verified_bytes: int
    #: Failed uploads updated within the failure window.
    failed_recent: int
    last_success: datetime | None
    rate_bps: float | None


def failed_at(upload: TapeUpload) -> datetime:
    return upload.finished_at or upload.updated_at


def failed_uploads(snap: TapeSnapshot) -> list[TapeUpload]:
    """Failed uploads, newest first."""
    failed = [u for u in snap.uploads if u.state is TapeState.FAILED]
    return sorted(failed, key=lambda u: (failed_at(u), u.run_number), reverse=True)


def recent_failures(snap: TapeSnapshot, now: datetime, window: timedelta) -> list[TapeUpload]:
    """Uploads that failed within ``window`` before ``now``, newest first."""
    return [u for u in failed_uploads(snap) if now - failed_at(u) <= window]


def summarize_tape(
    snap: TapeSnapshot,
    now: datetime | None = None,
    failed_window: timedelta = timedelta(hours=24),
) -> TapeSummary:
    now = now or snap.taken_at
    queued = [u for u in snap.uploads if u.state is TapeState.QUEUED]
    in_progress = sum(
        1 for u in snap.uploads if u.state in (TapeState.UPLOADING, TapeState.VERIFYING)
    )
    failed_recent = len(recent_failures(snap, now, failed_window))
    last_success = snap.last_success
    if last_success is None:
        done = [
            u.finished_at or u.updated_at for u in snap.uploads if u.state is TapeState.VERIFIED
        ]
        last_success = max(done, default=None)
    return TapeSummary(
        queued=len(queued),
        queued_bytes=sum(u.bytes for u in queued),
        in_progress=in_progress,
        verified_runs=snap.verified_runs,
        verified_bytes=snap.verified_bytes,
        failed_recent=failed_recent,
        last_success=last_success,
        rate_bps=snap.rate_bps,
    )

"""Tape status from the TSM client's own output: the uploader's dsmc logs.

The uploader ran ``dsmc incr`` once per run and upload and kept dsmc's output
in a log directory, one file per run and upload; the run number is in the
file name (``log_pattern``, a regex with a ``run`` group, searched in the
name). Per run the newest upload counts (by dsmc's ``Client date/time``,
else the file's modification time): its objects inspected / backed up /
failed, bytes, rate, elapsed time and return code (the one the uploader
logged, else dsmc's rule over what it printed). A return code in
``ok_return_codes`` (default only 0) puts the run on tape; anything else is a
failure, as is a log that stopped before dsmc's summary and has not grown for
``stale_minutes`` (truncated, or dsmc killed); a log younger than that is an
upload in progress.

The queue (runs on the buffer not yet on tape) needs to know what is on the
buffer: with ``buffer_dir`` set, every entry there whose name carries a run
number (``buffer_pattern``) and that has no upload yet is queued. Without it
the queue is left empty, not guessed.

The dsmc log shows the backup, not the restore test and checksum the
experiment asks for before a copy counts; a clean backup is reported as on
tape (``verified``) and this limit is said in the README.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from backends import backend_options as opt
from backends.model import RunDetail, TapeSnapshot, TapeState, TapeUpload
from backends.sources import (
    Backend,
    BackendConfigError,
    RunDetailSource,
    SourceError,
    TapeSource,
)
from backends.tsm import index
from backends.tsm.buffer_queue import BufferDirectory
from backends.tsm.dsmc_log import RC_MEANING
from backends.tsm.logdir import LogDirectory, LogFile, Scan

OPTIONS = (
    "log_dir",
    "log_pattern",
    "buffer_dir",
    "buffer_pattern",
    "timezone",
    "stale_minutes",
    "ok_return_codes",
    "rate_window_hours",
    "index",
    "index_file",
)
DEFAULT_PATTERN = r"(?P<run>\d+)"


def _pattern(options: Mapping[str, Any], key: str) -> re.Pattern[str]:
    text = opt.text(options, key, DEFAULT_PATTERN) or DEFAULT_PATTERN
    try:
        pattern = re.compile(text)
    except re.error as exc:
        raise BackendConfigError(f"option {key!r} is not a valid regex: {exc}") from None
    if "run" not in pattern.groupindex:
        raise BackendConfigError(f"option {key!r} needs a (?P<run>\\d+) group")
    return pattern


def _timezone(options: Mapping[str, Any]) -> tzinfo:
    name = opt.text(options, "timezone", "UTC") or "UTC"
    if name == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BackendConfigError(f"option 'timezone': unknown time zone {name!r}") from None


def _ok_codes(options: Mapping[str, Any]) -> frozenset[int]:
    value = options.get("ok_return_codes", [0])
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        raise BackendConfigError(
            f"option 'ok_return_codes' must be a list of whole numbers, got {value!r}"
        )
    return frozenset(value)


class TsmBackend(Backend, TapeSource, RunDetailSource):
    """Serves the tape pane from a directory of ``dsmc incremental`` logs."""

    name: ClassVar[str] = "tsm"
    description: ClassVar[str] = "tape uploads from the uploader's dsmc incremental logs"

    def __init__(
        self, options: Mapping[str, Any], *, clock: Callable[[], datetime] | None = None
    ) -> None:
        super().__init__(options)
        options = self.options
        opt.reject_unknown(options, OPTIONS, "tsm")
        self.log_dir = Path(opt.text(options, "log_dir", required=True) or "").expanduser()
        tz = _timezone(options)
        pattern = _pattern(options, "log_pattern")
        index_file = opt.text(options, "index_file")
        if index_file is not None and not opt.flag(options, "index", True):
            raise BackendConfigError("option 'index_file' goes with index = true, not false")
        index_path = (
            Path(index_file).expanduser()
            if index_file is not None
            else index.default_path(self.log_dir, pattern.pattern, tz)
            if opt.flag(options, "index", True)
            else None
        )
        if index_path is not None and index_path.resolve().parent == self.log_dir.resolve():
            raise BackendConfigError(
                "option 'index_file' is in the log directory: the console never writes there"
            )
        self.logs = LogDirectory(self.log_dir, pattern, tz, index_path=index_path)
        buffer_dir = opt.text(options, "buffer_dir")
        self.buffer = (
            BufferDirectory(Path(buffer_dir).expanduser(), _pattern(options, "buffer_pattern"))
            if buffer_dir
            else None
        )
        if "buffer_pattern" in options and self.buffer is None:
            raise BackendConfigError("option 'buffer_pattern' needs 'buffer_dir'")
        self.stale_after = timedelta(minutes=opt.number(options, "stale_minutes", 60.0))
        self.ok_codes = _ok_codes(options)
        self.rate_window = timedelta(hours=opt.number(options, "rate_window_hours", 24.0))
        self._clock = clock or (lambda: datetime.now(UTC))
        self._uploads: dict[str, tuple[LogFile, TapeUpload]] = {}

    def close(self) -> None:
        self.logs.close()

    # ------------------------------------------------------------------ fetch

    def _scan(self) -> Scan:
        try:
            return self.logs.scan()
        except OSError as exc:
            raise SourceError(
                f"cannot read the dsmc log directory {str(self.log_dir)!r}: "
                f"{exc.strerror or type(exc).__name__}"
            ) from None

    def fetch_tape(self) -> TapeSnapshot:
        scan = self._scan()
        now = self._clock()
        problems = list(scan.problems)
        latest: dict[int, LogFile] = {}
        for log in scan.logs:
            current = latest.get(log.run_number)
            if current is None or _order(log) > _order(current):
                latest[log.run_number] = log
        uploads = [self._upload_cached(log, now) for log in latest.values()]
        if len(self._uploads) > len(latest):  # logs removed or superseded
            keep = {log.name for log in latest.values()}
            self._uploads = {k: v for k, v in self._uploads.items() if k in keep}

        if self.buffer is not None:
            try:
                on_buffer = self.buffer.runs()
            except OSError as exc:
                problems.append(
                    f"buffer_dir {str(self.buffer.path)!r} unreadable "
                    f"({exc.strerror or type(exc).__name__}): queue unknown"
                )
                on_buffer = []
            for run in sorted(on_buffer, key=lambda r: r.run_number):
                if run.run_number not in latest:
                    uploads.append(
                        TapeUpload(
                            run.run_number,
                            TapeState.QUEUED,
                            run.bytes,
                            now,
                            message=f"on the buffer as {run.name!r}",
                        )
                    )

        verified = [u for u in uploads if u.state is TapeState.VERIFIED]
        recent = [
            u
            for u in verified
            if u.finished_at is not None
            and now - u.finished_at <= self.rate_window
            and u.bytes_transferred is not None
            and u.elapsed_seconds
        ]
        seconds = sum(u.elapsed_seconds or 0.0 for u in recent)
        rate = sum(u.bytes_transferred or 0 for u in recent) / seconds if seconds else None
        uploads.sort(key=lambda u: u.run_number)
        return TapeSnapshot(
            taken_at=now,
            uploads=tuple(uploads),
            verified_runs=len(verified),
            verified_bytes=sum(u.bytes for u in verified),
            last_success=max((u.finished_at or u.updated_at for u in verified), default=None),
            rate_bps=rate,
            malformed=tuple(problems),
        )

    def fetch_run_detail(self, run_number: int, run_name: str | None = None) -> RunDetail:
        """Every upload of one run (each retry), oldest first."""
        scan = self._scan()
        now = self._clock()
        logs = sorted((log for log in scan.logs if log.run_number == run_number), key=_order)
        notes = tuple(f"dsmc log {log.name}" for log in logs)
        return RunDetail(
            now, run_number, tape=tuple(self.upload(log, now) for log in logs), notes=notes
        )

    def _upload_cached(self, log: LogFile, now: datetime) -> TapeUpload:
        """``upload``, remembered for a finished log until its file changes.

        A finished log's upload does not depend on the time of the poll, and
        the log directory hands out the same LogFile until the file changes:
        an unchanged directory costs no new objects.
        """
        cached = self._uploads.get(log.name)
        if cached is not None and cached[0] is log:
            return cached[1]
        upload = self.upload(log, now)
        if log.summary.complete:
            self._uploads[log.name] = (log, upload)
        return upload

    def upload(self, log: LogFile, now: datetime) -> TapeUpload:
        """One log's upload: its state, figures and the message worth reading first."""
        summary = log.summary
        started = summary.started_at
        if started is None and summary.elapsed_seconds is not None:
            started = log.modified_at - timedelta(seconds=summary.elapsed_seconds)
        figures: dict[str, Any] = dict(
            objects_inspected=summary.objects_inspected,
            objects_backed_up=summary.objects_backed_up,
            objects_failed=summary.objects_failed,
            bytes_transferred=summary.bytes_transferred,
            transfer_rate_bps=summary.aggregate_rate_bps,
            elapsed_seconds=summary.elapsed_seconds,
        )
        size = (
            summary.bytes_inspected
            if summary.bytes_inspected is not None
            else summary.bytes_transferred or 0
        )
        if not summary.complete:
            if now - log.modified_at <= self.stale_after:
                return TapeUpload(
                    log.run_number,
                    TapeState.UPLOADING,
                    size,
                    log.modified_at,
                    started_at=started,
                    message=summary.errors[0] if summary.errors else None,
                    **figures,
                )
            return TapeUpload(
                log.run_number,
                TapeState.FAILED,
                size,
                log.modified_at,
                started_at=started,
                finished_at=log.modified_at,
                message=f"log {log.name!r} ends before dsmc's summary (truncated, or dsmc "
                "was killed)" + (f"; {summary.errors[0]}" if summary.errors else ""),
                **figures,
            )
        rc = summary.return_code
        finished = (
            started + timedelta(seconds=summary.elapsed_seconds)
            if started is not None and summary.elapsed_seconds is not None
            else log.modified_at
        )
        ok = rc in self.ok_codes
        message = None
        if not ok:
            message = (
                summary.errors[0]
                if summary.errors
                else summary.warnings[0]
                if summary.warnings
                else f"dsmc return code {rc} ({RC_MEANING.get(rc or 0, 'unknown')})"
            )
            if summary.error_count > 1:
                message += f" (+{summary.error_count - 1} more errors)"
        elif summary.warnings:
            message = summary.warnings[0]
        return TapeUpload(
            log.run_number,
            TapeState.VERIFIED if ok else TapeState.FAILED,
            size,
            log.modified_at,
            started_at=started,
            finished_at=finished,
            return_code=rc,
            message=message,
            **figures,
        )


def _order(log: LogFile) -> tuple[datetime, str]:
    return (log.summary.started_at or log.modified_at, log.name)

"""One source's state: its last good snapshot, its last error, and its polls.

The app keeps one per kind and hands it to the pane, which draws from it; the
poller and the replay feed it results. Times are seconds on the console's own
clock (monotonic, or the replay position), so ages read the same live and in
a replay.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from backends.analysis.alarms import Thresholds, stale_after
from backends.model import Kind, Snapshot

#: A failing source's interval doubles with each failure, up to this (seconds).
MAX_BACKOFF = 120.0


def backoff(interval: float, failures: int) -> float:
    """Seconds until the next poll: the interval, doubled per failure in a row."""
    if failures <= 0:
        return interval
    return min(MAX_BACKOFF, interval * 2 ** (failures - 1))


@dataclass
class SourceState:
    """A source as the console knows it (one per kind)."""

    kind: Kind
    #: The backend instance serving the kind; None when none is configured.
    backend: str | None
    interval: float
    timeout: float | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)
    snapshot: Snapshot | None = None
    error: str | None = None
    #: When the last good snapshot arrived.
    received_at: float | None = None
    #: When the poll now running started (None: no poll running).
    waiting_since: float | None = None
    #: Failed polls in a row.
    failures: int = 0
    #: The pane's figures prepared for ``snapshot`` off the UI thread.
    prepared: object | None = None

    @property
    def assigned(self) -> bool:
        return self.backend is not None

    @property
    def answered(self) -> bool:
        """Whether the source has spoken at all (data or an error)."""
        return self.snapshot is not None or self.error is not None

    def started(self, at: float) -> None:
        self.waiting_since = at

    def finished(
        self,
        snapshot: Snapshot | None,
        error: str | None,
        at: float,
        prepared: object | None = None,
        *,
        source: str | None = None,
        age: float = 0.0,
    ) -> None:
        """A poll came back: keep good data, remember the error. ``age``: how
        old the data already was when fetched (``Result.age``)."""
        if source is not None:
            self.backend = source
        self.waiting_since = None
        self.error = error
        if snapshot is not None:
            self.snapshot = snapshot
            self.received_at = at - max(0.0, age)
            self.prepared = prepared
        self.failures = 0 if error is None else self.failures + 1

    def next_delay(self) -> float:
        return backoff(self.interval, self.failures)

    def reset(self) -> None:
        """Forget everything (a replay seeking backwards)."""
        self.snapshot = self.error = self.received_at = self.waiting_since = None
        self.prepared = None
        self.failures = 0

    def timed_out(self, now: float) -> bool:
        """A poll is running and has not answered within the timeout."""
        return (
            self.waiting_since is not None
            and self.timeout is not None
            and now - self.waiting_since > self.timeout
        )

    def current_error(self, now: float) -> str | None:
        """The error to report now: the last poll's, or a poll that does not answer."""
        if self.error is None and self.timed_out(now):
            assert self.waiting_since is not None
            return f"no answer for {now - self.waiting_since:.0f} s"
        return self.error

    def stale_limit(self) -> float:
        """Seconds after which data without an error counts as stale."""
        return stale_after(self.thresholds, self.interval)

    def stale(self, now: float) -> bool:
        """Data that must not pass for current: after an error, a timed-out poll,
        or when older than ``stale_after_factor`` intervals (at least
        ``stale_min_seconds``)."""
        if self.received_at is None:
            return self.error is not None
        if self.error is not None or self.timed_out(now):
            return True
        return now - self.received_at > self.stale_limit()

"""The LNGS buffer disk read straight from the file system the console runs on.

For a console running on the buffer host itself (or one that mounts the
buffer), with no Prometheus around. ``statvfs`` gives the fill level; the
trend comes from the console's own successive readings, kept in memory: one
sample per ``sample_seconds`` at most, only those inside the forecast window
(``history_hours``), so memory stays bounded however long the console runs.
The rate therefore needs a few minutes of running before it means anything,
and starts again from nothing when the console restarts.

Free space is what an unprivileged writer can still use (``f_bavail``): the
blocks reserved for root are counted as used, as ``df`` does.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from backends import backend_options as opt
from backends.model import BufferSample, BufferSnapshot
from backends.sources import Backend, BufferSource, SourceError

OPTIONS = ("path", "history_hours", "sample_seconds")
#: A hard cap on the samples kept, whatever the options say.
MAX_SAMPLES = 10_000


class LocalDiskBackend(Backend, BufferSource):
    """Serves the buffer pane from ``statvfs`` of a local path."""

    name: ClassVar[str] = "localdisk"
    description: ClassVar[str] = "buffer disk fill of a local path (statvfs), rate from samples"

    def __init__(
        self,
        options: Mapping[str, Any],
        *,
        clock: Callable[[], datetime] | None = None,
        statvfs: Callable[[str], os.statvfs_result] | None = None,
    ) -> None:
        super().__init__(options)
        opt.reject_unknown(self.options, OPTIONS, "localdisk")
        self.path = opt.text(self.options, "path", required=True) or ""
        self.window = timedelta(hours=opt.number(self.options, "history_hours", 6.0))
        self.sample_every = timedelta(
            seconds=opt.number(self.options, "sample_seconds", 60.0, inclusive=True)
        )
        self._clock = clock or (lambda: datetime.now(UTC))
        self._statvfs = statvfs or os.statvfs
        self._samples: deque[BufferSample] = deque(maxlen=MAX_SAMPLES)
        self._lock = threading.Lock()

    def fetch_buffer(self) -> BufferSnapshot:
        try:
            st = self._statvfs(self.path)
        except OSError as exc:
            raise SourceError(
                f"cannot read the disk of {self.path!r}: {exc.strerror or type(exc).__name__}"
            ) from None
        now = self._clock()
        total = st.f_blocks * st.f_frsize
        free = min(total, st.f_bavail * st.f_frsize)
        if total <= 0:
            raise SourceError(f"{self.path!r} reports a disk of size 0")
        used = total - free
        with self._lock:
            samples = self._samples
            # A clock that went backwards makes the old samples meaningless.
            if samples and samples[-1].at > now:
                samples.clear()
            while samples and samples[0].at < now - self.window:
                samples.popleft()
            if not samples or now - samples[-1].at >= self.sample_every:
                samples.append(BufferSample(now, used))
            history = tuple(samples)
        return BufferSnapshot(
            taken_at=now, total_bytes=total, used_bytes=used, history=history, mount=self.path
        )

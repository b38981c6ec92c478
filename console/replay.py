"""Playing a recording back: position, pause, step, seek and speed.

No UI here. ``ReplayDriver`` knows which frames are due; ``ReplayController``
feeds them to the console as the polling core feeds live data (the same
``Polled`` and ``Derived`` events), with the console's clock set to the
replay position so ages and STALE marks read as they did at the time.
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections.abc import Callable

from backends.model import Kind
from console.fetching import Result
from console.polling import Derive, Event, Polled
from console.recording import Frame, Recording

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)


class ReplayDriver:
    def __init__(self, recording: Recording, speed: float = 1.0, *, paused: bool = False) -> None:
        self.recording = recording
        self.frames = recording.frames
        self._times = [f.t for f in self.frames]
        self.start = self._times[0] if self._times else 0.0
        self.end = self._times[-1] if self._times else 0.0
        self.position = self.start
        #: Index of the next frame to deliver.
        self.index = 0
        self.playing = not paused
        self.speed = speed

    @property
    def finished(self) -> bool:
        return self.index >= len(self.frames)

    def advance(self, seconds: float) -> list[Frame]:
        """Wall seconds passed: move on at the current speed, return the frames due."""
        if self.playing:
            self.position = min(self.end, self.position + seconds * self.speed)
            if self.position >= self.end:
                self.playing = False  # stop at the end; space plays again from there
        return self._due()

    def _due(self) -> list[Frame]:
        stop = bisect_right(self._times, self.position, lo=self.index)
        due = self.frames[self.index : stop]
        self.index = stop
        return due

    def step(self) -> list[Frame]:
        """Pause and deliver the next frame (and any taken at the same moment)."""
        self.playing = False
        if self.finished:
            return []
        self.position = self._times[self.index]
        return self._due()

    def seek(self, t: float) -> dict[Kind, Frame]:
        """Jump to ``t``: the latest frame of each kind at or before it."""
        self.position = max(self.start, min(self.end, t))
        self.index = bisect_right(self._times, self.position)
        return self.recording.state_at(self.position)

    def frames_until(self, t: float) -> list[Frame]:
        """Every frame up to ``t`` (to rebuild trends after a seek)."""
        return self.frames[: bisect_right(self._times, t)]

    def toggle(self) -> None:
        if not self.playing and self.position >= self.end:
            self.seek(self.start)
        self.playing = not self.playing

    def faster(self) -> None:
        self.speed = next((s for s in SPEEDS if s > self.speed), self.speed)

    def slower(self) -> None:
        self.speed = next((s for s in reversed(SPEEDS) if s < self.speed), self.speed)


class ReplayController:
    """Feeds a recording's frames as events.

    ``show`` takes each frame's ``Polled`` event at once (on the caller's
    thread: the console's main thread); the ``Derived`` event (a verdict on
    every run, for the runs) is computed in a thread and goes to ``post``.
    """

    def __init__(
        self,
        driver: ReplayDriver,
        show: Callable[[Event], None],
        post: Callable[[Event], None],
        derive: Derive,
    ) -> None:
        self.driver = driver
        self.show = show
        self.post = post
        self.derive = derive

    def feed(self, frame: Frame, *, with_error: bool = True) -> None:
        """Show a recorded poll as if it had just come in."""
        error = frame.error if with_error else None
        result = Result(frame.kind, frame.source, frame.snapshot, error, 0.0)
        self.show(Polled(result, frame.t))
        if frame.snapshot is not None:
            threading.Thread(
                target=lambda: self.post(self.derive(result)), name="replay-derive", daemon=True
            ).start()

    def advance(self, seconds: float) -> None:
        for frame in self.driver.advance(seconds):
            self.feed(frame)

    def step(self) -> None:
        for frame in self.driver.step():
            self.feed(frame)

    def seek(self, seconds: float) -> None:
        """Jump by ``seconds``; then ``feed_position`` (after the console forgot
        everything it knew)."""
        self.driver.seek(self.driver.position + seconds)

    def feed_position(self) -> None:
        """Feed what was known at the position: each kind's last good snapshot,
        then its last error if a failed poll came after it."""
        driver = self.driver
        latest = driver.recording.state_at(driver.position)
        good = driver.recording.state_at(driver.position, with_snapshot=True)
        for frame in good.values():
            self.feed(frame, with_error=False)
        for frame in latest.values():
            if frame.error is not None:
                self.show(Polled(Result(frame.kind, frame.source, None, frame.error, 0.0), frame.t))

    def frames_before(self) -> list[Frame]:
        """Every frame up to the position (to rebuild the trends after a seek)."""
        return self.driver.frames_until(self.driver.position)

"""Playing a recording back: position, pause, step, seek and speed.

Pure logic, no UI: the app asks the driver which frames are due and shows
them in the same screens as live data, with its clock set to the replay
position so ages and STALE marks read as they did at the time.
"""

from __future__ import annotations

from bisect import bisect_right

from backends.model import Kind
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

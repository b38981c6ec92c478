"""Rolling history of each pane's key figures, for sparklines.

A shifter needs the direction, not just the value: is the buffer filling,
is an RSE's throughput dropping, is the tape queue growing. Every snapshot
adds one point per figure, stamped with the snapshot's own time. Memory is
bounded twice: points older than the window are dropped, and points closer
together than window / MAX_POINTS are merged into the last one, so a series
never holds more than about MAX_POINTS points however fast the polling.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta

from backends.analysis.units import format_duration

MAX_POINTS = 720
BLOCKS = "▁▂▃▄▅▆▇█"


class Series:
    """One figure over time: (time, value) points, oldest first, bounded."""

    def __init__(self, window: timedelta, max_points: int = MAX_POINTS) -> None:
        self.window = window
        self.max_points = max_points
        self.spacing = window / max_points
        self.points: deque[tuple[datetime, float]] = deque(maxlen=max_points + 1)

    def add(self, at: datetime, value: float) -> None:
        if self.points and at < self.points[-1][0]:
            return  # late or replayed out of order: keep the series monotonic
        if self.points and at == self.points[-1][0]:
            # The same moment again (a snapshot fetched twice, a frozen
            # clock): one point, not a trend over 0 s.
            self.points[-1] = (at, value)
            return
        if len(self.points) >= 2 and at - self.points[-2][0] < self.spacing:
            self.points[-1] = (at, value)  # too close to the one before: merge
        else:
            self.points.append((at, value))
        horizon = at - self.window
        while self.points and self.points[0][0] < horizon:
            self.points.popleft()

    def values(self) -> list[float]:
        return [v for _, v in self.points]

    def __len__(self) -> int:
        return len(self.points)


def spark(values: list[float], width: int) -> str:
    """A text sparkline of at most ``width`` cells (bucket maxima, min to max).

    Empty until there are two values: one point shows no direction.
    """
    if len(values) < 2 or width <= 0:
        return ""
    if len(values) > width:
        size = len(values) / width
        values = [
            max(values[int(i * size) : max(int(i * size) + 1, int((i + 1) * size))])
            for i in range(width)
        ]
    low, high = min(values), max(values)
    if high == low:
        return BLOCKS[0 if high == 0 else 3] * len(values)
    scale = (len(BLOCKS) - 1) / (high - low)
    return "".join(BLOCKS[round((v - low) * scale)] for v in values)


class Trends:
    """The console's trends: one Series per figure name."""

    def __init__(self, window: timedelta = timedelta(hours=24)) -> None:
        self.window = window
        self.series: dict[str, Series] = {}

    def add(self, name: str, at: datetime, value: float | None) -> None:
        if value is None:
            return
        series = self.series.get(name)
        if series is None:
            series = self.series[name] = Series(self.window)
        series.add(at, float(value))

    def values(self, name: str) -> list[float]:
        series = self.series.get(name)
        return series.values() if series is not None else []

    def spark(self, name: str, width: int) -> str:
        return spark(self.values(name), width)

    def span(self, name: str) -> timedelta:
        """The time a figure's points cover (zero with fewer than two)."""
        series = self.series.get(name)
        if series is None or len(series.points) < 2:
            return timedelta(0)
        return series.points[-1][0] - series.points[0][0]

    def legend(self, name: str, show: Callable[[float], str]) -> str:
        """What a sparkline spans: ``2.0 h 0 B/s..21.4 MB/s`` (empty without a
        trend), ``show`` writing the figure's values."""
        values = self.values(name)
        if len(values) < 2:
            return ""
        return f"{format_duration(self.span(name))} {show(min(values))}..{show(max(values))}"

    def __iter__(self) -> Iterator[str]:
        return iter(self.series)

    def record(self, at: datetime, figures: Mapping[str, float | None]) -> None:
        """One point per figure, stamped ``at`` (the snapshot's own time); the
        figures of a snapshot come from its pane's spec (``console.specs``)."""
        for name, value in figures.items():
            self.add(name, at, value)

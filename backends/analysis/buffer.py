"""How full the LNGS buffer is, how fast it fills, and how long it would last."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from backends.model import BufferSnapshot


@dataclass(frozen=True, slots=True)
class BufferForecast:
    used_bytes: int
    free_bytes: int
    total_bytes: int
    fill_fraction: float
    #: Net fill rate (bytes/s) from a least-squares fit over the history
    #: window; None with fewer than two samples. Negative while draining.
    fill_rate_bps: float | None
    #: free / rate when the rate is positive, else None.
    time_to_full: timedelta | None
    #: How long data taking can go on with the uplink down: free space over
    #: the rate the buffer would fill at then, the DAQ's write rate, but never
    #: less than the fill rate measured now (a DAQ rate taken during a short
    #: calibration run must not promise more days than the buffer has).
    autonomy: timedelta | None
    #: The rate ``autonomy`` is reckoned at: "DAQ rate" or "fill rate" (the
    #: higher of the two), None without autonomy.
    autonomy_basis: str | None = None


def fill_percent(snap: BufferSnapshot) -> float:
    """How full the buffer is, in percent (0 when its size is unknown)."""
    return snap.used_bytes * 100 / snap.total_bytes if snap.total_bytes else 0.0


def _samples(snap: BufferSnapshot, window: timedelta) -> list[tuple[datetime, int]]:
    start = snap.taken_at - window
    points = [(s.at, s.used_bytes) for s in snap.history if start <= s.at <= snap.taken_at]
    # The current reading is the freshest sample; add it unless history has it.
    if snap.history and (not points or snap.taken_at > points[-1][0]):
        points.append((snap.taken_at, snap.used_bytes))
    return points


def fill_rate(points: list[tuple[datetime, int]]) -> float | None:
    """Slope (bytes/s) of the least-squares line through the points."""
    if len(points) < 2:
        return None
    t0 = points[0][0]
    xs = [(at - t0).total_seconds() for at, _ in points]
    ys = [float(used) for _, used in points]
    n = len(points)
    mean_x = sum(xs) / n
    mean_y = sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    if sxx == 0:
        return None
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    return sxy / sxx


def buffer_forecast(snap: BufferSnapshot, window: timedelta = timedelta(hours=6)) -> BufferForecast:
    """Forecast from the history samples inside ``window`` before the snapshot.

    The snapshot's own reading is used as the newest sample when it is newer
    than the history (a snapshot without history has no rate).
    """
    free = snap.free_bytes
    rate = fill_rate(_samples(snap, window))
    time_to_full = timedelta(seconds=free / rate) if rate is not None and rate > 0 else None
    daq = snap.daq_write_bps
    rate_if_down = max(daq or 0.0, rate or 0.0) if daq is not None else None
    autonomy = (
        timedelta(seconds=free / rate_if_down)
        if rate_if_down is not None and rate_if_down > 0
        else None
    )
    basis = None
    if autonomy is not None:
        basis = "fill rate" if rate is not None and daq is not None and rate > daq else "DAQ rate"
    return BufferForecast(
        used_bytes=snap.used_bytes,
        free_bytes=free,
        total_bytes=snap.total_bytes,
        fill_fraction=snap.fill_fraction,
        fill_rate_bps=rate,
        time_to_full=time_to_full,
        autonomy=autonomy,
        autonomy_basis=basis,
    )

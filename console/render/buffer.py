"""The buffer disk: fill gauge, forecast figures, uplink; for the pane and the report."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from backends.analysis.alarms import Thresholds
from backends.analysis.buffer import BufferForecast, buffer_forecast, fill_percent
from backends.model import BufferSnapshot
from console.format import format_bytes, format_duration, format_percent, format_rate
from console.perfdata import Figure, FigureSpec
from console.ranges import Range
from console.render.common import Context, rounded
from console.safe_text import strip_controls

GAUGE_WIDTH = 40
#: Figures kept by the console's trends (``console.trends``).
TREND_FILL = "buffer.fill_percent"

FILL = FigureSpec("buffer_fill", "%", "how full the buffer is", "buffer.fill", decimals=1)
FREE = FigureSpec("buffer_free", "B", "free space on the buffer")
TIME_TO_FULL = FigureSpec(
    "buffer_time_to_full",
    "s",
    "time until the buffer is full at the net fill rate (only while it fills)",
    "buffer.time_to_full",
)
#: The figures of ``perfdata``, for ``check -w/-c``.
FIGURES = (FILL, FREE, TIME_TO_FULL)


def forecast(snapshot: BufferSnapshot, thresholds: Thresholds) -> BufferForecast:
    return buffer_forecast(snapshot, timedelta(hours=thresholds.buffer_rate_window_hours))


def gauge(fraction: float, width: int, warning: float, critical: float) -> Text:
    """A fill bar coloured by the alarm thresholds (fractions of 1)."""
    width = max(4, width)
    filled = round(min(1.0, max(0.0, fraction)) * width)
    colour = "red" if fraction >= critical else "yellow" if fraction >= warning else "green"
    bar = Text()
    bar.append("█" * filled, style=colour)
    bar.append("░" * (width - filled), style="grey37")
    return bar


def head(snapshot: BufferSnapshot, thresholds: Thresholds) -> Text:
    """``42.1% ████░░░``: the fill, as a figure and a gauge."""
    fill = forecast(snapshot, thresholds).fill_fraction
    line = Text(no_wrap=True)
    line.append(format_percent(fill), style="bold")
    line.append(" ")
    line.append_text(
        gauge(
            fill,
            GAUGE_WIDTH,
            thresholds.buffer_warning_percent / 100,
            thresholds.buffer_critical_percent / 100,
        )
    )
    return line


def body(snapshot: BufferSnapshot, thresholds: Thresholds) -> Text:
    """Used, free and total; fill rate and time to full; DAQ rate and autonomy; uplink."""
    figures = forecast(snapshot, thresholds)
    rate = figures.fill_rate_bps
    rate_text = "-" if rate is None else f"{format_bytes(rate * 86400)}/day"
    if rate is not None and rate > 0:
        rate_text = "+" + rate_text
    to_full = figures.time_to_full
    urgent = (
        to_full is not None
        and to_full.total_seconds() < 3600 * thresholds.time_to_full_critical_hours
    )
    text = Text()
    text.append("Used ", style="dim")
    text.append(format_bytes(figures.used_bytes))
    text.append("  Free ", style="dim")
    text.append(format_bytes(figures.free_bytes))
    text.append("  of ", style="dim")
    text.append(format_bytes(figures.total_bytes))
    window = format_duration(timedelta(hours=thresholds.buffer_rate_window_hours))
    text.append("\nFill rate ", style="dim")
    text.append(rate_text)
    if rate is not None:
        # The two rates are over different times: say which.
        text.append(f" over {window}", style="dim")
    text.append("  Full in ", style="dim")
    text.append(
        format_duration(to_full) if to_full else "not filling",
        style="bold red" if urgent else "bold",
    )
    text.append("\nDAQ writes ", style="dim")
    text.append(format_rate(snapshot.daq_write_bps))
    if snapshot.daq_write_bps is not None:
        text.append(" now", style="dim")
    if snapshot.uplink_up is False:
        # Down already: the rate measured now is the one that fills it.
        text.append("  Full in ", style="dim")
        text.append(format_duration(to_full) if to_full else "-", style="bold red")
        text.append(" at the fill rate", style="dim")
    else:
        text.append("  Autonomy if uplink down ", style="dim")
        text.append(format_duration(figures.autonomy) if figures.autonomy else "-")
        if figures.autonomy_basis == "fill rate":
            # The buffer fills faster than the DAQ writes now: the fill rate counts.
            text.append(" at the fill rate", style="dim")
    text.append("\nUplink ", style="dim")
    if snapshot.uplink_up is None:
        text.append("unknown")
    elif snapshot.uplink_up:
        text.append("up", style="green")
    else:
        text.append("DOWN", style="bold red")
    if snapshot.malformed:
        text.append(f"\n{len(snapshot.malformed)} bad values ignored: ", style="yellow")
        text.append(strip_controls(snapshot.malformed[0]), style="yellow")
    return text


def history(snapshot: BufferSnapshot) -> list[float]:
    """The backend's own fill history (bytes), for the pane's sparkline."""
    return [float(sample.used_bytes) for sample in snapshot.history]


def history_legend(snapshot: BufferSnapshot) -> Text:
    """What the sparkline of the backend's history spans: time and fill range."""
    samples = snapshot.history
    if len(samples) < 2 or not snapshot.total_bytes:
        return Text()
    span = samples[-1].at - samples[0].at
    low = min(s.used_bytes for s in samples) / snapshot.total_bytes
    high = max(s.used_bytes for s in samples) / snapshot.total_bytes
    return Text(
        f"Fill over {format_duration(span)}: {format_percent(low)}..{format_percent(high)}",
        style="dim",
    )


# ------------------------------------------------------------------ report


def to_rich(snapshot: BufferSnapshot, context: Context) -> RenderableType:
    mount = Text("Mount ", style="dim")
    mount.append(strip_controls(snapshot.mount))
    return Group(head(snapshot, context.thresholds), mount, body(snapshot, context.thresholds))


_JSON_KEYS = (
    "used_bytes",
    "free_bytes",
    "total_bytes",
    "fill_percent",
    "fill_rate_bps",
    "time_to_full_hours",
    "autonomy_days",
    "autonomy_basis",
    "fill_rate_window_hours",
    "daq_write_bps",
    "uplink_up",
    "mount",
)


def to_json(snapshot: BufferSnapshot | None, context: Context) -> dict[str, Any]:
    if snapshot is None:
        return {**dict.fromkeys(_JSON_KEYS), "malformed": []}
    figures = forecast(snapshot, context.thresholds)
    autonomy = figures.autonomy
    return {
        "used_bytes": figures.used_bytes,
        "free_bytes": figures.free_bytes,
        "total_bytes": figures.total_bytes,
        "fill_percent": round(fill_percent(snapshot), 2),
        "fill_rate_bps": rounded(figures.fill_rate_bps, 1),
        "time_to_full_hours": (
            round(figures.time_to_full.total_seconds() / 3600, 3) if figures.time_to_full else None
        ),
        "autonomy_days": round(autonomy.total_seconds() / 86400, 3) if autonomy else None,
        #: "DAQ rate" or "fill rate": the higher of the two, which autonomy is reckoned at.
        "autonomy_basis": figures.autonomy_basis,
        "fill_rate_window_hours": context.thresholds.buffer_rate_window_hours,
        "daq_write_bps": rounded(snapshot.daq_write_bps, 1),
        "uplink_up": snapshot.uplink_up,
        "mount": snapshot.mount,
        "malformed": list(snapshot.malformed),
    }


def perfdata(snapshot: BufferSnapshot, context: Context) -> list[Figure]:
    thresholds = context.thresholds
    percent = fill_percent(snapshot)
    figures = [
        FILL(
            percent,
            warn=Range.above(thresholds.buffer_warning_percent),
            crit=Range.above(thresholds.buffer_critical_percent),
            minimum=0,
            maximum=100,
            words=f"{percent:.1f} %",
        ),
        FREE(
            snapshot.free_bytes,
            minimum=0,
            maximum=snapshot.total_bytes,
            words=format_bytes(snapshot.free_bytes),
        ),
    ]
    to_full = forecast(snapshot, thresholds).time_to_full
    if to_full is not None:
        figures.append(
            TIME_TO_FULL(
                to_full.total_seconds(),
                warn=Range.below(thresholds.time_to_full_warning_hours * 3600),
                crit=Range.below(thresholds.time_to_full_critical_hours * 3600),
                minimum=0,
                words=format_duration(to_full),
            )
        )
    return figures


def summary(snapshot: BufferSnapshot) -> str:
    return f"buffer {fill_percent(snapshot):.1f} % full"


def trend_figures(snapshot: BufferSnapshot) -> dict[str, float | None]:
    return {TREND_FILL: 100 * snapshot.fill_fraction}

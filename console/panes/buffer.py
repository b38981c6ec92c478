"""Buffer pane: how full the LNGS buffer disk is and how long until it is full."""

from __future__ import annotations

from datetime import timedelta

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Sparkline, Static

from backends.analysis.buffer import buffer_forecast
from backends.model import BufferSnapshot, Kind
from console.format import fmt_bytes, fmt_duration, fmt_percent, fmt_rate
from console.panes.base import SourcePane
from console.safe_text import clean


def gauge(fraction: float, width: int, warning: float, critical: float) -> Text:
    """A fill bar coloured by the alarm thresholds (fractions of 1)."""
    width = max(4, width)
    filled = round(min(1.0, max(0.0, fraction)) * width)
    colour = "red" if fraction >= critical else "yellow" if fraction >= warning else "green"
    bar = Text()
    bar.append("█" * filled, style=colour)
    bar.append("░" * (width - filled), style="grey37")
    return bar


class BufferPane(SourcePane, can_focus=True):
    KIND = Kind.BUFFER
    TITLE = "Buffer disk (LNGS)"
    NUMBER = 1

    def compose_body(self) -> ComposeResult:
        yield Static(id="buffer-gauge")
        yield Static(id="buffer-figures")
        yield Sparkline([], id="buffer-trend")

    def show(self, snapshot: BufferSnapshot) -> None:  # type: ignore[override]
        t = self.thresholds
        forecast = buffer_forecast(snapshot, timedelta(hours=t.buffer_rate_window_hours))
        head = Text(no_wrap=True)
        head.append(fmt_percent(forecast.fill_fraction), style="bold")
        head.append(" ")
        head.append_text(
            gauge(
                forecast.fill_fraction,
                40,
                t.buffer_warning_percent / 100,
                t.buffer_critical_percent / 100,
            )
        )
        self.query_one("#buffer-gauge", Static).update(head)

        rate = forecast.fill_rate_bps
        rate_text = "-" if rate is None else f"{fmt_bytes(rate * 86400)}/day"
        if rate is not None and rate > 0:
            rate_text = "+" + rate_text
        ttf = fmt_duration(forecast.time_to_full) if forecast.time_to_full else "not filling"
        body = Text()
        body.append("Used ", style="dim")
        body.append(f"{fmt_bytes(forecast.used_bytes)}")
        body.append("  Free ", style="dim")
        body.append(f"{fmt_bytes(forecast.free_bytes)}")
        body.append("  of ", style="dim")
        body.append(fmt_bytes(forecast.total_bytes))
        body.append("\nFill rate ", style="dim")
        body.append(rate_text)
        body.append("  Full in ", style="dim")
        body.append(
            ttf,
            style="bold red"
            if forecast.time_to_full is not None
            and forecast.time_to_full.total_seconds() < 3600 * t.time_to_full_critical_hours
            else "bold",
        )
        body.append("\nDAQ writes ", style="dim")
        body.append(fmt_rate(snapshot.daq_write_bps))
        body.append("  Autonomy if uplink down ", style="dim")
        body.append(fmt_duration(forecast.autonomy) if forecast.autonomy else "-")
        body.append("\nUplink ", style="dim")
        if snapshot.uplink_up is None:
            body.append("unknown")
        elif snapshot.uplink_up:
            body.append("up", style="green")
        else:
            body.append("DOWN", style="bold red")
        if snapshot.malformed:
            body.append(f"\n{len(snapshot.malformed)} bad values ignored: ", style="yellow")
            body.append(clean(snapshot.malformed[0]), style="yellow")
        self.query_one("#buffer-figures", Static).update(body)
        # The backend's own history when it has one, else the console's trend.
        history = [s.used_bytes for s in snapshot.history]
        if len(history) < 2 and self.trends is not None:
            history = self.trends.values("buffer.fill_percent")
        self.query_one("#buffer-trend", Sparkline).data = history

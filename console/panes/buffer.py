"""Buffer pane: how full the LNGS buffer disk is and how long until it is full."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Sparkline, Static

from backends.model import BufferSnapshot, Kind
from console.panes.base import SourcePane
from console.render import buffer as render
from console.widgets.compact import CompactSparkline, CompactStatic
from console.widgets.quiet import show_text


class BufferPane(SourcePane, can_focus=True):
    KIND = Kind.BUFFER

    def compose_body(self) -> ComposeResult:
        yield CompactStatic(id="buffer-gauge")
        yield CompactStatic(id="buffer-figures")
        yield CompactStatic(id="buffer-trend-legend")
        yield CompactSparkline([], id="buffer-trend")

    def show(self, snapshot: BufferSnapshot) -> None:  # type: ignore[override]
        show_text(self.query_one("#buffer-gauge", Static), render.head(snapshot, self.thresholds))
        show_text(
            self.query_one("#buffer-figures", Static),
            render.body(snapshot, self.thresholds),
            layout=True,
        )
        # The backend's own history when it has one, else the console's trend.
        history = render.history(snapshot)
        legend = render.history_legend(snapshot)
        if len(history) < 2 and self.trends is not None:
            history = self.trends.values(render.TREND_FILL)
            span = self.trends.legend(render.TREND_FILL, lambda v: f"{v:.1f}%")
            legend = Text(f"Fill over {span}" if span else "", style="dim")
        show_text(self.query_one("#buffer-trend-legend", Static), legend)
        self.query_one("#buffer-trend", Sparkline).data = history

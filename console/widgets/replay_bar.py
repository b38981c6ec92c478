"""The replay bar: where in the recording we are, and how it plays."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from console.recording import clock_text
from console.replay import ReplayDriver
from console.safe_text import clean


class ReplayBar(Static):
    DEFAULT_CSS = """
    ReplayBar { height: 1; background: $warning 30%; padding: 0 1;
                text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, driver: ReplayDriver, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.driver = driver

    def on_mount(self) -> None:
        self.refresh_bar()

    def refresh_bar(self) -> None:
        d = self.driver
        line = Text()
        line.append(" REPLAY ", style="bold black on yellow")
        line.append(" ▶ " if d.playing else " ⏸ ", style="bold")
        line.append(f"{clock_text(d.position - d.start)} / {clock_text(d.end - d.start)}")
        line.append(f"  speed {d.speed:g}x")
        line.append(f"  frame {d.index}/{len(d.frames)}", style="dim")
        if d.recording.damage:
            line.append("  DAMAGED: ", style="bold red")
            line.append(clean(d.recording.damage), style="red")
        line.append(
            "  space play/pause · n step · [ ] ±1 min · { } ±10 min · + - speed", style="dim"
        )
        self.update(line)

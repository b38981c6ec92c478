"""The replay bar: where in the recording we are, and how it plays."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from console.recording import clock_text
from console.replay import ReplayDriver
from console.safe_text import strip_controls


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
        driver = self.driver
        line = Text()
        line.append(" REPLAY ", style="bold black on yellow")
        line.append(" ▶ " if driver.playing else " ⏸ ", style="bold")
        played, length = driver.position - driver.start, driver.end - driver.start
        line.append(f"{clock_text(played)} / {clock_text(length)}")
        line.append(f"  speed {driver.speed:g}x")
        line.append(f"  frame {driver.index}/{len(driver.frames)}", style="dim")
        if driver.recording.damage:
            # A line of its own would not fit: the start of it, and where the rest is.
            damage = strip_controls(driver.recording.damage)
            line.append("  DAMAGED: ", style="bold red")
            line.append(damage if len(damage) <= 32 else damage[:31] + "…", style="red")
            line.append(" (? for all)", style="red")
        line.append(
            "  space play/pause · n step · [ ] ±1 min · { } ±10 min · + - speed", style="dim"
        )
        self.update(line)

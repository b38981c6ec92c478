"""Read what a Pilot-driven app shows, and wait for it, through Textual's public API."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from textual.app import App

#: One run of text in Textual's SVG screenshot: its x, its line and its characters.
_TEXT = re.compile(
    r'<text class="[^"]*" x="([\d.]+)" y="[\d.]+" textLength="[\d.]+" '
    r'clip-path="url\(#[\w-]*-line-(\d+)\)">([^<]*)</text>'
)
#: Width of a cell in that screenshot, in SVG units.
CELL = 12.2


def screen_lines(app: App) -> list[str]:
    """The characters on screen now, one string per terminal line (from the
    app's SVG screenshot: what a user would see)."""
    width, height = app.size
    lines = [[" "] * width for _ in range(height)]
    for x, line, text in _TEXT.findall(app.export_screenshot()):
        row, col = int(line), round(float(x) / CELL)
        if not 0 <= row < height:
            continue
        for offset, char in enumerate(html.unescape(text).replace("\xa0", " ")):
            if 0 <= col + offset < width:
                lines[row][col + offset] = char
    return ["".join(line) for line in lines]


def screen_text(app: App) -> str:
    return "\n".join(screen_lines(app))


async def wait_for(  # type: ignore[no-untyped-def]
    pilot,
    predicate: Callable[[], bool],
    what: str = "the condition",
    *,
    timeout: float = 5.0,
    step: float = 0.05,
) -> None:
    """Let the app run until ``predicate()`` holds; after ``timeout`` seconds
    fail, saying what was awaited and showing the screen as it was."""
    waited = 0.0
    while not predicate():
        await pilot.pause(step)
        waited += step
        if waited > timeout:
            screen = screen_text(pilot.app)
            raise AssertionError(f"waited {timeout:g} s for {what}; the screen:\n{screen}")

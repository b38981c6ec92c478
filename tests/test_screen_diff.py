"""The terminal gets only the cells that changed, and shows the same screen.

Textual repaints a refreshed widget's lines whole; at the simulator's
default speed that was three to four times the bytes ``htop -d 10`` writes
(issue 13). ``console/screen_diff.py`` sends the changed runs of cells
only. These tests replay every update of a real console session twice
into a small terminal model, once as Textual wrote it and once as the
console writes it now: after every update the two screens must be equal,
cell for cell (character, SGR codes, link).
"""

from __future__ import annotations

import re

import pytest
from rich.cells import get_character_cell_size
from rich.console import Console
from textual.app import App
from textual.strip import Strip

from backends.model import Kind
from console.screen_diff import DiffedUpdate, ScreenDiff
from tests.simapp import simulator_app, wait_settled

TOKEN = re.compile(
    r"\x1b\[(\d+);(\d+)H|\x1b\[([\d;]*)m|\x1b\]8;[^;]*;([^\x1b]*)\x1b\\|(\n)|(.)", re.S
)


class Terminal:
    """Just what Textual writes: cursor moves, SGR, OSC 8 links, text."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.cells = [[(" ", "", "")] * width for _ in range(height)]
        self.x = self.y = 0
        self.sgr = ""
        self.link = ""

    def feed(self, data: str) -> None:
        for match in TOKEN.finditer(data):
            row, column, sgr, link, newline, char = match.groups()
            if row is not None:
                self.y, self.x = int(row) - 1, int(column) - 1
            elif sgr is not None:
                self.sgr = "" if sgr in ("", "0") else sgr
            elif link is not None:
                self.link = link
            elif newline is not None:
                self.y += 1
            else:
                size = get_character_cell_size(char)
                if size == 0:
                    x = self.x - 1
                    held, sgr_, link_ = self.cells[self.y][x]
                    self.cells[self.y][x] = (held + char, sgr_, link_)
                    continue
                self.cells[self.y][self.x] = (char, self.sgr, self.link)
                if size == 2:
                    self.cells[self.y][self.x + 1] = ("", self.sgr, self.link)
                self.x += size

    def text(self) -> str:
        return "\n".join("".join(c[0] for c in line) for line in self.cells)


class Recorder:
    """Every update the console hands Textual, written both ways."""

    def __init__(self, width: int, height: int) -> None:
        self.whole = Terminal(width, height)
        self.diffed = Terminal(width, height)
        self.whole_bytes = 0
        self.diffed_bytes = 0
        self.sent: list[str] = []
        self.updates = 0

    def display(self, app: App[object], screen: object, renderable: object) -> None:
        if not isinstance(renderable, DiffedUpdate):
            return
        whole = renderable.update.render_segments(app.console)
        diffed = renderable.render_segments(app.console)
        self.whole.feed(whole)
        self.diffed.feed(diffed)
        self.whole_bytes += len(whole.encode())
        self.diffed_bytes += len(diffed.encode())
        self.sent.append(diffed)
        self.updates += 1
        assert self.diffed.cells == self.whole.cells, f"after update {self.updates}"


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recorder = Recorder(120, 40)
    monkeypatch.setattr(
        App, "_display", lambda app, screen, renderable: recorder.display(app, screen, renderable)
    )
    return recorder


async def test_the_screen_is_the_same_cell_for_cell(recorder: Recorder) -> None:
    """Panes filled, switched, zoomed, a screen over them and back, rows
    scrolled and sorted: the terminal shows what Textual drew."""
    app = simulator_app("held-jobs")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_settled(pilot)
        for key in ("tab", "tab", "5", "down", "down", "end", "home", "s", "z", "z", "a"):
            await pilot.press(key)
            await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
    assert recorder.updates > 10
    assert recorder.whole.text().strip()
    assert recorder.diffed_bytes < recorder.whole_bytes


async def test_a_changed_age_sends_only_what_changed(recorder: Recorder) -> None:
    """A status line whose age stepped from "<10 s ago" to "10 s ago" sends
    the new age, not the line again (Textual sent all 58 cells)."""
    clock = [0.0]
    app = simulator_app()
    app.clock = lambda: clock[0]
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_settled(pilot)
        await pilot.pause()
        assert app.poller is not None
        app.poller.stop()
        sent = len(recorder.sent)
        received = app.states[Kind.BUFFER].received_at
        assert received is not None
        clock[0] = received + 10.5
        app.pane(Kind.BUFFER).update_status(clock[0])
        await pilot.pause()
        out = "".join(recorder.sent[sent:])
        assert "10 s ago" in recorder.diffed.text()
        assert "10 s" in out
        assert "simulator" not in out and "as of" not in out
        assert recorder.diffed.cells == recorder.whole.cells


def test_an_unchanged_update_sends_nothing_and_a_wide_character_whole() -> None:
    """The same strip again sends nothing; a change beside a wide character
    sends the whole character (half of one would garble the line)."""
    from rich.segment import Segment
    from rich.style import Style

    console = Console(color_system="256", force_terminal=True)
    diff = ScreenDiff()
    red = Style(color="red")
    first = Strip([Segment("ab", red), Segment("日x", None)])
    assert diff.piece(0, 0, first, console, diff=True)
    assert diff.piece(0, 0, first, console, diff=True) == ""
    second = Strip([Segment("ab", red), Segment("日y", None)])
    assert diff.piece(0, 0, second, console, diff=True) == "\x1b[1;5Hy"
    # A change in the second half of a wide character's cells.
    third = Strip([Segment("ab", red), Segment("本y", None)])
    assert diff.piece(0, 0, third, console, diff=True) == "\x1b[1;3H本"
    # A control segment: sent as Textual would, and the cells forgotten.
    control = Strip([Segment("ab", red), Segment("\x07", None, [(1,)])])  # type: ignore[list-item]
    assert diff.piece(0, 0, control, console, diff=True)
    assert diff.piece(0, 0, first, console, diff=True).startswith("\x1b[1;1H")


async def test_after_a_suspend_the_next_update_is_sent_whole() -> None:
    """Another program had the terminal (a suspend): what it shows is
    unknown, so nothing may be skipped as unchanged."""
    app = simulator_app("held-jobs")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_settled(pilot)
        diff = app.screen_diff
        diff.lines[0] = [("x", "", None)] * 120
        app.app_suspend_signal.publish(app)
        assert diff.lines == {}
        diff.lines[0] = [("x", "", None)] * 120
        app.app_resume_signal.publish(app)
        assert diff.lines == {}
    from rich.segment import Segment

    console = Console(color_system="256", force_terminal=True)
    strip = Strip([Segment("abc", None)])
    assert diff.piece(0, 0, strip, console, diff=True) == "\x1b[1;1Habc"
    assert diff.piece(0, 0, strip, console, diff=True) == ""
    diff.forget()
    assert diff.piece(0, 0, strip, console, diff=True) == "\x1b[1;1Habc"

"""Send the terminal only the cells that changed.

Textual repaints a refreshed widget line by line: a table row whose one
number moved, a status line whose age stepped, the scrollbars beside a
table that got new rows, all go down the wire whole, every poll. At the
simulator's default speed, where every pane changes at every poll, that
was three to four times what ``htop -d 10`` writes at the same size.

``ScreenDiff`` keeps what the terminal was last sent, cell by cell (the
character and how it looks: the SGR codes Textual sends for it, and its link), and turns each of
Textual's partial updates into the runs of cells that differ from it,
each reached by a cursor move (unchanged gaps shorter than a cursor move
and a restyle are sent again rather than jumped). A full update (a new
screen, a resize) is sent as Textual made it and becomes the new record;
after a suspend the record is dropped, so the next update is sent whole.

A line that holds what a cell cannot say simply (a control segment, a
character of no width where a line starts) is sent as Textual made it and
its cells are forgotten, so the next update of them is sent whole too.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from rich.cells import get_character_cell_size
from rich.color import ColorSystem
from rich.console import Console, ConsoleOptions, ConsoleRenderable, RenderResult
from rich.style import Style
from textual._compositor import ChopsUpdate, CompositorUpdate, LayoutUpdate
from textual.strip import Strip

__all__ = ["DiffedUpdate", "ScreenDiff"]

#: What a cell looks like on the terminal: its character(s), SGR codes and
#: link; the second half of a wide character is ``""``.
Cell = tuple[str, str, str | None]
#: A cell the terminal may show anything in.
UNKNOWN: Cell = ("\x00", "", None)
#: Unchanged cells shorter than this between two changed runs are sent again
#: (a cursor move and a restyle cost about as much).
GAP = 12


def _cells(strip: Strip, colors: ColorSystem) -> list[tuple[Cell, Style | None]] | None:
    """The strip cell by cell, with each cell's style; None when it holds
    what cells cannot say simply."""
    out: list[tuple[Cell, Style | None]] = []
    append = out.append
    for text, style, control in strip:
        if control:
            return None
        if style is None:
            sgr, link = "", None
        else:
            # What Textual will send for it (its cached codes, if any).
            ansi = style._ansi
            sgr, link = (
                (ansi if ansi is not None else Strip.render_ansi(style, colors)),
                style._link,
            )
        if text.isascii() and text.isprintable():
            out.extend([((char, sgr, link), style) for char in text])
            continue
        for char in text:
            size = get_character_cell_size(char)
            if size == 1 and char.isprintable():
                append(((char, sgr, link), style))
            elif size == 2:
                append(((char, sgr, link), style))
                append((("", sgr, link), style))
            elif size == 0 and out and char.isprintable() and out[-1][0][0]:
                (previous, p_sgr, p_link), previous_style = out[-1]
                out[-1] = ((previous + char, p_sgr, p_link), previous_style)
            else:
                return None
    return out


def _render(cells: Iterable[tuple[Cell, Style | None]], colors: ColorSystem) -> str:
    """Cells as Textual writes them: one sequence per run of one look."""
    parts: list[str] = []
    run: list[str] = []
    run_key: tuple[str, str | None] | None = None
    run_style: Style | None = None

    def flush() -> None:
        if run:
            text = "".join(run)
            parts.append(text if run_style is None else Strip.render_style(run_style, text, colors))

    for (char, sgr, link), style in cells:
        key = (sgr, link)
        if key != run_key or (style is None) != (run_style is None):
            flush()
            run, run_key, run_style = [], key, style
        run.append(char)
    flush()
    return "".join(parts)


def _move_to(x: int, y: int) -> str:
    return f"\x1b[{y + 1};{x + 1}H"


class ScreenDiff:
    """What the terminal was sent, cell by cell."""

    def __init__(self) -> None:
        self.lines: dict[int, list[Cell]] = {}

    def forget(self) -> None:
        """The terminal's contents are unknown (after a suspend): the next
        update is sent whole."""
        self.lines.clear()

    def _line(self, y: int, end: int) -> list[Cell]:
        line = self.lines.get(y)
        if line is None:
            line = self.lines[y] = []
        if len(line) < end:
            line.extend([UNKNOWN] * (end - len(line)))
        return line

    def piece(self, x: int, y: int, strip: Strip, console: Console, *, diff: bool) -> str:
        """What to send for ``strip`` at (x, y): the changed runs of cells
        (all of them when ``diff`` is false), and record it."""
        colors = console._color_system or ColorSystem.TRUECOLOR
        cells = _cells(strip, colors)
        if cells is None:
            line = self._line(y, x + strip.cell_length)
            line[x : x + strip.cell_length] = [UNKNOWN] * strip.cell_length
            return _move_to(x, y) + strip.render(console)
        end = x + len(cells)
        line = self._line(y, end)
        new = [cell for cell, _ in cells]
        if not diff:
            line[x:end] = new
            return _move_to(x, y) + _render(cells, colors)
        old = line[x:end]
        runs: list[list[int]] = []
        for i, cell in enumerate(new):
            if cell != old[i]:
                if runs and i - runs[-1][1] < GAP:
                    runs[-1][1] = i + 1
                else:
                    runs.append([i, i + 1])
        if not runs:
            return ""
        line[x:end] = new
        out: list[str] = []
        for start, stop in runs:
            # Never half a wide character.
            if start > 0 and new[start][0] == "":
                start -= 1
            if stop < len(new) and new[stop][0] == "":
                stop += 1
            out.append(_move_to(x + start, y))
            out.append(_render(cells[start:stop], colors))
        return "".join(out)

    def render(self, update: CompositorUpdate, console: Console) -> str:
        """The terminal sequences for one of Textual's updates."""
        if isinstance(update, LayoutUpdate):
            region = update.region
            if region.x == 0 and region.y == 0:
                self.lines.clear()
            out: list[str] = []
            for y, line in enumerate(update.strips, region.y):
                x = region.x
                for strip in line:
                    out.append(self.piece(x, y, strip, console, diff=False))
                    x += strip.cell_length
            return "".join(out)
        if isinstance(update, ChopsUpdate):
            out = []
            for y, x1, x2 in update.spans:
                ends = update.chop_ends[y]
                for end, (x, chop) in zip(ends, update.chops[y].items(), strict=False):
                    if chop is None or x > x2 or end <= x1:
                        continue
                    if not (x2 > x >= x1 and end <= x2):
                        chop = chop.crop(0, min(end, x2) - x)
                    out.append(self.piece(x, y, chop, console, diff=True))
            return "".join(out)
        self.forget()
        return update.render_segments(console)


class DiffedUpdate(CompositorUpdate):
    """One of Textual's updates, rendered against what the terminal shows."""

    def __init__(self, update: CompositorUpdate, diff: ScreenDiff) -> None:
        self.update = update
        self.diff = diff

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield cast("ConsoleRenderable", self.update)

    def render_segments(self, console: Console) -> str:
        return self.diff.render(self.update, console)

"""Lines reach the terminal with one escape sequence per run of a look.

Textual writes each segment as ``ESC[<sgr>m text ESC[0m``; the console's
widgets join adjacent segments that look the same (``console/widgets/
compact.py``). The screen must stay the same cell for cell, and a click on a
table row must still select that row.
"""

from __future__ import annotations

import re

from rich.color import ColorSystem
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip

from console.screens.run_details import RunDetailsScreen
from console.widgets.compact import CompactLines, joined
from console.widgets.fitted_table import FittedTable
from tests.screen import screen_text
from tests.simapp import simulator_app, wait_settled

BLUE = Style(color="#0000ff", bgcolor="#101010")
RED = Style(color="#ff0000", bgcolor="#101010")

#: A look written again right after the reset that ended it: a split run.
SPLIT = re.compile(r"\x1b\[([0-9;]+)m[^\x1b]*\x1b\[0m\x1b\[\1m")


def cells(strip: Strip, colors: ColorSystem) -> list[tuple[str, str]]:
    """(character, SGR codes) of every cell, as the terminal gets them."""
    out = []
    for text, style, _ in strip:
        ansi = Strip.render_ansi(style, colors) if style is not None else ""
        out.extend((ch, ansi) for ch in text)
    return out


def test_equal_looking_segments_are_joined_and_the_cells_kept() -> None:
    first, second = (Style.from_meta({"row": 3, "column": c}) for c in (0, 1))
    strip = Strip(
        [
            Segment("ab", BLUE + first),
            Segment(" ", BLUE + second),  # another cell: its own click target
            Segment("cd", BLUE + second),
            Segment("ef", RED),
            Segment("g", RED),
        ]
    )
    out = joined(strip, ColorSystem.TRUECOLOR)
    assert [s.text for s in out] == ["ab", " cd", "efg"]
    assert [s.style.meta for s in out][:2] == [first.meta, second.meta]
    assert cells(out, ColorSystem.TRUECOLOR) == cells(strip, ColorSystem.TRUECOLOR)
    assert out.cell_length == strip.cell_length
    rendered = out.render(_console())
    assert rendered.count("\x1b[0m") == 3


def test_what_the_terminal_tells_apart_stays_apart() -> None:
    near = Style(color="#0000fe", bgcolor="#101010")  # another colour in truecolor
    strip = Strip([Segment("a", BLUE), Segment("b", near), Segment("c", BLUE, None)])
    assert len(list(joined(strip, ColorSystem.TRUECOLOR))) == 3
    # In 256 colours both are the same blue: the terminal shows one run.
    blue, near = (Style(color=c, bgcolor="#101010") for c in ("#0000ff", "#0000fe"))
    strip = Strip([Segment("a", blue), Segment("b", near), Segment("c", blue)])
    assert [s.text for s in joined(strip, ColorSystem.EIGHT_BIT)] == ["abc"]
    linked = Strip([Segment("a", BLUE), Segment("b", BLUE + Style(link="https://x"))])
    assert len(list(joined(linked))) == 2
    apart = Strip([Segment("a", BLUE), Segment("b", RED)])
    assert joined(apart) is apart  # nothing to join: the same strip
    # Text-selection offsets (Textual's, on every segment of a Static) do
    # not keep segments apart.
    at = [Style.from_meta({"offset": (x, 0)}) for x in (0, 1)]
    assert [
        s.text for s in joined(Strip([Segment("a", RED + at[0]), Segment("b", RED + at[1])]))
    ] == ["ab"]


def _console():  # type: ignore[no-untyped-def]
    from rich.console import Console

    return Console(color_system="truecolor", force_terminal=True)


async def test_no_widget_of_the_console_splits_a_run_of_one_look() -> None:
    app = simulator_app("rse-outage")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_settled(pilot)
        widgets = [w for w in app.screen.walk_children() if isinstance(w, CompactLines)]
        assert len(widgets) >= 15  # the tables, the sparkline, the status lines
        console = app.console
        colors = console._color_system or ColorSystem.TRUECOLOR
        split = []
        for widget in widgets:
            if not widget.display or not widget.size.area:
                continue
            region = Region(0, 0, *widget.size)
            # (a table's cells are click targets of their own: not joined)
            if not isinstance(widget, FittedTable):
                for strip in widget.render_lines(region):
                    if SPLIT.search(strip.render(console)):
                        split.append(widget)
                        break
            # Each line shows what the widget drew, cell for cell.
            plain = super(CompactLines, widget).render_lines(region)  # type: ignore[misc]
            for mine, theirs in zip(widget.render_lines(region), plain, strict=True):
                assert cells(mine, colors) == cells(theirs, colors)
        assert split == []


async def test_a_click_on_a_table_row_still_selects_that_row() -> None:
    app = simulator_app("rse-outage")
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_settled(pilot)
        table = app.query_one("#stuck-table", FittedTable)
        assert table.row_count >= 2
        await pilot.press("2")
        # Twice on the second rule's row, in a joined run of cells: the
        # first click moves the cursor there, the second selects it.
        for _ in range(2):
            await pilot.click(table, offset=(30, 2))
            await pilot.pause()
        assert table.cursor_row == 1
        assert isinstance(app.screen, RunDetailsScreen)
        assert "Run " in screen_text(app)

"""VirtualTable draws again only the lines whose content changed."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult

from console.render.common import Column
from console.widgets.virtual_table import VirtualTable


class CountingTable(VirtualTable):
    """Counts the lines it lays out and renders (``_draw_line``)."""

    def __init__(self) -> None:
        super().__init__([Column("n", 6, "right"), Column("word", 10)])
        self.drawn: list[str] = []

    def _draw_line(self, cells, cursor, width, scroll_x):  # type: ignore[no-untyped-def]
        self.drawn.append(cells[0].plain if cells else "")
        return super()._draw_line(cells, cursor, width, scroll_x)


class TableApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.words = {i: f"w{i}" for i in range(1000)}

    def compose(self) -> ComposeResult:
        yield CountingTable()

    def row(self, index: int) -> list[Text]:
        return [Text(str(index)), Text(self.words[index], style="red")]


async def test_a_cursor_move_draws_only_the_two_lines_it_changes() -> None:
    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(CountingTable)
        table.set_rows(1000, app.row)
        table.focus()
        await pilot.pause()
        assert "0" in table.drawn and "10" in table.drawn  # the first screen drawn
        table.drawn.clear()
        await pilot.press("down")
        await pilot.pause()
        # The line the cursor left and the one it reached, not the screen.
        assert sorted(table.drawn) == ["0", "1"]
        table.drawn.clear()
        await pilot.press("end")
        await pilot.pause()
        assert "999" in table.drawn
        table.drawn.clear()
        await pilot.press("home")
        await pilot.pause()
        # The first screen again, every line as it was drawn before (row 0
        # with the cursor, row 1 without): nothing is drawn anew.
        assert table.drawn == []
        assert table.render_line(1).text.split()[0] == "0"


async def test_a_row_whose_content_changed_is_drawn_again() -> None:
    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(CountingTable)
        table.set_rows(1000, app.row)
        await pilot.pause()
        table.drawn.clear()
        app.words[3] = "changed"
        table.set_rows(1000, app.row)  # same count: only changed rows refreshed
        await pilot.pause()
        assert table.drawn == ["3"]
        assert "changed" in table.render_line(4).text
        # A new width draws every line again, at that width.
        table.drawn.clear()
        await pilot.resize_terminal(30, 12)
        await pilot.pause()
        assert "0" in table.drawn and len(table.render_line(1).text) == 30


async def test_end_before_the_first_rows_is_kept_for_them() -> None:
    """End pressed while a long history is on its way (no rows yet) went
    nowhere, and stayed lost when the rows came; Home after it cancels it."""
    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(CountingTable)
        table.focus()
        await pilot.press("end")
        table.set_rows(1000, app.row)
        await pilot.pause()
        assert table.cursor_row == 999
        assert table.render_line(11).text.split()[0] == "999"  # the last line
        table.set_rows(0, app.row)
        await pilot.press("end", "home")
        table.set_rows(1000, app.row)
        await pilot.pause()
        assert table.cursor_row == 0

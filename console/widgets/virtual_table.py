"""A table that renders only the rows on screen.

A DataTable builds every row up front (26,762 runs take about 8 s here); this
one asks its row source for the visible rows only, so the first paint and a
jump to the end cost the same whatever the number of rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.segment import Segment
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from console.render.common import Column

__all__ = ["Column", "RowRenderer", "VirtualTable"]

#: Returns the cells of row ``index`` (0 = first row shown).
RowRenderer = Callable[[int], Sequence[Text]]


class VirtualTable(ScrollView, can_focus=True):
    """Rows come from ``row_renderer(index)``; only visible ones are asked for."""

    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,g", "first", "First", show=False),
        Binding("end,G", "last", "Last", show=False),
        Binding("enter", "select", "Details", show=True),
    ]

    DEFAULT_CSS = """
    VirtualTable { height: 1fr; scrollbar-size-vertical: 1; }
    """

    class RowSelected(Message):
        def __init__(self, table: VirtualTable, index: int) -> None:
            super().__init__()
            self.table = table
            self.index = index

        @property
        def control(self) -> VirtualTable:
            return self.table

    def __init__(self, columns: Sequence[Column], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.columns = tuple(columns)
        self.row_count = 0
        self.cursor_row = 0
        self._renderer: RowRenderer = lambda _i: ()
        self._width = sum(c.width for c in self.columns) + len(self.columns) - 1

    # ---------------------------------------------------------------- data

    def set_rows(self, count: int, renderer: RowRenderer) -> None:
        """Point the table at new rows; keeps the cursor in range."""
        self.row_count = count
        self._renderer = renderer
        self.cursor_row = max(0, min(self.cursor_row, count - 1))
        self.virtual_size = Size(self._width, count)
        self.refresh()

    def header_text(self) -> Text:
        """The column titles, laid out as the rows are (shown above the table)."""
        return self._layout([Text(c.title, style="bold") for c in self.columns])

    def _layout(self, cells: Sequence[Text]) -> Text:
        line = Text(no_wrap=True, overflow="ellipsis")
        for i, (column, cell) in enumerate(zip(self.columns, cells, strict=False)):
            if i:
                line.append(" ")
            cell = cell.copy()
            if column.justify == "right" and cell.cell_len < column.width:
                cell.pad_left(column.width - cell.cell_len)
            cell.truncate(column.width, overflow="ellipsis", pad=True)
            line.append_text(cell)
        return line

    # ------------------------------------------------------------- actions

    def action_cursor(self, delta: int) -> None:
        self.move_cursor(self.cursor_row + delta)

    def action_page(self, direction: int) -> None:
        self.move_cursor(self.cursor_row + direction * max(1, self.size.height - 1))

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(self.row_count - 1)

    def action_select(self) -> None:
        if self.row_count:
            self.post_message(self.RowSelected(self, self.cursor_row))

    def move_cursor(self, row: int) -> None:
        if not self.row_count:
            return
        self.cursor_row = max(0, min(row, self.row_count - 1))
        height = max(1, self.size.height)
        top = int(self.scroll_offset.y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + height:
            self.scroll_to(y=self.cursor_row - height + 1, animate=False, immediate=True)
        self.refresh()

    def on_click(self, event: events.Click) -> None:
        row = int(self.scroll_offset.y) + event.y
        if 0 <= row < self.row_count:
            self.move_cursor(row)

    # ------------------------------------------------------------ rendering

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = int(scroll_y) + y
        width = self.size.width
        if index >= self.row_count:
            return Strip.blank(width, self.rich_style)
        line = self._layout(self._renderer(index))
        cursor = (
            self.get_component_rich_style("virtual-table--cursor")
            if index == self.cursor_row
            else None
        )
        segments = Segment.apply_style(
            line.render(self.app.console), self.rich_style, post_style=cursor
        )
        strip = Strip(segments, line.cell_len)
        fill = self.rich_style + cursor if cursor else self.rich_style
        return strip.crop_extend(int(scroll_x), int(scroll_x) + width, fill)

    COMPONENT_CLASSES = {"virtual-table--cursor"}

    DEFAULT_CSS += """
    VirtualTable > .virtual-table--cursor { background: $accent 40%; }
    VirtualTable:focus > .virtual-table--cursor { background: $accent; color: $text; }
    """

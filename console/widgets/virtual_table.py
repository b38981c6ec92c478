"""A table that renders only the rows on screen.

A DataTable builds every row up front (26,762 runs take about 8 s here); this
one asks its row source for the visible rows only, so the first paint and a
jump to the end cost the same whatever the number of rows.

Its first line is the header, which scrolls sideways with the rows. Columns
fit the width as ``render.common.fit_columns`` says (the least important
dropped first, never a number cut), or all of them in ``wide`` mode; the key
column stays in view when the table scrolls sideways.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from console.render.common import Column, fit_columns
from console.widgets.compact import CompactLines

__all__ = ["Column", "RowRenderer", "VirtualTable"]

#: Returns the cells of row ``index`` (0 = first row shown), one per column.
RowRenderer = Callable[[int], Sequence[Text]]
#: Lines above the rows: the header.
HEADER = 1
#: Lines kept drawn, by what they were drawn from (a few screens' worth).
LINES_KEPT = 512


class VirtualTable(CompactLines, ScrollView, can_focus=True):
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

    class _RowMessage(Message):
        """About row ``index`` of ``table``."""

        def __init__(self, table: VirtualTable, index: int) -> None:
            super().__init__()
            self.table = table
            self.index = index

        @property
        def control(self) -> VirtualTable:
            return self.table

    class RowSelected(_RowMessage):
        """Enter (or a click) on a row."""

    class CursorMoved(_RowMessage):
        """The cursor is on another row (the pane shows it in its detail line)."""

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        id: str | None = None,
        on_cursor: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__(id=id)
        #: Called (before the table repaints) when the cursor moves to
        #: another row: what it updates is drawn in the same frame as the
        #: table, where ``CursorMoved``, handled a message later, came a
        #: frame after it (a key's answer took two frames, 17-40 ms apart).
        self._on_cursor = on_cursor
        self.columns = tuple(columns)
        self.row_count = 0
        self.cursor_row = 0
        self.wide = False
        self._renderer: RowRenderer = lambda _i: ()
        self._shown: tuple[int, ...] = tuple(range(len(self.columns)))
        self._width = self._line_width()
        #: End was pressed while there were no rows: go there when they come.
        self._to_last = False
        #: The cells each row was last drawn with (``refresh_changed``).
        self._drawn: dict[int, tuple[object, ...]] = {}
        #: Lines drawn, by what they were drawn from: a refresh (the cursor
        #: moved, a poll came) lays out and renders again only the lines
        #: whose cells, cursor, style, width or sideways scroll changed.
        self._lines: dict[tuple[object, ...], Strip] = {}

    # ---------------------------------------------------------------- data

    def set_rows(self, count: int, renderer: RowRenderer) -> None:
        """Point the table at new rows; keeps the cursor in range."""
        same_count = count == self.row_count
        self.row_count = count
        self._renderer = renderer
        self.cursor_row = max(0, min(self.cursor_row, count - 1))
        if same_count:
            self.refresh_changed()  # new data, most rows as they were
            return
        self._resize_virtual()
        self.refresh()
        if self._to_last and count:
            self._to_last = False
            self.move_cursor(count - 1)
            # (scrolled once the new height has reached the scroll limits)
            self.call_after_refresh(self._scroll_to_cursor)

    def refresh_changed(self) -> None:
        """Redraw only the visible rows whose cells are not what was drawn.

        New data (a poll) leaves most rows as they were; a full refresh
        would send every visible line to the terminal again.
        """
        if not self.size.height:
            return
        top = int(self.scroll_offset.y)
        visible = range(top, top + self._rows_shown())
        for index in visible:
            drawn = self._drawn.get(index)
            cells = _drawing(self._renderer(index)) if index < self.row_count else None
            if cells != drawn:
                self.refresh_line(index + HEADER)
        for index in [i for i in self._drawn if i not in visible]:
            del self._drawn[index]

    @property
    def shown(self) -> tuple[int, ...]:
        """The columns shown now (indices into ``columns``)."""
        return self._shown

    def set_wide(self, wide: bool) -> None:
        self.wide = wide
        self._fit()

    def on_resize(self, event: events.Resize) -> None:
        self._fit()
        # The cursor may have moved while the table was hidden (`:` from
        # another pane at 80x24): bring it into view now that it has a size.
        self._scroll_to_cursor()

    def _fit(self) -> None:
        natural = [c.width for c in self.columns]
        available = max(1, self.size.width - 1)  # a cell for the scrollbar
        self._shown, _ = fit_columns(self.columns, natural, available, gap=1, wide=self.wide)
        self._width = self._line_width()
        self._resize_virtual()
        self.refresh()

    def _line_width(self) -> int:
        return sum(self.columns[i].width for i in self._shown) + len(self._shown) - 1

    def _resize_virtual(self) -> None:
        self.virtual_size = Size(self._width, self.row_count + HEADER)

    def header_text(self) -> Text:
        """The titles of the columns shown, laid out as the rows are."""
        return self._layout([Text(c.title, style="bold") for c in self.columns])

    def _layout(self, cells: Sequence[Text], start: int = 0) -> Text:
        """The shown columns of ``cells`` (from the ``start``-th shown), one line."""
        line = Text(no_wrap=True, overflow="ellipsis")
        for n, index in enumerate(self._shown[start:]):
            column = self.columns[index]
            if n:
                line.append(" ")
            cell = cells[index].copy() if index < len(cells) else Text()
            if column.justify == "right" and cell.cell_len < column.width:
                cell.pad_left(column.width - cell.cell_len)
            cell.truncate(column.width, overflow="ellipsis", pad=True)
            line.append_text(cell)
        return line

    # ------------------------------------------------------------- actions

    def action_cursor(self, delta: int) -> None:
        self._to_last = False
        self.move_cursor(self.cursor_row + delta)

    def action_page(self, direction: int) -> None:
        self._to_last = False
        self.move_cursor(self.cursor_row + direction * max(1, self._rows_shown() - 1))

    def action_first(self) -> None:
        self._to_last = False
        self.move_cursor(0)

    def action_last(self) -> None:
        # Before the first rows came (a long history is on its way), End
        # is kept for them rather than lost.
        self._to_last = not self.row_count
        self.move_cursor(self.row_count - 1)

    def action_select(self) -> None:
        if self.row_count:
            self.post_message(self.RowSelected(self, self.cursor_row))

    def _rows_shown(self) -> int:
        return max(1, self.size.height - HEADER)

    def move_cursor(self, row: int) -> None:
        if not self.row_count:
            return
        before = self.cursor_row
        self.cursor_row = max(0, min(row, self.row_count - 1))
        moved = self.cursor_row != before
        if moved and self._on_cursor is not None:
            self._on_cursor(self.cursor_row)
        self._scroll_to_cursor()
        self.refresh()
        if moved:
            self.post_message(self.CursorMoved(self, self.cursor_row))

    def _scroll_to_cursor(self) -> None:
        if not self.size.height:
            return  # hidden: scrolled when it is shown (on_resize)
        height = self._rows_shown()
        top = int(self.scroll_offset.y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + height:
            self.scroll_to(y=self.cursor_row - height + 1, animate=False, immediate=True)

    def on_click(self, event: events.Click) -> None:
        row = int(self.scroll_offset.y) + event.y - HEADER
        if 0 <= row < self.row_count:
            self.move_cursor(row)

    # ------------------------------------------------------------ rendering

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        if y < HEADER:
            cells: Sequence[Text] = [Text(c.title, style="bold") for c in self.columns]
            cursor = None
            drawing: tuple[object, ...] = _drawing(cells)
        else:
            index = int(scroll_y) + y - HEADER
            if index >= self.row_count:
                self._drawn.pop(index, None)
                return Strip.blank(width, self.rich_style)
            cells = self._renderer(index)
            drawing = self._drawn[index] = _drawing(cells)
            cursor = (
                self.get_component_rich_style("virtual-table--cursor")
                if index == self.cursor_row
                else None
            )
        key = (drawing, cursor, self.rich_style, width, int(scroll_x), self._shown)
        strip = self._lines.get(key)
        if strip is None:
            strip = self._draw_line(cells, cursor, width, int(scroll_x))
            if len(self._lines) >= LINES_KEPT:
                self._lines.clear()
            self._lines[key] = strip
        return strip

    def _draw_line(
        self, cells: Sequence[Text], cursor: Style | None, width: int, scroll_x: int
    ) -> Strip:
        fill = self.rich_style + cursor if cursor else self.rich_style
        if not scroll_x:
            return self._strip(self._layout(cells), cursor).crop_extend(0, width, fill)
        # Scrolled sideways: the key column stays, the others slide under it.
        key = self._layout(cells)[: self.columns[self._shown[0]].width + 1]
        rest = self._strip(self._layout(cells, start=1), cursor)
        key_strip = self._strip(key, cursor)
        rest = rest.crop_extend(scroll_x, scroll_x + width - key.cell_len, fill)
        return Strip.join([key_strip, rest])

    def _strip(self, line: Text, cursor: object) -> Strip:
        segments = Segment.apply_style(
            line.render(self.app.console),
            self.rich_style,
            post_style=cursor,  # type: ignore[arg-type]
        )
        return Strip(segments, line.cell_len)

    COMPONENT_CLASSES = {"virtual-table--cursor"}

    DEFAULT_CSS += """
    VirtualTable > .virtual-table--cursor { background: $accent 40%; }
    VirtualTable:focus > .virtual-table--cursor { background: $accent; color: $text; }
    """


def _drawing(cells: Sequence[Text]) -> tuple[object, ...]:
    """What a row looks like: text, base style and spans of each cell (a
    ``Text``'s own ``==`` ignores its base style: "wait" yellow would equal
    "wait" red)."""
    return tuple((c.plain, str(c.style), tuple(c.spans)) for c in cells)

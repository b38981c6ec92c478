"""A DataTable whose columns fit its width, least important dropped first.

Each column has a priority (0: the key column, never dropped, kept in view
when the table scrolls sideways). When the rows do not fit, text columns
marked ``cut`` (messages, errors) are shortened to their minimum first, then
whole columns are dropped, the least important first: a number is never cut.
``wide`` shows every column at its full width and the table scrolls sideways.
What a row holds in full, hidden columns included, is ``detail(key)``: the
pane shows it in a line under the table for the row under the cursor.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import events

from console.render.common import Column, Row, fit_columns
from console.widgets.compact import CompactLines
from console.widgets.tables import SizedTable, forget, sync_rows


def _shown_widths(
    layout: tuple[tuple[int, ...], tuple[int, ...]] | None,
) -> tuple[tuple[int, int], ...] | None:
    """What a layout puts on screen: the columns shown and their widths (a
    hidden column's width changes nothing: the jobs pane rebuilt its DAG
    table at every poll because a hidden column's widest cell grew)."""
    if layout is None:
        return None
    shown, widths = layout
    return tuple((index, widths[index]) for index in shown)


class FittedTable(CompactLines, SizedTable[Text]):
    def __init__(self, columns: Sequence[Column], *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.specs = tuple(columns)
        self.fixed_columns = 1
        self.wide = False
        self._rows: list[Row] = []
        self._layout: tuple[tuple[int, ...], tuple[int, ...]] | None = None

    @property
    def titles(self) -> list[str]:
        return [c.title for c in self.specs]

    @property
    def shown(self) -> tuple[int, ...]:
        """The columns shown now (indices into ``specs``)."""
        return self._layout[0] if self._layout is not None else tuple(range(len(self.specs)))

    def set_rows(self, rows: Sequence[Row]) -> None:
        """Show these full rows (every column), as many columns as fit."""
        self._rows = list(rows)
        self._draw()

    def set_wide(self, wide: bool) -> None:
        if wide != self.wide:
            self.wide = wide
            self._draw()

    def on_resize(self, event: events.Resize) -> None:
        self._draw()

    def _draw(self) -> None:
        natural = [len(c.title) for c in self.specs]
        for _, cells in self._rows:
            for i, cell in enumerate(cells[: len(natural)]):
                natural[i] = max(natural[i], cell.cell_len)
        if self.size.width or self._layout is None:
            # Two cells of padding per column, a cell of scrollbar. A hidden
            # table (another pane shown) has no width: it keeps its layout
            # until it is shown again, rather than relaying out for none.
            available = self.size.width - 1 if self.size.width else 10_000
            layout = fit_columns(self.specs, natural, available, gap=2, wide=self.wide)
        else:
            layout = self._layout
        shown, widths = layout
        if _shown_widths(layout) != _shown_widths(self._layout):
            # New columns mean new rows: the cursor follows its row's key, so
            # a refresh that widens a column never moves it to the top.
            cursor = self.cursor_key()
            scroll_y = self.scroll_y
            forget(self)
            self.clear(columns=True)
            for index in shown:
                spec = self.specs[index]
                self.add_column(Text(spec.title, justify=spec.justify), width=widths[index])
            self._layout = (shown, widths)
            self._fill(shown)
            if cursor is not None:
                keys = [key for key, _ in self._rows]
                if cursor in keys:
                    self.scroll_to(y=scroll_y, animate=False, immediate=True)
                    self.move_cursor(row=keys.index(cursor), animate=False)
            return
        self._fill(shown)

    def _fill(self, shown: Sequence[int]) -> None:
        # The columns are sized here (_draw): a changed cell needs no layout.
        sync_rows(
            self,
            [(key, tuple(self._cell(cells, i) for i in shown)) for key, cells in self._rows],
            update_width=False,
        )

    def _cell(self, cells: Sequence[Text], index: int) -> Text:
        """A cell as its column shows it: aligned, and a cut one with an ellipsis."""
        cell = cells[index]
        spec = self.specs[index]
        if (spec.justify == "left" or cell.justify == spec.justify) and not spec.cut:
            return cell
        shown = cell.copy()
        if spec.justify != "left":
            shown.justify = spec.justify
        if spec.cut:
            shown.no_wrap = True
            shown.overflow = "ellipsis"
        return shown

    def detail(self, key: str | None) -> Text:
        """Every column of one row, ``Title value`` each (what the table cuts or hides)."""
        row = next((cells for k, cells in self._rows if k == key), None)
        text = Text()
        if row is None:
            return text
        # The key, then what the table hides or cuts, then the rest.
        shown = set(self.shown)
        order = sorted(
            range(min(len(row), len(self.specs))),
            key=lambda i: (i != 0, i in shown and not self.specs[i].cut, i),
        )
        for n, i in enumerate(order):
            if n:
                text.append("  ")
            text.append(f"{self.specs[i].title} ", style="dim")
            text.append_text(row[i])
        return text

    def cursor_key(self) -> str | None:
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return key if isinstance(key, str) else None

"""Keep a DataTable in step with fresh data: by row key, changed cells only.

Rows whose cells changed since the previous refresh (and rows that are new)
are highlighted for one refresh, as k9s does, so a shifter sees what moved.
Rows can be sorted by any column with units understood (``200.6 TB`` sorts
after ``43.9 TB``, ``2.5 h`` after ``45 min``).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import CellType, RowDoesNotExist, RowKey

from console.safe_text import strip_controls

Cells = Sequence[Text | str]
Row = tuple[str, Cells]


class SizedTable(DataTable[CellType]):
    """A DataTable whose height follows its rows (``height: auto``).

    Textual (8.2) caches a widget's box model by its ``_layout_updates``
    count, and a DataTable's rows reach its virtual size only when it is
    idle. When the new virtual size lands while a layout of the table is
    already pending, the count is not raised, and the next layout reads the
    height cached before the rows came: a table laid out empty stayed 0
    rows tall, with its rows in it (the transfers pane's RSE table vanished
    under load, with nothing to heal it while its data stood still). A new
    virtual size raises the count here.
    """

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        before = self.virtual_size
        super()._update_dimensions(new_rows)
        if self.virtual_size != before:
            self._layout_updates += 1


#: Background of a row that changed in the last refresh.
CHANGED_STYLE = "on #264d33"

#: The cells last shown per table, without highlight, to tell what changed.
_last: WeakKeyDictionary[DataTable, dict[str, tuple[Text, ...]]] = WeakKeyDictionary()


def sync_rows(
    table: DataTable, rows: Sequence[Row], *, highlight: bool = True, update_width: bool = True
) -> None:
    """Make ``table`` show ``rows`` (key, cells) in that order.

    String cells are shown as plain text (never as markup): a backend's text
    is untrusted. When the keys and their order are unchanged, only changed
    cells are updated, so the cursor and scroll position stay where the user
    left them; otherwise the rows are rebuilt and the cursor follows its key.
    ``update_width=False``: the caller sizes the columns (no layout pass for
    a cell that changed).
    """
    fresh = [(key, tuple(_as_text(c) for c in cells)) for key, cells in _unique_keys(rows)]
    before = _last.get(table)
    shown = []
    for key, cells in fresh:
        changed = before is not None and (
            key not in before
            or any(_differs(a, b) for a, b in zip(before[key], cells, strict=False))
        )
        if highlight and changed:
            cells = tuple(highlighted(c) for c in cells)
        shown.append((key, cells))
    _last[table] = dict(fresh)

    current = [row_key.value for row_key in table.rows]
    wanted = [key for key, _ in shown]
    columns = list(table.columns)
    if current == wanted:
        redraw: list[int] = []
        with _rows_only(table, update_width):
            for index, (key, cells) in enumerate(shown):
                old = table.get_row(key)
                for column, old_cell, new_cell in zip(columns, old, cells, strict=False):
                    if _differs(old_cell, new_cell):
                        table.update_cell(key, column, new_cell, update_width=update_width)
                        if not redraw or redraw[-1] != index:
                            redraw.append(index)
        if not update_width:
            for index in redraw:
                table.refresh_row(index)
        return
    cursor_key = None
    if table.row_count and 0 <= table.cursor_row < table.row_count:
        try:
            cursor_key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except RowDoesNotExist:
            cursor_key = None
    table.clear()
    for key, cells in shown:
        table.add_row(*cells, key=key)
    if cursor_key in wanted:
        table.move_cursor(row=wanted.index(cursor_key), animate=False)


#: Between a repeated key and its ordinal (a character no key holds).
REPEAT = "\x1f"


def _unique_keys(rows: Sequence[Row]) -> list[Row]:
    """The rows, a key given twice made distinct (``key``, ``key␟2``, ...):
    a DataTable refuses a key it holds, and a source's garbage (two stuck
    rules of one id) or two causes alike crashed the console; every row is
    shown."""
    seen: dict[str, int] = {}
    out = []
    for key, cells in rows:
        n = seen[key] = seen.get(key, 0) + 1
        out.append((key if n == 1 else f"{key}{REPEAT}{n}", cells))
    return out


@contextlib.contextmanager
def _rows_only(table: DataTable, update_width: bool) -> Iterator[None]:
    """While cells are updated in place: no redraw of the whole table.

    ``DataTable.update_cell`` redraws every line of the table for one cell,
    and the terminal gets all of them again; the caller redraws the rows
    that changed instead. (With ``update_width`` the widths may change:
    then the whole table is redrawn, as ``update_cell`` does.)
    """
    if update_width:
        yield
        return

    def refresh(*regions: Any, **kwargs: Any) -> DataTable:
        if regions or kwargs:
            return DataTable.refresh(table, *regions, **kwargs)
        return table

    table.refresh = refresh  # type: ignore[method-assign]
    try:
        yield
    finally:
        del table.refresh


def forget(table: DataTable) -> None:
    """Forget what ``table`` showed (its columns changed): no row counts as changed."""
    _last.pop(table, None)


def highlighted(cell: Text) -> Text:
    """A copy of the cell with the changed-row background."""
    cell = cell.copy()
    cell.stylize(CHANGED_STYLE)
    return cell


def _as_text(cell: Text | str) -> Text:
    """Plain strings become Text, so DataTable never parses them as markup."""
    return cell if isinstance(cell, Text) else Text(strip_controls(cell))


def _differs(a: object, b: object) -> bool:
    return _plain(a) != _plain(b) or _style(a) != _style(b)


def _plain(cell: object) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)


def _style(cell: object) -> str:
    if isinstance(cell, Text):
        return f"{cell.style}|{[(s.start, s.end, str(s.style)) for s in cell.spans]}"
    return ""


# ------------------------------------------------------------------- sorting

_UNITS = {
    "b": 1,
    "kb": 1e3,
    "mb": 1e6,
    "gb": 1e9,
    "tb": 1e12,
    "pb": 1e15,
    "eb": 1e18,
    "b/s": 1,
    "kb/s": 1e3,
    "mb/s": 1e6,
    "gb/s": 1e9,
    "tb/s": 1e12,
    "s": 1,
    "min": 60,
    "h": 3600,
    "d": 86400,
    "%": 1,
}
_NUMBER = re.compile(r"^\s*([-+]?\d[\d,]*(?:\.\d+)?)\s*([a-zA-Z/%]*)")


def sort_key(cell: object) -> tuple[int, float, str]:
    """Numbers (with their units) before text; text case-insensitively."""
    text = _plain(cell)
    match = _NUMBER.match(text)
    if match:
        unit = _UNITS.get(match.group(2).lower(), 1)
        return (0, float(match.group(1).replace(",", "")) * unit, text.lower())
    if text.strip() in ("", "-"):
        return (2, 0.0, "")  # empty cells last
    return (1, 0.0, text.lower())


AnyRow = TypeVar("AnyRow", bound=Row)


def sort_rows(rows: Sequence[AnyRow], column: int | None, reverse: bool = False) -> list[AnyRow]:
    """Rows ordered by one column (None keeps the pane's own order)."""
    if column is None:
        return list(rows)
    present = [r for r in rows if sort_key(r[1][column])[0] < 2]
    empty = [r for r in rows if sort_key(r[1][column])[0] == 2]
    present.sort(key=lambda r: sort_key(r[1][column]), reverse=reverse)
    return present + empty

"""Update a DataTable by row key, touching only the cells that changed."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

from console.safe_text import clean

Cells = Sequence[Text | str]


def sync_rows(table: DataTable, rows: Sequence[tuple[str, Cells]]) -> None:
    """Make ``table`` show ``rows`` (key, cells) in that order.

    String cells are shown as plain text (never as markup): a backend's
    text is untrusted. When the keys and their order are unchanged, only changed cells are
    updated, so the cursor and scroll position stay where the user left them.
    Otherwise the rows are rebuilt and the cursor follows its row's key.
    """
    rows = [(key, tuple(_as_text(c) for c in cells)) for key, cells in rows]
    current = [row_key.value for row_key in table.rows]
    wanted = [key for key, _ in rows]
    columns = list(table.columns)
    if current == wanted:
        for key, cells in rows:
            old = table.get_row(key)
            for column, old_cell, new_cell in zip(columns, old, cells, strict=False):
                if _plain(old_cell) != _plain(new_cell) or _style(old_cell) != _style(new_cell):
                    table.update_cell(key, column, new_cell, update_width=True)
        return
    cursor_key = None
    if table.row_count and 0 <= table.cursor_row < table.row_count:
        try:
            cursor_key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except RowDoesNotExist:
            cursor_key = None
    table.clear()
    for key, cells in rows:
        table.add_row(*cells, key=key)
    if cursor_key in wanted:
        table.move_cursor(row=wanted.index(cursor_key), animate=False)


def _as_text(cell: Text | str) -> Text:
    """Plain strings become Text, so DataTable never parses them as markup."""
    return cell if isinstance(cell, Text) else Text(clean(cell))


def _plain(cell: object) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)


def _style(cell: object) -> str:
    if isinstance(cell, Text):
        return f"{cell.style}|{[(s.start, s.end, str(s.style)) for s in cell.spans]}"
    return ""

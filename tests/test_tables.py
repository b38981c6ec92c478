"""DataTable sync: changed rows highlighted for one refresh; unit-aware sorting."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from console.widgets.tables import CHANGED_STYLE, sort_key, sort_rows, sync_rows


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        table: DataTable = DataTable()
        table.add_columns("name", "value")
        yield table


def highlighted(table: DataTable, key: str) -> bool:
    return any(
        CHANGED_STYLE in str(span.style) for cell in table.get_row(key) for span in cell.spans
    )


async def test_a_changed_row_is_highlighted_for_one_refresh() -> None:
    app = TableApp()
    async with app.run_test():
        table = app.query_one(DataTable)
        sync_rows(table, [("a", ("a", "1")), ("b", ("b", "2"))])
        assert not highlighted(table, "a") and not highlighted(table, "b")  # first fill
        sync_rows(table, [("a", ("a", "1")), ("b", ("b", "3"))])
        assert highlighted(table, "b") and not highlighted(table, "a")
        assert table.get_row("b")[1].plain == "3"
        sync_rows(table, [("a", ("a", "1")), ("b", ("b", "3"))])
        assert not highlighted(table, "b")  # one refresh only
        sync_rows(table, [("a", ("a", "1")), ("b", ("b", "3")), ("c", ("c", "9"))])
        assert highlighted(table, "c")  # a new row counts as changed


async def test_markup_in_string_cells_is_shown_literally() -> None:
    app = TableApp()
    async with app.run_test():
        table = app.query_one(DataTable)
        sync_rows(table, [("x", ("[red]boom[/]", Text("ok")))])
        assert table.get_row("x")[0].plain == "[red]boom[/]"


def test_sort_keys_understand_units() -> None:
    assert sort_key("200.6 TB") > sort_key("43.9 TB") > sort_key("999.0 GB")
    assert sort_key("2.5 h") > sort_key("45 min") > sort_key("50 s")
    assert sort_key("19.7 MB/s") > sort_key("0 B/s")
    assert sort_key("1,234") > sort_key("999")
    assert sort_key("abc") > sort_key("5")  # text after numbers
    rows = [("a", ("-",)), ("b", ("3 GB",)), ("c", ("1 TB",)), ("d", ("x",))]
    assert [k for k, _ in sort_rows(rows, 0)] == ["b", "c", "d", "a"]  # empty last
    assert [k for k, _ in sort_rows(rows, 0, reverse=True)] == ["d", "c", "b", "a"]
    assert sort_rows(rows, None) == rows

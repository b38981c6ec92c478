"""DataTable sync: changed rows highlighted for one refresh; unit-aware sorting."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import DataTable, Static

from console.widgets.fitted_table import FittedTable
from console.widgets.tables import CHANGED_STYLE, SizedTable, sort_key, sort_rows, sync_rows


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


async def test_a_key_given_twice_shows_both_rows() -> None:
    """Two rows of one key (a source's garbage: two stuck rules of one id;
    two causes alike) crashed the console: DuplicateKey."""
    app = TableApp()
    async with app.run_test():
        table = app.query_one(DataTable)
        rows = [("x", ("x", "1")), ("y", ("y", "2")), ("x", ("x", "3"))]
        sync_rows(table, rows)
        assert [table.get_row_at(i)[1].plain for i in range(3)] == ["1", "2", "3"]
        sync_rows(table, [("x", ("x", "1")), ("y", ("y", "2")), ("x", ("x", "4"))])
        assert table.get_row_at(2)[1].plain == "4" and table.row_count == 3


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


# ------------------------------------------------------------ fitted tables


class _Fitted(App[None]):
    def compose(self) -> ComposeResult:
        from console.render.common import Column

        yield FittedTable([Column("Name", 6), Column("Age", 3, "right", priority=1)], id="t")


def _rows(age: str) -> list[tuple[str, tuple[Text, ...]]]:
    return [(k, (Text(k), Text(age))) for k in ("alpha", "beta", "gamma", "delta")]


async def test_a_wider_cell_keeps_the_cursor_on_its_row() -> None:
    """A refresh that widens a column ("7 min" -> "17 min") rebuilt the table
    and put the cursor back on the first row: Enter then opened another run."""
    from console.widgets.fitted_table import FittedTable

    app = _Fitted()
    async with app.run_test(size=(60, 10)) as pilot:
        table = app.query_one(FittedTable)
        table.set_rows(_rows("7 min"))
        table.focus()
        await pilot.press("down", "down")
        assert table.cursor_key() == "gamma"
        table.set_rows(_rows("17 min"))  # wider: the columns are laid out anew
        await pilot.pause()
        assert table.cursor_key() == "gamma"


async def test_a_hidden_table_keeps_its_layout_and_cursor() -> None:
    """A table of a pane not shown has no width: laid out for none (every
    column) it was rebuilt on every refresh and lost the cursor."""
    from console.widgets.fitted_table import FittedTable

    app = _Fitted()
    async with app.run_test(size=(11, 10)) as pilot:  # Age does not fit
        table = app.query_one(FittedTable)
        table.set_rows(_rows("1 s"))
        table.focus()
        await pilot.press("down", "down", "down")
        shown = table.shown
        assert shown == (0,)
        table.display = False  # another pane is shown: no width
        await pilot.pause()
        table.set_rows(_rows("1 s"))
        table.display = True
        await pilot.pause()
        assert table.shown == shown
        assert table.cursor_key() == "delta"


async def test_a_changed_cell_redraws_its_row_not_the_table(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """``DataTable.update_cell`` redrew every line of the table for one cell:
    each poll sent every pane's whole table to the terminal again (issue 13)."""
    from console.widgets.fitted_table import FittedTable

    app = _Fitted()
    async with app.run_test(size=(60, 10)) as pilot:
        table = app.query_one(FittedTable)
        table.set_rows(_rows("7"))
        await pilot.pause()
        full: list[object] = []
        rows: list[int] = []
        real_refresh, real_row = FittedTable.refresh, FittedTable.refresh_row

        def refresh(self, *regions, **kwargs):  # type: ignore[no-untyped-def]
            if not regions:
                full.append(kwargs)
            return real_refresh(self, *regions, **kwargs)

        def refresh_row(self, index):  # type: ignore[no-untyped-def]
            rows.append(index)
            return real_row(self, index)

        monkeypatch.setattr(FittedTable, "refresh", refresh)
        monkeypatch.setattr(FittedTable, "refresh_row", refresh_row)
        changed = _rows("7")
        changed[2] = ("gamma", (Text("gamma"), Text("8")))
        table.set_rows(changed)
        await pilot.pause()
        assert full == [] and rows == [2]
        assert table.get_row("gamma")[1].plain.strip() == "8"


async def test_a_wider_hidden_column_does_not_rebuild_the_table(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The jobs pane rebuilt its DAG table (every row, a layout pass, every
    scrollbar on the screen repainted) at every poll because the widest cell
    of a column it does not show grew (issue 13)."""
    from console.widgets.fitted_table import FittedTable

    app = _Fitted()
    async with app.run_test(size=(11, 10)) as pilot:  # Age does not fit
        table = app.query_one(FittedTable)
        table.set_rows(_rows("1 s"))
        await pilot.pause()
        assert table.shown == (0,)
        cleared: list[object] = []
        real_clear = FittedTable.clear

        def clear(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            cleared.append(args or kwargs)
            return real_clear(self, *args, **kwargs)

        monkeypatch.setattr(FittedTable, "clear", clear)
        table.set_rows(_rows("10 s"))  # the hidden Age column is wider
        await pilot.pause()
        assert cleared == []
        assert table.detail("beta").plain.endswith("10 s")
        table.set_rows([*_rows("10 s"), ("epsilon", (Text("epsilon"), Text("1 s")))])
        await pilot.pause()  # a wider shown column still lays the table out
        assert cleared
        assert table.get_row("epsilon")[0].plain.startswith("epsilon")


class AutoHeightApp(App[None]):
    CSS = "DataTable { height: auto; max-height: 100%; } #rest { height: 1fr; }"

    def __init__(self, table: DataTable) -> None:
        super().__init__()
        self.table = table

    def compose(self) -> ComposeResult:
        with Vertical():
            yield self.table
            yield Static("rest", id="rest")


async def _rows_after_a_pending_layout(table: DataTable) -> int:
    """The height the table gets when its rows come while a layout of it is
    pending and its parent was laid out meanwhile (what the transfers pane's
    RSE table met under load: it stayed 0 rows tall, rows and all)."""
    app = AutoHeightApp(table)
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        table.refresh(layout=True)  # a layout of the table is pending...
        for ancestor in table.ancestors:
            if isinstance(ancestor, Widget):
                ancestor._clear_arrangement_cache()
        app.screen._refresh_layout()  # ...when the screen lays it out, empty
        rows = [(str(n), (Text(str(n)), Text("x"))) for n in range(5)]
        table.add_columns("name", "value")
        sync_rows(table, rows)
        await pilot.pause()
        await pilot.pause(0.05)
        return table.region.height


async def test_an_auto_height_table_grows_to_rows_that_came_during_a_layout() -> None:
    assert await _rows_after_a_pending_layout(DataTable()) == 0  # Textual's own
    assert await _rows_after_a_pending_layout(SizedTable()) == 6  # header and five rows
    # The panes' tables and the drill-down's are sized so.
    assert issubclass(FittedTable, SizedTable)

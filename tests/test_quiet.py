"""``show_text``: a Static is updated only when its text changed, and a
layout pass only when its height may have changed (issue 13: a layout pass
at every poll repainted every scrollbar on the screen)."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import Static

from console.widgets.quiet import show_text


class _Lines(App[None]):
    CSS = """
    #nowrap { height: auto; text-wrap: nowrap; text-overflow: ellipsis; }
    #wrap { height: auto; width: 20; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="nowrap")
        yield Static(id="wrap")


async def test_a_layout_pass_only_when_the_height_may_change(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    app = _Lines()
    async with app.run_test(size=(40, 12)) as pilot:
        nowrap = app.query_one("#nowrap", Static)
        wrap = app.query_one("#wrap", Static)
        layouts: list[tuple[str | None, bool]] = []
        real = Static.update

        def update(self, content="", *, layout=True):  # type: ignore[no-untyped-def]
            layouts.append((self.id, layout))
            return real(self, content, layout=layout)

        monkeypatch.setattr(Static, "update", update)
        show_text(nowrap, Text("trend ▁▂▃\nheld: none"), layout=True)
        show_text(wrap, Text("short"), layout=True)
        await pilot.pause()
        assert layouts == [("nowrap", True), ("wrap", True)]  # the first text
        layouts.clear()
        # As many lines, not wrapped: no layout pass, the text is shown.
        long = "trend " + "▄" * 60
        assert show_text(nowrap, Text(f"{long}\nheld: none"), layout=True)
        assert show_text(wrap, Text("shorter"), layout=True)
        await pilot.pause()
        assert layouts == [("nowrap", False), ("wrap", False)]
        assert "held: none" in str(nowrap.render())
        layouts.clear()
        # One more line, or a line that wraps: the height may change.
        show_text(nowrap, Text(f"{long}\nheld: none\nheld 3 jobs"), layout=True)
        show_text(wrap, Text("a line far too long for twenty cells"), layout=True)
        await pilot.pause()
        assert layouts == [("nowrap", True), ("wrap", True)]
        assert wrap.size.height == 2
        layouts.clear()
        # Back to one line from a wrapped one: the height shrinks.
        show_text(wrap, Text("short again"), layout=True)
        await pilot.pause()
        assert layouts == [("wrap", True)]
        assert wrap.size.height == 1
        # The same text again: no update at all.
        layouts.clear()
        assert not show_text(wrap, Text("short again"), layout=True)
        assert layouts == []

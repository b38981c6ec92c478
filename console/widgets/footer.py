"""The key bar, made again only when the keys it shows change."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer


def _keys(screen: Screen[object]) -> tuple[object, ...]:
    """What the footer would show of a screen's bindings."""
    return tuple(
        (b.key, b.description, b.action, b.show, b.group, enabled, tip)
        for (_node, b, enabled, tip) in screen.active_bindings.values()
    )


class SteadyFooter(Footer):
    """Textual's Footer, which removes and mounts every key (a widget each,
    styled anew) whenever the bindings *may* have changed: at every focus
    change, four times before the console's first frame, although the keys
    were the same. This one is made again only when they differ."""

    #: The keys shown, or on their way (a recompose comes after a refresh).
    _made: tuple[object, ...] | None = None
    #: How many times the keys were made (for tests).
    composed = 0

    def compose(self) -> ComposeResult:
        if self._bindings_ready:
            self._made = _keys(self.screen)
            self.composed += 1
        yield from super().compose()

    def bindings_changed(self, screen: Screen[object]) -> None:
        keys = _keys(screen)
        if keys == self._made and screen is self.screen:
            return
        super().bindings_changed(screen)
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            self._made = keys

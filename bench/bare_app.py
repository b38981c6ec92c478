"""The floor of the screen benchmarks: a bare Textual app, one Static.

It shows "hello" and then, for each key, "key <name> <n>": the time from a
key to the screen for an app that does nothing else.
"""

from __future__ import annotations

from textual import events
from textual.app import App, ComposeResult
from textual.widgets import Static


class Bare(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("hello", id="text")

    def on_mount(self) -> None:
        self.presses = 0

    def on_key(self, event: events.Key) -> None:
        if event.key == "q":
            self.exit()
            return
        self.presses += 1
        self.query_one("#text", Static).update(f"key {event.key} {self.presses}")


if __name__ == "__main__":
    Bare().run()

"""The example kind's pane."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from console.panes.base import SourcePane
from tests.example_kind import render
from tests.example_kind.data import UPLINK, UplinkSnapshot


class UplinkPane(SourcePane):
    KIND = UPLINK

    def compose_body(self) -> ComposeResult:
        yield Static(id="uplink-line")

    def show(self, snapshot: UplinkSnapshot) -> None:  # type: ignore[override]
        self.query_one("#uplink-line", Static).update(render.line(snapshot))

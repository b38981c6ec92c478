"""The example kind's renderer: one line, for the pane and the report."""

from __future__ import annotations

from typing import Any

from rich.console import RenderableType
from rich.text import Text

from console.format import format_rate
from console.perfdata import Figure, FigureSpec
from console.render.common import Context
from tests.example_kind.data import UplinkSnapshot


def line(snapshot: UplinkSnapshot) -> Text:
    text = Text("Out ", style="dim")
    text.append(format_rate(snapshot.out_bps))
    text.append("  Errors ", style="dim")
    text.append(str(snapshot.errors), style="red" if snapshot.errors else "green")
    return text


def to_rich(snapshot: UplinkSnapshot, context: Context) -> RenderableType:
    return line(snapshot)


def to_json(snapshot: UplinkSnapshot | None, context: Context) -> dict[str, Any]:
    if snapshot is None:
        return {"out_bps": None, "errors": None}
    return {"out_bps": snapshot.out_bps, "errors": snapshot.errors}


OUT = FigureSpec("uplink_out", "B", "bytes a second out of the uplink")
#: A continuous counter: it only grows, hence "c".
ERRORS = FigureSpec("uplink_errors", "c", "errors on the uplink since it came up")
FIGURES = (OUT, ERRORS)


def perfdata(snapshot: UplinkSnapshot, context: Context) -> list[Figure]:
    return [OUT(snapshot.out_bps), ERRORS(snapshot.errors)]


def summary(snapshot: UplinkSnapshot) -> str:
    return f"uplink {format_rate(snapshot.out_bps)}"


def trend_figures(snapshot: UplinkSnapshot) -> dict[str, float | None]:
    return {"uplink.out": snapshot.out_bps}

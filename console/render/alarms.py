"""Alarms: the severity badge and the alarms table, for the strip, the screen and the report."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from backends.analysis.alarms import Alarm, Severity
from console.safe_text import strip_controls

SEVERITY_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.WARNING: "bold black on yellow",
    Severity.UNKNOWN: "bold white on magenta",
    Severity.OK: "bold black on green",
}


def severity_badge(severity: Severity) -> Text:
    return Text(f" {severity.name} ", style=SEVERITY_STYLE[severity])


def alarms_table(alarms: Sequence[Alarm]) -> RenderableType:
    """Every alarm: severity, title, detail and hint (the report's list)."""
    if not alarms:
        return Text("no alarms", style="green")
    table = Table()
    for column in ("severity", "alarm", "detail", "hint"):
        table.add_column(column)
    for alarm in alarms:
        table.add_row(
            severity_badge(alarm.severity),
            Text(strip_controls(alarm.title)),
            Text(strip_controls(alarm.detail)),
            Text(strip_controls(alarm.hint), style="dim"),
        )
    return table

"""The alarms strip, always in view: counts by severity and the worst ones."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.text import Text

from backends.analysis.alarms import Alarm, Severity
from console.render.alarms import severity_badge
from console.safe_text import strip_controls
from console.widgets.compact import CompactStatic
from console.widgets.quiet import show_text

__all__ = ["AlarmsStrip", "severity_badge"]


class AlarmsStrip(CompactStatic):
    """Two lines: a summary with counts, then the worst alarm's detail."""

    def show(
        self, alarms: Sequence[Alarm], is_acked: Callable[[Alarm], bool] = lambda _a: False
    ) -> None:
        """Counts by severity, the titles of the alarms nobody acknowledged, and
        the worst one's detail. Acknowledged alarms keep their severity, muted
        (``CRITICAL 2 (acked)``): only no raised alarm at all is "All clear"."""
        line = Text(no_wrap=True, overflow="ellipsis")
        raised = [a for a in alarms if a.severity is not Severity.OK]
        active = [a for a in raised if not is_acked(a)]
        quiet = [a for a in raised if is_acked(a)]
        if not raised:
            line.append_text(severity_badge(Severity.OK))
            line.append(" All clear: no active alarms", style="green")
            show_text(self, line)
            return
        for severity in (Severity.CRITICAL, Severity.WARNING, Severity.UNKNOWN):
            loud = sum(1 for a in active if a.severity is severity)
            muted = sum(1 for a in quiet if a.severity is severity)
            if loud:
                line.append_text(severity_badge(severity))
                line.append(f" {loud}  ")
            if muted:
                badge = severity_badge(severity)
                badge.stylize("dim")
                line.append_text(badge)
                line.append(f" {muted} (acked)  ", style="dim")
        line.append("│ ", style="dim")
        if not active:
            line.append("all acknowledged (a: alarms)", style="dim")
        for i, alarm in enumerate(active[:4]):
            if i:
                line.append(" │ ", style="dim")
            style = "red" if alarm.severity is Severity.CRITICAL else "yellow"
            line.append(strip_controls(alarm.title), style=style)
        worst = (active or quiet)[0]
        detail = Text(no_wrap=True, overflow="ellipsis", style="" if active else "dim")
        detail.append("▲ ", style="red" if worst.severity is Severity.CRITICAL else "yellow")
        detail.append(strip_controls(worst.detail))
        if worst.hint:
            detail.append(" → ", style="dim")
            detail.append(strip_controls(worst.hint), style="italic")
        both = Text("\n").join([line, detail])
        both.no_wrap = True
        both.overflow = "ellipsis"
        show_text(self, both)

"""The alarms strip, always in view: counts by severity, then the causes the
diagnosis names and the alarms no cause explains, most severe first."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.text import Text

from backends.analysis.alarms import Alarm, Severity
from backends.analysis.diagnosis import Cause, explained_by, headlines, severity_of
from console.render.alarms import severity_badge
from console.safe_text import strip_controls
from console.widgets.compact import CompactStatic
from console.widgets.quiet import show_text

__all__ = ["AlarmsStrip", "severity_badge"]

#: Causes and alarms named on the first line (the rest are on the alarms screen).
SHOWN = 4


def _colour(severity: Severity) -> str:
    return "red" if severity is Severity.CRITICAL else "yellow"


def loud_items(
    alarms: Sequence[Alarm], causes: Sequence[Cause], is_acked: Callable[[Alarm], bool]
) -> list[tuple[Cause | Alarm, list[Alarm]]]:
    """What the strip names, most severe first: each cause with the alarms it
    explains that nobody acknowledged (a cause whose alarms are all
    acknowledged is quiet), and each alarm no cause explains, unacknowledged."""
    out: list[tuple[Cause | Alarm, list[Alarm]]] = []
    for item in headlines(causes, alarms):
        if isinstance(item, Cause):
            active = [a for a in explained_by(alarms, item) if not is_acked(a)]
            if active or not item.explains:
                out.append((item, active))
        elif not is_acked(item):
            out.append((item, [item]))
    return out


class AlarmsStrip(CompactStatic):
    """Two lines: a summary with counts, then the first cause's or alarm's detail."""

    def show(
        self,
        alarms: Sequence[Alarm],
        is_acked: Callable[[Alarm], bool] = lambda _a: False,
        causes: Sequence[Cause] = (),
    ) -> None:
        """Counts by severity, then what nobody acknowledged: the causes first
        (``◆ title [n]``, n the alarms folded under it), then the titles of the
        alarms no cause explains; the first one's detail on the second line.
        Acknowledged alarms keep their severity, muted (``CRITICAL 2
        (acked)``): only no raised alarm at all is "All clear"."""
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
        items = loud_items(raised, causes, is_acked)
        if not items:
            line.append("all acknowledged (a: alarms)", style="dim")
        for i, (item, folded) in enumerate(items[:SHOWN]):
            if i:
                line.append(" │ ", style="dim")
            if isinstance(item, Cause):
                style = _colour(severity_of(item, folded))
                line.append("◆ ", style=style)
                line.append(strip_controls(item.title), style=f"bold {style}")
                if folded:
                    line.append(f" [{len(folded)}]", style="dim")
            else:
                line.append(strip_controls(item.title), style=_colour(item.severity))
        if len(items) > SHOWN:
            line.append(f" │ +{len(items) - SHOWN} more (a)", style="dim")
        detail = Text(no_wrap=True, overflow="ellipsis", style="" if items else "dim")
        first = items[0][0] if items else quiet[0]
        if isinstance(first, Cause):
            detail.append("◆ ", style=_colour(severity_of(first, items[0][1])))
            detail.append(strip_controls(first.consequence))
            detail.append(" → ", style="dim")
            detail.append(strip_controls(first.action), style="italic")
        else:
            detail.append("▲ ", style=_colour(first.severity))
            detail.append(strip_controls(first.detail))
            if first.hint:
                detail.append(" → ", style="dim")
                detail.append(strip_controls(first.hint), style="italic")
        both = Text("\n").join([line, detail])
        both.no_wrap = True
        both.overflow = "ellipsis"
        show_text(self, both)

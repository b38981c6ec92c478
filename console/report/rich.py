"""``report``: every pane's rows and lines, as the TUI draws them, then the alarms."""

from __future__ import annotations

from collections.abc import Mapping

from rich.console import Console
from rich.text import Text

from backends.analysis.alarms import overall
from backends.model import Kind
from console.config import Config
from console.fetching import Result
from console.render.alarms import SEVERITY_STYLE, alarms_table
from console.report.common import alarms_for, context
from console.safe_text import strip_controls
from console.specs import PaneSpec, pane_specs


def section_title(spec: PaneSpec, result: Result | None) -> Text:
    title = Text(spec.kind.value.upper(), style="bold")
    if result is None:
        title.append("  no source configured", style="dim")
        return title
    title.append(" from ", style="dim")
    title.append(strip_controls(result.source))
    if result.snapshot is not None:
        title.append(f" at {result.snapshot.taken_at:%Y-%m-%d %H:%M:%S} UTC", style="dim")
    if result.error is not None:
        title.append("  error: ", style="bold red")
        title.append(strip_controls(result.error), style="red")
    return title


def render_report(results: Mapping[Kind, Result], config: Config, console: Console) -> None:
    ctx = context(results, config)
    alarms = alarms_for(results, config)
    status = overall(alarms)
    heading = Text("XENON computing chain ", style="bold")
    heading.append(status.name, style=SEVERITY_STYLE[status])
    heading.append(f"  {ctx.now:%Y-%m-%d %H:%M:%S %Z}", style="dim")
    console.print(heading)
    console.print()
    for spec in pane_specs():
        result = results.get(spec.kind)
        console.print(section_title(spec, result))
        if result is None or result.snapshot is None:
            console.print(Text("no data", style="dim"))
        else:
            console.print(spec.to_rich(result.snapshot, ctx))
        console.print()
    console.print(Text(f"ALARMS ({len(alarms)})", style="bold"))
    console.print(alarms_table(alarms))

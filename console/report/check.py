"""``check``: one Nagios plugin line, 'XENON CRITICAL - ... | perfdata', and its status."""

from __future__ import annotations

from collections.abc import Mapping

from backends.analysis.alarms import Severity, overall
from backends.model import Kind
from console.config import Config
from console.fetching import Result
from console.report.common import alarms_for, context
from console.safe_text import strip_controls
from console.specs import pane_specs


def _perfdata(results: Mapping[Kind, Result], config: Config) -> str:
    ctx = context(results, config)
    parts: list[str] = []
    for spec in pane_specs():
        result = results.get(spec.kind)
        if result is not None and result.snapshot is not None:
            parts.extend(f.perfdata() for f in spec.perfdata(result.snapshot, ctx))
    return " ".join(parts)


def _ok_summary(results: Mapping[Kind, Result]) -> str:
    bits: list[str] = []
    for spec in pane_specs():
        result = results.get(spec.kind)
        if result is not None and result.snapshot is not None:
            bit = spec.summary(result.snapshot)
            if bit:
                bits.append(bit)
    return ", ".join(bits) or "all sources answered"


def check_line(
    results: Mapping[Kind, Result], config: Config, *, max_alarms: int = 3
) -> tuple[Severity, str]:
    """The Nagios plugin line and its status."""
    alarms = alarms_for(results, config)
    status = overall(alarms)
    if alarms:
        summary = "; ".join(a.title for a in alarms[:max_alarms])
        if len(alarms) > max_alarms:
            summary += f" (+{len(alarms) - max_alarms} more)"
    else:
        summary = _ok_summary(results)
    # One line for Nagios: a newline is a space, "|" would start perfdata.
    summary = strip_controls(summary.replace("\n", " ")).replace("|", "/")
    perf = _perfdata(results, config)
    line = f"XENON {status.name} - {summary}"
    return status, f"{line} | {perf}" if perf else line

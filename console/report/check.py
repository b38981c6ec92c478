"""``check``: a Nagios/Icinga plugin's output and its status.

The first line is ``XENON <STATUS> - <summary> | <perfdata>``: the causes
the diagnosis names (``backends.analysis.diagnosis``), each with how many of
the alarms it explains, then the titles of the alarms no cause explains,
most severe first: at most three items in at most ``MAX_SUMMARY``
characters (``(+N more)`` counts the rest). With ``verbose``, one line per
cause (``[CAUSE] title: action``) and per alarm follows it (``[CRITICAL]
title: detail``), the plugin's long output.
Nothing from a backend reaches a line unescaped, and no line holds a ``|``
but the first one's separator.

``-w``/``-c`` (``CheckOptions``) set a figure's ranges: the figure's value,
as its perfdata writes it, is CRITICAL in the critical range's alert, else
WARNING in the warning one's, else OK; a range not given is the console's
own limit. That verdict replaces the console's alarms the figure stands for
(``FigureSpec.alarms``), and a figure without an alarm of its own gets one.
With ``timeout`` given, a source that did not answer in time makes the
check UNKNOWN whatever the others say (the plugin's timeout, ``-t``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from backends import kinds
from backends.analysis.alarms import Alarm, Severity, overall, sort_alarms
from backends.analysis.diagnosis import Cause, headlines
from backends.model import Kind
from console.config import Config
from console.fetching import Result
from console.perfdata import Figure
from console.ranges import Range, format_number
from console.report.common import alarms_for, context, diagnosis_for
from console.safe_text import redact_secrets, strip_controls
from console.specs import pane_specs

#: Longest first line before its perfdata ("XENON CRITICAL - ..."): the part
#: a pager, a mail subject and a dashboard show.
MAX_SUMMARY = 200
#: Longest line of the long output (an alarm's detail can quote a backend).
MAX_DETAIL = 1000


@dataclass(frozen=True)
class CheckOptions:
    """What ``check``'s command line asks beyond the defaults."""

    #: ``-w FIGURE=RANGE``, by figure label.
    warning: Mapping[str, Range] = field(default_factory=dict)
    #: ``-c FIGURE=RANGE``, by figure label.
    critical: Mapping[str, Range] = field(default_factory=dict)
    #: ``-v``: one line per alarm after the first.
    verbose: int = 0
    #: ``-t``: the seconds every source had to answer (None: ``[timeouts]``).
    timeout: float | None = None


def _clean(text: str) -> str:
    """One line of plugin output: no control character, no secret, no ``|``."""
    return strip_controls(redact_secrets(text.replace("\n", " "))).replace("|", "/")


def _cut(text: str, room: int) -> str:
    return text if len(text) <= room else text[: max(0, room - 3)] + "..."


def _figures(results: Mapping[Kind, Result], config: Config) -> list[tuple[Kind, Figure]]:
    ctx = context(results, config)
    figures: list[tuple[Kind, Figure]] = []
    for spec in pane_specs():
        result = results.get(spec.kind)
        if result is not None and result.snapshot is not None:
            figures.extend((spec.kind, f) for f in spec.perfdata(result.snapshot, ctx))
    return figures


def _decided(figure: Figure, severity: Severity, decider: Range, given: bool) -> str:
    """Why a range gave a figure its severity, for its alarm's detail:
    ``buffer_fill=96.4%: warning by -w buffer_fill=80 (alert if < 0 or > 80)``."""
    critical = severity is Severity.CRITICAL
    which = "critical" if critical else "warning"
    option = "-c" if critical else "-w"
    by = f"{option} {figure.label}={decider}" if given else f"the config's limit {decider}"
    value = f"{figure.value_text}{figure.spec.uom}"
    return f"{figure.label}={value}: {which} by {by} ({decider.describe()})"


def _override(
    kind: Kind, figure: Figure, alarms: list[Alarm], options: CheckOptions
) -> tuple[Figure, list[Alarm]]:
    """The figure with the ranges it is judged by, and the alarms after its verdict."""
    warn = options.warning.get(figure.label, figure.warn)
    crit = options.critical.get(figure.label, figure.crit)
    judged = dataclasses.replace(figure, warn=warn, crit=crit)
    reading = judged.reading
    if reading is None:  # no number to judge ("U"): the alarms stay as they are
        return judged, alarms
    severity, decider, given = Severity.OK, None, False
    if crit is not None and crit.alerts(reading):
        severity, decider, given = Severity.CRITICAL, crit, figure.label in options.critical
    elif warn is not None and warn.alerts(reading):
        severity, decider, given = Severity.WARNING, warn, figure.label in options.warning
    pattern = figure.spec.alarms
    replaced = [a for a in alarms if pattern is not None and fnmatchcase(a.key, pattern)]
    kept = [a for a in alarms if a not in replaced]
    if decider is None:
        return judged, kept
    why = _decided(judged, severity, decider, given)
    own = next((a for a in replaced if a.key == figure.alarm), None)
    if own is not None:
        verdict = dataclasses.replace(own, severity=severity, detail=f"{own.detail}; {why}")
    else:
        verdict = Alarm(
            key=figure.alarm or f"check.{figure.label}",
            severity=severity,
            kind=kind,
            title=f"{figure.label} {judged.shown}",
            detail=why,
            since=None,
            hint=f"see the {kinds.spec(kind).title} pane",
        )
    return judged, [*kept, verdict]


def _summary(titles: list[str], room: int, max_alarms: int) -> str:
    """At most ``max_alarms`` titles in ``room`` characters, and how many more."""
    shown = min(len(titles), max_alarms)
    while True:
        rest = len(titles) - shown
        more = f" (+{rest} more)" if rest else ""
        text = "; ".join(titles[:shown])
        if len(text) + len(more) <= room or shown == 1:
            break
        shown -= 1
    return _cut(text, room - len(more)) + more


def _cause_title(cause: Cause) -> str:
    n = len(cause.explains)
    if not n:
        return cause.title
    return f"{cause.title} (cause of {n} alarm{'s' if n > 1 else ''})"


def _ok_summary(results: Mapping[Kind, Result]) -> str:
    bits: list[str] = []
    for spec in pane_specs():
        result = results.get(spec.kind)
        if result is not None and result.snapshot is not None:
            bit = spec.summary(result.snapshot)
            if bit:
                bits.append(bit)
    return ", ".join(bits) or "all sources answered"


def _timed_out(results: Mapping[Kind, Result], timeout: float) -> str | None:
    """``timed out after 5 s waiting for runs (rundb), ...``, or None."""
    late = [r for kind in kinds.kinds() if (r := results.get(kind)) is not None and r.timed_out]
    if not late:
        return None
    waiting = ", ".join(f"{r.kind.value} ({r.source})" for r in late)
    return f"timed out after {format_number(timeout)} s waiting for {waiting}"


def check_line(
    results: Mapping[Kind, Result],
    config: Config,
    options: CheckOptions | None = None,
    *,
    max_alarms: int = 3,
) -> tuple[Severity, str]:
    """The plugin's output (its first line, then the long output with
    ``options.verbose``) and its status."""
    options = options or CheckOptions()
    alarms = alarms_for(results, config)
    figures: list[Figure] = []
    for kind, figure in _figures(results, config):
        if figure.label in options.warning or figure.label in options.critical:
            figure, alarms = _override(kind, figure, alarms, options)
        figures.append(figure)
    alarms = sort_alarms(alarms)
    status = overall(alarms)
    # The causes of the alarms as judged (after -w/-c): what the line names
    # first. A diagnosis that fails names none: the alarms and the status stay.
    causes: list[Cause] = []
    if alarms:
        try:
            causes = diagnosis_for(results, config, alarms)
        except Exception:  # garbage no rule foresaw must not turn CRITICAL into UNKNOWN
            causes = []
    named = headlines(causes, alarms)
    late = _timed_out(results, options.timeout) if options.timeout is not None else None
    if late is not None:
        status = Severity.UNKNOWN
    head = f"XENON {status.name} - "
    room = MAX_SUMMARY - len(head)
    if late is not None:
        summary = _cut(_clean(late), room)
    elif alarms:
        titles = [_cause_title(i) if isinstance(i, Cause) else i.title for i in named]
        summary = _summary([_clean(t) for t in titles], room, max_alarms)
    else:
        summary = _cut(_clean(_ok_summary(results)), room)
    perf = " ".join(f.perfdata() for f in figures)
    lines = [f"{head}{summary} | {perf}" if perf else f"{head}{summary}"]
    if options.verbose:
        lines.extend(
            _cut(_clean(f"[CAUSE] {c.title}: {c.action}"), MAX_DETAIL)
            for c in named
            if isinstance(c, Cause)
        )
        lines.extend(
            _cut(_clean(f"[{a.severity.name}] {a.title}: {a.detail}"), MAX_DETAIL) for a in alarms
        )
    return status, "\n".join(lines)

"""Prometheus alerting rules equal to the console's alarms, from its thresholds.

``alerts/xenon.rules.yml`` is ``rules_yaml(Thresholds())``: the rules of the
default thresholds (a test keeps the file equal to it); ``xenon-console
alert-rules --config FILE`` writes them for a config's ``[thresholds]``. Each
rule raises one of ``backends.analysis.alarms``'s alarms from the metrics of
``console.metrics`` at the same limit, compared the same way (``>=`` where
the alarm says "at or above", ``<`` for "below", in the same units: the
buffer's ratio against the percentage over 100, ages in seconds against the
hours times 3600), so an alert fires exactly when the console raises the
alarm. Its labels say which: ``alarm`` (the alarm's key, ``rse.NIKHEF_USERDISK.stuck``)
and ``severity`` (``warning``, ``critical``, or ``unknown`` for a source that
cannot be read, as ``check`` says UNKNOWN). Annotations: ``summary``,
``description`` and the runbook ``hint`` (``alarms.HINTS``).

No ``for:``: the console raises an alarm at the first poll that shows it, and
so do these (add one in a copy of the file for a pager that must not flap).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from backends.analysis.alarms import HINTS, Thresholds
from backends.model import LNGS_RSE

GROUP = "xenon-console"


@dataclass(frozen=True, slots=True)
class Rule:
    alert: str
    severity: str
    #: The alarm's key, templated for per-RSE, per-schedd and per-kind alarms.
    alarm: str
    expr: str
    summary: str
    description: str
    hint: str


def number(value: float) -> str:
    """A threshold as PromQL reads it back to the same float."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _levels(
    alert: str,
    alarm: str,
    metric: str,
    warning: float,
    critical: float,
    summary: str,
    description: str,
    hint: str,
    *,
    w: str,
    c: str,
    below: bool = False,
) -> list[Rule]:
    """A warning and a critical rule as ``alarms._level`` (``_level_below``)
    decides; ``w`` and ``c`` are the limits as the description says them."""
    warn_at, crit_at = number(warning), number(critical)
    if below:  # critical below the critical limit; warning below the warning one only
        crit, warn = f"{metric} < {crit_at}", f"{metric} < {warn_at} >= {crit_at}"
        limits = f"warning below {w}, critical below {c}"
    else:  # critical at or above the critical limit; warning at or above the warning one
        crit, warn = f"{metric} >= {crit_at}", f"{metric} >= {warn_at} < {crit_at}"
        limits = f"warning at {w}, critical at {c}"
    described = f"{description} ({limits})"
    return [
        Rule(alert, "warning", alarm, warn, summary, described, hint),
        Rule(alert, "critical", alarm, crit, summary, described, hint),
    ]


def _hours(hours: float) -> str:
    return f"{hours:g} h"


def alert_rules(limits: Thresholds) -> list[Rule]:
    """Every rule, in the order of the alarms in ``backends.analysis.alarms``."""
    rules: list[Rule] = []
    rules += _levels(
        "XenonBufferFill",
        "buffer.fill",
        "xenon_buffer_used_ratio",
        limits.buffer_warning_percent / 100,
        limits.buffer_critical_percent / 100,
        "buffer {{ $value | humanizePercentage }} full",
        "The LNGS buffer disk is {{ $value | humanizePercentage }} full",
        HINTS["buffer.fill"],
        w=f"{limits.buffer_warning_percent:g} %",
        c=f"{limits.buffer_critical_percent:g} %",
    )
    rules += _levels(
        "XenonBufferTimeToFull",
        "buffer.time_to_full",
        "xenon_buffer_time_to_full_seconds",
        limits.time_to_full_warning_hours * 3600,
        limits.time_to_full_critical_hours * 3600,
        "buffer full in {{ $value | humanizeDuration }}",
        "At the net fill rate of the last "
        f"{_hours(limits.buffer_rate_window_hours)} the LNGS buffer is full in "
        "{{ $value | humanizeDuration }}",
        HINTS["buffer.time_to_full"],
        below=True,
        w=_hours(limits.time_to_full_warning_hours),
        c=_hours(limits.time_to_full_critical_hours),
    )
    autonomy = number(limits.autonomy_critical_hours * 3600)
    uplink = "xenon_buffer_uplink_up == 0"
    short = f"xenon_buffer_autonomy_seconds < {autonomy}"
    description = (
        "Nothing leaves the LNGS buffer; critical when data taking can go on for less than "
        f"{_hours(limits.autonomy_critical_hours)} on the free space"
    )
    rules += [
        Rule(
            "XenonUplinkDown",
            "warning",
            "buffer.uplink",
            f"{uplink} unless {short}",
            "uplink from LNGS down",
            description,
            HINTS["buffer.uplink"],
        ),
        Rule(
            "XenonUplinkDown",
            "critical",
            "buffer.uplink",
            f"{uplink} and {short}",
            "uplink from LNGS down",
            description,
            HINTS["buffer.uplink"],
        ),
        Rule(
            "XenonRseUnavailable",
            "critical",
            "rse.{{ $labels.rse }}.unavailable",
            f'xenon_rucio_rse_available{{rse="{LNGS_RSE}"}} == 0',
            "{{ $labels.rse }} unavailable",
            "RSE {{ $labels.rse }} is not available for reading or writing",
            HINTS["rse.*.unavailable"],
        ),
        Rule(
            "XenonRseUnavailable",
            "warning",
            "rse.{{ $labels.rse }}.unavailable",
            f'xenon_rucio_rse_available{{rse!="{LNGS_RSE}"}} == 0',
            "{{ $labels.rse }} unavailable",
            "RSE {{ $labels.rse }} is not available for reading or writing",
            HINTS["rse.*.unavailable"],
        ),
    ]
    rules += _levels(
        "XenonRulesStuck",
        "rse.{{ $labels.rse }}.stuck",
        "xenon_rucio_oldest_stuck_seconds",
        limits.rule_stuck_warning_hours * 3600,
        limits.rule_stuck_critical_hours * 3600,
        "rules stuck at {{ $labels.rse }}",
        "The oldest STUCK rule at {{ $labels.rse }} has been stuck for "
        "{{ $value | humanizeDuration }}",
        "rucio list-rules for the RSE, then rucio rule show <id>; " + HINTS["rse.*.stuck"],
        w=_hours(limits.rule_stuck_warning_hours),
        c=_hours(limits.rule_stuck_critical_hours),
    )
    window = _hours(limits.tape_failure_window_hours)
    rules += _levels(
        "XenonTapeUploadsFailed",
        "tape.failures",
        'xenon_tape_failures{kind="upload"}',
        limits.tape_failures_warning,
        limits.tape_failures_critical,
        "{{ $value }} tape uploads failed",
        f"{{{{ $value }}}} tape uploads failed in the last {window}",
        HINTS["tape.failures"],
        w=f"{limits.tape_failures_warning}",
        c=f"{limits.tape_failures_critical}",
    )
    rules += _levels(
        "XenonTapeChecksum",
        "tape.checksum",
        'xenon_tape_failures{kind="checksum"}',
        limits.tape_checksum_warning,
        limits.tape_checksum_critical,
        "{{ $value }} tape copies failed checksum",
        "The restore test of {{ $value }} runs' tape copies gave a checksum mismatch",
        HINTS["tape.checksum"],
        w=f"{limits.tape_checksum_warning}",
        c=f"{limits.tape_checksum_critical}",
    )
    rules += _levels(
        "XenonRucioChecksum",
        "rucio.checksum",
        "xenon_rucio_checksum_failures",
        limits.tape_checksum_warning,
        limits.tape_checksum_critical,
        "{{ $value }} Rucio copies failed checksum",
        "A checksum problem is recorded on the Rucio copy of {{ $value }} runs missing it",
        HINTS["rucio.checksum"],
        w=f"{limits.tape_checksum_warning}",
        c=f"{limits.tape_checksum_critical}",
    )
    rules += _levels(
        "XenonJobsHeld",
        "jobs.held",
        'sum without (site, state) (xenon_jobs{state="held"})',
        limits.held_jobs_warning,
        limits.held_jobs_critical,
        "{{ $value }} held jobs",
        "{{ $value }} HTCondor jobs are held",
        HINTS["jobs.held"],
        w=f"{limits.held_jobs_warning}",
        c=f"{limits.held_jobs_critical}",
    )
    if limits.stalled_dags_warning > 0:
        rules.append(
            Rule(
                "XenonDagsStalled",
                "warning",
                "jobs.dags_stalled",
                f"xenon_dags_stalled >= {number(limits.stalled_dags_warning)}",
                "{{ $value }} DAGs stalled",
                "{{ $value }} DAGs have only held nodes left",
                HINTS["jobs.dags_stalled"],
            )
        )
    no_run = number(limits.no_new_run_warning_hours * 3600)
    unsafe_after = _hours(limits.unsafe_after_hours)
    rules += [
        Rule(
            "XenonScheddUnreachable",
            "warning",
            "jobs.schedd.{{ $labels.schedd }}.unreachable",
            "xenon_condor_schedd_up == 0",
            "schedd {{ $labels.schedd }} unreachable",
            "Its jobs are from its last answer",
            HINTS["jobs.schedd.*.unreachable"],
        ),
        Rule(
            "XenonUploadBacklog",
            "warning",
            "runs.upload_backlog",
            f"xenon_runs_upload_backlog >= {number(limits.upload_backlog_warning)}",
            "{{ $value }} datasets waiting for upload",
            "The event builders hold {{ $value }} datasets ready to upload (eb_ready_to_upload), "
            f"the warning is at {number(limits.upload_backlog_warning)}",
            HINTS["runs.upload_backlog"],
        ),
        Rule(
            "XenonEventBuilderSilent",
            "warning",
            "eb.silent",
            f"xenon_eb_heartbeat_age_seconds > {number(limits.eb_silent_warning_seconds)}",
            "event builder {{ $labels.host }} silent",
            "No bootstrax heartbeat from {{ $labels.host }} for {{ $value }} s, the warning is "
            f"over {number(limits.eb_silent_warning_seconds)} s",
            HINTS["eb.silent"],
        ),
        Rule(
            "XenonEventBuilderNeverSeen",
            "warning",
            "eb.silent",
            "xenon_eb_heartbeat_seen == 0",
            "event builder {{ $labels.host }} never seen",
            "No bootstrax heartbeat from {{ $labels.host }} ever: it is never seen",
            HINTS["eb.silent"],
        ),
        Rule(
            "XenonNoNewRun",
            "warning",
            "runs.no_new_run",
            f"xenon_runs_since_newest_seconds >= {no_run} and xenon_daq_taking_data == 1",
            "no new run for {{ $value | humanizeDuration }}",
            "The DAQ is taking data but the newest run started {{ $value | humanizeDuration }} ago",
            HINTS["runs.no_new_run"],
        ),
    ]
    rules += _levels(
        "XenonRunsNotDataSafe",
        "runs.unsafe",
        "xenon_runs_unsafe_overdue",
        limits.unsafe_runs_warning,
        limits.unsafe_runs_critical,
        "{{ $value }} runs not data-safe",
        f"{{{{ $value }}}} runs ended more than {unsafe_after} ago lack required copies",
        HINTS["runs.unsafe"],
        w=f"{limits.unsafe_runs_warning}",
        c=f"{limits.unsafe_runs_critical}",
    )
    stale_after = (
        f"clamp_min(xenon_source_poll_interval_seconds * {number(limits.stale_after_factor)}, "
        f"{number(limits.stale_min_seconds)})"
    )
    rules += [
        Rule(
            "XenonSourceDown",
            "unknown",
            "source.{{ $labels.kind }}.down",
            "xenon_source_up == 0 unless xenon_source_last_success_timestamp_seconds",
            "{{ $labels.kind }} source failing",
            "The {{ $labels.kind }} source ({{ $labels.backend }}) has not answered since the "
            "console started: its pane and alarms are blind",
            HINTS["source.*.down"],
        ),
        Rule(
            "XenonSourceStale",
            "warning",
            "source.{{ $labels.kind }}.stale",
            "(xenon_source_up == 0 and xenon_source_last_success_timestamp_seconds)"
            f" or xenon_source_data_age_seconds > {stale_after}",
            "{{ $labels.kind }} data stale",
            "The {{ $labels.kind }} source ({{ $labels.backend }}) failed its last poll or "
            f"its data is older than {number(limits.stale_after_factor)} poll intervals "
            f"(at least {number(limits.stale_min_seconds)} s)",
            HINTS["source.*.stale"],
        ),
    ]
    return rules


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar (JSON's escapes are YAML's)."""
    return json.dumps(text, ensure_ascii=False)


def rules_yaml(limits: Thresholds, *, origin: str = "the default thresholds") -> str:
    """The rules file (YAML) for these thresholds."""
    lines = [
        "# Prometheus alerting rules equal to xenon-console's alarms, generated by",
        f"# `xenon-console alert-rules` from {origin}: regenerate, do not edit.",
        "# Labels: alarm (the console's alarm key), severity (warning, critical, unknown).",
        "groups:",
        f"  - name: {GROUP}",
        "    rules:",
    ]
    for rule in alert_rules(limits):
        lines += [
            f"      - alert: {rule.alert}",
            f"        expr: {_quoted(rule.expr)}",
            "        labels:",
            f"          severity: {rule.severity}",
            f"          alarm: {_quoted(rule.alarm)}",
            "        annotations:",
            f"          summary: {_quoted(rule.summary)}",
            f"          description: {_quoted(rule.description)}",
            f"          hint: {_quoted(rule.hint)}",
        ]
    return "\n".join(lines) + "\n"

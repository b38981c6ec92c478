"""Alarms: what an operator must look at, decided from snapshots and thresholds.

One function per kind (``buffer_alarms`` ... ``runs_alarms``, the same
signature each), named in that kind's ``backends.kinds.KindSpec``; the
registry's ``evaluate`` combines them with each source's health. The same
list drives the TUI's alarm bar, ``report`` and the Nagios-style ``check``.
Details are one line; texts that came from a backend are passed through
unchanged (joined to one line) and escaped by whoever displays them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum

from backends.analysis.buffer import buffer_forecast, fill_percent
from backends.analysis.jobs import hold_reasons, stalled_dags
from backends.analysis.run_index import RunFacts, RunTable, tabled
from backends.analysis.safety import (
    SLOT_TAPE,
    SafetyPolicy,
    SafetyVerdict,
)
from backends.analysis.tape import failed_at, recent_failures, summarize_tape
from backends.analysis.transfers import stuck_since
from backends.analysis.units import format_bytes, format_duration, one_line
from backends.model import (
    LNGS_RSE,
    BufferSnapshot,
    Heartbeat,
    JobsSnapshot,
    JobStatus,
    Kind,
    Rule,
    RuleState,
    Run,
    RunsSnapshot,
    Snapshot,
    TapeSnapshot,
    TransfersSnapshot,
)


class Severity(IntEnum):
    """Nagios plugin return codes."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3


#: Nagios precedence for combining results: CRITICAL > WARNING > UNKNOWN > OK.
_RANK = {Severity.OK: 0, Severity.UNKNOWN: 1, Severity.WARNING: 2, Severity.CRITICAL: 3}


def data_time(snapshots: Iterable[Snapshot | None]) -> datetime:
    """The time the data speaks of: the newest snapshot's stamp, else now.

    Using the data's own clock keeps a simulator with a fixed clock (and a
    replay) deterministic; real sources stamp snapshots with the current
    time anyway.
    """
    stamps = [s.taken_at for s in snapshots if s is not None]
    return max(stamps) if stamps else datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Alarm limits; every field can be set in the config's ``[thresholds]``."""

    buffer_warning_percent: float = 80
    buffer_critical_percent: float = 90
    #: Forecast window for the buffer fill rate.
    buffer_rate_window_hours: float = 6
    time_to_full_warning_hours: float = 72
    time_to_full_critical_hours: float = 24
    #: Uplink down: critical when the DAQ can write for less than this.
    autonomy_critical_hours: float = 24
    rule_stuck_warning_hours: float = 6
    rule_stuck_critical_hours: float = 24
    tape_failures_warning: int = 1
    tape_failures_critical: int = 10
    tape_failure_window_hours: float = 24
    tape_checksum_warning: int = 1
    tape_checksum_critical: int = 5
    held_jobs_warning: int = 1
    held_jobs_critical: int = 100
    stalled_dags_warning: int = 1
    no_new_run_warning_hours: float = 2
    #: XENONnT: event builders' datasets waiting for the upload; warning at
    #: this many (over 100).
    upload_backlog_warning: int = 101
    #: XENONnT: an event builder whose last heartbeat is older than this is
    #: silent (bootstrax writes one every few seconds; it presumes another
    #: host dead after 300 s).
    eb_silent_warning_seconds: float = 300
    #: A run older than this (since its end) should be data-safe.
    unsafe_after_hours: float = 48
    unsafe_runs_warning: int = 1
    unsafe_runs_critical: int = 50
    #: Data older than this many poll intervals counts as stale.
    stale_after_factor: float = 3.0
    #: ... but never sooner than this.
    stale_min_seconds: float = 60


def stale_after(limits: Thresholds, interval: float) -> float:
    """Seconds after which a source polled every ``interval`` seconds has
    stale data: ``stale_after_factor`` intervals, at least ``stale_min_seconds``
    (the alert rules say the same in PromQL, ``console.alert_rules``)."""
    return max(limits.stale_min_seconds, interval * limits.stale_after_factor)


#: The runbook hint of every alarm, by key (``*``: an RSE, schedd or kind),
#: shared with the alert rules' ``hint`` annotation (``console.alert_rules``).
#: A hint the alarm makes more precise (the stuck rule's id) starts from it.
HINTS: dict[str, str] = {
    "buffer.fill": "check that uploads to Rucio and tape keep up; purge runs that are data-safe",
    "buffer.time_to_full": "find why the buffer is not drained (uplink, Rucio rules, tape queue)",
    "buffer.uplink": "call LNGS IT about the network; keep the buffer free for the DAQ",
    "rse.*.unavailable": "check the site's status page and the Rucio RSE attributes",
    "tape.failures": "read the dsmc log on the datamanager; rc 12 = errors, 8 = warnings",
    "tape.checksum": "re-upload these runs to tape; do not purge them from the buffer",
    "jobs.dags_stalled": "release or fix the held nodes; the DAG waits for them",
    "jobs.schedd.*.unreachable": "condor_q -name <schedd> from the submit host; check the "
    "schedd and network",
    "runs.no_new_run": "check the DAQ and the event builder at LNGS",
    "runs.upload_backlog": "check that admix's upload manager runs on the datamanager and "
    "that LNGS_USERDISK takes data",
    "eb.silent": "log in to the event builder and check bootstrax (its screen session and "
    "log); restart it if it died",
    "runs.unsafe": "see the runs pane; add the missing Rucio rules or tape uploads",
    "rse.*.stuck": "check the FTS errors and the destination RSE",
    "rucio.checksum": "declare the bad replicas in Rucio so they are copied again; do not "
    "purge these runs from the buffer",
    "jobs.held": "Enter on a held DAG for its commands: condor_q -hold -constraint "
    "'DAGManJobId == <dag>', fix the cause, then condor_release -constraint ...",
    "source.*.down": "check the backend's connection settings and the service it reads",
    "source.*.stale": "the source is slow or hung; check the service it reads",
}


@dataclass(frozen=True, slots=True)
class Alarm:
    #: Stable identity: "buffer.fill", "rse.CNAF_USERDISK.stuck", "source.tape.down".
    key: str
    severity: Severity
    kind: Kind | None
    title: str
    detail: str
    since: datetime | None
    hint: str
    #: How many things are wrong (runs, rules, jobs), when the alarm counts
    #: them: an acknowledgement covers that many, and the alarm is loud again
    #: when the count grows.
    count: int | None = None


def _level(value: float, warning: float, critical: float) -> Severity:
    """Higher is worse: critical at or above ``critical``, warning at or above ``warning``."""
    if value >= critical:
        return Severity.CRITICAL
    if value >= warning:
        return Severity.WARNING
    return Severity.OK


def _level_below(value: float, warning: float, critical: float) -> Severity:
    """Lower is worse: critical below ``critical``, warning below ``warning``."""
    if value < critical:
        return Severity.CRITICAL
    if value < warning:
        return Severity.WARNING
    return Severity.OK


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


# --------------------------------------------------------------------- buffer


def buffer_alarms(
    snap: BufferSnapshot, limits: Thresholds, now: datetime, policy: SafetyPolicy
) -> Iterable[Alarm]:
    forecast = buffer_forecast(snap, timedelta(hours=limits.buffer_rate_window_hours))
    percent = fill_percent(snap)
    # The ratio against the percentages over 100, as the alert rules compare
    # ``xenon_buffer_used_ratio`` (the same floats, so they agree at the limit).
    severity = _level(
        snap.fill_fraction,
        limits.buffer_warning_percent / 100,
        limits.buffer_critical_percent / 100,
    )
    if severity:
        yield Alarm(
            key="buffer.fill",
            severity=severity,
            kind=Kind.BUFFER,
            title=f"buffer {percent:.1f} % full",
            detail=(
                f"{format_bytes(snap.used_bytes)} of {format_bytes(snap.total_bytes)} used, "
                f"{format_bytes(forecast.free_bytes)} free on {snap.mount}"
            ),
            since=None,
            hint=HINTS["buffer.fill"],
        )
    to_full = forecast.time_to_full
    if to_full is not None:
        severity = _level_below(
            to_full.total_seconds(),
            limits.time_to_full_warning_hours * 3600,
            limits.time_to_full_critical_hours * 3600,
        )
        if severity:
            yield Alarm(
                key="buffer.time_to_full",
                severity=severity,
                kind=Kind.BUFFER,
                title=f"buffer full in {format_duration(to_full)}",
                detail=(
                    f"filling at {format_bytes(forecast.fill_rate_bps)}/s net, "
                    f"{format_bytes(forecast.free_bytes)} free"
                ),
                since=None,
                hint=HINTS["buffer.time_to_full"],
            )
    if snap.uplink_up is False:
        autonomy = forecast.autonomy
        severity = Severity.WARNING
        if (
            autonomy is not None
            and autonomy.total_seconds() < limits.autonomy_critical_hours * 3600
        ):
            severity = Severity.CRITICAL
        left = (
            f"data taking can go on for {format_duration(autonomy)} on the free space"
            if autonomy is not None
            else "DAQ write rate unknown"
        )
        yield Alarm(
            key="buffer.uplink",
            severity=severity,
            kind=Kind.BUFFER,
            title="uplink from LNGS down",
            detail=f"nothing leaves the buffer; {left}",
            since=None,
            hint=HINTS["buffer.uplink"],
        )


# ------------------------------------------------------------------ transfers


def transfers_alarms(
    snap: TransfersSnapshot, limits: Thresholds, now: datetime, policy: SafetyPolicy
) -> Iterable[Alarm]:
    for rse in snap.rses:
        if not rse.available:
            yield Alarm(
                key=f"rse.{rse.name}.unavailable",
                severity=Severity.CRITICAL if rse.name == LNGS_RSE else Severity.WARNING,
                kind=Kind.TRANSFERS,
                title=f"{rse.name} unavailable",
                detail=f"RSE {rse.name} is not available for reading or writing",
                since=None,
                hint=HINTS["rse.*.unavailable"],
            )
    by_rse: dict[str, list[Rule]] = {}
    for rule in snap.rules:
        if rule.state is RuleState.STUCK:
            by_rse.setdefault(rule.rse, []).append(rule)
    for name in sorted(by_rse):
        rules = sorted(by_rse[name], key=lambda r: (stuck_since(r), r.id))
        oldest = rules[0]
        age = (now - stuck_since(oldest)).total_seconds()
        warning = limits.rule_stuck_warning_hours * 3600
        severity = _level(age, warning, limits.rule_stuck_critical_hours * 3600)
        if not severity:
            continue
        over = sum(1 for r in rules if (now - stuck_since(r)).total_seconds() >= warning)
        run = f" (run {oldest.run_number})" if oldest.run_number is not None else ""
        error = f": {one_line(oldest.error)}" if oldest.error else ""
        yield Alarm(
            key=f"rse.{name}.stuck",
            severity=severity,
            kind=Kind.TRANSFERS,
            # The title counts what the pane counts: every stuck rule there.
            title=f"{_plural(len(rules), 'rule')} stuck at {name}",
            detail=(
                f"{over} of them stuck over {limits.rule_stuck_warning_hours:g} h, "
                f"oldest for {format_duration(now - stuck_since(oldest))}{run}{error}"
            ),
            since=stuck_since(oldest),
            hint=f"rucio rule show {oldest.id}; {HINTS['rse.*.stuck']}",
            count=len(rules),
        )


# ----------------------------------------------------------------------- tape


def tape_alarms(
    snap: TapeSnapshot, limits: Thresholds, now: datetime, policy: SafetyPolicy
) -> Iterable[Alarm]:
    window = timedelta(hours=limits.tape_failure_window_hours)
    summary = summarize_tape(snap, now, window)
    severity = _level(
        summary.failed_recent, limits.tape_failures_warning, limits.tape_failures_critical
    )
    if severity:
        recent = recent_failures(snap, now, window)
        newest = recent[0]
        rc = f" rc {newest.return_code}" if newest.return_code is not None else ""
        msg = f": {one_line(newest.message)}" if newest.message else ""
        yield Alarm(
            key="tape.failures",
            severity=severity,
            kind=Kind.TAPE,
            title=f"{_plural(summary.failed_recent, 'tape upload')} failed",
            detail=(
                f"{summary.failed_recent} failed in the last {format_duration(window)}; "
                f"newest run {newest.run_number}{rc}{msg}"
            ),
            # Since the oldest failure of the window: it does not move with
            # each new failure (an acknowledgement covers the count it saw).
            since=failed_at(recent[-1]),
            hint=HINTS["tape.failures"],
            count=summary.failed_recent,
        )


def _first_copy_time(runs: list[Run]) -> datetime | None:
    """When the oldest of these runs got a copy recorded (the failure's start
    as well as the runs database tells it), else their end."""
    times = [c.creation_time for r in runs for c in r.copies if c.creation_time is not None]
    return min(times, default=None) or min((r.end or r.start for r in runs), default=None)


@dataclass(frozen=True, slots=True)
class RunsAtRisk:
    """The runs the runs alarms speak of, oldest first (``runs_at_risk``)."""

    #: Runs whose tape copy failed its checksum.
    tape_failed: list[Run]
    #: Runs whose Rucio copy for a missing slot failed its checksum, with the verdict.
    rucio_failed: list[tuple[Run, SafetyVerdict]]
    #: Runs ended more than ``unsafe_after_hours`` ago that are not data-safe.
    unsafe: list[RunFacts]


def runs_at_risk(
    snap: RunsSnapshot,
    limits: Thresholds,
    now: datetime,
    policy: SafetyPolicy,
    table: RunTable | None = None,
) -> RunsAtRisk:
    """One verdict per run, for every runs alarm and ``check``'s figures."""
    if table is None or table.runs is not snap.runs:
        table = tabled(snap.runs, policy)
    before = (now - timedelta(hours=limits.unsafe_after_hours)).timestamp()
    failed: list[tuple[Run, SafetyVerdict]] = []
    unsafe: list[RunFacts] = []
    for index, fact in table.unsafe():
        if fact.verdict.failed:
            failed.append((snap.runs[index], fact.verdict))
        if fact.overdue(before):
            unsafe.append(fact)
    return RunsAtRisk(
        tape_failed=[run for run, verdict in failed if SLOT_TAPE in verdict.failed],
        rucio_failed=[(run, v) for run, v in failed if set(v.failed) - {SLOT_TAPE}],
        unsafe=unsafe,
    )


def _checksum_alarms(risk: RunsAtRisk, limits: Thresholds) -> Iterable[Alarm]:
    """Runs whose tape copy, or whose Rucio copy for a missing slot, failed its
    checksum: a failure now, whatever the run's age."""
    on_tape = risk.tape_failed
    severity = _level(len(on_tape), limits.tape_checksum_warning, limits.tape_checksum_critical)
    if severity:
        numbers = ", ".join(str(r.number) for r in on_tape[-5:])
        more = ", ..." if len(on_tape) > 5 else ""
        yield Alarm(
            key="tape.checksum",
            severity=severity,
            kind=Kind.RUNS,
            title=f"{_plural(len(on_tape), 'tape copy', 'tape copies')} failed checksum",
            detail=f"restore test checksum mismatch for runs {numbers}{more}",
            since=_first_copy_time(on_tape),
            count=len(on_tape),
            hint=HINTS["tape.checksum"],
        )
    in_rucio = risk.rucio_failed
    severity = _level(len(in_rucio), limits.tape_checksum_warning, limits.tape_checksum_critical)
    if severity:
        shown = ", ".join(
            f"{run.number} ({'/'.join(s for s in v.failed if s != SLOT_TAPE)})"
            for run, v in in_rucio[-5:]
        )
        more = ", ..." if len(in_rucio) > 5 else ""
        yield Alarm(
            key="rucio.checksum",
            severity=severity,
            kind=Kind.RUNS,
            title=f"{_plural(len(in_rucio), 'Rucio copy', 'Rucio copies')} failed checksum",
            detail=f"checksum problem recorded on the Rucio copy of runs {shown}{more}",
            since=_first_copy_time([run for run, _ in in_rucio]),
            count=len(in_rucio),
            hint=HINTS["rucio.checksum"],
        )


# ----------------------------------------------------------------------- jobs


def jobs_alarms(
    snap: JobsSnapshot, limits: Thresholds, now: datetime, policy: SafetyPolicy
) -> Iterable[Alarm]:
    held = [j for j in snap.jobs if j.status is JobStatus.HELD]
    severity = _level(len(held), limits.held_jobs_warning, limits.held_jobs_critical)
    if severity:
        reasons = hold_reasons(snap, top=1)
        top = f"; top reason ({reasons[0][1]}): {one_line(reasons[0][0])}" if reasons else ""
        yield Alarm(
            key="jobs.held",
            severity=severity,
            kind=Kind.JOBS,
            title=f"{_plural(len(held), 'held job')}",
            detail=f"{_plural(len(held), 'job')} held{top}",
            since=min((j.entered_status_at for j in held), default=None),
            hint=HINTS["jobs.held"],
            count=len(held),
        )
    stalled = stalled_dags(snap)
    if len(stalled) >= limits.stalled_dags_warning > 0:
        runs = ", ".join(
            str(d.run_number) if d.run_number is not None else d.batch_name for d in stalled[:5]
        )
        more = ", ..." if len(stalled) > 5 else ""
        yield Alarm(
            key="jobs.dags_stalled",
            severity=Severity.WARNING,
            kind=Kind.JOBS,
            title=f"{_plural(len(stalled), 'DAG')} stalled",
            detail=f"only held nodes left for runs {runs}{more}",
            since=min(d.submitted_at for d in stalled),
            hint=HINTS["jobs.dags_stalled"],
            count=len(stalled),
        )
    for schedd, error in snap.schedd_errors:
        yield Alarm(
            key=f"jobs.schedd.{schedd}.unreachable",
            severity=Severity.WARNING,
            kind=Kind.JOBS,
            title=f"schedd {schedd} unreachable",
            detail=f"its jobs are from its last answer; {one_line(error)}",
            since=None,
            hint=HINTS["jobs.schedd.*.unreachable"],
        )


# ----------------------------------------------------------------------- runs


def silent_builders(snap: RunsSnapshot, limits: Thresholds) -> list[Heartbeat]:
    """XENONnT: the event builders whose last heartbeat is older than
    ``eb_silent_warning_seconds``, and those never seen (no heartbeat
    document at all): the never seen first, then the oldest first. Judged
    at the snapshot's time (the heartbeats were read with its runs), for
    the alarm, the runs pane, the diagnosis and the exporter alike: judged
    at the newest time of any pane, the diagnosis called beating builders
    silent while the runs source was minutes behind the others."""
    now = snap.taken_at
    limit = limits.eb_silent_warning_seconds
    never = sorted((b for b in snap.heartbeats or () if not b.seen), key=lambda b: b.host)
    silent = [
        b
        for b in snap.heartbeats or ()
        if b.time is not None and (now - b.time).total_seconds() > limit
    ]
    return never + sorted(silent, key=lambda b: (b.time, b.host))


def silent_for(beat: Heartbeat, now: datetime) -> str:
    """How long an event builder has been silent, in words: ``20 min``, or
    ``never seen`` (no heartbeat document at all)."""
    if beat.time is None:
        return "never seen" if not beat.seen else "time unknown"
    return format_duration(now - beat.time)


def builder_alarms(snap: RunsSnapshot, limits: Thresholds) -> Iterable[Alarm]:
    """XENONnT: ``eb.silent``, a WARNING naming each event builder silent
    for over ``eb_silent_warning_seconds`` or never seen (a configured host
    with no heartbeat document at all: silent, never "unknown"); UNKNOWN when
    the heartbeats could not be read (or none of a host's has a time), never
    "all well" then. Nothing without heartbeats (XENON1T)."""
    if snap.heartbeats_error is not None:
        yield _heartbeats_unknown(
            "cannot tell whether an event builder is silent: " + one_line(snap.heartbeats_error)
        )
        return
    silent = silent_builders(snap, limits)
    if silent:
        late = [b for b in silent if b.time is not None]
        never = [b for b in silent if b.time is None]
        parts = []
        if late:
            ages = ", ".join(f"{one_line(b.host)} {silent_for(b, snap.taken_at)}" for b in late)
            parts.append(f"no heartbeat for over {limits.eb_silent_warning_seconds:g} s: {ages}")
        if never:
            names = ", ".join(one_line(b.host) for b in never)
            parts.append(f"never seen (no heartbeat at all): {names}")
        if len(never) == len(snap.heartbeats or ()):
            parts.append(
                "none has any heartbeat: check heartbeat_database and heartbeat_collection"
            )
        yield Alarm(
            key="eb.silent",
            severity=Severity.WARNING,
            kind=Kind.RUNS,
            title=f"{_plural(len(silent), 'event builder')} silent",
            detail="; ".join(parts),
            since=late[0].time if late else None,
            hint=HINTS["eb.silent"],
            count=len(silent),
        )
        return
    unreadable = [b for b in snap.heartbeats or () if b.unreadable]
    if unreadable:
        yield _heartbeats_unknown(
            "no heartbeat time can be read of "
            + ", ".join(
                f"{one_line(b.host)} ({one_line('; '.join(b.malformed))})" for b in unreadable
            )
        )


def _heartbeats_unknown(detail: str) -> Alarm:
    """``eb.silent`` as UNKNOWN: whether an event builder is silent cannot be told."""
    return Alarm(
        key="eb.silent",
        severity=Severity.UNKNOWN,
        kind=Kind.RUNS,
        title="event builders' heartbeats unknown",
        detail=detail,
        since=None,
        hint=HINTS["eb.silent"],
    )


def runs_alarms(
    snap: RunsSnapshot,
    limits: Thresholds,
    now: datetime,
    policy: SafetyPolicy,
    table: RunTable | None = None,
) -> Iterable[Alarm]:
    """The runs' alarms, from the facts of every run (``table``: the console
    keeps one from poll to poll and derives only the runs that changed)."""
    if table is None or table.runs is not snap.runs:
        table = tabled(snap.runs, policy)
    index = table.newest()
    if snap.data_taking and index is not None:
        newest = snap.runs[index]
        age = now - newest.start
        if age >= timedelta(hours=limits.no_new_run_warning_hours):
            yield Alarm(
                key="runs.no_new_run",
                severity=Severity.WARNING,
                kind=Kind.RUNS,
                title=f"no new run for {format_duration(age)}",
                detail=f"DAQ is taking data but run {newest.number} is the newest",
                since=newest.start,
                hint=HINTS["runs.no_new_run"],
            )
    yield from builder_alarms(snap, limits)
    backlog = table.upload_backlog()
    if backlog >= limits.upload_backlog_warning:
        yield Alarm(
            key="runs.upload_backlog",
            severity=Severity.WARNING,
            kind=Kind.RUNS,
            title=f"{_plural(backlog, 'dataset')} waiting for upload",
            detail=(
                f"the event builders hold {backlog} datasets ready to upload"
                f" (eb_ready_to_upload), the warning is at {limits.upload_backlog_warning}"
            ),
            since=None,
            hint=HINTS["runs.upload_backlog"],
        )
    risk = runs_at_risk(snap, limits, now, policy, table)
    yield from _checksum_alarms(risk, limits)
    unsafe = risk.unsafe
    severity = _level(len(unsafe), limits.unsafe_runs_warning, limits.unsafe_runs_critical)
    if severity:
        oldest = unsafe[0]
        after = format_duration(timedelta(hours=limits.unsafe_after_hours))
        yield Alarm(
            key="runs.unsafe",
            severity=severity,
            kind=Kind.RUNS,
            title=f"{_plural(len(unsafe), 'run')} not data-safe",
            detail=(
                f"{len(unsafe)} older than {after}"
                f" lack required copies; oldest run {oldest.number}: {oldest.verdict.reason}"
            ),
            since=datetime.fromtimestamp(oldest.since, UTC),
            hint=HINTS["runs.unsafe"],
            count=len(unsafe),
        )


# --------------------------------------------------------------------- sources


def source_alarm(
    kind: Kind,
    snap: Snapshot | None,
    error: str | None,
    now: datetime,
    stale_after: float | None,
    *,
    age: float | None = None,
) -> Alarm | None:
    """The health of one source: down (UNKNOWN), stale (WARNING) or None when fine.

    ``stale_after`` (seconds) also makes an old snapshot without an error stale.
    ``age`` (seconds since the snapshot arrived, on the console's clock) is how
    old the data is; without it, ``now`` minus the snapshot's own time.
    """
    if error is not None and snap is None:
        return Alarm(
            key=f"source.{kind.value}.down",
            severity=Severity.UNKNOWN,
            kind=kind,
            title=f"{kind.value} source failing",
            detail=one_line(error),
            since=None,
            hint=HINTS["source.*.down"],
        )
    if snap is None:
        return None
    old = timedelta(seconds=age) if age is not None else now - snap.taken_at
    if error is not None:
        return Alarm(
            key=f"source.{kind.value}.stale",
            severity=Severity.WARNING,
            kind=kind,
            title=f"{kind.value} data stale",
            detail=f"showing data from {format_duration(old)} ago; last error: {one_line(error)}",
            since=snap.taken_at,
            hint=HINTS["source.*.down"],
        )
    if stale_after is not None and old.total_seconds() > stale_after:
        return Alarm(
            key=f"source.{kind.value}.stale",
            severity=Severity.WARNING,
            kind=kind,
            title=f"{kind.value} data stale",
            detail=f"no fresh data for {format_duration(old)}",
            since=snap.taken_at,
            hint=HINTS["source.*.stale"],
        )
    return None


def sort_alarms(alarms: Iterable[Alarm]) -> list[Alarm]:
    return sorted(alarms, key=lambda a: (-_RANK[a.severity], a.key))


def overall(alarms: Iterable[Alarm]) -> Severity:
    """Nagios precedence: CRITICAL > WARNING > UNKNOWN > OK."""
    worst = Severity.OK
    for alarm in alarms:
        if _RANK[alarm.severity] > _RANK[worst]:
            worst = alarm.severity
    return worst

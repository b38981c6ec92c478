"""The console's figures as Prometheus metrics, from the functions the alarms use.

Each kind's function turns one snapshot into metric families (``Family``,
plain data: this module does not import ``prometheus_client``); the exporter
(``console.exporter``) computes them when a poll comes back and a scrape only
formats them. Names and units follow Prometheus's guidelines: prefix
``xenon_``, base units (bytes, seconds, ratios), ``_total`` only on counters,
no run number as a label. Every alarm of ``backends.analysis.alarms`` has a
metric that shows it, and ``alerts/xenon.rules.yml`` (``console.alert_rules``)
raises the same alarms from these metrics at the same thresholds.

A figure is computed by the same analysis function the alarm, the pane and
``check`` use: the buffer's fill from ``buffer_forecast``, the stuck rules
from ``summarize_transfers``, the failed tape uploads from ``summarize_tape``,
the runs' verdicts from the run table the alarms read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from backends.analysis.alarms import Thresholds, runs_at_risk
from backends.analysis.buffer import buffer_forecast
from backends.analysis.jobs import jobs_by_site, stalled_dags
from backends.analysis.run_index import RunTable, tabled
from backends.analysis.safety import SafetyPolicy, verdict_word
from backends.analysis.tape import summarize_tape
from backends.analysis.transfers import stuck_since, summarize_transfers
from backends.model import (
    BufferSnapshot,
    JobsSnapshot,
    Kind,
    RuleState,
    RunsSnapshot,
    Snapshot,
    TapeSnapshot,
    TransfersSnapshot,
)
from console.safe_text import strip_controls

PREFIX = "xenon_"
#: Filled by two kinds: the tape pane's uploads, the runs' checksums.
TAPE_FAILURES_HELP = (
    "Tape failures: kind=upload, uploads failed within the failure window (alarm "
    "tape.failures); kind=checksum, runs whose tape copy failed its restore-test "
    "checksum (alarm tape.checksum)."
)
#: A label value longer than this is cut (a backend's garbage must not make a
#: scrape huge); RSE, site and schedd names are far shorter.
MAX_LABEL = 120


@dataclass(frozen=True, slots=True)
class Family:
    """One metric family: its samples as (label values, value)."""

    name: str
    help: str
    labels: tuple[str, ...] = ()
    samples: tuple[tuple[tuple[str, ...], float], ...] = ()
    #: "gauge" or "counter" (a counter's name ends in ``_total``).
    type: str = "gauge"


@dataclass
class _Families:
    """Families being built, in the order first named."""

    found: dict[str, tuple[str, tuple[str, ...], list[tuple[tuple[str, ...], float]]]] = field(
        default_factory=dict
    )

    def add(self, name: str, help_text: str, value: float | None, **labels: str | None) -> None:
        """One sample (none when ``value`` is None: unknown is absent, not 0)."""
        entry = self.found.get(name)
        if entry is None:
            entry = self.found[name] = (help_text, tuple(labels), [])
        if value is not None:
            entry[2].append((tuple(label_value(v) for v in labels.values()), float(value)))

    def declare(self, name: str, help_text: str, *labels: str) -> None:
        """A family that may have no sample (it still gets HELP and TYPE)."""
        if name not in self.found:
            self.found[name] = (help_text, labels, [])

    def done(self) -> list[Family]:
        return [
            Family(PREFIX + name, help_text, labels, tuple(samples))
            for name, (help_text, labels, samples) in self.found.items()
        ]


def label_value(value: str | None) -> str:
    """A label value from a backend: one line, no control characters, bounded."""
    text = strip_controls(value or "").replace("\n", " ")
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def _flag(value: bool | None) -> float | None:
    return None if value is None else float(value)


def _seconds(delta: timedelta | None) -> float | None:
    return None if delta is None else delta.total_seconds()


def _stamp(at: datetime | None) -> float | None:
    return None if at is None else at.timestamp()


# ----------------------------------------------------------------- by kind


def buffer_metrics(
    snap: BufferSnapshot, limits: Thresholds, policy: SafetyPolicy, table: RunTable | None
) -> list[Family]:
    forecast = buffer_forecast(snap, timedelta(hours=limits.buffer_rate_window_hours))
    out = _Families()
    out.add("buffer_size_bytes", "Size of the LNGS buffer disk.", snap.total_bytes)
    out.add("buffer_used_bytes", "Bytes used on the LNGS buffer disk.", snap.used_bytes)
    out.add("buffer_free_bytes", "Bytes free on the LNGS buffer disk.", forecast.free_bytes)
    out.add(
        "buffer_used_ratio",
        "Fraction of the LNGS buffer disk used (alarm buffer.fill).",
        forecast.fill_fraction if snap.total_bytes else None,
    )
    out.add(
        "buffer_fill_rate_bytes_per_second",
        "Net fill rate of the buffer over the forecast window (negative: draining).",
        forecast.fill_rate_bps,
    )
    out.add(
        "buffer_time_to_full_seconds",
        "Time until the buffer is full at the net fill rate; absent when it is not "
        "filling (alarm buffer.time_to_full).",
        _seconds(forecast.time_to_full),
    )
    out.add(
        "buffer_autonomy_seconds",
        "How long data taking can go on on the free space with the uplink down "
        "(alarm buffer.uplink).",
        _seconds(forecast.autonomy),
    )
    out.add(
        "buffer_daq_write_bytes_per_second",
        "Rate at which the DAQ writes raw data.",
        snap.daq_write_bps,
    )
    out.add(
        "buffer_uplink_up",
        "1 when the uplink from LNGS is up, 0 when down; absent when unknown "
        "(alarm buffer.uplink).",
        _flag(snap.uplink_up),
    )
    return out.done()


def transfers_metrics(
    snap: TransfersSnapshot, limits: Thresholds, policy: SafetyPolicy, table: RunTable | None
) -> list[Family]:
    out = _Families()
    out.declare("rucio_rules", "Rucio rules per RSE and state.", "rse", "state")
    out.declare(
        "rucio_oldest_stuck_seconds",
        "How long the oldest STUCK rule of an RSE has been stuck (alarm rse.<RSE>.stuck).",
        "rse",
    )
    for rse in summarize_transfers(snap):
        for state in RuleState:
            out.add("rucio_rules", "", rse.rules[state], rse=rse.name, state=state.value)
        if rse.oldest_stuck is not None:
            out.add(
                "rucio_oldest_stuck_seconds",
                "",
                (snap.taken_at - stuck_since(rse.oldest_stuck)).total_seconds(),
                rse=rse.name,
            )
        out.add(
            "rucio_rse_available",
            "1 when the RSE is available, 0 when not (alarm rse.<RSE>.unavailable).",
            float(rse.available),
            rse=rse.name,
        )
        out.add("rucio_rse_used_bytes", "Bytes used at the RSE.", rse.used_bytes, rse=rse.name)
        out.add("rucio_rse_size_bytes", "Size of the RSE.", rse.total_bytes, rse=rse.name)
        out.add(
            "rucio_rse_throughput_bytes_per_second",
            "Bytes per second arriving at the RSE recently.",
            rse.throughput_bps,
            rse=rse.name,
        )
    return out.done()


def tape_metrics(
    snap: TapeSnapshot, limits: Thresholds, policy: SafetyPolicy, table: RunTable | None
) -> list[Family]:
    window = timedelta(hours=limits.tape_failure_window_hours)
    summary = summarize_tape(snap, snap.taken_at, window)
    out = _Families()
    out.add("tape_queue_runs", "Runs queued for tape (TSM).", summary.queued)
    out.add("tape_queue_bytes", "Bytes queued for tape.", summary.queued_bytes)
    out.add(
        "tape_in_progress_runs", "Runs uploading or being verified on tape.", summary.in_progress
    )
    out.add("tape_verified_runs", "Runs verified on tape.", summary.verified_runs)
    out.add("tape_verified_bytes", "Bytes verified on tape.", summary.verified_bytes)
    out.add("tape_failures", TAPE_FAILURES_HELP, summary.failed_recent, kind="upload")
    out.add(
        "tape_last_success_timestamp_seconds",
        "When the last tape upload was verified.",
        _stamp(summary.last_success),
    )
    out.add("tape_rate_bytes_per_second", "Recent tape upload rate.", summary.rate_bps)
    return out.done()


_JOB_STATES = {
    "idle": "idle",
    "running": "running",
    "held": "held",
    "transferring": "transferring_output",
    "completed": "completed",
}


def jobs_metrics(
    snap: JobsSnapshot, limits: Thresholds, policy: SafetyPolicy, table: RunTable | None
) -> list[Family]:
    out = _Families()
    out.declare(
        "jobs",
        "HTCondor jobs per site and state (state=held: alarm jobs.held).",
        "site",
        "state",
    )
    for counts in jobs_by_site(snap):
        for attribute, state in _JOB_STATES.items():
            out.add("jobs", "", getattr(counts, attribute), site=counts.site, state=state)
    by_status: dict[str, int] = {}
    for dag in snap.dags:
        name = dag.status.name.lower()
        by_status[name] = by_status.get(name, 0) + 1
    out.declare("dags", "DAGMan DAGs (one per run) by DAG status.", "status")
    for status, count in sorted(by_status.items()):
        out.add("dags", "", count, status=status)
    out.add(
        "dags_stalled",
        "DAGs with only held nodes left (alarm jobs.dags_stalled).",
        len(stalled_dags(snap)),
    )
    failing = dict(snap.schedd_errors)
    out.declare(
        "condor_schedd_up",
        "1 when the schedd answered the last query, 0 when not (alarm "
        "jobs.schedd.<schedd>.unreachable).",
        "schedd",
    )
    for schedd in dict.fromkeys([*snap.schedds, *failing]):
        out.add("condor_schedd_up", "", float(schedd not in failing), schedd=schedd)
    return out.done()


def runs_metrics(
    snap: RunsSnapshot, limits: Thresholds, policy: SafetyPolicy, table: RunTable | None
) -> list[Family]:
    if table is None or table.runs is not snap.runs:
        table = tabled(snap.runs, policy)
    risk = runs_at_risk(snap, limits, snap.taken_at, policy, table)
    overdue = risk.unsafe
    # Runs per judgement (counted in C), then the verdict word of each: only
    # a run that waits for copies or misses them depends on its age, and the
    # overdue ones are those of the alarm.
    counts: dict[tuple[str, str], int] = {}
    judged = table.judged
    missing: Counter[str] = Counter(
        f.science_run or "none" for f in overdue if not f.verdict.failed
    )
    for code, n in Counter(table.codes).items():
        facts = judged[code]
        science = facts.science_run or "none"
        word = verdict_word(facts.verdict, overdue=False)
        counts[(science, word)] = counts.get((science, word), 0) + n
    for science, n in missing.items():
        counts[(science, "wait")] -= n
        counts[(science, "miss")] = n
        if counts[(science, "wait")] == 0:
            del counts[(science, "wait")]
    out = _Families()
    out.declare(
        "runs",
        "Runs by science run (SR0, SR1, none) and data-safety verdict: safe, wait (copies "
        "on their way), miss (overdue and missing copies), fail (a copy failed its checksum).",
        "science",
        "verdict",
    )
    for (science, word), count in sorted(counts.items()):
        out.add("runs", "", count, science=science, verdict=word)
    out.add(
        "runs_unsafe_overdue",
        f"Runs ended more than unsafe_after_hours ago ({limits.unsafe_after_hours:g} h) "
        "without every required copy (alarm runs.unsafe).",
        len(overdue),
    )
    out.add("runs_malformed", "Runs whose documents are malformed.", table.malformed)
    out.add(
        "runs_upload_backlog",
        "Event builders' datasets waiting for the upload, eb_ready_to_upload (XENONnT; "
        "alarm runs.upload_backlog).",
        table.upload_backlog(),
    )
    # XENONnT: every event builder with a readable heartbeat has an age; a
    # host never seen (no heartbeat document at all) has no age, it has
    # eb_heartbeat_seen 0 (every configured host has that gauge, 1 once it
    # wrote a heartbeat). None of either for XENON1T, nor when the
    # heartbeats could not be read (the alarm eb.silent is UNKNOWN then).
    out.declare(
        "eb_heartbeat_age_seconds",
        "Seconds since each event builder's last bootstrax heartbeat (XENONnT; alarm eb.silent).",
        "host",
    )
    out.declare(
        "eb_heartbeat_seen",
        "1 when the event builder has a bootstrax heartbeat at all, 0 when it never wrote one "
        "(XENONnT; alarm eb.silent).",
        "host",
    )
    for beat in snap.heartbeats or ():
        if beat.time is not None:
            age = max(0.0, (snap.taken_at - beat.time).total_seconds())
            out.add("eb_heartbeat_age_seconds", "", age, host=beat.host)
    for beat in snap.heartbeats or ():
        out.add("eb_heartbeat_seen", "", 1 if beat.seen else 0, host=beat.host)
    out.add("tape_failures", TAPE_FAILURES_HELP, len(risk.tape_failed), kind="checksum")
    out.add(
        "rucio_checksum_failures",
        "Runs missing a Rucio copy whose copy failed its checksum (alarm rucio.checksum).",
        len(risk.rucio_failed),
    )
    newest = table.newest()
    out.add(
        "runs_since_newest_seconds",
        "Time since the newest run started (alarm runs.no_new_run, while taking data).",
        None if newest is None else snap.taken_at.timestamp() - table.starts[newest],
    )
    out.add(
        "daq_taking_data",
        "1 when the DAQ is taking data, 0 when not; absent when unknown.",
        _flag(snap.data_taking),
    )
    return out.done()


#: (snapshot, thresholds, policy, the runs' table or None) -> families.
MetricRule = Callable[[Any, Thresholds, SafetyPolicy, "RunTable | None"], list[Family]]

_RULES: dict[Kind, MetricRule] = {
    Kind.BUFFER: buffer_metrics,
    Kind.TRANSFERS: transfers_metrics,
    Kind.TAPE: tape_metrics,
    Kind.JOBS: jobs_metrics,
    Kind.RUNS: runs_metrics,
}


def register(kind: Kind, rule: MetricRule) -> None:
    """The metrics of a kind added by ``backends.kinds.register`` (without
    one, a kind still has its source's health metrics)."""
    _RULES[kind] = rule


def unregister(kind: Kind) -> None:
    _RULES.pop(kind, None)


def snapshot_metrics(
    kind: Kind,
    snapshot: Snapshot,
    thresholds: Thresholds,
    policy: SafetyPolicy,
    table: RunTable | None = None,
) -> list[Family]:
    rule = _RULES.get(kind)
    return [] if rule is None else rule(snapshot, thresholds, policy, table)


def merged(groups: Iterable[Iterable[Family]]) -> list[Family]:
    """Families of several kinds as one list: a name two kinds fill (the tape
    failures: uploads from the tape pane, checksums from the runs) is one
    family with both's samples and the first non-empty help."""
    out: dict[str, Family] = {}
    for group in groups:
        for family in group:
            have = out.get(family.name)
            if have is None:
                out[family.name] = family
                continue
            out[family.name] = Family(
                family.name,
                have.help or family.help,
                have.labels or family.labels,
                have.samples + family.samples,
                have.type,
            )
    return list(out.values())


def source_metrics(health: Mapping[Kind, Any], now: float) -> list[Family]:
    """Every source's health: ``health`` maps a kind to a ``SourceHealth``."""
    out = _Families()
    out.declare(
        "source_up",
        "1 when the last poll of the source answered, 0 when it failed (alarms "
        "source.<kind>.down and .stale).",
        "kind",
        "backend",
    )
    out.declare(
        "source_last_success_timestamp_seconds",
        "When the data shown of the source was fresh (the poll that brought it, less "
        "the age the backend said it already had).",
        "kind",
        "backend",
    )
    out.declare(
        "source_data_age_seconds",
        "How old the data shown of the source is (alarm source.<kind>.stale).",
        "kind",
        "backend",
    )
    out.declare(
        "source_poll_interval_seconds",
        "The source's poll interval ([intervals]): its data is stale after "
        "stale_after_factor intervals, at least stale_min_seconds.",
        "kind",
        "backend",
    )
    out.declare("source_polls_total", "Polls of the source.", "kind", "backend")
    for kind, h in health.items():
        labels = {"kind": kind.value, "backend": h.backend}
        if h.polls:
            out.add("source_up", "", float(h.error is None), **labels)
        if h.ok_at is not None:
            out.add("source_last_success_timestamp_seconds", "", h.ok_at, **labels)
            out.add("source_data_age_seconds", "", max(0.0, now - h.ok_at), **labels)
        out.add("source_poll_interval_seconds", "", h.interval, **labels)
        out.add("source_polls_total", "", h.polls, **labels)
    families = out.done()
    return [
        Family(f.name, f.help, f.labels, f.samples, "counter") if f.name.endswith("_total") else f
        for f in families
    ]

"""Diagnosis: the causes behind the alarms, each with the evidence it used.

A small rule base over the snapshots of every pane and the alarms they
raised (``backends.kinds.evaluate``). Each rule that matches gives a
``Cause``: a stable identifier, what it used (the alarms and figures), what
follows if nothing is done, the runbook action, and the keys of the alarms
it explains. Those alarms are shown folded under their cause (like
Alertmanager's inhibition); an alarm no cause explains stays on its own
(``unexplained``), so no symptom is ever hidden.

The rules, in the order their causes are listed:

- ``source-down``: a source failing with no data; its panes are blind.
- ``uplink-down``: the buffer reports the uplink down; uploads to Rucio
  and tape cannot leave LNGS.
- ``rse-down``: one RSE unavailable, its rules stuck (one cause per RSE).
- ``purge-stopped``: the buffer over its warning fill while runs on it
  are purge-safe.
- ``tape-restore-failing`` / ``tape-run-failed``: tape failures or
  checksum mismatches for more than one run / for one run only.
- ``site-holding-jobs`` / ``dag-failing``: most held jobs at one site /
  the held jobs all of one DAG, spread over sites.
- ``rundb-lagging``: runs not data-safe whose Rucio rules are OK at an RSE
  where the runs database records no transferred copy: Ruciax not updating.
- ``eb-silent`` (XENONnT): an event builder's bootstrax silent past
  ``eb_silent_warning_seconds``, or never seen (one cause per event
  builder, as ``rse-down`` is one per RSE).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from backends.analysis.alarms import (
    HINTS,
    Alarm,
    RunsAtRisk,
    Severity,
    Thresholds,
    overall,
    runs_at_risk,
    silent_builders,
    silent_for,
)
from backends.analysis.buffer import buffer_forecast
from backends.analysis.jobs import hold_reasons, jobs_by_site
from backends.analysis.run_index import SIZE, RunTable, tabled
from backends.analysis.safety import SafetyPolicy
from backends.analysis.tape import recent_failures, summarize_tape
from backends.analysis.transfers import summarize_transfers
from backends.analysis.units import format_bytes, format_duration, one_line
from backends.model import (
    LNGS_RSE,
    BufferSnapshot,
    CopyStatus,
    Heartbeat,
    JobsSnapshot,
    JobStatus,
    Kind,
    RuleState,
    Run,
    RunsSnapshot,
    Snapshot,
    TapeSnapshot,
    TransfersSnapshot,
)

#: Every cause a rule can name, in the order ``diagnose`` lists them.
CAUSES: tuple[str, ...] = (
    "source-down",
    "uplink-down",
    "rse-down",
    "purge-stopped",
    "tape-restore-failing",
    "tape-run-failed",
    "site-holding-jobs",
    "dag-failing",
    "rundb-lagging",
    "eb-silent",
)

#: A site holds the jobs when it has at least this share of the held jobs.
SITE_SHARE = 0.8


@dataclass(frozen=True, slots=True)
class Cause:
    """One diagnosed cause."""

    #: Stable identifier, one of ``CAUSES``.
    cause: str
    title: str
    #: One line each: the alarms and figures the rule used.
    evidence: tuple[str, ...]
    #: What follows if nothing is done.
    consequence: str
    #: The runbook action.
    action: str
    #: The keys of the alarms this cause explains (folded under it).
    explains: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Inputs:
    snapshots: Mapping[Kind, Snapshot | None]
    errors: Mapping[Kind, str | None]
    alarms: dict[str, Alarm]
    thresholds: Thresholds
    now: datetime
    policy: SafetyPolicy
    table: RunTable | None
    #: What the rules computed and share (one run table, one verdict per run).
    memo: dict[str, object] = field(default_factory=dict)

    def snap(self, kind: Kind, cls: type) -> object | None:
        snap = self.snapshots.get(kind)
        return snap if isinstance(snap, cls) else None

    def present(self, *keys: str) -> tuple[str, ...]:
        return tuple(k for k in keys if k in self.alarms)

    def run_table(self, runs: RunsSnapshot) -> RunTable:
        """The facts of these runs: the TUI's table when it is theirs, else
        one derived (and kept by the run index for the next report)."""
        table = self.table
        if table is None or table.runs is not runs.runs:
            table = tabled(runs.runs, self.policy)
        return table

    def risk(self, runs: RunsSnapshot) -> RunsAtRisk:
        """``runs_at_risk`` of these runs, computed once for every rule that asks."""
        risk = self.memo.get("risk")
        if not isinstance(risk, RunsAtRisk):
            table = self.run_table(runs)
            risk = self.memo["risk"] = runs_at_risk(
                runs, self.thresholds, self.now, self.policy, table
            )
        return risk

    def cite(self, key: str) -> str:
        alarm = self.alarms[key]
        return f"{key} ({alarm.severity.name}): {alarm.title}"


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


# ---------------------------------------------------------------- the rules


def _source_down(x: _Inputs) -> list[Cause]:
    keys = sorted(k for k in x.alarms if k.startswith("source.") and k.endswith(".down"))
    if not keys:
        return []
    blind = [x.alarms[k].kind for k in keys]
    names = ", ".join(k.value for k in blind if k is not None)
    return [
        Cause(
            cause="source-down",
            title=f"source down: {names} pane{'s' if len(blind) > 1 else ''} blind",
            evidence=tuple(f"{x.cite(k)}: {x.alarms[k].detail}" for k in keys),
            consequence=(
                f"no alarm can be raised from the {names} data until the source answers;"
                " the other panes' diagnosis does not see it"
            ),
            action=HINTS["source.*.down"],
            explains=tuple(keys),
        )
    ]


def _uplink_down(x: _Inputs) -> list[Cause]:
    buffer = x.snap(Kind.BUFFER, BufferSnapshot)
    if not isinstance(buffer, BufferSnapshot) or buffer.uplink_up is not False:
        return []
    forecast = buffer_forecast(buffer, timedelta(hours=x.thresholds.buffer_rate_window_hours))
    evidence = [x.cite("buffer.uplink")] if "buffer.uplink" in x.alarms else []
    evidence.append("buffer reports the uplink from LNGS down")
    if forecast.fill_rate_bps is not None:
        evidence.append(
            f"buffer {100 * buffer.fill_fraction:.1f} % full, "
            f"filling at {format_bytes(forecast.fill_rate_bps)}/s net"
        )
    transfers = x.snap(Kind.TRANSFERS, TransfersSnapshot)
    explains = ["buffer.uplink", "buffer.time_to_full", "runs.unsafe"]
    if isinstance(transfers, TransfersSnapshot):
        waiting = [
            r
            for r in transfers.rules
            if r.rse != LNGS_RSE and r.state in (RuleState.REPLICATING, RuleState.STUCK)
        ]
        evidence.append(
            f"{_plural(len(waiting), 'rule')} out of LNGS replicating or stuck without progress"
        )
        down = {s.name for s in transfers.rses if not s.available}
        explains += sorted(
            f"rse.{s.name}.stuck" for s in summarize_transfers(transfers) if s.name not in down
        )
    tape = x.snap(Kind.TAPE, TapeSnapshot)
    if isinstance(tape, TapeSnapshot):
        summary = summarize_tape(tape, x.now)
        last = (
            f", last success {format_duration(x.now - summary.last_success)} ago"
            if summary.last_success is not None
            else ""
        )
        evidence.append(f"{_plural(summary.queued, 'tape upload')} waiting{last}")
    autonomy = forecast.autonomy
    return [
        Cause(
            cause="uplink-down",
            title="LNGS uplink down: nothing leaves the buffer",
            evidence=tuple(evidence),
            consequence=(
                "uploads to Rucio and tape wait and new runs stay unsafe; the buffer fills"
                + (f" and data taking stops in {format_duration(autonomy)}" if autonomy else "")
            ),
            action=HINTS["buffer.uplink"],
            explains=x.present(*explains),
        )
    ]


def _ends(x: _Inputs, runs: object, numbers: Sequence[int]) -> list[datetime]:
    """When each of these runs ended (else started), earliest first, from the
    run table (the TUI's, else the one-shot reports' kept one): no Run of the
    history is built for it."""
    if not isinstance(runs, RunsSnapshot):
        return []
    table = x.run_table(runs)
    rows = (table.index_of(n) for n in numbers)
    return sorted(datetime.fromtimestamp(table.sinces[i], UTC) for i in rows if i is not None)


def _rse_down(x: _Inputs) -> list[Cause]:
    transfers = x.snap(Kind.TRANSFERS, TransfersSnapshot)
    if not isinstance(transfers, TransfersSnapshot):
        return []
    summaries = summarize_transfers(transfers, x.now)
    runs = x.snap(Kind.RUNS, RunsSnapshot)
    after = timedelta(hours=x.thresholds.unsafe_after_hours)
    down = {s.name for s in summaries if not s.available}
    if not down:
        return []
    # The unsafe runs are the outage's only when every one of them has a
    # rule stuck at an RSE that is down; else runs.unsafe stays on its own.
    blocked = {
        r.run_number
        for r in transfers.rules
        if r.rse in down and r.state is RuleState.STUCK and r.run_number is not None
    }
    unsafe_explained = False
    if "runs.unsafe" in x.alarms and isinstance(runs, RunsSnapshot):
        risk = x.risk(runs)
        unsafe_explained = {f.number for f in risk.unsafe} <= blocked
    out: list[Cause] = []
    for summary in summaries:
        if summary.available:
            continue
        name = summary.name
        stuck = [r for r in transfers.rules if r.rse == name and r.state is RuleState.STUCK]
        others = sum(s.rules[RuleState.STUCK] for s in summaries if s.name != name and s.available)
        evidence = list(x.present(f"rse.{name}.unavailable", f"rse.{name}.stuck"))
        evidence = [x.cite(k) for k in evidence]
        evidence.append(f"{_plural(len(stuck), 'rule')} stuck at {name}")
        evidence.append(f"{_plural(others, 'rule')} stuck at the other available RSEs")
        numbers = sorted({r.run_number for r in stuck if r.run_number is not None})
        consequence = f"{_plural(len(numbers), 'run')} get no copy at {name}"
        known = _ends(x, runs, numbers)
        if known:
            when = known[0] + after
            first = "is overdue" if when <= x.now else f"in {format_duration(when - x.now)}"
            consequence += (
                f" (runs {', '.join(str(n) for n in numbers[:5])}"
                f"{', ...' if len(numbers) > 5 else ''});"
                f" the first becomes unsafe without it {first}"
            )
        out.append(
            Cause(
                cause="rse-down",
                title=f"RSE {name} down: its rules stuck, the others fine",
                evidence=tuple(evidence),
                consequence=consequence,
                action=HINTS["rse.*.unavailable"],
                explains=x.present(
                    f"rse.{name}.unavailable",
                    f"rse.{name}.stuck",
                    *(["runs.unsafe"] if unsafe_explained else []),
                ),
            )
        )
    return out


def _purge_stopped(x: _Inputs) -> list[Cause]:
    buffer = x.snap(Kind.BUFFER, BufferSnapshot)
    runs = x.snap(Kind.RUNS, RunsSnapshot)
    if "buffer.fill" not in x.alarms or not isinstance(runs, RunsSnapshot):
        return []
    # The purge verdicts of the run table (judged once per run, as the panes'):
    # no run of the history is judged here.
    table = x.run_table(runs)
    safe = list(table.purge_safe())
    if not safe:
        return []
    size = sum(table.int_at(SIZE, row) or 0 for row in safe)
    evidence = [x.cite("buffer.fill")]
    evidence.append(f"{_plural(len(safe), 'run')} ({format_bytes(size)}) on the buffer purge-safe")
    if "buffer.time_to_full" in x.alarms:
        evidence.append(x.cite("buffer.time_to_full"))
    free = format_bytes(buffer.free_bytes) if isinstance(buffer, BufferSnapshot) else "?"
    return [
        Cause(
            cause="purge-stopped",
            title=f"buffer purge not running: {format_bytes(size)} could be freed",
            evidence=tuple(evidence),
            consequence=f"the buffer fills ({free} free) although it could be emptied",
            action="restart the purge tool on the datamanager; it deletes purge-safe runs",
            explains=x.present("buffer.fill", "buffer.time_to_full"),
        )
    ]


def _tape(x: _Inputs) -> list[Cause]:
    keys = x.present("tape.failures", "tape.checksum")
    if not keys:
        return []
    bad: set[int] = set()
    tape = x.snap(Kind.TAPE, TapeSnapshot)
    if isinstance(tape, TapeSnapshot):
        window = timedelta(hours=x.thresholds.tape_failure_window_hours)
        bad |= {u.run_number for u in recent_failures(tape, x.now, window)}
    runs = x.snap(Kind.RUNS, RunsSnapshot)
    if isinstance(runs, RunsSnapshot):
        risk = x.risk(runs)
        bad |= {r.number for r in risk.tape_failed}
    failing = f"{_plural(len(bad), 'run')} with a failed tape upload or restore checksum"
    evidence = (*(x.cite(k) for k in keys), failing)
    if len(bad) == 1:
        (run,) = bad
        return [
            Cause(
                cause="tape-run-failed",
                title=f"tape copy of run {run} failed",
                evidence=evidence,
                consequence=f"run {run} has no valid tape copy and cannot be purged",
                action=HINTS["tape.checksum"],
                explains=keys,
            )
        ]
    return [
        Cause(
            cause="tape-restore-failing",
            title=f"TSM uploads or restore tests failing for {_plural(len(bad), 'run')}",
            evidence=evidence,
            consequence="no new run gets a valid tape copy: none can be purged, the buffer fills",
            action=HINTS["tape.failures"] + "; " + HINTS["tape.checksum"],
            explains=keys,
        )
    ]


def _jobs(x: _Inputs) -> list[Cause]:
    jobs = x.snap(Kind.JOBS, JobsSnapshot)
    keys = x.present("jobs.held", "jobs.dags_stalled")
    if not isinstance(jobs, JobsSnapshot) or "jobs.held" not in keys:
        return []
    held = [j for j in jobs.jobs if j.status is JobStatus.HELD]
    if not held:  # the alarm raised by a range (check -w jobs_held=@0), no hold
        return []
    sites = sorted(jobs_by_site(jobs), key=lambda s: (-s.held, s.site))
    top_site = sites[0]
    reasons = hold_reasons(jobs, top=1)
    evidence = tuple(x.cite(k) for k in keys)
    if top_site.held >= SITE_SHARE * len(held):
        at_site = JobsSnapshot(
            taken_at=jobs.taken_at,
            jobs=tuple(j for j in held if (j.site or "unmatched") == top_site.site),
            dags=(),
        )
        reason = hold_reasons(at_site, top=1)
        top = f"; top reason ({reason[0][1]}): {reason[0][0]}" if reason else ""
        return [
            Cause(
                cause="site-holding-jobs",
                title=f"site {top_site.site} holds its jobs",
                evidence=(*evidence, f"{top_site.held} of {len(held)} held jobs there{top}"),
                consequence="the runs processed there wait; their DAGs stall",
                action=f"open a ticket with {top_site.site} (its grid's support) about"
                " the holds; then condor_release the held jobs",
                explains=keys,
            )
        ]
    dags = Counter(j.dag_cluster_id for j in held if j.dag_cluster_id is not None)
    if len(dags) == 1:
        ((dag, n),) = dags.items()
        top = f"; top reason: {reasons[0][0]}" if reasons else ""
        return [
            Cause(
                cause="dag-failing",
                title=f"DAG {dag} failing at several sites",
                evidence=(*evidence, f"{n} held jobs, all of DAG {dag}, at several sites{top}"),
                consequence=f"the run of DAG {dag} is not processed",
                action=HINTS["jobs.held"],
                explains=keys,
            )
        ]
    return []


def _rundb_lagging(x: _Inputs) -> list[Cause]:
    transfers = x.snap(Kind.TRANSFERS, TransfersSnapshot)
    runs = x.snap(Kind.RUNS, RunsSnapshot)
    if (
        "runs.unsafe" not in x.alarms
        or not isinstance(transfers, TransfersSnapshot)
        or not isinstance(runs, RunsSnapshot)
    ):
        return []
    ok: dict[object, set[str]] = {}
    for rule in transfers.rules:
        if rule.state is RuleState.OK:
            for key in (rule.run_number, rule.run_name):
                if key is not None:
                    ok.setdefault(key, set()).add(rule.rse)
    table = x.run_table(runs)
    risk = x.risk(runs)
    unsafe = {f.number for f in risk.unsafe}
    lagging: list[tuple[int, str]] = []
    # Only the unsafe runs are read (a long history's others are not built).
    for index, fact in table.unsafe():
        if fact.number not in unsafe:
            continue
        run = runs.runs[index]
        rses = ok.get(run.number, set()) | ok.get(run.name, set())
        recorded = {
            c.rse for c in run.copies if c.rse is not None and c.status == CopyStatus.TRANSFERRED
        }
        missing = sorted(rses - recorded)
        if missing:
            lagging.append((run.number, missing[0]))
    if not lagging:
        return []
    lagging.sort()
    first = ", ".join(f"run {n} at {rse}" for n, rse in lagging[:3])
    more = ", ..." if len(lagging) > 3 else ""
    return [
        Cause(
            cause="rundb-lagging",
            title=f"runs database behind Rucio for {_plural(len(lagging), 'run')}",
            evidence=(
                x.cite("runs.unsafe"),
                f"{_plural(len(lagging), 'unsafe run')} with an OK Rucio rule but no"
                f" transferred copy there in the runs database ({first}{more})",
            ),
            consequence="the runs look unsafe and cannot be purged although Rucio has the copies",
            action="check that Ruciax runs on the datamanager and updates the runs database",
            explains=x.present("runs.unsafe") if unsafe <= {n for n, _ in lagging} else (),
        )
    ]


#: Runs looked at, newest first, for an event builder's newest run (bootstrax
#: takes them in turn: six event builders, each has one of the newest few).
EB_RUNS_LOOKED_AT = 60


def _builder_run(run: Run, *, host: bool = True) -> str:
    """A run and its event builder's state in words: ``run 14999 (busy on
    eb3.xenon.local)``, ``run 14999 (no event builder state)``."""
    b = run.builder
    if b is None:
        return f"run {run.number} (no event builder state)"
    on = f" on {one_line(b.host)}" if b.host and host else ""
    failures = f", {_plural(b.n_failures, 'failure')}" if b.n_failures else ""
    return f"run {run.number} ({one_line(b.state)}{on}{failures})"


def _eb_silent(x: _Inputs) -> list[Cause]:
    alarm = x.alarms.get("eb.silent")
    runs = x.snap(Kind.RUNS, RunsSnapshot)
    # UNKNOWN (the heartbeats unreadable) names no event builder: no cause.
    if alarm is None or alarm.severity is not Severity.WARNING:
        return []
    if not isinstance(runs, RunsSnapshot):
        return []
    silent = silent_builders(runs, x.thresholds)
    beats = runs.heartbeats or ()
    # Beating: a readable heartbeat within the limit (an unreadable one is not).
    quiet = {b.host for b in silent}
    beating = sum(1 for b in beats if b.time is not None and b.host not in quiet)
    newest = [runs.runs[-i] for i in range(1, min(len(runs.runs), EB_RUNS_LOOKED_AT) + 1)]
    return [_eb_cause(x, beat, beating, len(beats), newest, runs.taken_at) for beat in silent]


def _eb_cause(
    x: _Inputs, beat: Heartbeat, beating: int, total: int, newest: list[Run], runs_at: datetime
) -> Cause:
    host = one_line(beat.host)  # untrusted text, as in the alarm
    name = host.split(".")[0]
    if beat.seen:
        state = f", bootstrax {one_line(beat.state)} then" if beat.state else ""
        heard = f"{host}: last heartbeat {silent_for(beat, runs_at)} ago{state}"
        title = f"event builder {name} silent: bootstrax not beating"
    else:
        heard = f"{host}: no heartbeat at all (never seen)"
        title = f"event builder {name} never seen: no bootstrax heartbeat"
    evidence = [x.cite("eb.silent"), heard, f"{beating} of {total} event builders beating"]
    if newest:
        evidence.append(f"newest {_builder_run(newest[0])}")
    own = next((r for r in newest if r.builder is not None and r.builder.host == beat.host), None)
    consequence = f"bootstrax on {host} builds no run: its share waits or falls to the others"
    if own is not None:
        evidence.append(f"newest run on {name}: {_builder_run(own, host=False)}")
        if own.builder is not None and own.builder.state == "busy":
            consequence += f"; run {own.number}, busy on it, is not being built"
    return Cause(
        cause="eb-silent",
        title=title,
        evidence=tuple(evidence),
        consequence=consequence,
        action=f"log in to {host} and check bootstrax (its screen session and log); "
        "restart it if it died",
        explains=("eb.silent",),
    )


_RULES: tuple[Callable[[_Inputs], list[Cause]], ...] = (
    _source_down,
    _uplink_down,
    _rse_down,
    _purge_stopped,
    _tape,
    _jobs,
    _rundb_lagging,
    _eb_silent,
)


def diagnose(
    snapshots: Mapping[Kind, Snapshot | None],
    errors: Mapping[Kind, str | None],
    alarms: Sequence[Alarm],
    thresholds: Thresholds,
    now: datetime,
    policy: SafetyPolicy,
    table: RunTable | None = None,
) -> list[Cause]:
    """The causes of these alarms, in ``CAUSES`` order (RSEs in ``ALL_RSES`` order).

    ``alarms`` are those ``backends.kinds.evaluate`` raised from the same
    snapshots; ``table`` (optional) the runs' facts already derived.
    """
    inputs = _Inputs(
        snapshots=snapshots,
        errors=errors,
        alarms={a.key: a for a in alarms},
        thresholds=thresholds,
        now=now,
        policy=policy,
        table=table,
    )
    return [cause for rule in _RULES for cause in rule(inputs)]


def unexplained(alarms: Sequence[Alarm], causes: Sequence[Cause]) -> list[Alarm]:
    """The alarms no cause explains, in their order: shown on their own."""
    explained = {key for cause in causes for key in cause.explains}
    return [a for a in alarms if a.key not in explained]


def explained_by(alarms: Sequence[Alarm], cause: Cause) -> list[Alarm]:
    """The alarms folded under ``cause``, in their order."""
    keys = set(cause.explains)
    return [a for a in alarms if a.key in keys]


def severity_of(cause: Cause, alarms: Sequence[Alarm]) -> Severity:
    """The worst of the alarms a cause explains (WARNING when it explains none:
    a finding no alarm of its own stands for)."""
    return overall(explained_by(alarms, cause)) if cause.explains else Severity.WARNING


#: Nagios precedence, most severe first.
_PRECEDENCE = (Severity.CRITICAL, Severity.WARNING, Severity.UNKNOWN, Severity.OK)


def headlines(causes: Sequence[Cause], alarms: Sequence[Alarm]) -> list[Cause | Alarm]:
    """What to name first: every cause and every alarm no cause explains, most
    severe first (Nagios precedence; a cause before an alarm of its severity,
    else in their own order). The strip and ``check``'s first line show these."""
    items: list[tuple[Severity, int, Cause | Alarm]] = [
        (severity_of(c, alarms), 0, c) for c in causes
    ]
    items += [(a.severity, 1, a) for a in unexplained(alarms, causes)]
    items.sort(key=lambda item: (_PRECEDENCE.index(item[0]), item[1]))
    return [item for _, _, item in items]

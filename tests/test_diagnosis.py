"""The diagnosis: exactly the injected causes on every scenario, and no symptom hidden."""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from backends import kinds
from backends.analysis.alarms import Thresholds, data_time
from backends.analysis.diagnosis import CAUSES as CAUSE_IDS
from backends.analysis.diagnosis import diagnose, explained_by, headlines, unexplained
from backends.analysis.policy import XENONNT_POLICY
from backends.analysis.safety import DEFAULT_POLICY
from backends.model import (
    Job,
    JobsSnapshot,
    JobStatus,
    Kind,
    RunsSnapshot,
    TapeSnapshot,
    TapeState,
    TapeUpload,
    TransfersSnapshot,
)
from backends.simulator import CAUSES, SCENARIOS, XENONNT_ONLY, SimulatorBackend

LIMITS = Thresholds()
NOW = datetime(2017, 11, 15, 12, 0, tzinfo=UTC)


def diagnosed(scenario: str, seed: int, *, nt: bool | None = None):
    """The alarms and causes of a scenario; one only XENONnT shows
    (``eb-silent``) on XENONnT's chain: its profile, its policy, the runs
    joined to the transfers pane's Rucio rules as ``check`` joins them."""
    from backends.analysis.rucio_evidence import evidence_of, joined_runs

    nt = scenario in XENONNT_ONLY if nt is None else nt
    options = {"scenario": scenario, "seed": seed, "speed": 0}
    sim = SimulatorBackend({**options, "profile": "xenonnt"} if nt else options)
    policy = XENONNT_POLICY if nt else DEFAULT_POLICY
    snapshots = {kind: kinds.fetch(sim, kind) for kind in kinds.kinds()}
    if nt:
        runs, transfers = snapshots[Kind.RUNS], snapshots[Kind.TRANSFERS]
        assert isinstance(runs, RunsSnapshot) and isinstance(transfers, TransfersSnapshot)
        snapshots[Kind.RUNS] = joined_runs(runs, evidence_of(transfers))
    now = data_time(snapshots.values())
    alarms = kinds.evaluate(snapshots, {}, LIMITS, now, policy=policy)
    return alarms, diagnose(snapshots, {}, alarms, LIMITS, now, policy)


def test_every_scenario_declares_causes_the_diagnosis_knows() -> None:
    assert set(CAUSES) == set(SCENARIOS)
    assert CAUSES["nominal"] == ()
    assert CAUSES["rse-outage+held-jobs"] == ("rse-down", "site-holding-jobs")
    assert CAUSES["uplink-down+buffer-full"] == ("uplink-down", "purge-stopped")
    assert {c for causes in CAUSES.values() for c in causes} <= set(CAUSE_IDS)


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_each_scenario_gives_exactly_its_causes_for_seeds_1_to_20(scenario: str) -> None:
    """No alarm left unexplained, on XENONnT's chain (``eb-silent``) too:
    its nominal raises none for the same seed (the simulator's Rucio lists
    the rules of every run, so settled runs are safe)."""
    wrong = {}
    for seed in range(1, 21):
        alarms, causes = diagnosed(scenario, seed)
        expected = list(CAUSES[scenario])
        found = [c.cause for c in causes]
        left = [(a.key, a.title) for a in unexplained(alarms, causes)]
        if scenario in XENONNT_ONLY:
            nominal, nominal_causes = diagnosed("nominal", seed, nt=True)
            assert (nominal, nominal_causes) == ([], []), seed
        if sorted(found) != sorted(expected) or left:
            wrong[seed] = (found, left)
    assert wrong == {}


def test_the_held_jobs_fault_holds_jobs_for_every_seed() -> None:
    """Seeds 18 and 19 once held nothing: their last 8 hours had no science
    run, so no job went to the OSG site the fault picked. The fault now picks
    a site of the grid that gets the window's work."""
    for seed in range(1, 21):
        sim = SimulatorBackend({"scenario": "held-jobs", "seed": seed, "speed": 0})
        jobs = kinds.fetch(sim, Kind.JOBS)
        held = Counter(j.site for j in jobs.jobs if j.status is JobStatus.HELD)
        assert len(held) == 1 and min(held.values()) >= 100, (seed, held)


def test_the_causes_fold_their_symptoms_and_name_their_figures() -> None:
    alarms, causes = diagnosed("rse-outage+held-jobs", 1)
    assert [c.cause for c in causes] == ["rse-down", "site-holding-jobs"]
    rse, site = causes
    assert rse.explains == ("rse.NIKHEF_USERDISK.unavailable", "rse.NIKHEF_USERDISK.stuck")
    assert "7 rules stuck at NIKHEF_USERDISK" in rse.evidence
    assert "0 rules stuck at the other available RSEs" in rse.evidence
    assert rse.consequence.startswith("7 runs get no copy at NIKHEF_USERDISK (runs 14975,")
    assert site.title == "site MWT2 holds its jobs"
    assert site.explains == ("jobs.held", "jobs.dags_stalled")
    assert [a.key for a in explained_by(alarms, site)] == ["jobs.held", "jobs.dags_stalled"]
    assert unexplained(alarms, causes) == []


def test_uplink_down_with_a_full_buffer_is_two_causes() -> None:
    _, causes = diagnosed("uplink-down+buffer-full", 1)
    uplink, purge = causes
    assert (uplink.cause, purge.cause) == ("uplink-down", "purge-stopped")
    assert "buffer.uplink" in uplink.explains
    assert purge.explains[0] == "buffer.fill"
    assert any(line.endswith("on the buffer purge-safe") for line in purge.evidence)


def test_nominal_has_no_cause() -> None:
    assert diagnosed("nominal", 1) == ([], [])


def _job(n: int, site: str, dag: int, reason: str) -> Job:
    return Job(
        schedd="login.xenon",
        cluster_id=1000 + n,
        proc_id=0,
        status=JobStatus.HELD,
        owner="xenon",
        site=site,
        entered_status_at=NOW - timedelta(hours=1),
        submitted_at=NOW - timedelta(hours=2),
        dag_cluster_id=dag,
        hold_reason=reason,
    )


def _jobs_only(jobs: list[Job]):
    snapshots = {Kind.JOBS: JobsSnapshot(taken_at=NOW, jobs=tuple(jobs), dags=())}
    alarms = kinds.evaluate(snapshots, {}, LIMITS, NOW)
    return alarms, diagnose(snapshots, {}, alarms, LIMITS, NOW, DEFAULT_POLICY)


def test_held_jobs_no_rule_explains_stay_symptoms() -> None:
    """Held jobs spread over two sites and two DAGs: neither a site nor a DAG."""
    jobs = [_job(i, ("MWT2", "Nebraska")[i % 2], 1 + i % 2, "memory") for i in range(4)]
    alarms, causes = _jobs_only(jobs)
    assert [a.key for a in alarms] == ["jobs.held"]
    assert causes == []
    assert unexplained(alarms, causes) == alarms


def test_one_dag_held_at_several_sites_is_a_bad_dag() -> None:
    jobs = [_job(i, ("MWT2", "Nebraska", "SU-ITS")[i % 3], 7, "bad input") for i in range(6)]
    alarms, causes = _jobs_only(jobs)
    assert [c.cause for c in causes] == ["dag-failing"]
    assert causes[0].explains == ("jobs.held",)
    assert unexplained(alarms, causes) == []


def test_a_held_jobs_alarm_without_a_held_job_names_no_site() -> None:
    """``check -w jobs_held=@0`` raises jobs.held over 0 held jobs: once this
    named "site CCIN2P3 holds its jobs" (0 of 0 held there)."""
    from backends.analysis.alarms import Alarm, Severity

    snapshots = {
        Kind.JOBS: JobsSnapshot(
            taken_at=NOW,
            jobs=(replace(_job(1, "CCIN2P3", 7, "x"), status=JobStatus.RUNNING),),
            dags=(),
        )
    }
    raised = Alarm("jobs.held", Severity.WARNING, Kind.JOBS, "jobs_held 0", "by a range", None, "")
    causes = diagnose(snapshots, {}, [raised], LIMITS, NOW, DEFAULT_POLICY)
    assert causes == []


def test_causes_and_lone_alarms_are_named_most_severe_first() -> None:
    alarms, causes = diagnosed("rse-outage+held-jobs", 1)
    named = headlines(causes, alarms)
    assert [getattr(i, "cause", None) or i.key for i in named] == [
        "site-holding-jobs",  # explains jobs.held, CRITICAL
        "rse-down",  # explains two WARNINGs
    ]
    # A CRITICAL alarm no cause explains comes before a WARNING cause.
    from backends.analysis.alarms import Alarm, Severity

    lone = Alarm(
        "check.rules_stuck", Severity.CRITICAL, Kind.TRANSFERS, "rules_stuck 7", "", None, ""
    )
    rse = [c for c in causes if c.cause == "rse-down"]
    warn_only = [a for a in alarms if a.key.startswith("rse.")]
    assert headlines(rse, [*warn_only, lone]) == [lone, rse[0]]


def test_one_failed_tape_run_is_not_a_failing_restore() -> None:
    failed = TapeUpload(
        run_number=4242,
        state=TapeState.FAILED,
        bytes=10,
        updated_at=NOW - timedelta(hours=1),
        finished_at=NOW - timedelta(hours=1),
        return_code=12,
    )
    snapshots = {Kind.TAPE: TapeSnapshot(taken_at=NOW, uploads=(failed,))}
    alarms = kinds.evaluate(snapshots, {}, LIMITS, NOW)
    causes = diagnose(snapshots, {}, alarms, LIMITS, NOW, DEFAULT_POLICY)
    assert [(c.cause, c.title) for c in causes] == [
        ("tape-run-failed", "tape copy of run 4242 failed")
    ]
    assert causes[0].explains == ("tape.failures",)


def test_a_source_down_names_the_blind_panes() -> None:
    sim = SimulatorBackend({"scenario": "nominal", "seed": 1, "speed": 0})
    snapshots = {kind: kinds.fetch(sim, kind) for kind in kinds.kinds()}
    snapshots[Kind.TAPE] = None
    errors = {Kind.TAPE: "connection refused"}
    now = data_time(snapshots.values())
    alarms = kinds.evaluate(snapshots, errors, LIMITS, now)
    causes = diagnose(snapshots, errors, alarms, LIMITS, now, DEFAULT_POLICY)
    assert [c.cause for c in causes] == ["source-down"]
    assert causes[0].title == "source down: tape pane blind"
    assert causes[0].explains == ("source.tape.down",)
    assert causes[0].evidence == (
        "source.tape.down (UNKNOWN): tape source failing: connection refused",
    )
    assert unexplained(alarms, causes) == []


def _snapshots(scenario: str):
    sim = SimulatorBackend({"scenario": scenario, "seed": 1, "speed": 0})
    return {kind: kinds.fetch(sim, kind) for kind in kinds.kinds()}


def test_an_rse_outage_explains_the_unsafe_runs_only_when_they_are_its_own() -> None:
    limits = replace(LIMITS, unsafe_after_hours=6)
    snapshots = _snapshots("rse-outage")
    now = data_time(snapshots.values())
    # After 6 h, the runs unsafe are those whose NIKHEF rule is stuck.
    alarms = kinds.evaluate(snapshots, {}, limits, now)
    causes = diagnose(snapshots, {}, alarms, limits, now, DEFAULT_POLICY)
    assert "runs.unsafe" in [a.key for a in alarms]
    assert "runs.unsafe" in causes[0].explains
    assert unexplained(alarms, causes) == []
    # The same outage, but the runs database of the same history with the
    # uplink down for 36 h: runs 14963... lack every copy, not only NIKHEF's.
    # runs.unsafe is not the outage's: it does not hide it. (Rucio has OK
    # rules for those copies: that is the runs database lagging behind.)
    snapshots[Kind.RUNS] = _snapshots("uplink-down")[Kind.RUNS]
    alarms = kinds.evaluate(snapshots, {}, limits, now)
    causes = diagnose(snapshots, {}, alarms, limits, now, DEFAULT_POLICY)
    assert [c.cause for c in causes] == ["rse-down", "rundb-lagging"]
    assert "runs.unsafe" not in causes[0].explains
    assert causes[1].explains == ("runs.unsafe",)
    assert [a.key for a in unexplained(alarms, causes[:1])] == ["runs.unsafe"]


def test_copies_in_rucio_missing_in_the_runs_database_is_rundb_lagging() -> None:
    snapshots = _snapshots("nominal")
    runs = snapshots[Kind.RUNS]
    assert isinstance(runs, RunsSnapshot)
    # Run 14833's rule at CCIN2P3 is OK in Rucio; Ruciax never recorded it.
    edited = [
        dataclasses.replace(run, copies=tuple(c for c in run.copies if c.rse != "CCIN2P3_USERDISK"))
        if run.number == 14833
        else run
        for run in runs.runs
    ]
    snapshots[Kind.RUNS] = dataclasses.replace(runs, runs=edited)
    now = data_time(snapshots.values())
    alarms = kinds.evaluate(snapshots, {}, LIMITS, now)
    causes = diagnose(snapshots, {}, alarms, LIMITS, now, DEFAULT_POLICY)
    assert [a.key for a in alarms] == ["runs.unsafe"]
    assert [c.cause for c in causes] == ["rundb-lagging"]
    assert causes[0].explains == ("runs.unsafe",)
    assert "(run 14833 at CCIN2P3_USERDISK)" in causes[0].evidence[1]


def test_the_strip_names_causes_and_never_hides_a_lone_symptom() -> None:
    from backends.analysis.alarms import Alarm, Severity
    from console.widgets.alarms_strip import loud_items

    alarms, causes = diagnosed("rse-outage+held-jobs", 1)
    lone = Alarm(
        "tape.failures", Severity.WARNING, Kind.TAPE, "2 tape uploads failed", "", None, ""
    )
    items = loud_items([*alarms, lone], causes, lambda _a: False)
    assert [getattr(i, "cause", None) or i.key for i, _ in items] == [
        "site-holding-jobs",
        "rse-down",
        "tape.failures",  # no cause explains it: named on its own
    ]
    assert [len(folded) for _, folded in items] == [2, 2, 1]
    # A cause whose alarms are all acknowledged is quiet; the others stay.
    held = {"jobs.held", "jobs.dags_stalled"}
    items = loud_items([*alarms, lone], causes, lambda a: a.key in held)
    assert [getattr(i, "cause", None) or i.key for i, _ in items] == ["rse-down", "tape.failures"]
    # Half acknowledged: the cause stays, with the alarm left.
    items = loud_items(alarms, causes, lambda a: a.key == "jobs.held")
    assert next((i.cause, [a.key for a in f]) for i, f in items) == (
        "site-holding-jobs",
        ["jobs.dags_stalled"],
    )


def test_an_event_builder_silent_is_its_cause_with_the_hosts_and_runs() -> None:
    """``eb-silent``: one cause per silent event builder (as ``rse-down`` is
    one per RSE), each explaining ``eb.silent``: how long silent, how many
    beat, the newest run and the host's own newest run with their event
    builder's state; a host never seen is one too; the heartbeats unknown
    (UNKNOWN) name no host, so no cause, the alarm stays on its own."""
    from backends.model import BuilderState, Heartbeat

    alarms, causes = diagnosed("eb-silent", 1)
    [cause] = causes
    assert (cause.cause, cause.title) == (
        "eb-silent",
        "event builder eb4 silent: bootstrax not beating",
    )
    assert cause.explains == ("eb.silent",)
    assert cause.evidence == (
        "eb.silent (WARNING): 1 event builder silent",
        "eb4.xenon.local: last heartbeat 20 min ago, bootstrax idle then",
        "5 of 6 event builders beating",
        "newest run 14999 (busy on eb5.xenon.local)",
        "newest run on eb4: run 14998 (done)",
    )
    assert cause.action.startswith("log in to eb4.xenon.local and check bootstrax")
    # Named as a cause (the strip, check's first line), its alarm folded under it.
    assert cause in headlines(causes, alarms)
    assert "eb.silent" not in [a.key for a in unexplained(alarms, causes)]

    sim = SimulatorBackend({"scenario": "eb-silent", "seed": 1, "speed": 0, "profile": "xenonnt"})
    snap = sim.fetch_runs()
    runs = tuple(
        replace(r, builder=BuilderState("busy", "eb4.xenon.local", 0)) if r.number == 14998 else r
        for r in snap.runs
    )
    beats = tuple(
        Heartbeat(b.host, None, seen=False) if b.host == "eb1.xenon.local" else b
        for b in snap.heartbeats or ()
    )
    snap = replace(snap, runs=runs, heartbeats=beats)

    def eb_causes(snapshot: RunsSnapshot):
        from backends.analysis.policy import XENONNT_POLICY

        now = snapshot.taken_at
        raised = kinds.evaluate({Kind.RUNS: snapshot}, {}, LIMITS, now, policy=XENONNT_POLICY)
        found = diagnose({Kind.RUNS: snapshot}, {}, raised, LIMITS, now, XENONNT_POLICY)
        return raised, [c for c in found if c.cause == "eb-silent"]

    _, (never, late) = eb_causes(snap)
    assert never.title == "event builder eb1 never seen: no bootstrax heartbeat"
    assert never.evidence[1:3] == (
        "eb1.xenon.local: no heartbeat at all (never seen)",
        "4 of 6 event builders beating",
    )
    assert never.evidence[0] == "eb.silent (WARNING): 2 event builders silent"
    assert late.evidence[-1] == "newest run on eb4: run 14998 (busy)"
    assert late.consequence.endswith("; run 14998, busy on it, is not being built")
    assert never.explains == late.explains == ("eb.silent",)

    raised, none = eb_causes(replace(snap, heartbeats=None, heartbeats_error="refused"))
    assert none == [] and [a.severity.name for a in raised if a.key == "eb.silent"] == ["UNKNOWN"]


def test_eb_silent_names_only_the_builders_the_alarm_names_when_runs_lag() -> None:
    """The runs source (and its heartbeats) five minutes behind the other
    panes, as in the console at the simulator's speed: the alarm, judged at
    the runs snapshot's time, names eb4 alone; the diagnosis named every
    builder whose last heartbeat was over 300 s before the newest pane."""
    from dataclasses import replace

    from backends.analysis.rucio_evidence import evidence_of, joined_runs

    sim = SimulatorBackend({"scenario": "eb-silent", "seed": 1, "speed": 0, "profile": "xenonnt"})
    snapshots = {kind: kinds.fetch(sim, kind) for kind in kinds.kinds()}
    runs, transfers = snapshots[Kind.RUNS], snapshots[Kind.TRANSFERS]
    assert isinstance(runs, RunsSnapshot) and isinstance(transfers, TransfersSnapshot)
    snapshots[Kind.RUNS] = joined_runs(runs, evidence_of(transfers))
    buffer = snapshots[Kind.BUFFER]
    assert buffer is not None
    snapshots[Kind.BUFFER] = replace(buffer, taken_at=buffer.taken_at + timedelta(minutes=5))
    now = data_time(snapshots.values())
    alarms = kinds.evaluate(snapshots, {}, LIMITS, now, policy=XENONNT_POLICY)
    silent = [a for a in alarms if a.key == "eb.silent"]
    assert [a.count for a in silent] == [1] and "eb4.xenon.local 20 min" in silent[0].detail
    causes = diagnose(snapshots, {}, alarms, LIMITS, now, XENONNT_POLICY)
    assert [c.title for c in causes] == ["event builder eb4 silent: bootstrax not beating"]
    assert "eb4.xenon.local: last heartbeat 20 min ago" in " ".join(causes[0].evidence)

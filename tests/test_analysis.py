"""Derived knowledge over hand-built snapshots with known numbers."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from backends.analysis.buffer import buffer_forecast
from backends.analysis.jobs import (
    dag_for_run,
    dag_rows,
    hold_reasons,
    jobs_by_site,
    jobs_total,
    normalise_hold_reason,
)
from backends.analysis.safety import (
    ProcessingState,
    copies_label,
    data_safety,
    processing_state,
    purge_verdict,
)
from backends.analysis.tape import failed_uploads, summarize_tape
from backends.analysis.transfers import stuck_rules, summarize_transfers
from backends.analysis.units import format_bytes, format_duration
from backends.model import (
    ALL_RSES,
    TB,
    BufferSample,
    BufferSnapshot,
    Dag,
    DagStatus,
    DataCopy,
    Job,
    JobsSnapshot,
    JobStatus,
    RseStatus,
    Rule,
    RuleState,
    Run,
    TapeSnapshot,
    TapeState,
    TapeUpload,
    TransfersSnapshot,
)

NOW = datetime(2017, 6, 1, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)


# ----------------------------------------------------------------- helpers


def raw(host: str, status: str = "transferred", **kw) -> DataCopy:
    return DataCopy(type="raw", host=host, status=status, **kw)


def rucio(rse: str, status: str = "transferred") -> DataCopy:
    return raw("rucio-catalogue", status, rse=rse)


BUF = raw("xe1t-datamanager")
TAPE = raw("tsm-server", checksum="adler32:0badc0de")
UC = rucio("UC_OSG_USERDISK")
EU = rucio("CNAF_USERDISK")
LNGS = rucio("LNGS_USERDISK")


def run(
    number: int = 7000,
    *,
    science: bool = True,
    copies=(),
    tags=(),
    detector="tpc",
    start: datetime = NOW - 50 * H,
) -> Run:
    all_tags = (("_sciencerun1",) if science else ()) + tuple(tags)
    return Run(
        number=number,
        name=f"170601_{number}",
        start=start,
        end=start + H,
        detector=detector,
        source="none" if science else "LED",
        tags=all_tags,
        events=20000,
        raw_size_bytes=10**10,
        copies=tuple(copies),
    )


def rule(
    rid: str,
    rse: str,
    state: RuleState,
    *,
    stuck_since=None,
    updated=NOW - H,
    expires=None,
    ok=1,
    rep=0,
    stuck=0,
    run_number=7000,
    error=None,
) -> Rule:
    return Rule(
        id=rid,
        scope="xe1t-raw",
        name=f"raw-{rid}",
        rse=rse,
        state=state,
        locks_ok=ok,
        locks_replicating=rep,
        locks_stuck=stuck,
        bytes=10**9,
        created_at=NOW - 48 * H,
        updated_at=updated,
        run_number=run_number,
        expires_at=expires,
        stuck_since=stuck_since,
        error=error,
    )


def job(
    cid: int,
    status: JobStatus,
    site: str | None = "MWT2",
    *,
    starts=1,
    reason=None,
    code=None,
    dag=None,
) -> Job:
    return Job(
        schedd="login.xenon",
        cluster_id=cid,
        proc_id=0,
        status=status,
        owner="xe1tproc",
        site=site,
        entered_status_at=NOW - H,
        submitted_at=NOW - 2 * H,
        dag_cluster_id=dag,
        num_job_starts=starts,
        hold_reason=reason,
        hold_reason_code=code,
    )


def dag(
    cid: int,
    run_number: int | None,
    *,
    total=10,
    done=0,
    failed=0,
    queued=0,
    held=0,
    status=DagStatus.OK,
    submitted=NOW - H,
    finished=False,
) -> Dag:
    return Dag(
        schedd="login.xenon",
        cluster_id=cid,
        batch_name=f"run_{run_number}",
        run_number=run_number,
        nodes_total=total,
        nodes_done=done,
        nodes_failed=failed,
        nodes_queued=queued,
        nodes_held=held,
        status=status,
        submitted_at=submitted,
        finished=finished,
    )


# ------------------------------------------------------------------ buffer


def linear_buffer(
    rate_bps: float,
    *,
    used0: int = 20 * TB,
    total: int = 50 * TB,
    samples: int = 7,
    step=H,
    daq=None,
    uplink=True,
) -> BufferSnapshot:
    history = tuple(
        BufferSample(
            at=NOW - (samples - 1 - i) * step,
            used_bytes=int(used0 + rate_bps * i * step.total_seconds()),
        )
        for i in range(samples)
    )
    return BufferSnapshot(
        taken_at=NOW,
        total_bytes=total,
        used_bytes=history[-1].used_bytes,
        history=history,
        daq_write_bps=daq,
        uplink_up=uplink,
    )


def test_forecast_linear_fill_gives_rate_and_time_to_full():
    snap = linear_buffer(100e6)  # 100 MB/s for 6 h: 20 TB -> 22.16 TB
    f = buffer_forecast(snap)
    assert f.used_bytes == 20 * TB + int(100e6 * 6 * 3600)
    assert f.free_bytes == 50 * TB - f.used_bytes
    assert f.fill_rate_bps == pytest.approx(100e6)
    assert f.time_to_full.total_seconds() == pytest.approx(f.free_bytes / 100e6)
    assert f.fill_fraction == pytest.approx(f.used_bytes / (50 * TB))


def test_forecast_window_ignores_old_samples():
    # Draining long ago, filling at 50 MB/s in the last 6 h.
    old = tuple(BufferSample(NOW - (12 - i) * H, 40 * TB - i * TB) for i in range(5))
    new = linear_buffer(50e6).history
    snap = BufferSnapshot(NOW, 50 * TB, new[-1].used_bytes, old + new)
    assert buffer_forecast(snap).fill_rate_bps == pytest.approx(50e6)
    assert buffer_forecast(snap, timedelta(hours=24)).fill_rate_bps != pytest.approx(50e6)


def test_forecast_flat_or_draining_has_no_time_to_full():
    assert buffer_forecast(linear_buffer(0)).time_to_full is None
    assert buffer_forecast(linear_buffer(0)).fill_rate_bps == pytest.approx(0)
    draining = buffer_forecast(linear_buffer(-10e6))
    assert draining.fill_rate_bps == pytest.approx(-10e6)
    assert draining.time_to_full is None


def test_forecast_needs_two_samples():
    one = BufferSnapshot(NOW, 50 * TB, 10 * TB, (BufferSample(NOW, 10 * TB),))
    assert buffer_forecast(one).fill_rate_bps is None
    none = BufferSnapshot(NOW, 50 * TB, 10 * TB)
    assert buffer_forecast(none).fill_rate_bps is None
    assert buffer_forecast(none).time_to_full is None


def test_forecast_uses_current_reading_after_history():
    snap = BufferSnapshot(NOW, 50 * TB, 10 * TB + 3600 * 10**6, (BufferSample(NOW - H, 10 * TB),))
    assert buffer_forecast(snap).fill_rate_bps == pytest.approx(1e6)


def test_autonomy_is_free_space_over_daq_rate():
    snap = BufferSnapshot(NOW, 50 * TB, 30 * TB, daq_write_bps=100e6)
    f = buffer_forecast(snap)
    assert f.autonomy == timedelta(seconds=20 * TB / 100e6)  # 2.31 days
    assert buffer_forecast(BufferSnapshot(NOW, 50 * TB, 30 * TB)).autonomy is None


def test_autonomy_never_exceeds_the_time_to_full_measured_now():
    """On buffer-full the DAQ rate (a 10-minute window over a short calibration
    run) once promised 7.9 days beside "full in 2.6 d"."""
    history = tuple(BufferSample(NOW - timedelta(hours=h), int((40 - h) * TB)) for h in range(6))
    snap = BufferSnapshot(NOW, 50 * TB, 40 * TB, history=history, daq_write_bps=10e6)
    f = buffer_forecast(snap)
    assert f.fill_rate_bps == pytest.approx(TB / 3600)
    assert f.time_to_full is not None and f.autonomy == f.time_to_full


# --------------------------------------------------------------- transfers


def transfers_snapshot() -> TransfersSnapshot:
    rses = (
        RseStatus("CNAF_USERDISK", 100, 1000, 5e6, True, "EU"),
        RseStatus("LNGS_USERDISK", 500, 1000, None, True, "EU"),
        RseStatus("UC_OSG_USERDISK", 10, 2000, 1e7, False, "US"),
    )
    rules = (
        rule("a", "CNAF_USERDISK", RuleState.OK, ok=3),
        rule(
            "b",
            "CNAF_USERDISK",
            RuleState.STUCK,
            ok=1,
            stuck=2,
            stuck_since=NOW - 30 * H,
            error="TRANSFER_FAILED",
        ),
        rule("c", "CNAF_USERDISK", RuleState.STUCK, ok=0, stuck=1, stuck_since=NOW - 3 * H),
        rule("d", "LNGS_USERDISK", RuleState.OK, expires=NOW + 10 * H),
        rule("e", "LNGS_USERDISK", RuleState.OK, expires=NOW + 30 * H),
        rule("f", "LNGS_USERDISK", RuleState.REPLICATING, ok=0, rep=2),
        rule("g", "ZZZ_TEST", RuleState.STUCK, updated=NOW - 40 * H),
        rule("h", "AAA_OTHER", RuleState.SUSPENDED),
    )
    return TransfersSnapshot(NOW, rses, rules)


def test_summarize_transfers_order_counts_locks():
    summaries = summarize_transfers(transfers_snapshot())
    assert [s.name for s in summaries] == [
        "LNGS_USERDISK",
        "UC_OSG_USERDISK",
        "CNAF_USERDISK",
        "AAA_OTHER",
        "ZZZ_TEST",
    ]
    cnaf = summaries[2]
    assert dict(cnaf.rules) == {
        RuleState.OK: 1,
        RuleState.REPLICATING: 0,
        RuleState.STUCK: 2,
        RuleState.SUSPENDED: 0,
        RuleState.WAITING_APPROVAL: 0,
        RuleState.INJECT: 0,
    }
    assert (cnaf.locks_ok, cnaf.locks_total) == (4, 7)
    assert cnaf.oldest_stuck.id == "b"
    assert cnaf.throughput_bps == 5e6 and cnaf.region == "EU"
    lngs = summaries[0]
    assert lngs.expiring_soon == 1
    assert summarize_transfers(transfers_snapshot(), expiring_within=48 * H)[0].expiring_soon == 2
    uc = summaries[1]
    assert not uc.available and sum(uc.rules.values()) == 0 and uc.oldest_stuck is None
    zzz = summaries[4]
    assert zzz.oldest_stuck.id == "g" and zzz.used_bytes is None and zzz.available


def test_stuck_rules_oldest_first():
    assert [r.id for r in stuck_rules(transfers_snapshot())] == ["g", "b", "c"]


class CountedRules(tuple):  # type: ignore[type-arg]
    """A snapshot's rules that count the passes made over them."""

    passes = 0

    def __iter__(self):  # type: ignore[no-untyped-def]
        CountedRules.passes += 1
        return super().__iter__()


def test_the_pane_reads_a_prepared_snapshot_without_passing_over_its_rules():
    """XENONnT's Rucio lists every rule of every run (53,615 at 26,762 runs,
    15 ms a pass): the poll's thread passes over them once (``prepare``); the
    pane's drawing, on the main thread, finds every summary made."""
    from console.render import transfers as render

    base = transfers_snapshot()
    snap = replace(base, rules=CountedRules(base.rules))
    render.prepare(snap)
    assert CountedRules.passes > 0  # (the count sees the poll's passes)
    CountedRules.passes = 0
    rows = render.rse_rows(snap, snap.taken_at, etas={})  # (the ETAs are prepared too)
    line = render.stuck_line(snap).plain
    stuck = render.stuck_rows(snap, snap.taken_at)
    runs = render.stuck_runs(snap, snap.taken_at)
    assert CountedRules.passes == 0
    assert [r[0] for r in stuck] == ["g", "b", "c", "h"]
    assert line.startswith("3 stuck rules") and "1 suspended" in line
    assert len(rows) == 5 and runs == {"CNAF_USERDISK": 7000, "ZZZ_TEST": 7000}


def test_a_new_snapshot_is_summarized_anew():
    """The passes are kept by snapshot: the next poll's rules are read afresh."""
    first = transfers_snapshot()
    assert [r.id for r in stuck_rules(first)] == ["g", "b", "c"]
    rules = tuple(replace(r, state=RuleState.OK) if r.id == "g" else r for r in first.rules)
    unstuck = replace(first, rules=rules)
    assert [r.id for r in stuck_rules(unstuck)] == ["b", "c"]
    assert summarize_transfers(unstuck)[4].oldest_stuck is None
    assert [r.id for r in stuck_rules(first)] == ["g", "b", "c"]
    later = summarize_transfers(first, now=NOW + 20 * H)[0]
    assert later.expiring_soon == 2  # another ``now``: another summary


def test_all_rses_constant_order_is_used():
    assert ALL_RSES[0] == "LNGS_USERDISK"


# -------------------------------------------------------------------- tape


def upload(n: int, state: TapeState, at: datetime, *, rc=None, msg=None, size=10**9):
    return TapeUpload(
        run_number=n, state=state, bytes=size, updated_at=at, return_code=rc, message=msg
    )


def test_tape_summary_and_failures():
    snap = TapeSnapshot(
        taken_at=NOW,
        uploads=(
            upload(1, TapeState.QUEUED, NOW, size=2 * 10**9),
            upload(2, TapeState.QUEUED, NOW, size=3 * 10**9),
            upload(3, TapeState.UPLOADING, NOW),
            upload(4, TapeState.VERIFYING, NOW),
            upload(5, TapeState.FAILED, NOW - 2 * H, rc=12, msg="ANS1311E"),
            upload(6, TapeState.FAILED, NOW - 30 * H, rc=8),
            upload(7, TapeState.FAILED, NOW - 1 * H, rc=12),
            upload(8, TapeState.VERIFIED, NOW - 5 * H),
        ),
        verified_runs=100,
        verified_bytes=10**12,
        rate_bps=2e8,
    )
    s = summarize_tape(snap)
    assert (s.queued, s.queued_bytes, s.in_progress) == (2, 5 * 10**9, 2)
    assert (s.verified_runs, s.verified_bytes, s.rate_bps) == (100, 10**12, 2e8)
    assert s.failed_recent == 2
    assert s.last_success == NOW - 5 * H
    assert [u.run_number for u in failed_uploads(snap)] == [7, 5, 6]
    assert summarize_tape(snap, failed_window=48 * H).failed_recent == 3


# -------------------------------------------------------------------- jobs


def jobs_snapshot() -> JobsSnapshot:
    jobs = (
        job(1, JobStatus.IDLE, "MWT2"),
        job(2, JobStatus.RUNNING, "MWT2", starts=3),
        job(3, JobStatus.HELD, "NIKHEF", reason="Error from slot1@wn042.nikhef.nl: memory"),
        job(4, JobStatus.HELD, "MWT2", reason="Error from slot1_3@node7.mwt2.org: memory"),
        job(5, JobStatus.HELD, None, reason=None, code=26),
        job(6, JobStatus.TRANSFERRING_OUTPUT, None),
        job(7, JobStatus.COMPLETED, "MWT2"),
        job(8, JobStatus.REMOVED, "MWT2"),
    )
    dags = (
        dag(100, 7000, submitted=NOW - 5 * H, finished=True, done=10),
        dag(101, 7000, submitted=NOW - 2 * H, queued=2, done=3),
        dag(102, 7001, submitted=NOW - 3 * H, held=2, queued=2),
        dag(103, 7002, submitted=NOW - 1 * H, finished=True, done=10),
        dag(104, None, submitted=NOW),
    )
    return JobsSnapshot(NOW, jobs, dags)


def test_jobs_by_site_and_total():
    rows = jobs_by_site(jobs_snapshot())
    assert [r.site for r in rows] == ["MWT2", "NIKHEF", "unmatched"]
    mwt2 = rows[0]
    assert (
        mwt2.idle,
        mwt2.running,
        mwt2.held,
        mwt2.transferring,
        mwt2.completed,
        mwt2.retried,
    ) == (1, 1, 1, 0, 1, 1)
    assert (rows[2].held, rows[2].transferring) == (1, 1)
    total = jobs_total(jobs_snapshot())
    assert total.site == "all"
    assert (total.idle, total.running, total.held, total.transferring, total.completed) == (
        1,
        1,
        3,
        1,
        1,
    )


def test_hold_reasons_group_across_slots():
    assert hold_reasons(jobs_snapshot()) == [
        ("Error from <slot>: memory", 2),
        ("(no reason given, code 26)", 1),
    ]
    assert hold_reasons(jobs_snapshot(), top=1) == [("Error from <slot>: memory", 2)]
    assert normalise_hold_reason(
        "SHADOW at 192.168.1.4 failed to send file(s) to <10.0.0.1:9618?addrs=x>"
    ) == ("SHADOW at <ip> failed to send file(s) to <addr>")
    # As the simulator (and HTCondor) word them: one group per cause.
    memory = (
        "Error from slot1_{}@wn{:03d}.mwt2.org: Job has gone over memory limit of 2048 "
        "megabytes. Peak usage: {} megabytes."
    )
    starter = (
        "Error from slot1_{0}@wn{1:03d}.x.org: STARTER at wn{1:03d}.x.org failed to send "
        "file(s) to <192.170.227.{0}:9618>: error writing to file "
        "/var/lib/condor/execute/dir_{2}/output.root: (errno 28) No space left on device"
    )
    for template in (memory, starter):
        reasons = {normalise_hold_reason(template.format(i, 7 * i, 2049 + i)) for i in range(5)}
        assert len(reasons) == 1, reasons
    assert normalise_hold_reason(memory.format(1, 2, 2071)) == (
        "Error from <slot>: Job has gone over memory limit of 2048 megabytes. "
        "Peak usage: N megabytes."
    )
    assert normalise_hold_reason(starter.format(1, 2, 3)) == (
        "Error from <slot>: STARTER at <host> failed to send file(s) to <addr>: error writing "
        "to file /var/lib/condor/execute/dir_N/output.root: (errno 28) No space left on device"
    )


def test_dag_rows_and_dag_for_run():
    assert [d.cluster_id for d in dag_rows(jobs_snapshot())] == [104, 101, 102, 103, 100]
    by_run = dag_for_run(jobs_snapshot())
    assert {k: v.cluster_id for k, v in by_run.items()} == {7000: 101, 7001: 102, 7002: 103}


# ------------------------------------------------------------------ safety


def test_science_run_complete_is_safe():
    v = data_safety(run(copies=(BUF, TAPE, UC, EU)))
    assert v.safe and v.missing == ()
    assert v.required == ("UC_OSG_USERDISK", "European RSE", "tape") == v.present


def test_science_run_missing_uc_is_not_safe():
    v = data_safety(run(copies=(TAPE, EU, LNGS)))
    assert not v.safe
    assert v.missing == ("UC_OSG_USERDISK",)
    assert v.present == ("European RSE", "tape")
    assert "UC_OSG_USERDISK" in v.reason


def test_non_science_needs_eu_and_tape_only():
    v = data_safety(run(science=False, copies=(TAPE, EU)))
    assert v.safe and v.required == ("European RSE", "tape")
    assert not data_safety(run(science=False, copies=(TAPE, UC))).safe


def test_tape_with_checksum_problem_does_not_count():
    bad_tape = raw("tsm-server", checksum_problem=True)
    v = data_safety(run(copies=(bad_tape, UC, EU)))
    assert not v.safe and v.missing == ("tape",)
    assert "checksum" in v.reason


def test_copies_in_error_or_transferring_are_ignored():
    copies = (
        raw("tsm-server", "error"),
        rucio("UC_OSG_USERDISK", "error"),
        rucio("CNAF_USERDISK", "transferring"),
        DataCopy("raw", "rucio-catalogue", "transferred"),
    )  # no rse
    v = data_safety(run(copies=copies))
    assert v.present == () and not v.safe
    processed_on_tape = DataCopy("processed", "tsm-server", "transferred")
    assert data_safety(run(science=False, copies=(processed_on_tape, EU))).missing == ("tape",)


def test_purge_verdicts():
    assert purge_verdict(run(copies=(BUF, TAPE, EU))).allowed
    v = purge_verdict(run(copies=(BUF, TAPE, LNGS)))
    assert (v.allowed, v.on_buffer, v.reason) == (False, True, "no valid Rucio copy outside LNGS")
    v = purge_verdict(run(copies=(BUF, UC)))
    assert (v.allowed, v.reason) == (False, "no valid tape copy (none recorded)")
    v = purge_verdict(run(copies=(BUF, raw("tsm-server", checksum_problem=True), UC)))
    assert not v.allowed and "checksum" in v.reason
    v = purge_verdict(run(copies=(BUF,)))
    assert v.reason == "no valid tape copy (none recorded) and no valid Rucio copy outside LNGS"
    v = purge_verdict(run(copies=(TAPE, EU)))
    assert (v.allowed, v.on_buffer, v.reason) == (False, False, "already purged")
    v = purge_verdict(run(copies=()))
    assert (v.allowed, v.on_buffer, v.reason) == (False, False, "no copy recorded")
    # Purge needs any valid copy outside LNGS, not the full policy: UC alone will do.
    assert purge_verdict(run(copies=(BUF, TAPE, UC))).allowed


def test_processing_state():
    assert processing_state(run(tags=("donotprocess",))) is ProcessingState.SKIPPED
    assert processing_state(run(detector="muon_veto")) is ProcessingState.SKIPPED
    assert processing_state(run()) is ProcessingState.WAITING
    processed = DataCopy("processed", "midway-login1", "transferred")
    minitrees = DataCopy("minitrees", "midway-login1", "transferred")
    assert processing_state(run(copies=(processed,))) is ProcessingState.PROCESSED
    assert processing_state(run(copies=(processed, minitrees))) is ProcessingState.MINITREES
    assert processing_state(run(), dag(1, 7000)) is ProcessingState.QUEUED
    assert processing_state(run(), dag(1, 7000, done=3, queued=4)) is ProcessingState.PROCESSING
    assert processing_state(run(), dag(1, 7000, done=3, queued=2, held=2)) is (
        ProcessingState.STALLED
    )
    assert processing_state(run(), dag(1, 7000, done=3, queued=4, held=2)) is (
        ProcessingState.PROCESSING
    )
    assert (
        processing_state(run(), dag(1, 7000, finished=True, failed=2, status=DagStatus.NODE_FAILED))
        is ProcessingState.FAILED
    )
    assert processing_state(run(copies=(processed,)), dag(1, 7000, held=1)) is (
        ProcessingState.PROCESSED
    )
    assert {s.value for s in ProcessingState} == {
        "waiting",
        "skipped",
        "queued",
        "processing",
        "stalled",
        "failed",
        "processed",
        "minitrees",
    }


def test_copies_label():
    assert copies_label(run(copies=(BUF, TAPE, UC, EU))) == "buf tape UC EU"
    assert copies_label(run(copies=(BUF, LNGS))) == "buf LN"
    assert copies_label(run(copies=())) == "-"
    many = (BUF, raw("tsm-server", checksum_problem=True), UC, *(rucio(r) for r in ALL_RSES[2:]))
    label = copies_label(run(copies=many))
    assert label == "buf tape! UC EU5" and len(label) <= 16


def test_units():
    assert format_bytes(50 * TB) == "50.0 TB"
    assert format_bytes(999) == "999 B"
    assert format_duration(timedelta(hours=30)) == "30.0 h"
    assert format_duration(timedelta(days=3)) == "3.0 d"
    assert format_duration(timedelta(minutes=5)) == "5 min"

"""Every alarm threshold at its edges, and Nagios precedence."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from backends.analysis.alarms import Alarm, Severity, Thresholds, overall
from backends.kinds import content_alarms, evaluate
from backends.model import (
    TB,
    BufferSample,
    BufferSnapshot,
    JobsSnapshot,
    JobStatus,
    Kind,
    RseStatus,
    RuleState,
    RunsSnapshot,
    TapeSnapshot,
    TapeState,
    TransfersSnapshot,
)
from tests.test_analysis import BUF, EU, NOW, TAPE, UC, H, dag, job, raw, rule, run, upload

T = Thresholds()


def alarms_for(kind: Kind, snap, thresholds: Thresholds = T, **kw) -> list[Alarm]:
    return evaluate({kind: snap}, {}, thresholds, NOW, **kw)


def keyed(alarms: list[Alarm]) -> dict[str, Severity]:
    return {a.key: a.severity for a in alarms}


# ------------------------------------------------------------------ buffer


@pytest.mark.parametrize(
    ("used_permille", "expected"),
    [
        (799, None),
        (800, Severity.WARNING),
        (899, Severity.WARNING),
        (900, Severity.CRITICAL),
        (1000, Severity.CRITICAL),
    ],
)
def test_buffer_fill_edges(used_permille, expected):
    snap = BufferSnapshot(NOW, 1000 * TB, used_permille * TB)
    assert keyed(alarms_for(Kind.BUFFER, snap)).get("buffer.fill") == expected


def test_buffer_fill_79_9_percent_is_quiet():
    snap = BufferSnapshot(NOW, 1000, 799)
    assert alarms_for(Kind.BUFFER, snap) == []


def filling(hours_to_full: float) -> BufferSnapshot:
    """Buffer 60 % full, filling linearly so it is full in exactly ``hours_to_full``."""
    rate = 20 * TB / (hours_to_full * 3600)
    used_now = 30 * TB
    history = tuple(
        BufferSample(NOW - i * H, int(used_now - rate * i * 3600)) for i in range(6, 0, -1)
    )
    return BufferSnapshot(NOW, 50 * TB, used_now, history)


@pytest.mark.parametrize(
    ("hours", "expected"),
    [
        (100, None),
        (72.5, None),
        (71.5, Severity.WARNING),
        (24.5, Severity.WARNING),
        (23.5, Severity.CRITICAL),
    ],
)
def test_buffer_time_to_full_edges(hours, expected):
    got = keyed(alarms_for(Kind.BUFFER, filling(hours)))
    assert got == ({"buffer.time_to_full": expected} if expected else {})


def test_uplink_down_warning_and_critical_by_autonomy():
    snap = BufferSnapshot(NOW, 50 * TB, 10 * TB, daq_write_bps=100e6, uplink_up=False)
    [alarm] = alarms_for(Kind.BUFFER, snap)
    assert (alarm.key, alarm.severity) == ("buffer.uplink", Severity.WARNING)
    assert "4.6 d" in alarm.detail  # 40 TB at 100 MB/s
    short = replace(snap, used_bytes=49 * TB)  # 1 TB at 100 MB/s: 2.8 h
    assert keyed(alarms_for(Kind.BUFFER, short))["buffer.uplink"] is Severity.CRITICAL
    assert alarms_for(Kind.BUFFER, replace(snap, uplink_up=None)) == []


# --------------------------------------------------------------- transfers


def stuck_at(hours: float, rse: str = "CNAF_USERDISK"):
    return rule(
        "r1",
        rse,
        RuleState.STUCK,
        stuck_since=NOW - timedelta(hours=hours),
        error="DESTINATION\nOVERWRITE",
    )


@pytest.mark.parametrize(
    ("hours", "expected"),
    [(5.99, None), (6, Severity.WARNING), (23.9, Severity.WARNING), (24, Severity.CRITICAL)],
)
def test_rule_stuck_edges(hours, expected):
    snap = TransfersSnapshot(NOW, (), (stuck_at(hours),))
    got = alarms_for(Kind.TRANSFERS, snap)
    assert keyed(got).get("rse.CNAF_USERDISK.stuck") == expected
    if expected:
        assert got[0].since == NOW - timedelta(hours=hours)
        assert "DESTINATION OVERWRITE" in got[0].detail and "\n" not in got[0].detail


def test_stuck_alarms_are_per_rse_and_count_rules():
    rules = (
        stuck_at(30),
        rule("r2", "CNAF_USERDISK", RuleState.STUCK, stuck_since=NOW - 7 * H),
        rule("r3", "CNAF_USERDISK", RuleState.STUCK, stuck_since=NOW - 1 * H),
        rule("r4", "NIKHEF_USERDISK", RuleState.STUCK, stuck_since=NOW - 8 * H),
        rule("r5", "NIKHEF_USERDISK", RuleState.OK),
    )
    got = alarms_for(Kind.TRANSFERS, TransfersSnapshot(NOW, (), rules))
    assert keyed(got) == {
        "rse.CNAF_USERDISK.stuck": Severity.CRITICAL,
        "rse.NIKHEF_USERDISK.stuck": Severity.WARNING,
    }
    # The title counts what the transfers pane counts: every stuck rule.
    assert got[0].title == "3 rules stuck at CNAF_USERDISK"
    assert got[0].count == 3
    assert got[0].detail == (
        "2 of them stuck over 6 h, oldest for 30.0 h (run 7000): DESTINATION OVERWRITE"
    )


def test_rse_unavailable():
    rses = (
        RseStatus("CNAF_USERDISK", None, None, available=False),
        RseStatus("LNGS_USERDISK", None, None, available=False),
        RseStatus("NIKHEF_USERDISK", None, None),
    )
    got = keyed(alarms_for(Kind.TRANSFERS, TransfersSnapshot(NOW, rses, ())))
    assert got == {
        "rse.CNAF_USERDISK.unavailable": Severity.WARNING,
        "rse.LNGS_USERDISK.unavailable": Severity.CRITICAL,
    }


# -------------------------------------------------------------------- tape


@pytest.mark.parametrize(
    ("n", "expected"),
    [(0, None), (1, Severity.WARNING), (9, Severity.WARNING), (10, Severity.CRITICAL)],
)
def test_tape_failure_edges(n, expected):
    uploads = tuple(upload(i, TapeState.FAILED, NOW - H, rc=12, msg="ANS1311E") for i in range(n))
    old = upload(999, TapeState.FAILED, NOW - 25 * H)  # outside the 24 h window
    got = alarms_for(Kind.TAPE, TapeSnapshot(NOW, (*uploads, old)))
    assert keyed(got).get("tape.failures") == expected
    if expected:
        assert "rc 12: ANS1311E" in got[0].detail


def test_tape_failures_are_raised_since_the_oldest_failure_of_the_window():
    """The alarm's Since was the newest failure: it moved with each new one,
    and each new failure dropped an acknowledgement although nothing grew."""

    def failures(*hours_ago: float) -> TapeSnapshot:
        return TapeSnapshot(
            NOW,
            tuple(
                upload(n, TapeState.FAILED, NOW - timedelta(hours=h), rc=8)
                for n, h in enumerate(hours_ago)
            ),
        )

    limits = replace(T, tape_failures_warning=1)
    older = content_alarms(failures(30, 20, 5), limits, NOW)
    (alarm,) = [a for a in older if a.key == "tape.failures"]
    assert alarm.since == NOW - timedelta(hours=20)  # 30 h ago is out of the window
    assert alarm.count == 2
    newer = content_alarms(failures(30, 20, 5, 1), limits, NOW)
    (again,) = [a for a in newer if a.key == "tape.failures"]
    assert again.since == alarm.since and again.count == 3


@pytest.mark.parametrize(
    ("n", "expected"),
    [(0, None), (1, Severity.WARNING), (4, Severity.WARNING), (5, Severity.CRITICAL)],
)
def test_tape_checksum_edges(n, expected):
    bad = raw("tsm-server", checksum_problem=True)
    runs = tuple(run(7000 + i, copies=(BUF, bad, UC, EU), start=NOW - 3 * H) for i in range(n))
    # A run whose bad tape copy was re-uploaded successfully does not count.
    fixed = run(6999, copies=(BUF, bad, TAPE, UC, EU), start=NOW - 3 * H)
    got = keyed(alarms_for(Kind.RUNS, RunsSnapshot(NOW, (fixed, *runs))))
    assert got.get("tape.checksum") == expected


# -------------------------------------------------------------------- jobs


@pytest.mark.parametrize(
    ("n", "expected"),
    [(0, None), (1, Severity.WARNING), (99, Severity.WARNING), (100, Severity.CRITICAL)],
)
def test_held_jobs_edges(n, expected):
    jobs = tuple(
        job(i, JobStatus.HELD, reason=f"Error from slot{i}@wn{i}: disk full") for i in range(n)
    )
    jobs += (job(1000, JobStatus.RUNNING),)
    got = alarms_for(Kind.JOBS, JobsSnapshot(NOW, jobs, ()))
    assert keyed(got).get("jobs.held") == expected
    if expected:
        assert got[0].detail.endswith(f"top reason ({n}): Error from <slot>: disk full")


def test_stalled_dags():
    dags = (
        dag(1, 7001, held=2, queued=2, done=5),
        dag(2, 7002, held=1, queued=3),
        dag(3, 7003, held=1, queued=1, finished=True),
    )
    got = alarms_for(Kind.JOBS, JobsSnapshot(NOW, (), dags))
    assert keyed(got) == {"jobs.dags_stalled": Severity.WARNING}
    assert "7001" in got[0].detail and "7002" not in got[0].detail


# -------------------------------------------------------------------- runs


def test_no_new_run_while_data_taking():
    runs = (
        run(7000, start=NOW - 5 * H, copies=(BUF, TAPE, UC, EU)),
        run(7001, start=NOW - 2 * H, copies=(BUF,)),
    )
    assert keyed(alarms_for(Kind.RUNS, RunsSnapshot(NOW, runs, data_taking=True))) == {
        "runs.no_new_run": Severity.WARNING
    }
    younger = (*runs[:1], run(7001, start=NOW - timedelta(hours=1.99)))
    assert alarms_for(Kind.RUNS, RunsSnapshot(NOW, younger, data_taking=True)) == []
    assert alarms_for(Kind.RUNS, RunsSnapshot(NOW, runs, data_taking=False)) == []
    assert alarms_for(Kind.RUNS, RunsSnapshot(NOW, runs, data_taking=None)) == []


def test_old_unsafe_runs_are_counted():
    # run() ends start + 1 h; unsafe_after_hours = 48 counts from the end.
    runs = (
        run(7000, start=NOW - 49 * H, copies=(BUF, TAPE, EU)),  # ended 48 h ago, unsafe
        run(7001, start=NOW - 60 * H, copies=(TAPE, UC, EU)),  # safe
        run(7002, start=NOW - 48.5 * H, copies=(BUF,)),  # ended 47.5 h ago: not yet
        run(7003, science=False, start=NOW - 100 * H, copies=(TAPE, UC)),  # unsafe
    )
    got = alarms_for(Kind.RUNS, RunsSnapshot(NOW, runs))
    assert keyed(got) == {"runs.unsafe": Severity.WARNING}
    assert got[0].title == "2 runs not data-safe"
    assert "oldest run 7000" in got[0].detail


# ----------------------------------------------------------------- sources


def test_failed_source_without_data_is_unknown_with_data_is_stale():
    got = evaluate({Kind.TAPE: None}, {Kind.TAPE: "SourceError: dsmc not found"}, T, NOW)
    assert [(a.key, a.severity, a.detail) for a in got] == [
        ("source.tape.down", Severity.UNKNOWN, "SourceError: dsmc not found")
    ]
    old = TapeSnapshot(NOW - 10 * timedelta(minutes=1), ())
    got = evaluate({Kind.TAPE: old}, {Kind.TAPE: "TimeoutError: timed out"}, T, NOW)
    assert [(a.key, a.severity) for a in got] == [("source.tape.stale", Severity.WARNING)]
    assert "10 min ago" in got[0].detail


def test_stale_without_error_needs_intervals():
    old = TapeSnapshot(NOW - timedelta(seconds=61), ())
    assert evaluate({Kind.TAPE: old}, {}, T, NOW) == []
    got = evaluate({Kind.TAPE: old}, {}, T, NOW, intervals={Kind.TAPE: 10})
    assert keyed(got) == {"source.tape.stale": Severity.WARNING}
    assert evaluate({Kind.TAPE: old}, {}, T, NOW, intervals={Kind.TAPE: 30}) == []


def test_thresholds_are_configurable():
    snap = BufferSnapshot(NOW, 100, 50)
    assert keyed(alarms_for(Kind.BUFFER, snap, Thresholds(buffer_warning_percent=50))) == {
        "buffer.fill": Severity.WARNING
    }


# ------------------------------------------------------ sorting, overall()


def a(key: str, sev: Severity) -> Alarm:
    return Alarm(key, sev, None, key, "", None, "")


def test_overall_precedence():
    assert overall([]) is Severity.OK
    assert overall([a("x", Severity.UNKNOWN)]) is Severity.UNKNOWN
    assert overall([a("x", Severity.UNKNOWN), a("y", Severity.WARNING)]) is Severity.WARNING
    assert (
        overall([a("x", Severity.CRITICAL), a("y", Severity.UNKNOWN), a("z", Severity.WARNING)])
        is Severity.CRITICAL
    )


def test_evaluate_sorts_most_severe_first_then_key():
    snaps = {
        Kind.BUFFER: BufferSnapshot(NOW, 100, 95),
        Kind.TRANSFERS: TransfersSnapshot(
            NOW, (), (stuck_at(7, "NIKHEF_USERDISK"), stuck_at(7, "CNAF_USERDISK"))
        ),
        Kind.TAPE: None,
    }
    got = evaluate(snaps, {Kind.TAPE: "boom"}, T, NOW)
    assert [a.key for a in got] == [
        "buffer.fill",
        "rse.CNAF_USERDISK.stuck",
        "rse.NIKHEF_USERDISK.stuck",
        "source.tape.down",
    ]
    assert all("\n" not in a.detail for a in got)


def test_content_and_source_alarms_compose_evaluate():
    from backends.analysis.alarms import sort_alarms, source_alarm

    snap = BufferSnapshot(NOW, 100, 95)
    assert [a.key for a in content_alarms(snap, T, NOW)] == ["buffer.fill"]
    stale = source_alarm(Kind.BUFFER, snap, "TimeoutError: slow", NOW, None)
    assert stale is not None and stale.key == "source.buffer.stale"
    assert source_alarm(Kind.BUFFER, snap, None, NOW, None) is None
    assert sort_alarms([*content_alarms(snap, T, NOW), stale]) == evaluate(
        {Kind.BUFFER: snap}, {Kind.BUFFER: "TimeoutError: slow"}, T, NOW
    )
    with pytest.raises(TypeError):
        content_alarms(object(), T, NOW)  # type: ignore[arg-type]


def test_an_unreachable_schedd_is_a_warning_naming_it() -> None:
    from datetime import UTC, datetime

    from backends.analysis.alarms import Severity, Thresholds
    from backends.model import JobsSnapshot

    now = datetime(2017, 11, 15, 12, tzinfo=UTC)
    snap = JobsSnapshot(now, (), (), ("a", "b"), schedd_errors=(("b", "CEDAR:6001 refused"),))
    alarms = content_alarms(snap, Thresholds(), now)
    assert [(a.key, a.severity) for a in alarms] == [
        ("jobs.schedd.b.unreachable", Severity.WARNING)
    ]
    assert "CEDAR:6001" in alarms[0].detail

"""ETAs against hand-computed values in small snapshots, each unknown with
its reason, and the same figures on screen as in ``report --json``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from backends.analysis.buffer import buffer_forecast
from backends.analysis.eta import (
    buffer_full_eta,
    dag_eta,
    data_at_risk,
    link_shares,
    rse_eta,
    rule_eta,
    rule_etas,
    tape_drain_eta,
)
from backends.analysis.safety import SLOT_CHICAGO, SLOT_EUROPE
from backends.analysis.units import format_duration
from backends.model import (
    CHICAGO_RSE,
    GB,
    LNGS_RSE,
    BufferSample,
    BufferSnapshot,
    Dag,
    DagStatus,
    RseStatus,
    Rule,
    RuleState,
    TapeSnapshot,
    TapeState,
    TapeUpload,
    TransfersSnapshot,
)
from console.cli import main
from tests.screen import screen_lines, screen_text
from tests.simapp import simulator_app, wait_settled

NOW = datetime(2017, 11, 15, 12, 0, tzinfo=UTC)
MB = 10**6
NIKHEF = "NIKHEF_USERDISK"
CNAF = "CNAF_USERDISK"


def rule(
    rid: str,
    rse: str,
    state: RuleState = RuleState.REPLICATING,
    ok: int = 4,
    repl: int = 6,
    stuck: int = 0,
    size: int = 10 * GB,
    run: int | None = 1,
    expires_at: datetime | None = None,
) -> Rule:
    return Rule(
        id=rid,
        scope="xenon1t",
        name="raw",
        rse=rse,
        state=state,
        locks_ok=ok,
        locks_replicating=repl,
        locks_stuck=stuck,
        bytes=size,
        created_at=NOW - timedelta(hours=1),
        updated_at=NOW,
        run_number=run,
        expires_at=expires_at,
    )


def rse(name: str, throughput: float | None, available: bool = True) -> RseStatus:
    return RseStatus(name, 0, 100 * GB, throughput_bps=throughput, available=available)


def transfers(rules: list[Rule], rses: list[RseStatus]) -> TransfersSnapshot:
    return TransfersSnapshot(NOW, tuple(rses), tuple(rules))


# ---------------------------------------------------------------- rules


def test_a_rule_with_6_gb_left_at_100_mb_s_shared_by_two_rules() -> None:
    # 4 of 10 locks OK: 6 GB of 10 GB left; 100 MB/s into NIKHEF shared by
    # two replicating rules: 50 MB/s each, 120 s.
    a = rule("a", NIKHEF)
    b = rule("b", NIKHEF, ok=0, repl=10, run=2)
    snap = transfers([a, b], [rse(NIKHEF, 100 * MB)])
    assert link_shares(snap) == {NIKHEF: 2}
    eta = rule_eta(a, snap)
    assert eta.seconds == pytest.approx(120.0)
    assert eta.at == NOW + timedelta(seconds=120)
    assert eta.basis == (
        "6.0 GB left (4/10 locks OK) at 50.0 MB/s: 100.0 MB/s into NIKHEF_USERDISK"
        " shared by 2 replicating rules"
    )
    # The other: 10 GB at 50 MB/s; the RSE is done with the last of them.
    assert rule_eta(b, snap).seconds == pytest.approx(200.0)
    whole = rse_eta(NIKHEF, snap)
    assert whole is not None and whole.seconds == pytest.approx(200.0)
    assert whole.basis.startswith("last of 2 rules, run 2: 10.0 GB left")
    alone = rse_eta(NIKHEF, transfers([a], [rse(NIKHEF, 100 * MB)]))
    assert alone is not None and alone.basis.startswith("run 1: 6.0 GB left")


def test_stuck_and_suspended_rules_share_no_bandwidth() -> None:
    a = rule("a", NIKHEF)
    stuck = rule("s", NIKHEF, RuleState.STUCK, ok=2, repl=0, stuck=8, run=2)
    suspended = rule("p", NIKHEF, RuleState.SUSPENDED, run=3)
    snap = transfers([a, stuck, suspended], [rse(NIKHEF, 100 * MB)])
    assert rule_eta(a, snap).seconds == pytest.approx(60.0)
    etas = rule_etas(snap)
    assert etas["s"].seconds is None and etas["s"].basis == "rule stuck, 8 locks stuck"
    assert etas["p"].seconds is None and etas["p"].basis == "rule SUSPENDED: not replicating"


@pytest.mark.parametrize(
    ("the_rule", "status", "reason"),
    [
        (rule("a", NIKHEF, RuleState.STUCK, stuck=6, repl=0), rse(NIKHEF, 1e8), "rule stuck"),
        (rule("a", NIKHEF, stuck=1, repl=5), rse(NIKHEF, 1e8), "1 lock stuck"),
        (rule("a", NIKHEF), rse(NIKHEF, 0.0), "no transfer into NIKHEF_USERDISK in the rate"),
        (rule("a", NIKHEF), rse(NIKHEF, None), "no throughput reported into NIKHEF_USERDISK"),
        (rule("a", NIKHEF), rse(NIKHEF, 1e8, available=False), "NIKHEF_USERDISK unavailable"),
        (rule("a", NIKHEF), rse(CNAF, 1e8), "no status of NIKHEF_USERDISK"),
        (rule("a", NIKHEF, ok=0, repl=0), rse(NIKHEF, 1e8), "no locks reported"),
        (rule("a", NIKHEF, size=0), rse(NIKHEF, 1e8), "rule size unknown"),
    ],
)
def test_a_rule_eta_is_unknown_with_its_reason(
    the_rule: Rule, status: RseStatus, reason: str
) -> None:
    eta = rule_eta(the_rule, transfers([the_rule], [status]))
    assert eta.seconds is None and eta.at is None and not eta.known
    assert eta.basis.startswith(reason)


def test_an_ok_rule_is_done_and_an_rse_with_an_unknown_rule_is_unknown() -> None:
    done = rule("d", NIKHEF, RuleState.OK, ok=10, repl=0)
    snap = transfers([done], [rse(NIKHEF, 1e8)])
    assert rule_eta(done, snap).seconds == 0.0
    assert rse_eta(NIKHEF, snap) is None  # nothing replicates there
    a, b = rule("a", NIKHEF), rule("b", NIKHEF, stuck=1, repl=5, run=7)
    whole = rse_eta(NIKHEF, transfers([a, b], [rse(NIKHEF, 1e8)]))
    assert whole is not None and whole.seconds is None
    assert whole.basis == "run 7: 1 lock stuck"


# ----------------------------------------------------------------- DAGs


def dag(done: int, total: int = 100, **kw: object) -> Dag:
    fields: dict[str, object] = dict(
        schedd="s",
        cluster_id=1,
        batch_name="run1",
        run_number=1,
        nodes_total=total,
        nodes_done=done,
        nodes_failed=0,
        nodes_queued=total - done,
        nodes_held=0,
        status=DagStatus.OK,
        submitted_at=NOW - timedelta(hours=1),
    )
    fields.update(kw)
    return Dag(**fields)  # type: ignore[arg-type]


def test_a_dag_a_quarter_done_in_an_hour_needs_three_more() -> None:
    eta = dag_eta(dag(25), NOW)
    assert eta.seconds == pytest.approx(3 * 3600)
    assert eta.basis == "75 of 100 nodes left; 25 done in 1.0 h"


@pytest.mark.parametrize(
    ("the_dag", "seconds", "basis"),
    [
        (dag(0), None, "no node done yet"),
        (dag(100), 0.0, "all 100 nodes done"),
        (dag(100, finished=True), 0.0, "finished"),
        (
            dag(90, nodes_failed=10, finished=True, status=DagStatus.NODE_FAILED),
            None,
            "finished (NODE_FAILED, 10 nodes failed)",
        ),
        (dag(50, nodes_failed=2), None, "2 nodes failed: it cannot complete"),
        (dag(50, nodes_queued=3, nodes_held=3), None, "stalled: only held nodes left"),
        # Running nodes besides held ones: once 49 min at a site holding them.
        (dag(50, nodes_held=20), None, "20 nodes held: done only once released"),
        (dag(5, submitted_at=NOW), None, "submitted at or after the snapshot"),
        (dag(0, total=0), None, "no nodes reported"),
    ],
)
def test_a_dag_eta_says_why(the_dag: Dag, seconds: float | None, basis: str) -> None:
    eta = dag_eta(the_dag, NOW)
    assert (eta.seconds, eta.basis) == (seconds, basis)


# ----------------------------------------------------------------- tape


def upload(run: int, state: TapeState, size: int = 10 * GB, **kw: object) -> TapeUpload:
    return TapeUpload(run, state, size, NOW, **kw)  # type: ignore[arg-type]


def test_the_tape_queue_drains_at_the_tape_rate() -> None:
    uploads = (
        upload(1, TapeState.QUEUED),
        upload(2, TapeState.QUEUED),
        # 4 GB of its 10 GB sent: 6 GB left.
        upload(3, TapeState.UPLOADING, bytes_transferred=4 * GB),
        upload(4, TapeState.VERIFYING),  # on tape already: not in the queue
        upload(5, TapeState.VERIFIED),
    )
    eta = tape_drain_eta(TapeSnapshot(NOW, uploads, rate_bps=100 * MB))
    assert eta.seconds == pytest.approx(26 * GB / (100 * MB))  # 260 s
    assert eta.basis == "3 runs, 26.0 GB to upload at 100.0 MB/s (tape rate)"


def test_without_a_tape_rate_the_dsmc_rates_count() -> None:
    running = (
        upload(1, TapeState.QUEUED),
        upload(3, TapeState.UPLOADING, transfer_rate_bps=50 * MB),
    )
    eta = tape_drain_eta(TapeSnapshot(NOW, running))
    assert eta.seconds == pytest.approx(20 * GB / (50 * MB))
    assert eta.basis.endswith("(dsmc rate of the running uploads)")
    newest = (
        upload(1, TapeState.QUEUED),
        upload(8, TapeState.VERIFIED, transfer_rate_bps=20 * MB),
    )
    eta = tape_drain_eta(TapeSnapshot(NOW, newest))
    assert eta.seconds == pytest.approx(500.0)
    assert eta.basis.endswith("(dsmc rate of run 8)")


def test_the_tape_drain_unknown_and_empty() -> None:
    queued = (upload(1, TapeState.QUEUED),)
    none = tape_drain_eta(TapeSnapshot(NOW, queued))
    assert (none.seconds, none.basis) == (None, "no tape rate reported")
    zero = tape_drain_eta(TapeSnapshot(NOW, queued, rate_bps=0.0))
    assert (zero.seconds, zero.basis) == (None, "no upload to tape in the rate window")
    empty = tape_drain_eta(TapeSnapshot(NOW, (upload(5, TapeState.VERIFIED),), rate_bps=0.0))
    assert (empty.seconds, empty.basis) == (0.0, "nothing queued or uploading")


# --------------------------------------------------------------- buffer


def buffer(samples: list[tuple[float, int]], total: int = 100 * GB) -> BufferSnapshot:
    history = tuple(BufferSample(NOW - timedelta(hours=h), used) for h, used in samples)
    return BufferSnapshot(NOW, total, samples[-1][1], history=history)


def test_the_buffer_full_eta_is_buffer_forecast_s() -> None:
    # 1 GB an hour, 50 GB free: 50 h.
    snap = buffer([(2, 48 * GB), (1, 49 * GB), (0, 50 * GB)])
    eta = buffer_full_eta(snap)
    assert eta.seconds == pytest.approx(50 * 3600)
    to_full = buffer_forecast(snap).time_to_full
    assert to_full is not None and eta.seconds == to_full.total_seconds()
    assert eta.basis == "50.0 GB free at 277.8 kB/s net (fit over 6.0 h)"


def test_the_buffer_full_eta_unknown() -> None:
    alone = BufferSnapshot(NOW, 100 * GB, 50 * GB)
    assert buffer_full_eta(alone).basis == "fewer than two fill samples in 6.0 h"
    draining = buffer([(1, 51 * GB), (0, 50 * GB)])
    eta = buffer_full_eta(draining)
    assert eta.seconds is None and eta.basis == "not filling: -277.8 kB/s net over 6.0 h"


# -------------------------------------------------------- data at risk


def lngs(run: int, expires_in: timedelta) -> Rule:
    return rule(
        f"l{run}", LNGS_RSE, RuleState.OK, ok=10, repl=0, run=run, expires_at=NOW + expires_in
    )


def test_the_data_at_risk_clock() -> None:
    # Every European rule: 10 GB, 4/10 locks OK (6 GB left), alone on its
    # link. NIKHEF at 6 GB / 3 h, CNAF at 6 GB / 1 h.
    slow = 6 * GB / (3 * 3600)
    fast = 6 * GB / 3600
    rules = [
        lngs(1, timedelta(hours=2)),  # needs 3 h: at risk at its expiry
        rule("e1", NIKHEF, run=1),
        lngs(2, timedelta(hours=2)),  # needs 1 h: fine
        rule("e2", CNAF, run=2),
        lngs(3, timedelta(hours=5)),  # stuck: unknown, at risk
        rule("e3", "WEIZMANN_USERDISK", RuleState.STUCK, ok=4, repl=0, stuck=6, run=3),
        lngs(4, timedelta(hours=1)),  # no European rule at all: at risk
        lngs(5, timedelta(hours=9)),  # OK in Europe; Chicago's needs 3 h: fine
        rule("e5", "SURFSARA_USERDISK", RuleState.OK, ok=10, repl=0, run=5),
        rule("c5", CHICAGO_RSE, run=5),
    ]
    rses = [
        rse(NIKHEF, slow),
        rse(CNAF, fast),
        rse("WEIZMANN_USERDISK", fast),
        rse("SURFSARA_USERDISK", fast),
        rse(CHICAGO_RSE, slow),
    ]
    risk = data_at_risk(transfers(rules, rses))
    assert [(a.run_number, a.expires_at) for a in risk] == [
        (4, NOW + timedelta(hours=1)),
        (1, NOW + timedelta(hours=2)),
        (3, NOW + timedelta(hours=5)),
    ]
    by_run = {a.run_number: a for a in risk}
    ((slot, eta),) = by_run[1].late
    assert slot == SLOT_EUROPE and eta.seconds == pytest.approx(3 * 3600)
    assert eta.basis.startswith("NIKHEF_USERDISK: 6.0 GB left")
    ((slot, eta),) = by_run[3].late
    assert eta.seconds is None and eta.basis == "WEIZMANN_USERDISK: rule stuck, 6 locks stuck"
    assert by_run[4].late[0][1].basis == "no rule at a European RSE"
    assert by_run[4].rule_id == "l4"


def test_a_science_run_needs_chicago_s_copy_too() -> None:
    rules = [
        lngs(1, timedelta(hours=2)),
        rule("e1", NIKHEF, RuleState.OK, ok=10, repl=0),
        rule("c1", CHICAGO_RSE, RuleState.STUCK, repl=0, stuck=6),
    ]
    (risk,) = data_at_risk(transfers(rules, [rse(NIKHEF, 1e8), rse(CHICAGO_RSE, 1e8)]))
    assert [slot for slot, _ in risk.late] == [SLOT_CHICAGO]
    assert risk.reason() == (
        f"{CHICAGO_RSE} copy ETA unknown ({CHICAGO_RSE}: rule stuck, 6 locks stuck)"
    )


def test_the_soonest_european_copy_counts_and_a_copy_just_in_time_is_safe() -> None:
    rules = [
        lngs(1, timedelta(hours=1)),
        rule("e1", NIKHEF, RuleState.STUCK, repl=0, stuck=6),
        rule("e2", CNAF),  # 6 GB at 6 GB/h: done exactly at the expiry
    ]
    snap = transfers(rules, [rse(NIKHEF, 1e8), rse(CNAF, 6 * GB / 3600)])
    assert data_at_risk(snap) == []


def test_uploads_still_running_and_rules_without_expiry_have_no_clock() -> None:
    uploading = rule("l1", LNGS_RSE, run=1, expires_at=NOW + timedelta(hours=1))
    forever = rule("l2", LNGS_RSE, RuleState.OK, ok=10, repl=0, run=2)
    snap = transfers([uploading, forever], [rse(NIKHEF, 1e8)])
    assert data_at_risk(snap) == []


# ------------------------------------------------- on screen = report --json


def report_json(capsys: pytest.CaptureFixture[str], scenario: str) -> dict:
    args = ["report", "--json", "--speed", "0", "--seed", "1", "--scenario", scenario]
    assert main(args) == 0
    return json.loads(capsys.readouterr().out)


def row_of(lines: list[str], needle: str) -> list[str]:
    found = [line for line in lines if needle in line]
    assert found, f"{needle!r} not on screen:\n" + "\n".join(lines)
    return found[0].strip("│ ").split()


async def test_the_etas_on_screen_are_report_json_s(capsys: pytest.CaptureFixture[str]) -> None:
    etas = report_json(capsys, "rse-outage")["etas"]
    # The seeded world has a known rule ETA, an unknown one and runs at risk.
    uc, nikhef = etas["rses"][CHICAGO_RSE], etas["rses"][NIKHEF]
    assert uc["known"] and uc["seconds"] > 0
    assert not nikhef["known"] and nikhef["basis"].endswith("NIKHEF_USERDISK unavailable")
    risk = etas["data_at_risk"]
    assert len(risk) == 8 and all(not r["late"][0]["known"] for r in risk)
    dag = etas["dags"][0]
    assert dag["known"] and dag["seconds"] > 0
    app = simulator_app("rse-outage")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_settled(pilot)
        await pilot.press("2")
        lines = screen_lines(app)
        assert row_of(lines, CHICAGO_RSE)[-2:] == format_duration(uc["seconds"]).split()
        assert row_of(lines, f"{NIKHEF} ✗")[-1] == "?"
        first = risk[0]
        line = next(line for line in lines if "At risk:" in line)
        assert (
            f"At risk: {len(risk)} runs · first: run {first['run']}'s LNGS copy expires in "
            f"{format_duration(first['expires_in_seconds'])}, European RSE"
        ) in line
        await pilot.press("4")
        cells = row_of(screen_lines(app), f" {dag['run']} ")
        after = next(i for i, cell in enumerate(cells) if cell.endswith("%")) + 1
        assert cells[after : after + 2] == format_duration(dag["seconds"]).split()
        # The row's detail says what the ETA was computed from.
        detail = " ".join(line.strip("│ ") for line in screen_lines(app)[-5:-2])
        assert f"ETA of {dag['basis'][:30]}" in detail
    tape = report_json(capsys, "uplink-down")["etas"]["tape_drain"]
    assert tape == {
        "known": False,
        "seconds": None,
        "at": None,
        "basis": "no upload to tape in the rate window",
    }
    app = simulator_app("uplink-down")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_settled(pilot)
        await pilot.press("3")
        assert f"Queue drains unknown ({tape['basis']})" in screen_text(app)

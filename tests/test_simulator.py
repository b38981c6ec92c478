"""The built-in simulator: determinism, conservation, Table 1, scenarios.

Every number asserted here comes from a seeded simulation, so the same
numbers are seen by the console's tests and demos.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from backends.construct import positional_constructor
from backends.model import (
    CHICAGO_RSE,
    EUROPEAN_RSES,
    HOST_BUFFER,
    HOST_RUCIO,
    HOST_TAPE,
    LNGS_RSE,
    DataCopy,
    JobStatus,
    Kind,
    RuleState,
    Run,
    RunsSnapshot,
    TapeState,
)
from backends.simulator import SCENARIOS, SimulatorBackend, lazyruns, settle
from backends.simulator.catalogue import (
    NEVER_SCIENCE,
    SCIENCE_RUNS,
    SOURCES,
    TABLE1_RUNS,
    TABLE1_TB,
    TABLE1_TOTAL_TB,
    RunSpec,
    run_name,
)
from backends.simulator.engine import to_datetime
from backends.simulator.infrastructure import HOLD_REASONS, SCHEDD, SITES
from backends.simulator.lazyruns import LazyRuns
from backends.sources import BackendConfigError

NOW = datetime(2017, 11, 15, 12, tzinfo=UTC)
HOUR = 3600.0


def make(scenario: str = "nominal", seed: int = 1, **options: object) -> SimulatorBackend:
    return SimulatorBackend({"scenario": scenario, "seed": seed, "speed": 0, **options})


def snapshots(sim: SimulatorBackend) -> tuple[object, ...]:
    """Every kind's snapshot, the runs one materialized (its ``runs`` may be a
    lazy sequence: compare the runs themselves, not the sequence objects)."""
    return (
        sim.fetch_buffer(),
        sim.fetch_transfers(),
        sim.fetch_tape(),
        sim.fetch_jobs(),
        materialized(sim.fetch_runs()),
    )


def materialized(snap: RunsSnapshot) -> tuple[object, ...]:
    return (snap.taken_at, tuple(snap.runs), snap.data_taking)


@pytest.fixture(scope="module")
def scenario_sims() -> dict[str, SimulatorBackend]:
    return {name: make(name) for name in SCENARIOS}


@pytest.fixture(scope="module")
def paper() -> SimulatorBackend:
    """The paper's full history: 26,762 runs."""
    return make(runs=TABLE1_RUNS)


def buffer_copy(run: Run) -> bool:
    return any(c.host == HOST_BUFFER for c in run.copies)


# ------------------------------------------------------------------ the API


def test_backend_serves_all_five_kinds_and_lists_scenarios() -> None:
    sim = make(runs=20)
    assert sim.kinds == frozenset(Kind)
    assert set(SCENARIOS) == {
        "nominal",
        "uplink-down",
        "rse-outage",
        "tape-checksum",
        "held-jobs",
        "buffer-full",
        "rse-outage+held-jobs",
        "uplink-down+buffer-full",
        "eb-silent",
    }
    assert all(isinstance(text, str) and text for text in SCENARIOS.values())
    assert sim.now == NOW
    assert sim.fetch_buffer().taken_at == NOW


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"scenario": "foo"}, "unknown scenario 'foo' (known: nominal, uplink-down"),
        ({"speed": -1}, "speed must be between 0 and 31,536,000"),
        ({"speed": "fast"}, "speed must be a number"),
        ({"runs": 0}, "runs must be a positive integer"),
        ({"runs": "10"}, "runs must be a positive integer"),
        ({"runs": True}, "runs must be a positive integer"),
        ({"seed": "x"}, "seed must be an integer"),
        ({"now": "yesterday"}, "now must be an ISO datetime"),
        ({"sped": 3}, "unknown simulator option 'sped'"),
    ],
)
def test_bad_options_raise_a_config_error_naming_the_option(
    options: dict[str, object], message: str
) -> None:
    with pytest.raises(BackendConfigError) as info:
        SimulatorBackend(options)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_now_option_moves_the_end_of_the_history() -> None:
    sim = make(runs=30, now="2017-03-01T08:30:00")
    assert sim.now == datetime(2017, 3, 1, 8, 30, tzinfo=UTC)
    runs = sim.fetch_runs().runs
    assert runs[-1].start < sim.now and runs[-1].end is None  # the run in progress


# ------------------------------------------------------------ determinism


def test_same_seed_same_snapshots_different_seed_different() -> None:
    a, b, c = make(), make(), make(seed=2)
    assert snapshots(a) == snapshots(b)
    assert len(a.fetch_runs().runs) == len(c.fetch_runs().runs) == 720
    assert tuple(a.fetch_runs().runs) != tuple(c.fetch_runs().runs)
    a.advance(5 * HOUR)
    b.advance(5 * HOUR)
    assert snapshots(a) == snapshots(b)


def test_speed_zero_freezes_and_advance_moves_exactly() -> None:
    sim = make(runs=50)
    first = snapshots(sim)
    time.sleep(0.02)
    assert snapshots(sim) == first
    sim.advance(90.0)
    assert sim.now == NOW + timedelta(seconds=90)


def test_speed_runs_the_clock() -> None:
    sim = SimulatorBackend({"speed": 36_000, "runs": 30})
    time.sleep(0.05)
    assert sim.fetch_buffer().taken_at >= NOW + timedelta(seconds=1_000)


# ------------------------------------------------------------- the history


def test_default_history_is_a_month_and_runs_gives_exactly_n(
    scenario_sims: dict[str, SimulatorBackend],
) -> None:
    runs = scenario_sims["nominal"].fetch_runs().runs
    assert len(runs) == 720
    assert 28 <= (runs[-1].start - runs[0].start).days <= 31
    assert len(make(runs=37).fetch_runs().runs) == 37
    numbers = [r.number for r in runs]
    assert numbers == list(range(numbers[0], numbers[0] + 720))
    assert all(r.name == run_name(r.start.timestamp()) for r in runs)
    assert all(r.detector in ("tpc", "muon_veto") and r.source in SOURCES for r in runs)


def test_table1_volume_shares_over_the_paper_history(paper: SimulatorBackend) -> None:
    runs = paper.fetch_runs().runs
    assert len(runs) == TABLE1_RUNS
    volume = Counter()
    for run in runs:
        volume[run.source] += run.raw_size_bytes or 0
    total = sum(volume.values())
    assert total / 1e12 == pytest.approx(TABLE1_TOTAL_TB, rel=0.05)
    assert total / len(runs) == pytest.approx(27.8e9, rel=0.05)
    for source in SOURCES:
        expected = TABLE1_TB[source] / TABLE1_TOTAL_TB
        assert volume[source] / total == pytest.approx(expected, abs=0.03), source
    # A dark-matter hour: ~20,000 events of up to 2 MB each.
    dm = [r for r in runs if r.source == "dark_matter"]
    assert 19_000 < sum(r.events or 0 for r in dm) / len(dm) < 21_000
    assert all((r.raw_size_bytes or 0) <= 2_000_000 * (r.events or 0) for r in runs)


def test_science_tags_only_inside_science_runs(paper: SimulatorBackend) -> None:
    periods = {tag: (first, end) for tag, first, end in SCIENCE_RUNS}
    tagged = Counter()
    for run in paper.fetch_runs().runs:
        start = run.start.timestamp()
        science = [t for t in run.tags if t.startswith("_sciencerun")]
        inside = [tag for tag, (first, end) in periods.items() if first <= start < end]
        if run.source in NEVER_SCIENCE or not inside:
            assert science == [], run
        else:
            assert science == inside, run
            tagged[science[0]] += 1
    assert tagged["_sciencerun0"] > 500 and tagged["_sciencerun1"] > 3_000
    donotprocess = sum("donotprocess" in r.tags for r in paper.fetch_runs().runs)
    assert 0.01 < donotprocess / TABLE1_RUNS < 0.03


def test_old_runs_are_settled_with_all_their_copies(paper: SimulatorBackend) -> None:
    old = paper.fetch_runs().runs[100]
    hosts = Counter(c.host for c in old.copies)
    assert HOST_BUFFER not in hosts  # purged long ago
    assert hosts[HOST_TAPE] == 1
    rses = {c.rse for c in old.copies if c.host == HOST_RUCIO}
    assert len(rses & set(EUROPEAN_RSES)) == 1 and LNGS_RSE not in rses
    assert all(c.status == "transferred" for c in old.copies)


def test_repeated_polls_keep_the_settled_versions_and_the_recent_objects(
    paper: SimulatorBackend,
) -> None:
    """A poll tells the settled runs unchanged by their versions, without
    building them; the runs built lately (on screen) are the same objects;
    the whole history is not kept built (26,762 runs are ~37 MB of objects)."""
    first = paper.fetch_runs().runs
    shown = first[10_000:10_040]  # a screen of old runs, built
    paper.advance(600)
    second = paper.fetch_runs().runs
    assert len(second) >= len(first)
    versions = list(second.versions())  # type: ignore[attr-defined]
    before = list(first.versions())  # type: ignore[attr-defined]
    assert versions[:20_000] == before[:20_000]
    assert all(a is b for a, b in zip(shown, second[10_000:10_040], strict=True))
    list(second)  # every run built once...
    assert len(lazyruns_store(second).kept) <= lazyruns.KEPT  # ...and not all kept


def lazyruns_store(runs: object) -> lazyruns.SettledRuns:
    return runs._store  # type: ignore[attr-defined]


# -------------------------------------------------------- the lazy runs


def counting_builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the settled runs the lazy sequence builds from now on."""
    built: list[int] = []
    real = lazyruns.build_settled_run

    def build(spec: RunSpec, on_buffer: int) -> Run:
        built.append(spec.number)
        return real(spec, on_buffer)

    monkeypatch.setattr(lazyruns, "build_settled_run", build)
    return built


def test_runs_are_a_lazy_sequence_built_on_first_access(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim = make(runs=2_000)
    built = counting_builds(monkeypatch)
    runs = sim.fetch_runs().runs
    settled = sim.engine.first_rec
    assert isinstance(runs, Sequence) and isinstance(runs, LazyRuns)
    assert 1_500 < settled < 2_000
    assert len(runs) == 2_000 and built == []  # the poll built no settled run
    newest = runs[-40:]
    assert isinstance(newest, tuple) and len(newest) == 40 and built == []
    first = runs[0]
    assert built == [first.number]
    assert runs[0] is first and runs[-2_000] is first and built == [first.number]
    some = runs[settled - 3 : settled + 3]
    assert [r.number for r in some] == list(
        range(first.number + settled - 3, first.number + settled + 3)
    )
    assert len(built) == 4  # three more settled ones, the rest was built by the poll
    assert runs[-1] is runs[1_999] and runs[-1].end is None  # the run in progress
    for index in (2_000, -2_001, 10**9):
        with pytest.raises(IndexError):
            runs[index]
    with pytest.raises(TypeError):
        runs["1"]  # type: ignore[call-overload]
    assert runs[5:1] == () and runs[1_990:5_000] == tuple(runs[i] for i in range(1_990, 2_000))
    assert runs[::-500] == (runs[1_999], runs[1_499], runs[999], runs[499])
    everything = list(runs)
    assert len(everything) == 2_000
    assert [r.number for r in everything] == list(range(first.number, first.number + 2_000))
    assert all(run is runs[i] for i, run in enumerate(everything))  # cached, not rebuilt
    assert list(reversed(runs)) == everything[::-1]
    assert runs.index(everything[1_234]) == 1_234 and everything[7] in runs
    # Equal to (and hashing like) the tuple it stands for.
    assert runs == tuple(everything) and tuple(everything) == runs
    assert hash(runs) == hash(tuple(everything))
    assert runs != tuple(everything[:-1]) and runs != everything  # a list is no tuple
    assert "2000 runs" in repr(runs)


def test_lazy_runs_keep_identity_across_polls_and_snapshots_stay_frozen() -> None:
    sim = make()
    settled = sim.engine.first_rec
    before = sim.fetch_runs()
    assert sim.fetch_runs().runs is before.runs  # nothing changed: the same sequence
    sim.advance(30 * HOUR)  # the purge reaches settled runs still on the buffer
    after = sim.fetch_runs()
    # Both snapshots materialize to what fresh simulators show at their times,
    # although ``before`` was not read until after the purge.
    assert materialized(before) == materialized(make().fetch_runs())
    twin = make()
    twin.advance(30 * HOUR)
    assert materialized(after) == materialized(twin.fetch_runs())
    purged = [i for i in range(settled) if buffer_copy(before.runs[i])]
    purged = [i for i in purged if not buffer_copy(after.runs[i])]
    assert len(purged) >= 10
    for i in range(settled):
        if i in purged:
            assert after.runs[i] is not before.runs[i]
            assert after.runs[i].copies == before.runs[i].copies[1:]
        else:
            assert after.runs[i] is before.runs[i]
    again = sim.fetch_runs()
    assert all(again.runs[i] is after.runs[i] for i in range(len(after.runs)))


def test_lazy_runs_materialize_the_settled_history_from_settle(paper: SimulatorBackend) -> None:
    runs = paper.fetch_runs().runs
    engine = paper.engine
    assert sum(r.raw_size_bytes or 0 for r in runs) == engine.bytes_written
    copies = Counter((c.type, c.host) for r in runs for c in r.copies)
    assert copies[("raw", HOST_TAPE)] >= engine.first_rec
    for spec in engine.specs:  # the times of a document, bit for bit those of settle
        times = settle.settled_times(spec)
        expected = (times.lngs_ok, times.tape_start, times.processed, times.minitrees)
        assert settle.document_times(spec) == expected, spec
    for index in range(0, engine.first_rec, 97):
        spec, run = engine.specs[index], runs[index]
        times = settle.settled_times(spec)
        created = {c.host if c.rse is None else c.rse: c.creation_time for c in run.copies}
        assert run.number == spec.number and run.name == run_name(spec.start)
        assert run.raw_size_bytes == spec.size and run.events == spec.events
        assert created[spec.eu_rse] == to_datetime(times.lngs_ok)
        assert created[HOST_TAPE] == to_datetime(times.tape_start)
        assert (CHICAGO_RSE in created) == spec.science
        if times.minitrees is not None:
            assert [c.creation_time for c in run.copies[-2:]] == [
                to_datetime(times.processed),
                to_datetime(times.minitrees),
            ]
        else:
            assert all(c.type == "raw" for c in run.copies)
        assert all(c.checksum == settle.checksum(spec) for c in run.copies if c.type == "raw")


def test_positional_constructor_makes_what_the_dataclass_makes() -> None:
    make_copy = positional_constructor(DataCopy)
    at = datetime(2017, 1, 2, 3, 4, 5, 678, tzinfo=UTC)
    values = ("raw", HOST_TAPE, "transferred", "/x", "0badcafe", None, at, True)
    made, real = make_copy(*values), DataCopy(*values)
    assert type(made) is DataCopy and made == real and hash(made) == hash(real)
    assert repr(made) == repr(real)
    assert make_copy("raw", HOST_TAPE, "error") == DataCopy("raw", HOST_TAPE, "error")
    with pytest.raises(AttributeError):
        made.status = "error"  # type: ignore[misc]

    @dataclass(frozen=True)
    class Plain:  # no slots: nothing to speed up
        a: int
        b: list[int] = field(default_factory=list)

    assert positional_constructor(Plain) is Plain


def test_lazy_runs_built_from_several_threads_agree() -> None:
    sim = make(runs=3_000)
    runs = sim.fetch_runs().runs
    barrier = threading.Barrier(4)
    results: list[tuple[Run, ...]] = []

    def read() -> None:
        barrier.wait()
        results.append(tuple(runs))

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4 and all(r == results[0] for r in results)
    assert results[0] == tuple(make(runs=3_000).fetch_runs().runs)
    assert all(run is runs[i] for i, run in enumerate(runs))


# ------------------------------------------------------------ conservation


def assert_conserved(sim: SimulatorBackend) -> None:
    engine = sim.engine
    assert engine.bytes_written == engine.buffer_used + engine.bytes_purged
    buffer = sim.fetch_buffer()
    on_disk = sum(r.raw_size_bytes or 0 for r in sim.fetch_runs().runs if buffer_copy(r))
    assert buffer.used_bytes == on_disk == engine.buffer_used


@pytest.mark.parametrize("scenario", ["nominal", "uplink-down", "buffer-full"])
def test_bytes_written_equal_bytes_on_buffer_plus_purged(scenario: str) -> None:
    sim = make(scenario)
    assert_conserved(sim)
    assert sim.engine.bytes_purged > 0
    for _ in range(3):
        sim.advance(7 * HOUR + 13)
        assert_conserved(sim)


def test_advancing_brings_new_runs_and_progresses_rules() -> None:
    sim = make()
    before = sim.fetch_runs().runs
    rules = {r.id: r for r in sim.fetch_transfers().rules}
    sim.advance(6 * HOUR)
    after = sim.fetch_runs().runs
    assert len(after) >= len(before) + 5
    assert [r.number for r in after] == list(range(after[0].number, after[-1].number + 1))
    assert after[len(before) - 1].end is not None  # the run in progress ended
    moved = [r for r in rules.values() if r.state is not RuleState.OK]
    now_rules = {r.id: r for r in sim.fetch_transfers().rules}
    assert moved and all(now_rules[r.id].state is RuleState.OK for r in moved)
    assert len(set(now_rules) - set(rules)) >= 10  # new LNGS, Chicago and EU rules


# --------------------------------------------------------- the purge rule


def assert_purge_rule_held(runs: Sequence[Run]) -> int:
    purged = 0
    for run in runs:
        if buffer_copy(run):
            continue
        purged += 1
        tape = [c for c in run.copies if c.host == HOST_TAPE]
        assert tape and tape[0].status == "transferred" and not tape[0].checksum_problem, run
        outside = [
            c
            for c in run.copies
            if c.host == HOST_RUCIO and c.rse != LNGS_RSE and c.status == "transferred"
        ]
        assert outside, run
    return purged


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_purge_never_breaks_the_paper_rule(scenario: str) -> None:
    # buffer-full needs its default ~3 months: the purge stopped 7 weeks ago.
    sim = make(scenario, runs=None if "buffer-full" in scenario else 1_200)
    assert assert_purge_rule_held(sim.fetch_runs().runs) > 0
    sim.advance(30 * HOUR)
    assert assert_purge_rule_held(sim.fetch_runs().runs) > 0


def test_purge_rule_over_the_paper_history(paper: SimulatorBackend) -> None:
    assert assert_purge_rule_held(paper.fetch_runs().runs) > 25_000


# --------------------------------------------------------------- scenarios


def test_nominal_is_healthy(scenario_sims: dict[str, SimulatorBackend]) -> None:
    sim = scenario_sims["nominal"]
    buffer = sim.fetch_buffer()
    assert buffer.uplink_up is True
    assert 0.20 < buffer.fill_fraction < 0.50
    assert 5e6 < (buffer.daq_write_bps or 0) < 20e6
    assert len(buffer.history) == 576  # 48 h of 5-minute samples
    transfers = sim.fetch_transfers()
    assert all(rse.available for rse in transfers.rses)
    assert {rse.region for rse in transfers.rses} == {"LNGS", "US", "EU"}
    assert all(rse.used_bytes is not None and rse.total_bytes for rse in transfers.rses)
    assert not [
        r
        for r in transfers.rules
        if r.state is RuleState.STUCK and r.stuck_since and r.stuck_since < NOW - timedelta(hours=3)
    ]
    tape = sim.fetch_tape()
    assert not [u for u in tape.uploads if u.state is TapeState.FAILED]
    assert tape.last_success and tape.last_success > NOW - timedelta(hours=2)
    assert tape.verified_runs >= 715
    jobs = sim.fetch_jobs()
    assert not [j for j in jobs.jobs if j.status is JobStatus.HELD]
    assert any(j.status is JobStatus.RUNNING for j in jobs.jobs)
    assert sim.fetch_runs().data_taking is True


def test_uplink_down(scenario_sims: dict[str, SimulatorBackend]) -> None:
    sim = scenario_sims["uplink-down"]
    since = NOW - timedelta(hours=36)
    buffer = sim.fetch_buffer()
    assert buffer.uplink_up is False
    recent = [s.used_bytes for s in buffer.history if s.at >= since + timedelta(minutes=5)]
    assert recent == sorted(recent)  # nothing purged: the buffer only rises
    assert recent[-1] - recent[0] > 0.8e12
    transfers = sim.fetch_transfers()
    assert all(r.created_at < since for r in transfers.rules)
    assert not [r for r in transfers.rules if r.rse == LNGS_RSE and r.created_at >= since]
    tape = sim.fetch_tape()
    assert tape.last_success is not None and tape.last_success < since
    assert sum(u.state is TapeState.QUEUED for u in tape.uploads) >= 30
    assert tape.rate_bps == 0
    # New runs have only their buffer copy.
    newest = sim.fetch_runs().runs[-30:]
    assert all({c.host for c in r.copies} == {HOST_BUFFER} for r in newest)


def test_rse_outage(scenario_sims: dict[str, SimulatorBackend]) -> None:
    transfers = scenario_sims["rse-outage"].fetch_transfers()
    down = [rse for rse in transfers.rses if not rse.available]
    assert len(down) == 1 and down[0].region == "EU"
    name = down[0].name
    stuck = [r for r in transfers.rules if r.rse == name and r.state is RuleState.STUCK]
    assert len(stuck) >= 4
    for rule in stuck:
        assert rule.error and "TRANSFER" in rule.error
        assert rule.stuck_since and rule.stuck_since >= NOW - timedelta(hours=24)
        assert rule.locks_stuck > 0 and rule.locks_ok < rule.locks_total
    # Only rules still waiting in the FTS queue (created minutes ago) are not STUCK.
    waiting = [r for r in transfers.rules if r.rse == name and r.state is RuleState.REPLICATING]
    assert all(r.locks_ok == 0 and r.created_at > NOW - timedelta(minutes=30) for r in waiting)
    runs = {r.number: r for r in scenario_sims["rse-outage"].fetch_runs().runs}
    for rule in stuck:
        copy = [c for c in runs[rule.run_number or 0].copies if c.rse == name]
        assert copy and copy[0].status == "error"


def test_tape_checksum(scenario_sims: dict[str, SimulatorBackend]) -> None:
    sim = scenario_sims["tape-checksum"]
    failed = [u for u in sim.fetch_tape().uploads if u.state is TapeState.FAILED]
    assert len(failed) >= 15
    assert all(u.return_code == 8 and "checksum mismatch" in (u.message or "") for u in failed)
    assert all(u.finished_at and u.finished_at >= NOW - timedelta(hours=24) for u in failed)
    problems = {
        r.number
        for r in sim.fetch_runs().runs
        for c in r.copies
        if c.host == HOST_TAPE and c.checksum_problem
    }
    assert problems == {u.run_number for u in failed}


def test_held_jobs(scenario_sims: dict[str, SimulatorBackend]) -> None:
    jobs = scenario_sims["held-jobs"].fetch_jobs()
    held = [j for j in jobs.jobs if j.status is JobStatus.HELD]
    assert len(held) >= 50
    assert len({j.site for j in held}) == 1
    codes = {code for code, _ in HOLD_REASONS}
    assert all(j.hold_reason and j.hold_reason.startswith("Error from slot1_") for j in held)
    assert all(j.hold_reason_code in codes for j in held)
    assert any("memory limit of 2048 megabytes" in (j.hold_reason or "") for j in held)
    stalled = [d for d in jobs.dags if d.nodes_held]
    assert stalled and all(not d.finished for d in stalled)
    assert sum(d.nodes_held for d in jobs.dags) == len(held)


def test_buffer_full(scenario_sims: dict[str, SimulatorBackend]) -> None:
    buffer = scenario_sims["buffer-full"].fetch_buffer()
    assert 0.95 < buffer.fill_fraction <= 1.0
    assert buffer.uplink_up is True


def test_buffer_full_stops_the_daq_instead_of_overflowing() -> None:
    sim = make("buffer-full")
    sim.advance(5 * 86400)
    buffer = sim.fetch_buffer()
    assert buffer.used_bytes <= buffer.total_bytes
    assert buffer.fill_fraction > 0.97
    assert sim.fetch_runs().data_taking is False
    assert_conserved(sim)


@pytest.mark.parametrize("seed", [2, 3, 17])
def test_scenario_effects_hold_for_other_seeds(seed: int) -> None:
    assert make("uplink-down", seed).fetch_buffer().uplink_up is False
    outage = make("rse-outage", seed).fetch_transfers()
    assert sum(r.state is RuleState.STUCK for r in outage.rules) >= 4
    tape = make("tape-checksum", seed).fetch_tape()
    assert sum(u.state is TapeState.FAILED for u in tape.uploads) >= 10
    jobs = make("held-jobs", seed).fetch_jobs()
    assert sum(j.status is JobStatus.HELD for j in jobs.jobs) >= 20
    assert make("buffer-full", seed).fetch_buffer().fill_fraction > 0.95


# ------------------------------------------------------------ data shapes


def test_rules_follow_ruciax(scenario_sims: dict[str, SimulatorBackend]) -> None:
    sim = scenario_sims["nominal"]
    transfers = sim.fetch_transfers()
    runs = {r.number: r for r in sim.fetch_runs().runs}
    assert len({r.id for r in transfers.rules}) == len(transfers.rules)
    for rule in transfers.rules:
        assert len(rule.id) == 32 and int(rule.id, 16) >= 0
        assert rule.name == "raw" and rule.scope.startswith("x1t_SR001_")
        run = runs[rule.run_number or 0]
        assert rule.bytes == run.raw_size_bytes
        assert rule.locks_total == -(-(run.events or 0) // 100)
        if rule.rse == LNGS_RSE:
            assert rule.expires_at == rule.created_at + timedelta(days=4)
            assert rule.expires_at > NOW
        else:
            assert rule.expires_at is None
        if rule.rse == CHICAGO_RSE:
            assert run.science


def test_jobs_and_dags_look_like_condor(scenario_sims: dict[str, SimulatorBackend]) -> None:
    sim = scenario_sims["nominal"]
    jobs = sim.fetch_jobs()
    assert jobs.schedds == (SCHEDD,)
    runs = {r.number: r for r in sim.fetch_runs().runs}
    dags = {d.cluster_id: d for d in jobs.dags}
    assert dags
    for dag in dags.values():
        run = runs[dag.run_number or 0]
        assert dag.batch_name == f"pax_{run.name}"
        assert dag.nodes_total == -(-(run.events or 0) // 100) + 1
        assert dag.nodes_done + dag.nodes_failed <= dag.nodes_total
    for job in jobs.jobs:
        assert job.dag_cluster_id in dags or job.status in (JobStatus.COMPLETED,)
        assert job.node_name == "merge" or (job.node_name or "").startswith("chunk_")
        assert job.owner == "xenon" and job.cluster_id > (job.dag_cluster_id or 0)
        if job.status is JobStatus.RUNNING:
            assert job.site in SITES and job.num_job_starts >= 1
    cutoff = NOW - timedelta(hours=3)
    assert all(j.entered_status_at >= cutoff for j in jobs.jobs if j.status is JobStatus.COMPLETED)
    finished = [d for d in jobs.dags if d.finished]
    assert finished and all(d.nodes_done == d.nodes_total for d in finished)
    processed = [r for r in runs.values() if any(c.type == "minitrees" for c in r.copies)]
    assert len(processed) > 600


def test_tape_snapshot_counts(scenario_sims: dict[str, SimulatorBackend]) -> None:
    tape = scenario_sims["nominal"].fetch_tape()
    assert 1e6 < (tape.rate_bps or 0) < 150e6
    recent = [u for u in tape.uploads if u.state is TapeState.VERIFIED]
    assert all(u.finished_at and u.finished_at >= NOW - timedelta(hours=48) for u in recent)
    assert [u.run_number for u in tape.uploads] == sorted(u.run_number for u in tape.uploads)
    assert tape.verified_bytes > 19e12


# ----------------------------------------------------------- thread safety


def test_concurrent_fetches_while_advancing() -> None:
    sim = make(runs=200)
    errors: list[BaseException] = []
    stop = threading.Event()

    def poll(kind: Kind) -> None:
        try:
            while not stop.is_set():
                snap = sim.fetch(kind)
                assert snap.taken_at >= NOW
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=poll, args=(kind,)) for kind in Kind]
    for thread in threads:
        thread.start()
    try:
        for _ in range(40):
            sim.advance(900)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert errors == []
    assert sim.now == NOW + timedelta(seconds=40 * 900)
    assert_conserved(sim)


def test_construction_of_the_paper_history_is_fast() -> None:
    start = time.perf_counter()
    make(runs=TABLE1_RUNS)
    # 0.5 s is the budget on an idle machine; allow for a loaded CI box.
    assert time.perf_counter() - start < 1.5


def test_the_xenonnt_settled_rules_are_the_ones_the_simulator_shows_once_ok() -> None:
    """Under XENONnT the settled runs' rules are made straight from their
    specs (``settle.rule_times``, ``nt_settled_rules``): the same times as
    ``settled_times`` to the bit, the same rules as ``nt_rule`` makes of the
    rule the simulator shows once it is OK; the XENON1T pane lists none."""
    from backends.model import Rule
    from backends.mongo.xenonnt import nt_rule
    from backends.simulator.catalogue import scope_of

    sim = SimulatorBackend({"speed": 0, "profile": "xenonnt", "runs": 400})
    rules = sim.fetch_transfers().rules
    engine = sim.engine
    settled = [r for r in rules if r.run_number < engine.specs[engine.first_rec].number]
    assert len(settled) == 2 * engine.first_rec  # UC_OSG_USERDISK and a European RSE each
    for spec in (engine.specs[i] for i in range(engine.first_rec)):
        times = settle.settled_times(spec)
        assert settle.rule_times(spec) == (times.lngs_ok, times.chicago_ok, times.eu_ok)
    views = sim._views
    assert views is not None
    made = views.settled_rules()
    for (spec, rule_id, rse, created, ok_at), rule in zip(made, settled, strict=True):
        shown = Rule(
            rule_id, scope_of(spec), "raw", rse, RuleState.OK, spec.files, 0, 0, spec.size,
            to_datetime(created), to_datetime(ok_at), spec.number,
        )  # fmt: skip
        assert nt_rule(shown) == rule
    x1t = SimulatorBackend({"speed": 0, "runs": 400}).fetch_transfers().rules
    assert len(x1t) < len(rules) - len(settled) + 10

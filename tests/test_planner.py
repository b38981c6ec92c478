"""A long history planned by a child process (``backends/simulator/planner.py``).

The child's plan must be the one this process would make (the same columns,
the same random state for the runs after ``now``), and a child that cannot
give it must cost nothing but the time: the backend plans itself then.
"""

from __future__ import annotations

import sys

import pytest

import backends.simulator as simulator
from backends.simulator import SimulatorBackend
from backends.simulator.catalogue import Catalogue
from backends.simulator.planner import Planner

COLUMNS = (
    "numbers",
    "starts",
    "ends",
    "gaps",
    "events",
    "sizes",
    "files",
    "salts",
    "eu_codes",
    "science",
    "processable",
)


def same_plan(a: Catalogue, b: Catalogue) -> None:
    assert len(a.history) == len(b.history)
    for column in COLUMNS:
        assert getattr(a.history, column) == getattr(b.history, column), column
    assert list(a.history) == list(b.history)
    # The runs after ``now`` come from the same stream.
    assert [a.next_spec(2e9 + i) for i in range(5)] == [b.next_spec(2e9 + i) for i in range(5)]


@pytest.mark.parametrize(
    "destinations",
    [None, {"tpc": (True, "SURFSARA_USERDISK"), "muon_veto": (False, "CCIN2P3_USERDISK")}],
)
def test_the_child_plans_what_this_process_would(
    destinations: dict[str, tuple[bool, str]] | None,
) -> None:
    planned = Planner(7, 3000, 1.51e9, destinations).result()
    assert planned is not None
    same_plan(planned, Catalogue(7, 3000, 1.51e9, destinations))


@pytest.mark.parametrize("program", ["false", "echo"])
def test_a_child_that_fails_or_answers_garbage_gives_no_plan(
    program: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    path = shutil.which(program)
    assert path is not None
    monkeypatch.setattr(sys, "executable", path)
    assert Planner(7, 300, 1.51e9).result() is None


def test_a_child_that_cannot_start_gives_no_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    assert Planner(7, 300, 1.51e9).result() is None


def test_a_long_history_is_planned_apart_and_serves_the_same_data(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(simulator, "PLAN_APART_MIN_RUNS", 1000)
    apart = SimulatorBackend({"speed": 0, "runs": 1500, "scenario": "uplink-down"})
    assert apart._planner is not None
    monkeypatch.setattr(simulator, "PLAN_APART_MIN_RUNS", 10**9)
    here = SimulatorBackend({"speed": 0, "runs": 1500, "scenario": "uplink-down"})
    assert here._planner is None
    assert apart.fetch_buffer() == here.fetch_buffer()
    assert apart._planner is None  # taken
    assert apart.fetch_runs().runs == here.fetch_runs().runs
    apart.advance(3600)
    here.advance(3600)
    assert apart.fetch_transfers() == here.fetch_transfers()
    assert apart.fetch_jobs() == here.fetch_jobs()


def test_a_backend_whose_child_fails_plans_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(simulator, "PLAN_APART_MIN_RUNS", 1000)
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    backend = SimulatorBackend({"speed": 0, "runs": 1500})
    assert len(backend.fetch_runs().runs) == 1500


def test_closing_the_backend_stops_its_child(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(simulator, "PLAN_APART_MIN_RUNS", 1000)
    backend = SimulatorBackend({"speed": 0, "runs": 1_000_000})
    planner = backend._planner
    assert planner is not None
    process = planner._process
    assert process is not None
    backend.close()
    assert process.poll() is not None  # killed, not left planning 1,000,000 runs


def test_closing_stops_a_fetch_waiting_for_the_child() -> None:
    """The console's exit closes its backends while a poll may wait for the
    plan: the child is killed, the waiting fetch gets no plan at once."""
    import threading

    planner = Planner(7, 1_000_000, 1.51e9)
    got: list[object] = []
    waiting = threading.Thread(target=lambda: got.append(planner.result()))
    waiting.start()
    planner.close()
    waiting.join(timeout=10)
    assert not waiting.is_alive()
    assert got == [None]

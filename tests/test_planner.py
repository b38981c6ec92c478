"""A long history planned by a child process (``backends/simulator/planner.py``).

The child's plan must be the one this process would make (the same columns,
the same random state for the runs after ``now``), and a child that cannot
give it must cost nothing but the time: the backend plans itself then.
"""

from __future__ import annotations

import sys
from pathlib import Path

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


def test_the_child_plans_with_this_code_whatever_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Started from a directory that holds another ``backends`` (an older
    checkout), the child must not import it: its plan would be accepted."""
    other = tmp_path / "backends"
    other.mkdir()
    (other / "__init__.py").write_text("raise SystemExit(3)\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    planned = Planner(7, 300, 1.51e9).result()
    assert planned is not None
    same_plan(planned, Catalogue(7, 300, 1.51e9))


def test_a_child_that_hangs_is_given_up_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import backends.simulator.planner as planner

    hang = tmp_path / "hang"
    hang.write_text("#!/bin/sh\nexec sleep 60\n")
    hang.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(hang))
    monkeypatch.setattr(planner, "WAIT_S", 0.3)
    waiting = Planner(7, 300, 1.51e9)
    process = waiting._process
    assert process is not None
    assert waiting.result() is None
    assert process.poll() is not None  # killed


def test_a_fetch_waiting_when_the_backend_closes_plans_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The console's exit closes the backend while a poll waits for the
    child: the poll ends with an error instead of planning the history in
    the console's process (0.5 s of CPU at 267,620 runs, during teardown)."""
    import threading
    import time

    from backends.sources import SourceError

    planned_here: list[int] = []

    def catalogue(*args: object) -> None:
        planned_here.append(1)
        raise AssertionError("planned in process after close")

    backend = SimulatorBackend({"speed": 0, "runs": 1_000_000})
    assert backend._planner is not None
    monkeypatch.setattr(simulator, "Catalogue", catalogue)
    errors: list[BaseException] = []

    def fetch() -> None:
        try:
            backend.fetch_buffer()
        except BaseException as exc:
            errors.append(exc)

    poll = threading.Thread(target=fetch)
    poll.start()
    time.sleep(0.2)
    backend.close()
    poll.join(timeout=30)
    assert not poll.is_alive()
    assert planned_here == []
    assert len(errors) == 1 and isinstance(errors[0], SourceError)

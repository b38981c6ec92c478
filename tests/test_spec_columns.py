"""The simulator's run plan in columns (``backends/simulator/spec_columns.py``).

The columns must give back exactly the specs put in (floats as doubles, ints
to 64 bits, names and tag tuples through small tables), and the loops over
the whole history must not make a ``RunSpec`` per run.
"""

from __future__ import annotations

import random
from array import array

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backends.analysis.run_index import RunIndex
from backends.model import EUROPEAN_RSES, Kind
from backends.simulator.catalogue import SOURCE_DARK_MATTER, Catalogue, RunSpec
from backends.simulator.spec_columns import SpecColumns
from console.config import load_config
from console.fetching import Backends, fetch_one

names = st.sampled_from(["tpc", "muon_veto", "dark_matter", "LED", "AmBe", "x" * 40])
specs = st.builds(
    RunSpec,
    number=st.integers(0, 2**62),
    start=st.floats(allow_nan=False, allow_infinity=False),
    end=st.floats(allow_nan=False, allow_infinity=False),
    detector=names,
    source=names,
    tags=st.lists(names, max_size=3).map(tuple),
    events=st.integers(0, 2**62),
    size=st.integers(0, 2**62),
    files=st.integers(0, 2**40),
    eu_rse=st.sampled_from(EUROPEAN_RSES),
    salt=st.integers(0, 2**63 - 1),
    gap_after=st.floats(allow_nan=False, allow_infinity=False),
    science=st.booleans(),
    processable=st.booleans(),
)


@given(st.lists(specs, max_size=40), st.data())
def test_the_columns_give_back_exactly_the_specs_put_in(plan: list[RunSpec], data) -> None:  # type: ignore[no-untyped-def]
    columns = SpecColumns(plan)
    assert len(columns) == len(plan)
    assert list(columns) == plan
    assert all(type(spec) is RunSpec for spec in columns)
    if plan:
        i = data.draw(st.integers(0, len(plan) - 1))
        assert columns[i] == plan[i] and columns[i - len(plan)] == plan[i]
        assert columns[i:] == tuple(plan[i:])
        replacement = data.draw(specs)
        columns[i] = replacement
        plan[i] = replacement
        assert list(columns) == plan
        assert columns.eu_rse(i) == plan[i].eu_rse
    with pytest.raises(IndexError):
        columns[len(plan)]


def test_columns_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="different lengths"):
        SpecColumns.from_columns(
            numbers=array("q", [1]),
            starts=array("d", [0.0]),
            ends=array("d", [1.0]),
            detectors=["tpc"],
            sources=["LED"],
            tags=[()],
            events=array("q", [1]),
            sizes=array("q", [1]),
            files=array("q", [1]),
            eu_rses=["NIKHEF_USERDISK"],
            salts=array("q", [1]),
            gaps=array("d", [1.0]),
            science=bytearray(1),
            processable=bytearray(2),
        )


def test_the_catalogue_plans_the_same_runs_as_one_spec_at_a_time() -> None:
    """The columns are filled in bulk; each run is what ``_spec`` makes of its draw."""
    catalogue = Catalogue(7, 3000, 1.51e9)
    plan = catalogue.history
    assert isinstance(plan, SpecColumns)
    assert plan.nbytes() / len(plan) < 100  # bytes a run, the tables aside
    ends = list(plan.ends)
    assert ends == sorted(ends)
    for spec in list(plan)[::97]:
        again = Catalogue._spec(
            spec.number,
            spec.start,
            (
                spec.source,
                spec.end - spec.start,
                spec.events,
                spec.size,
                spec.eu_rse,
                "donotprocess" in spec.tags,
                spec.salt,
                spec.gap_after,
            ),
        )
        assert again._replace(end=spec.end) == spec


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    runs=st.integers(1, 3000),
    nt=st.booleans(),
)
def test_the_bulk_plan_is_the_stream_of_one_draw_at_a_time(seed: int, runs: int, nt: bool) -> None:
    """The catalogue's planning loop inlines ``_draw``: the same draws, in the
    same order, give the same runs as ``_draw`` and ``_spec`` one at a time
    (which plan the runs after ``now``), and leave the same random state."""
    now = 1.51e9
    destinations = (
        {"tpc": (False, "SURFSARA_USERDISK"), "muon_veto": (True, "CCIN2P3_USERDISK")}
        if nt
        else None
    )
    catalogue = Catalogue(seed, runs, now, destinations)
    one = Catalogue(seed, 1, now)
    one._rng = random.Random(seed)
    one._source = SOURCE_DARK_MATTER
    draws = [one._draw() for _ in range(runs)]
    start = now - draws[-1][1] * (0.1 + 0.8 * one._rng.random())
    starts = [0.0] * runs
    for i in range(runs - 1, -1, -1):
        starts[i] = start
        if i:
            start -= draws[i - 1][7] + draws[i - 1][1]
    first = catalogue.history.numbers[0]
    expected = []
    for i, draw in enumerate(draws):
        spec = Catalogue._spec(first + i, starts[i], draw)
        fixed = destinations.get(spec.detector) if destinations else None
        if fixed is not None:
            spec = spec._replace(science=fixed[0], eu_rse=fixed[1])
        expected.append(spec)
    assert list(catalogue.history) == expected
    assert catalogue._rng.getstate() == one._rng.getstate()
    assert catalogue._source == one._source


def test_a_poll_of_the_settled_history_makes_no_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(None, seed=1, speed=0, runs=5000)
    backends = Backends(config)
    index = RunIndex(config.policy)
    index.update(fetch_one(backends, Kind.RUNS).snapshot.runs)  # the first derives all
    made = []
    original = SpecColumns._item
    monkeypatch.setattr(SpecColumns, "_item", lambda self, i: made.append(i) or original(self, i))
    table = index.update(fetch_one(backends, Kind.RUNS).snapshot.runs)
    assert len(table) >= 5000 and table.derived < 50
    assert len(made) <= table.derived  # only the runs derived anew, if any

"""The built-in simulator of the experiment's computing chain.

A deterministic model of XENON1T's chain (DAQ -> LNGS buffer -> Rucio and
tape -> processing -> RCC) that serves all five kinds of data, for demos,
tests and training. Faults are injected by named scenarios (``SCENARIOS``).

The simulated clock starts at ``now`` (after building the history that ends
there) and then runs ``speed`` simulated seconds per wall second; each fetch
first catches the simulation up. ``advance()`` moves it explicitly, which is
what tests use with ``speed = 0``.
"""

from __future__ import annotations

import gc
import math
import threading
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, ClassVar

from backends.model import (
    BufferSnapshot,
    Heartbeat,
    JobsSnapshot,
    Rule,
    Run,
    RunsSnapshot,
    TapeSnapshot,
    TransfersSnapshot,
)
from backends.simulator.catalogue import (
    SOURCES,
    XENONNT_DESTINATIONS,
    Catalogue,
    destinations_of,
)
from backends.simulator.engine import Engine, to_datetime
from backends.simulator.infrastructure import SCHEDD, SITES
from backends.simulator.planner import Planner
from backends.simulator.scenarios import (
    CAUSES,
    SCENARIOS,
    XENONNT_ONLY,
    default_runs,
    plan_faults,
)
from backends.simulator.views import Views
from backends.sources import (
    Backend,
    BackendConfigError,
    BufferSource,
    JobsSource,
    RunsSource,
    SourceError,
    TapeSource,
    TransfersSource,
)

__all__ = [
    "CAUSES",
    "DEFAULT_NOW",
    "SCENARIOS",
    "SCHEDD",
    "SITES",
    "SOURCES",
    "XENONNT_ONLY",
    "SimulatorBackend",
]

#: Where the default history ends: inside science run SR1.
DEFAULT_NOW = "2017-11-15T12:00:00+00:00"
OPTIONS = ("scenario", "seed", "speed", "runs", "now", "profile", "destinations")
#: ``profile``: the runs as XENON1T's runs database holds them, or XENONnT's.
PROFILES = ("xenon1t", "xenonnt")
#: From this many runs on, the planned history is frozen out of the garbage
#: collector (``gc.freeze``); short histories are not worth a collection.
FREEZE_MIN_RUNS = 20_000
#: From this many runs on, the history is planned in a process of its own,
#: started with the backend (``planner.py``): on the other core, while the
#: console starts. Shorter histories are planned at the first fetch (100,000
#: runs take 0.2 s, about what a process of its own saves a 2-core machine).
PLAN_APART_MIN_RUNS = 100_000


class SimulatorBackend(Backend, BufferSource, TransfersSource, TapeSource, JobsSource, RunsSource):
    """Serves buffer, transfers, tape, jobs and runs from one simulation."""

    name: ClassVar[str] = "simulator"
    description: ClassVar[str] = "deterministic simulation of the XENON1T chain, with scenarios"

    def __init__(self, options: Mapping[str, Any]) -> None:
        super().__init__(options)
        unknown = sorted(set(self.options) - set(OPTIONS))
        if unknown:
            raise BackendConfigError(
                f"unknown simulator option {unknown[0]!r} (known: {', '.join(OPTIONS)})"
            )
        self.scenario = _scenario(self.options.get("scenario", "nominal"))
        self.seed = _seed(self.options.get("seed", 1))
        self.speed = _speed(self.options.get("speed", 60.0))
        self.runs = _runs(self.options.get("runs"), self.scenario)
        self._start = _now(self.options.get("now", DEFAULT_NOW))
        self.profile = self.options.get("profile", "xenon1t")
        if self.profile not in PROFILES:
            raise BackendConfigError(
                f"profile must be one of {', '.join(PROFILES)}, got {self.profile!r}"
            )
        self._nt_memo: dict[tuple[Any, ...], Run] = {}
        self._nt_rules: Any = None
        self._nt_settled: tuple[Rule, ...] | None = None
        self._destinations: dict[str, tuple[bool, str]] | None = None
        if self.profile == "xenonnt":
            from backends.mongo.xenonnt import NtRules

            self._nt_rules = NtRules()
            self._destinations = _destinations(self.options.get("destinations"))
        elif "destinations" in self.options:
            raise BackendConfigError('destinations are XENONnT\'s: set profile = "xenonnt"')
        self._lock = threading.Lock()
        # The history is planned at the first fetch, in the polling thread
        # that asks (267,620 runs take most of a second): constructing the
        # backend costs nothing, so the console paints before it is planned.
        # A long one is planned meanwhile by a child process, on the other
        # core (``planner.py``); the first fetch takes its plan.
        self._engine: Engine | None = None
        self._views: Views | None = None
        self._planner: Planner | None = None
        self._closed = False
        if self.runs >= PLAN_APART_MIN_RUNS:
            self._planner = Planner(self.seed, self.runs, self._start, self._destinations)
        self._advanced = 0.0
        self._wall0 = time.monotonic()

    @property
    def engine(self) -> Engine:
        """The simulation (planned on first use)."""
        with self._lock:
            return self._planned()

    def _planned(self) -> Engine:
        """The engine, planning the history first if needed (hold ``_lock``)."""
        if self._engine is None:
            catalogue = None
            if self._planner is not None:
                catalogue = self._planner.result()
                self._planner = None
            if self._closed:  # the console stopped meanwhile: plan nothing
                raise SourceError("the simulator was closed")
            if catalogue is None:
                catalogue = Catalogue(self.seed, self.runs, self._start, self._destinations)
            faults = plan_faults(self.scenario, self.seed, self._start, catalogue.history)
            self._engine = Engine(catalogue, faults, self._start)
            self._views = Views(self._engine)
            if self.runs >= FREEZE_MIN_RUNS:
                # A long planned history lives as long as the backend: keep
                # its millions of objects out of every later full collection.
                gc.collect()
                gc.freeze()
        return self._engine

    # ------------------------------------------------------------------ clock

    @property
    def now(self) -> datetime:
        """The simulated time of the state (not advanced by reading it)."""
        with self._lock:
            return to_datetime(self._planned().t)

    def advance(self, seconds: float) -> None:
        """Move the simulated clock forward by ``seconds``, whatever the speed."""
        if not seconds >= 0:
            raise ValueError("advance() takes a non-negative number of seconds")
        with self._lock:
            self._advanced += seconds
            self._catch_up()

    def _catch_up(self) -> Views:
        engine = self._planned()
        target = self._start + self._advanced
        if self.speed:
            target += (time.monotonic() - self._wall0) * self.speed
        if target > engine.t:
            engine.run_until(target)
        assert self._views is not None
        return self._views

    # ---------------------------------------------------------------- sources

    def fetch_buffer(self) -> BufferSnapshot:
        with self._lock:
            return self._catch_up().buffer()

    def fetch_transfers(self) -> TransfersSnapshot:
        with self._lock:
            if self.profile != "xenonnt":
                return self._catch_up().transfers()
            from backends.mongo.xenonnt import nt_settled_rules

            # Every rule of every run, as XENONnT's Rucio lists them, for
            # XENONnT's DIDs, locks counted in its files: the settled runs'
            # converted once, the live ones when they change.
            views = self._catch_up()
            snapshot = views.transfers(every_rule=True)
            settled = self._nt_settled
            if settled is None:
                settled = self._nt_settled = nt_settled_rules(views.settled_rules())
                if self.runs >= FREEZE_MIN_RUNS:
                    # As the planned history: they live as long as it.
                    gc.collect()
                    gc.freeze()
            return replace(snapshot, rules=settled + self._nt_rules(snapshot.rules))

    def fetch_tape(self) -> TapeSnapshot:
        with self._lock:
            return self._catch_up().tape()

    def fetch_jobs(self) -> JobsSnapshot:
        with self._lock:
            return self._catch_up().jobs()

    def simulated_runs(self) -> RunsSnapshot:
        """The runs as the simulation holds them (XENON1T's shape, whatever
        the profile: ``sim export-mongo`` writes them as its profile's
        documents; ``fetch_runs`` under ``xenonnt`` gives them read back)."""
        with self._lock:
            return self._catch_up().runs()

    def fetch_runs(self) -> RunsSnapshot:
        with self._lock:
            snapshot = self._catch_up().runs()
            beats = self._heartbeats() if self.profile == "xenonnt" else None
        if self.profile == "xenonnt":
            from backends.mongo.xenonnt import NtRuns

            return replace(snapshot, runs=NtRuns(snapshot.runs, self._nt_memo), heartbeats=beats)
        return snapshot

    def close(self) -> None:
        # Not under the lock: a fetch may hold it, waiting for the planner.
        self._closed = True
        planner = self._planner
        if planner is not None:
            planner.close()

    def heartbeats(self, every: int = 1) -> tuple[Heartbeat, ...]:
        """XENONnT's event builders' heartbeats now (whatever the profile):
        each host's last ``every`` heartbeats, the newest first. Each
        bootstrax writes one every 10 s (none since it went silent, in
        eb-silent): what ``sim export-mongo --profile xenonnt`` writes into
        ``eb_monitor``."""
        with self._lock:
            self._catch_up()
            return self._heartbeats(every)

    def _heartbeats(self, every: int = 1) -> tuple[Heartbeat, ...]:
        from backends.mongo.xenonnt import EVENT_BUILDERS

        engine = self._planned()
        t, faults = engine.t, engine.faults
        return tuple(
            Heartbeat(host, to_datetime(faults.last_heartbeat(host, t) - 10 * i), "idle")
            for host in EVENT_BUILDERS
            for i in range(every)
        )


# ------------------------------------------------------------------- options


def _scenario(value: Any) -> str:
    if not isinstance(value, str) or value not in SCENARIOS:
        raise BackendConfigError(f"unknown scenario {value!r} (known: {', '.join(SCENARIOS)})")
    return value


#: The data type of each simulated detector's raw data under XENONnT.
_NT_DATA_TYPES = {"raw_records": "tpc", "raw_records_mv": "muon_veto"}


def _destinations(value: Any) -> dict[str, tuple[bool, str]]:
    """Where each detector's raw data goes under XENONnT, by detector:
    XENONNT_DESTINATIONS with a ``destinations`` option's data types
    (``raw_records = ["UC_OSG_USERDISK", "SURFSARA_USERDISK"]``) over it."""
    chosen = dict(XENONNT_DESTINATIONS)
    if value is not None:
        if not isinstance(value, Mapping):
            raise BackendConfigError(
                "destinations must be a table of data type = [RSE, ...] "
                f"(got {type(value).__name__})"
            )
        for dtype, rses in value.items():
            detector = _NT_DATA_TYPES.get(dtype)
            if detector is None:
                raise BackendConfigError(
                    f"destinations: unknown data type {dtype!r} "
                    f"(known: {', '.join(_NT_DATA_TYPES)})"
                )
            if not isinstance(rses, list | tuple) or not all(isinstance(r, str) for r in rses):
                raise BackendConfigError(f"destinations.{dtype} must be a list of RSE names")
            chosen[detector] = tuple(rses)
    out = {}
    for detector, rses in chosen.items():
        try:
            out[detector] = destinations_of(rses)
        except ValueError as exc:
            dtype = next(d for d, k in _NT_DATA_TYPES.items() if k == detector)
            raise BackendConfigError(f"destinations.{dtype}: {exc}") from None
    return out


def _seed(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BackendConfigError(f"seed must be an integer, not {value!r}")
    return value


#: A year a second: faster, the simulated clock outruns what a poll can settle.
MAX_SPEED = 31_536_000


def _speed(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BackendConfigError(f"speed must be a number, not {value!r}")
    if not math.isfinite(value) or value < 0 or value > MAX_SPEED:
        raise BackendConfigError(
            f"speed must be between 0 and {MAX_SPEED:,} simulated seconds a second (got {value!r})"
        )
    return float(value)


def _runs(value: Any, scenario: str) -> int:
    if value is None:
        return default_runs(scenario)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BackendConfigError(f"runs must be a positive integer (got {value!r})")
    if value > 1_000_000:
        raise BackendConfigError(f"runs must be at most 1000000 (got {value!r})")
    return value


def _now(value: Any) -> float:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise BackendConfigError(
                f"now must be an ISO datetime like {DEFAULT_NOW!r} (got {value!r})"
            ) from None
    else:
        raise BackendConfigError(f"now must be an ISO datetime string (got {value!r})")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()

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

import math
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from backends.model import (
    BufferSnapshot,
    JobsSnapshot,
    RunsSnapshot,
    TapeSnapshot,
    TransfersSnapshot,
)
from backends.simulator.catalogue import SOURCES, Catalogue
from backends.simulator.engine import Engine, to_datetime
from backends.simulator.infrastructure import SCHEDD, SITES
from backends.simulator.scenarios import SCENARIOS, default_runs, plan_faults
from backends.simulator.views import Views
from backends.sources import (
    Backend,
    BackendConfigError,
    BufferSource,
    JobsSource,
    RunsSource,
    TapeSource,
    TransfersSource,
)

__all__ = ["DEFAULT_NOW", "SCENARIOS", "SCHEDD", "SITES", "SOURCES", "SimulatorBackend"]

#: Where the default history ends: inside science run SR1.
DEFAULT_NOW = "2017-11-15T12:00:00+00:00"
OPTIONS = ("scenario", "seed", "speed", "runs", "now")


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
        start = _now(self.options.get("now", DEFAULT_NOW))
        catalogue = Catalogue(self.seed, self.runs, start)
        faults = plan_faults(self.scenario, self.seed, start, catalogue.history)
        self._lock = threading.Lock()
        self.engine = Engine(catalogue, faults, start)
        self._views = Views(self.engine)
        self._start = start
        self._advanced = 0.0
        self._wall0 = time.monotonic()

    # ------------------------------------------------------------------ clock

    @property
    def now(self) -> datetime:
        """The simulated time of the state (not advanced by reading it)."""
        with self._lock:
            return to_datetime(self.engine.t)

    def advance(self, seconds: float) -> None:
        """Move the simulated clock forward by ``seconds``, whatever the speed."""
        if not seconds >= 0:
            raise ValueError("advance() takes a non-negative number of seconds")
        with self._lock:
            self._advanced += seconds
            self._catch_up()

    def _catch_up(self) -> None:
        target = self._start + self._advanced
        if self.speed:
            target += (time.monotonic() - self._wall0) * self.speed
        if target > self.engine.t:
            self.engine.run_until(target)

    # ---------------------------------------------------------------- sources

    def fetch_buffer(self) -> BufferSnapshot:
        with self._lock:
            self._catch_up()
            return self._views.buffer()

    def fetch_transfers(self) -> TransfersSnapshot:
        with self._lock:
            self._catch_up()
            return self._views.transfers()

    def fetch_tape(self) -> TapeSnapshot:
        with self._lock:
            self._catch_up()
            return self._views.tape()

    def fetch_jobs(self) -> JobsSnapshot:
        with self._lock:
            self._catch_up()
            return self._views.jobs()

    def fetch_runs(self) -> RunsSnapshot:
        with self._lock:
            self._catch_up()
            return self._views.runs()


# ------------------------------------------------------------------- options


def _scenario(value: Any) -> str:
    if not isinstance(value, str) or value not in SCENARIOS:
        raise BackendConfigError(f"unknown scenario {value!r} (known: {', '.join(SCENARIOS)})")
    return value


def _seed(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BackendConfigError(f"seed must be an integer, not {value!r}")
    return value


def _speed(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BackendConfigError(f"speed must be a number, not {value!r}")
    if not math.isfinite(value) or value < 0:
        raise BackendConfigError(f"speed must be >= 0 (got {value!r})")
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

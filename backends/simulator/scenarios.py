"""Named faults injected into the simulated history.

Each scenario is a fault that began some time before ``now`` and is still
going on, so that the operator sees its effect at ``now`` and watches it
persist (or worsen) while the console runs. All faults start inside the
window the engine simulates step by step, except the buffer-full purge stop,
which is weeks old and therefore decided while the history is settled.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace

from backends.model import EUROPEAN_RSES
from backends.simulator.catalogue import RunSpec
from backends.simulator.infrastructure import (
    BUFFER_TOTAL_BYTES,
    EGI_SITES,
    OSG_SITES,
    PURGE_RETENTION_S,
    SITES,
)

SCENARIOS: dict[str, str] = {
    "nominal": "everything healthy: runs flow to Rucio, tape and processing",
    "uplink-down": "LNGS uplink down for the last 36 h: buffer fills, uploads and tape stall",
    "rse-outage": "one European RSE down for the last 24 h: its rules STUCK",
    "tape-checksum": "tape restore tests failing for the last 24 h: checksum mismatches",
    "held-jobs": "one compute site holds every job for the last 8 h: DAGs stall",
    "buffer-full": "buffer purge stopped weeks ago: LNGS buffer above 95 %",
    "rse-outage+held-jobs": "rse-outage and held-jobs at once: an RSE down while a site holds jobs",
    "uplink-down+buffer-full": "uplink-down while the buffer is already full (buffer-full)",
    "eb-silent": "XENONnT (profile xenonnt): event builder eb4's bootstrax silent for the last "
    "20 min (no heartbeat); nominal otherwise",
}
#: Scenarios whose fault only the XENONnT profile shows (nominal under
#: XENON1T's): the shift drills, on XENON1T's chain, leave them out.
XENONNT_ONLY: frozenset[str] = frozenset({"eb-silent"})

#: The single faults a combined scenario injects together (each as on its own).
COMBINED: dict[str, tuple[str, ...]] = {
    "rse-outage+held-jobs": ("rse-outage", "held-jobs"),
    "uplink-down+buffer-full": ("uplink-down", "buffer-full"),
}

#: What each scenario injects, as ``backends.analysis.diagnosis`` names the
#: causes: the ground truth the diagnosis is tested against.
_SINGLE_CAUSES: dict[str, tuple[str, ...]] = {
    "nominal": (),
    "uplink-down": ("uplink-down",),
    "rse-outage": ("rse-down",),
    "tape-checksum": ("tape-restore-failing",),
    "held-jobs": ("site-holding-jobs",),
    "buffer-full": ("purge-stopped",),
    # XENONnT's: under XENON1T's profile it injects nothing that shows.
    "eb-silent": ("eb-silent",),
}
CAUSES: dict[str, tuple[str, ...]] = {
    **_SINGLE_CAUSES,
    **{
        name: tuple(c for part in parts for c in _SINGLE_CAUSES[part])
        for name, parts in COMBINED.items()
    },
}

UPLINK_DOWN_S = 36 * 3600.0
RSE_OUTAGE_S = 24 * 3600.0
TAPE_CHECKSUM_S = 24 * 3600.0
HELD_JOBS_S = 8 * 3600.0
EB_SILENT_S = 20 * 60.0
#: The event builder that goes silent in ``eb-silent``.
SILENT_BUILDER = "eb4.xenon.local"
#: Fill the buffer-full scenario reaches at ``now``.
BUFFER_FULL_TARGET = 0.965
#: Runs of the default history: a month, or ~3 months for buffer-full, since a
#: month of raw data (~20 TB) cannot fill a 50 TB buffer.
DEFAULT_RUNS = 720
BUFFER_FULL_DEFAULT_RUNS = 2_300


@dataclass(frozen=True, slots=True)
class Faults:
    """When each fault starts (POSIX seconds); None when it does not happen."""

    uplink_down_from: float | None = None
    rse_down: str | None = None
    rse_down_from: float | None = None
    tape_checksum_from: float | None = None
    held_site: str | None = None
    held_from: float | None = None
    purge_stopped_from: float | None = None
    #: XENONnT: an event builder whose bootstrax stops sending heartbeats.
    silent_builder: str | None = None
    silent_from: float | None = None

    def last_heartbeat(self, host: str, t: float) -> float:
        """When ``host``'s bootstrax last wrote its heartbeat, at ``t``: every
        few seconds (bootstrax's ``idle_nap``), none since it went silent."""
        if host == self.silent_builder and self.silent_from is not None and t >= self.silent_from:
            t = self.silent_from
        digit = host[2:3]
        offset = 3 * int(digit) if digit.isdigit() else 0
        return t - (t + offset) % 10

    def uplink_up(self, t: float) -> bool:
        return self.uplink_down_from is None or t < self.uplink_down_from

    def rse_up(self, rse: str, t: float) -> bool:
        return rse != self.rse_down or self.rse_down_from is None or t < self.rse_down_from

    def tape_checksum_bad(self, t: float) -> bool:
        return self.tape_checksum_from is not None and t >= self.tape_checksum_from

    def site_holds(self, site: str, t: float) -> bool:
        return site == self.held_site and self.held_from is not None and t >= self.held_from

    def purge_enabled(self, t: float) -> bool:
        if not self.uplink_up(t):  # the purge tool asks Rucio and TSM first
            return False
        return self.purge_stopped_from is None or t < self.purge_stopped_from


def default_runs(scenario: str) -> int:
    if scenario in COMBINED:
        return max(default_runs(part) for part in COMBINED[scenario])
    return BUFFER_FULL_DEFAULT_RUNS if scenario == "buffer-full" else DEFAULT_RUNS


def _ended_since(history: Sequence[RunSpec], since: float) -> list[RunSpec]:
    """The runs that ended at or after ``since`` (the history's ends ascend)."""
    out = []
    for i in range(len(history) - 1, -1, -1):
        if history[i].end < since:
            break
        out.append(history[i])
    return out


def plan_faults(scenario: str, seed: int, now: float, history: Sequence[RunSpec]) -> Faults:
    """The faults of ``scenario`` for this history, chosen so the effect shows
    for any seed (the RSE and site picked are ones that certainly get work).

    A combined scenario has the faults of each of its parts, planned as each
    alone would be planned for this history.
    """
    if scenario in COMBINED:
        merged = Faults()
        for part in COMBINED[scenario]:
            single = plan_faults(part, seed, now, history)
            given = {f.name: getattr(single, f.name) for f in fields(single)}
            merged = replace(merged, **{k: v for k, v in given.items() if v is not None})
        return merged
    rng = random.Random(f"{scenario}:{seed}")
    if scenario == "nominal":
        return Faults()
    if scenario == "uplink-down":
        return Faults(uplink_down_from=now - UPLINK_DOWN_S)
    if scenario == "rse-outage":
        since = now - RSE_OUTAGE_S
        counts: Counter[str] = Counter()
        for i in range(len(history) - 1, -1, -1):  # the newest runs (ends ascend)
            spec = history[i]
            if spec.end <= since - 6 * 3600:
                break
            counts[spec.eu_rse] += 1
        ranked = sorted(EUROPEAN_RSES, key=lambda r: (-counts[r], rng.random()))
        return Faults(rse_down=ranked[0], rse_down_from=since)
    if scenario == "tape-checksum":
        return Faults(tape_checksum_from=now - TAPE_CHECKSUM_S)
    if scenario == "held-jobs":
        # One of the two biggest sites of the grid that gets the window's
        # work: OSG takes the science runs (processed from Chicago's copy),
        # EGI the others. A window with no science run (calibration only)
        # sends no job to OSG at all: hold an EGI site then.
        since = now - HELD_JOBS_S
        science = any(s.processable and s.science for s in _ended_since(history, since))
        grid = OSG_SITES if science else EGI_SITES
        biggest = sorted(grid, key=lambda s: -SITES[s][1])[:2]
        return Faults(held_site=rng.choice(biggest), held_from=since)
    if scenario == "buffer-full":
        return Faults(purge_stopped_from=_purge_stop_for_fill(history, BUFFER_FULL_TARGET))
    if scenario == "eb-silent":
        return Faults(silent_builder=SILENT_BUILDER, silent_from=now - EB_SILENT_S)
    raise ValueError(f"unknown scenario {scenario!r}")


def _purge_stop_for_fill(history: Sequence[RunSpec], target: float) -> float:
    """When the purge must have stopped for the buffer to hold ``target`` of
    its size at the end of ``history``: every run newer than the cut stays."""
    budget = target * BUFFER_TOTAL_BYTES
    held = 0
    for i in range(len(history) - 1, -1, -1):
        held += history[i].size
        if held > budget:
            # Run i must have been purged, run i + 1 not: stop just after
            # run i became old enough to go.
            return history[i].end + PURGE_RETENTION_S + 1.0
    return float("-inf")  # the history is too short: purge stopped before it

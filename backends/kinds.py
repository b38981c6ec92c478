"""One place per kind of data: the registry every layer reads.

A kind is what one pane shows. Its ``KindSpec`` says everything the backends
and the console's plumbing need to know about it: the snapshot type, the
source interface a backend implements to serve it and that interface's fetch
method, the default poll interval, its number key and short title, and the
function that derives its alarms. The source registry (``Backend.kinds``,
``Backend.fetch``), the codec and recordings, the config's defaults, the
collectors and the alarms all read from here; nothing else lists the kinds.

A new kind is one ``register`` call (see the README's "Adding a pane").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from backends import codec
from backends.analysis import alarms
from backends.analysis.alarms import (
    Alarm,
    Thresholds,
    sort_alarms,
    source_alarm,
    stale_after,
)
from backends.analysis.safety import DEFAULT_POLICY, SafetyPolicy
from backends.model import (
    BufferSnapshot,
    JobsSnapshot,
    Kind,
    RunsSnapshot,
    Snapshot,
    TapeSnapshot,
    TransfersSnapshot,
)
from backends.sources import (
    BufferSource,
    JobsSource,
    RunsSource,
    TapeSource,
    TransfersSource,
)

#: The alarms a kind's snapshot raises: (snapshot, thresholds, now, policy).
AlarmRule = Callable[[Any, Thresholds, datetime, SafetyPolicy], Iterable[Alarm]]


def no_alarms(
    snapshot: Any, thresholds: Thresholds, now: datetime, policy: SafetyPolicy
) -> Iterable[Alarm]:
    """For a kind that raises none of its own (its source's health still counts)."""
    return ()


@dataclass(frozen=True)
class KindSpec:
    """Everything about one kind of data that is not its pane."""

    kind: Kind
    #: Shown as the pane's title and in reports: "Buffer disk (LNGS)".
    title: str
    #: The pane's number key (1-9), and the kinds' order everywhere.
    number: int
    snapshot: type
    #: The source interface (an ABC) a backend implements to serve the kind.
    source: type
    #: The interface's fetch method, taking no arguments.
    fetch: str
    #: Default poll interval, seconds (``[intervals]`` overrides it).
    interval: float
    alarms: AlarmRule = no_alarms
    #: Other dataclasses and enums its snapshots hold, for the codec (the
    #: built-in kinds' are all in ``backends.model``).
    parts: tuple[type, ...] = ()


_SPECS: dict[Kind, KindSpec] = {}


def register(spec: KindSpec) -> KindSpec:
    """Add a kind (its number key must be free); returns the spec."""
    if spec.kind in _SPECS:
        raise ValueError(f"kind {spec.kind.value!r} is registered already")
    taken = {s.number: s.kind for s in _SPECS.values()}
    if spec.number in taken or not 1 <= spec.number <= 9:
        raise ValueError(f"number key {spec.number} is taken or not 1-9")
    if not callable(getattr(spec.source, spec.fetch, None)):
        raise ValueError(f"{spec.source.__name__} has no method {spec.fetch}")
    _SPECS[spec.kind] = spec
    for cls in (spec.snapshot, *spec.parts):
        codec.register_class(cls)
    return spec


def unregister(kind: Kind) -> None:
    """Remove a kind registered by ``register`` (tests clean up with this)."""
    spec = _SPECS.pop(kind)
    for cls in (spec.snapshot, *spec.parts):
        codec.forget_class(cls)


def specs() -> tuple[KindSpec, ...]:
    """Every kind's spec, in number-key order."""
    return tuple(sorted(_SPECS.values(), key=lambda s: s.number))


def kinds() -> tuple[Kind, ...]:
    """Every kind, in number-key order."""
    return tuple(s.kind for s in specs())


def spec(kind: Kind) -> KindSpec:
    return _SPECS[kind]


def spec_of(snapshot: object) -> KindSpec:
    """The spec whose snapshot type this is."""
    for candidate in _SPECS.values():
        if type(snapshot) is candidate.snapshot:
            return candidate
    raise TypeError(f"not a snapshot of any kind: {type(snapshot).__name__}")


def snapshot_types() -> dict[Kind, type]:
    return {s.kind: s.snapshot for s in specs()}


def default_intervals() -> dict[Kind, float]:
    return {s.kind: s.interval for s in specs()}


# ----------------------------------------------------------------- sources


def served(backend: object) -> frozenset[Kind]:
    """The kinds a backend serves: those whose interface it implements."""
    return frozenset(s.kind for s in _SPECS.values() if isinstance(backend, s.source))


def fetch(backend: object, kind: Kind) -> Any:
    """Call the backend's fetch method for a kind it serves."""
    kind_spec = _SPECS[kind]
    if not isinstance(backend, kind_spec.source):
        from backends.sources import SourceError

        name = getattr(backend, "name", type(backend).__name__)
        raise SourceError(f"backend {name!r} does not serve {kind.value}")
    return getattr(backend, kind_spec.fetch)()


# ------------------------------------------------------------------ alarms


def content_alarms(
    snapshot: Any, thresholds: Thresholds, now: datetime, policy: SafetyPolicy = DEFAULT_POLICY
) -> list[Alarm]:
    """The alarms raised by one snapshot's data, without the source's health.

    The TUI computes these once per poll, in the poll's worker thread (for
    the runs that is a verdict on every run), and combines them with
    ``source_alarm``, which is cheap enough to redo every second.
    """
    return list(spec_of(snapshot).alarms(snapshot, thresholds, now, policy))


def evaluate(
    snapshots: Mapping[Kind, Snapshot | None],
    errors: Mapping[Kind, str | None],
    thresholds: Thresholds,
    now: datetime,
    *,
    intervals: Mapping[Kind, float] | None = None,
    policy: SafetyPolicy = DEFAULT_POLICY,
) -> list[Alarm]:
    """Every alarm raised by the snapshots, most severe first, then by key.

    A source with an error and no snapshot gives UNKNOWN; one with an error
    and an older snapshot gives a stale-data WARNING and its snapshot is still
    evaluated. With ``intervals`` (poll seconds per kind), a snapshot older
    than ``stale_after_factor`` intervals also counts as stale. Kinds absent
    from both mappings (no source configured) raise nothing.
    """
    found: list[Alarm] = []
    for kind in kinds():
        snapshot = snapshots.get(kind)
        limit = None
        if intervals is not None and kind in intervals:
            limit = stale_after(thresholds, intervals[kind])
        health = source_alarm(kind, snapshot, errors.get(kind), now, limit)
        if health is not None:
            found.append(health)
        if snapshot is not None:
            found.extend(content_alarms(snapshot, thresholds, now, policy))
    return sort_alarms(found)


# ---------------------------------------------------------------- built-ins

BUFFER = register(
    KindSpec(
        Kind.BUFFER,
        "Buffer disk (LNGS)",
        1,
        BufferSnapshot,
        BufferSource,
        "fetch_buffer",
        5.0,
        alarms.buffer_alarms,
    )
)
TRANSFERS = register(
    KindSpec(
        Kind.TRANSFERS,
        "Transfers (Rucio)",
        2,
        TransfersSnapshot,
        TransfersSource,
        "fetch_transfers",
        10.0,
        alarms.transfers_alarms,
    )
)
TAPE = register(
    KindSpec(
        Kind.TAPE,
        "Tape (TSM, PDC)",
        3,
        TapeSnapshot,
        TapeSource,
        "fetch_tape",
        10.0,
        alarms.tape_alarms,
    )
)
JOBS = register(
    KindSpec(
        Kind.JOBS,
        "Jobs (HTCondor)",
        4,
        JobsSnapshot,
        JobsSource,
        "fetch_jobs",
        5.0,
        alarms.jobs_alarms,
    )
)
RUNS = register(
    KindSpec(
        Kind.RUNS,
        "Runs",
        5,
        RunsSnapshot,
        RunsSource,
        "fetch_runs",
        10.0,
        alarms.runs_alarms,
    )
)

"""Build the configured backends and fetch snapshots from them, safely.

``Backends`` is the set of backend instances the config uses. Shared by the
polling core (one kind at a time, ``fetch_one``) and the one-shot ``report``,
``check`` and ``audit`` (every kind at once, ``fetch_all``). A fetch never
raises: whatever goes wrong becomes a one-line, redacted error in its
``Result``. No Textual here.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from backends import kinds as registry
from backends.analysis.units import one_line
from backends.model import Kind, Snapshot
from backends.registry import create_backend
from backends.sources import Backend, BackendConfigError
from console.config import Config
from console.ranges import format_number
from console.safe_text import redact_secrets

BackendFactory = Callable[[str, Mapping[str, Any]], Backend]
#: The oldest a backend may say its data is (``Backend.data_age``): about 31 years.
MAX_DATA_AGE = 1e9


@dataclass(frozen=True, slots=True)
class Result:
    kind: Kind
    #: Name of the backend instance (config section) that served it.
    source: str
    snapshot: Snapshot | None
    error: str | None
    #: Seconds the fetch took (the timeout, when it timed out).
    elapsed: float
    #: Seconds the data was already old when fetched (``Backend.data_age``).
    age: float = 0.0
    #: No answer within the timeout (``error`` says so too).
    timed_out: bool = False


def describe_error(exc: BaseException) -> str:
    """``Type: message`` on one line, with secrets hidden."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return redact_secrets(one_line(text))


class Backends:
    """One backend instance per config section in use, shared by the kinds it serves."""

    def __init__(
        self,
        config: Config,
        factory: BackendFactory | None = None,
        *,
        kinds: Iterable[Kind] | None = None,
    ) -> None:
        """``kinds``: only the backends serving these (``audit`` needs the runs alone,
        and a broken backend of another pane must not stop it).

        A pane named in ``[panes]`` must be served by its backend; one left to
        the default (the simulator) that its backend does not serve is
        unassigned: "no source configured", never polled.
        """
        factory = factory or create_backend
        wanted = set(registry.kinds() if kinds is None else kinds)
        self._names: dict[Kind, str] = {k: n for k, n in config.panes.items() if k in wanted}
        self._instances: dict[str, Backend] = {}
        #: Where a config mistake is: the file (the key follows in the message).
        origin = f"{config.source_path}: " if config.source_path is not None else ""
        try:
            for spec in config.backends_in_use():
                if spec.name not in self._names.values():
                    continue
                self._instances[spec.name] = self._create(
                    factory, spec.name, spec.type, spec.options, origin
                )
            for kind, name in list(self._names.items()):
                backend = self._instances[name]
                if kind in backend.kinds:
                    continue
                if kind not in config.explicit_panes:
                    del self._names[kind]
                    continue
                raise BackendConfigError(
                    f"{origin}[panes] {kind.value} = {name!r}: backend type "
                    f"{config.backends[name].type!r} does not serve {kind.value}"
                )
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _create(
        factory: BackendFactory,
        name: str,
        type_name: str,
        options: Mapping[str, Any],
        origin: str = "",
    ) -> Backend:
        try:
            return factory(type_name, options)
        except BackendConfigError as exc:
            raise BackendConfigError(redact_secrets(f"{origin}[backends.{name}] {exc}")) from exc
        except Exception as exc:  # a backend that cannot start is a config-level failure
            raise BackendConfigError(
                f"{origin}[backends.{name}] could not start: {describe_error(exc)}"
            ) from exc

    def kinds(self) -> tuple[Kind, ...]:
        """The assigned kinds (a backend serves them), in number-key order."""
        return tuple(k for k in registry.kinds() if k in self._names)

    def for_kind(self, kind: Kind) -> Backend:
        return self._instances[self._names[kind]]

    def backend_name(self, kind: Kind) -> str | None:
        """The backend instance serving a kind, None when it is unassigned."""
        return self._names.get(kind)

    def instances(self) -> dict[str, Backend]:
        """Every backend in use, by config section name."""
        return dict(self._instances)

    def close(self) -> None:
        """Close every backend once; a failing close does not stop the others."""
        for backend in self._instances.values():
            with contextlib.suppress(Exception):  # shutting down: nothing left to tell
                backend.close()
        self._instances = {}


def fetch_one(backends: Backends, kind: Kind) -> Result:
    """Fetch one assigned kind, never raising: failures become the Result's error."""
    name = backends.backend_name(kind) or "-"
    start = time.monotonic()
    try:
        backend = backends.for_kind(kind)
        snapshot = backend.fetch(kind)
        if not isinstance(snapshot, registry.spec(kind).snapshot):
            raise TypeError(f"backend {name!r} returned {type(snapshot).__name__} for {kind.value}")
        age = float(backend.data_age(kind))
    except Exception as exc:
        return Result(kind, name, None, describe_error(exc), time.monotonic() - start)
    if age != age or age > MAX_DATA_AGE:  # garbage: as old as can be, never fresh
        age = MAX_DATA_AGE
    return Result(kind, name, snapshot, None, time.monotonic() - start, max(0.0, age))


def fetch_all(
    backends: Backends,
    config: Config,
    kinds: Iterable[Kind] | None = None,
    *,
    timeout: float | None = None,
) -> dict[Kind, Result]:
    """Fetch every assigned kind (or those of ``kinds``) concurrently, each
    bounded by its own timeout (``[timeouts]``), or all of them by
    ``timeout`` seconds (``check -t``); an unassigned kind has no result.

    Each fetch runs in a daemon thread, so a hung backend neither blocks the
    others nor keeps the process alive after we give up on it.
    """
    assigned = backends.kinds()
    wanted = tuple(k for k in (assigned if kinds is None else kinds) if k in assigned)
    results: dict[Kind, Result] = {}
    done = {kind: threading.Event() for kind in wanted}

    def work(kind: Kind) -> None:
        try:
            results[kind] = fetch_one(backends, kind)
        finally:
            done[kind].set()

    start = time.monotonic()
    for kind in wanted:
        threading.Thread(target=work, args=(kind,), name=f"fetch-{kind.value}", daemon=True).start()
    out: dict[Kind, Result] = {}
    for kind in wanted:
        limit = config.timeouts[kind] if timeout is None else timeout
        remaining = max(0.0, start + limit - time.monotonic())
        if done[kind].wait(remaining):
            out[kind] = results[kind]
        else:
            name = backends.backend_name(kind) or "-"
            error = f"timed out after {format_number(limit)} s"
            out[kind] = Result(kind, name, None, error, limit, timed_out=True)
    return with_rucio(out, config, assigned)


def with_rucio(
    results: dict[Kind, Result], config: Config, assigned: Iterable[Kind]
) -> dict[Kind, Result]:
    """The results with Rucio's word on the runs, when the policy asks Rucio
    (``rucio_check``): the runs joined once to the transfers' rules
    (``analysis.rucio_evidence``), for every one-shot reader (``report``,
    ``check``, ``audit``). Without transfers data the Rucio copies say why
    they are unverified (no transfers pane, no transfers data)."""
    runs = results.get(Kind.RUNS)
    if not config.policy.rucio_check or runs is None or runs.snapshot is None:
        return results
    from backends.analysis.rucio_evidence import (
        NO_TRANSFERS_DATA,
        NO_TRANSFERS_PANE,
        evidence_of,
        joined_runs,
    )
    from backends.model import RunsSnapshot

    if not isinstance(runs.snapshot, RunsSnapshot):
        return results
    transfers = results.get(Kind.TRANSFERS)
    missing = NO_TRANSFERS_DATA if Kind.TRANSFERS in set(assigned) else NO_TRANSFERS_PANE
    evidence = evidence_of(transfers.snapshot if transfers is not None else None, missing)
    out = dict(results)
    out[Kind.RUNS] = replace(runs, snapshot=joined_runs(runs.snapshot, evidence))
    return out

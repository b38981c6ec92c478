"""Find backends through the ``xenon_console.backends`` entry-point group.

Backends are listed from the entry-point metadata without importing them, and
imported only when the config asks for one, so a broken third-party backend
cannot stop the console from starting on the others.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from backends.sources import Backend, BackendConfigError

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

GROUP = "xenon_console.backends"

#: The backends this package ships: its own entry points (pyproject.toml,
#: kept equal by a test), loaded without reading the installed packages'
#: metadata (importing importlib.metadata and scanning every distribution
#: cost each start-up some 30-40 ms). A plug-in's name goes to the metadata.
BUILTIN = {
    "simulator": "backends.simulator:SimulatorBackend",
    "rucio": "backends.rucio:RucioBackend",
    "mongo": "backends.mongo:MongoBackend",
    "prometheus": "backends.prometheus:PrometheusBackend",
    "localdisk": "backends.localdisk:LocalDiskBackend",
    "tsm": "backends.tsm:TsmBackend",
    "condor": "backends.condor:CondorBackend",
    "nats": "backends.natsfeed:NatsBackend",
}


def available() -> dict[str, EntryPoint]:
    """Backend names and their entry points, without importing anything."""
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=GROUP)}


def _load(type_name: str) -> object:
    builtin = BUILTIN.get(type_name)
    if builtin is not None:
        module, _, name = builtin.partition(":")
        return getattr(importlib.import_module(module), name)
    eps = available()
    if type_name not in eps:
        known = ", ".join(sorted({*eps, *BUILTIN}))
        raise BackendConfigError(f"unknown backend type {type_name!r} (known: {known})")
    return eps[type_name].load()


def load_backend_class(type_name: str) -> type[Backend]:
    try:
        cls = _load(type_name)
    except BackendConfigError:
        raise
    except Exception as exc:  # a broken plug-in must not take the console down
        raise BackendConfigError(
            f"backend {type_name!r} failed to load: {type(exc).__name__}: {exc}"
        ) from exc
    if not (isinstance(cls, type) and issubclass(cls, Backend)):
        raise BackendConfigError(f"entry point {type_name!r} is not a Backend subclass")
    return cls


def create_backend(type_name: str, options: Mapping[str, Any]) -> Backend:
    return load_backend_class(type_name)(options)

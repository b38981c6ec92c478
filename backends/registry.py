"""Find backends through the ``xenon_console.backends`` entry-point group.

Backends are listed from the entry-point metadata without importing them, and
imported only when the config asks for one, so a broken third-party backend
cannot stop the console from starting on the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from backends.sources import Backend, BackendConfigError

GROUP = "xenon_console.backends"


def available() -> dict[str, EntryPoint]:
    """Backend names and their entry points, without importing anything."""
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def load_backend_class(type_name: str) -> type[Backend]:
    eps = available()
    if type_name not in eps:
        known = ", ".join(sorted(eps)) or "none installed"
        raise BackendConfigError(f"unknown backend type {type_name!r} (known: {known})")
    try:
        cls = eps[type_name].load()
    except Exception as exc:  # a broken plug-in must not take the console down
        raise BackendConfigError(
            f"backend {type_name!r} failed to load: {type(exc).__name__}: {exc}"
        ) from exc
    if not (isinstance(cls, type) and issubclass(cls, Backend)):
        raise BackendConfigError(f"entry point {type_name!r} is not a Backend subclass")
    return cls


def create_backend(type_name: str, options: Mapping[str, Any]) -> Backend:
    return load_backend_class(type_name)(options)

"""A sixth kind, written the way the README's "Adding a pane" says, to prove it.

Four files, one per layer: ``data`` (snapshot, source interface, alarm rule,
KindSpec), ``render`` (rows for the pane and the report), ``pane`` (the
widget) and ``spec`` (the PaneSpec). ``install()`` registers it; nothing in
``backends/`` or ``console/`` changes.
"""

from __future__ import annotations

import importlib

from backends import kinds
from backends.model import Kind
from console import specs

#: The modules of the kind, one per layer (what "Adding a pane" asks for).
MODULES = ("data", "render", "pane", "spec")


def install() -> None:
    """Define and register the kind (afresh: a test before may have removed it)."""
    loaded = {}
    for name in MODULES:
        module = importlib.import_module(f"tests.example_kind.{name}")
        loaded[name] = importlib.reload(module)
    kinds.register(loaded["data"].SPEC)
    specs.register(loaded["spec"].SPEC)


def uninstall() -> None:
    specs.unregister(Kind("uplink"))
    kinds.unregister(Kind("uplink"))
    Kind.forget("uplink")

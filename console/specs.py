"""One place per pane: the registry the app, the report and the help read.

A ``PaneSpec`` is the console's half of a kind (the other half, the data,
is ``backends.kinds.KindSpec``): the pane widget that shows it, the renderer
that turns its snapshots into rows for the pane and the report, the figures
its trends keep, and its line of help. The app builds its panes, number
keys, pane bar and palette commands from these; ``report`` and ``check``
print every registered kind through them.

The pane class is named by its import path and loaded only when the TUI
builds it, so ``report`` and ``check`` never import Textual.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.console import RenderableType

from backends import kinds
from backends.model import Kind
from console.perfdata import Figure, FigureSpec
from console.render import buffer, jobs, runs, tape, transfers
from console.render.common import Context
from console.trends import Trends

if TYPE_CHECKING:
    from console.panes.base import SourcePane


@dataclass(frozen=True)
class PaneSpec:
    kind: Kind
    #: "module:Class" of the pane widget (a ``SourcePane``).
    pane: str
    #: The report's JSON figures of a snapshot (None: the kind's keys, empty).
    to_json: Callable[[Any, Context], dict[str, Any]]
    #: The Rich report of a snapshot: the pane's own rows and lines.
    to_rich: Callable[[Any, Context], RenderableType]
    #: ``check``'s performance data of a snapshot: its figures, each one of ``figures``.
    perfdata: Callable[[Any, Context], list[Figure]]
    #: A few words for ``check``'s OK line ("720 runs"), or None.
    summary: Callable[[Any], str | None]
    #: The figures ``console.trends`` keeps of a snapshot, by name.
    trends: Callable[[Any], Mapping[str, float | None]]
    #: The pane's line in the help screen.
    help: str
    #: Every figure ``perfdata`` may give (``check -w/-c`` name them).
    figures: tuple[FigureSpec, ...] = ()

    @property
    def title(self) -> str:
        return kinds.spec(self.kind).title

    @property
    def number(self) -> int:
        return kinds.spec(self.kind).number

    def load_pane(self) -> type[SourcePane]:
        module, _, name = self.pane.partition(":")
        cls: type[SourcePane] = getattr(importlib.import_module(module), name)
        return cls


_PANES: dict[Kind, PaneSpec] = {}


def register(spec: PaneSpec) -> PaneSpec:
    """Add a pane for a kind registered in ``backends.kinds``."""
    kinds.spec(spec.kind)  # KeyError for a kind nobody registered
    if spec.kind in _PANES:
        raise ValueError(f"a pane for {spec.kind.value!r} is registered already")
    _PANES[spec.kind] = spec
    return spec


def unregister(kind: Kind) -> None:
    del _PANES[kind]


def pane_specs() -> tuple[PaneSpec, ...]:
    """Every pane, in number-key order."""
    return tuple(sorted(_PANES.values(), key=lambda s: s.number))


def pane_spec(kind: Kind) -> PaneSpec:
    return _PANES[kind]


def pane_spec_of(snapshot: object) -> PaneSpec:
    return _PANES[kinds.spec_of(snapshot).kind]


def figure_specs() -> dict[str, FigureSpec]:
    """Every pane's figures by label, in pane order."""
    return {f.label: f for spec in pane_specs() for f in spec.figures}


def record_trends(trends: Trends, snapshot: Any) -> None:
    """Add a snapshot's key figures (its pane's ``trends``) to the console's trends."""
    trends.record(snapshot.taken_at, pane_spec_of(snapshot).trends(snapshot))


# ---------------------------------------------------------------- built-ins


def _builtin(kind: Kind, module: Any, pane: str, help_text: str) -> PaneSpec:
    return register(
        PaneSpec(
            kind=kind,
            pane=pane,
            to_json=module.to_json,
            to_rich=module.to_rich,
            perfdata=module.perfdata,
            summary=module.summary,
            trends=module.trend_figures,
            help=help_text,
            figures=module.FIGURES,
        )
    )


_builtin(
    Kind.BUFFER,
    buffer,
    "console.panes.buffer:BufferPane",
    "fill gauge, used / free, fill rate and time to full, DAQ rate and autonomy, uplink",
)
_builtin(
    Kind.TRANSFERS,
    transfers,
    "console.panes.transfers:TransfersPane",
    "per RSE: used, rules OK / replicating / stuck, oldest stuck, throughput; Enter: its "
    "oldest stuck rule's run",
)
_builtin(
    Kind.TAPE,
    tape,
    "console.panes.tape:TapePane",
    "queue, uploads in progress, verified, failures, last success; the open uploads",
)
_builtin(
    Kind.JOBS,
    jobs,
    "console.panes.jobs:JobsPane",
    "jobs per site (held red, done green, running cyan, idle yellow), hold reasons, one "
    "row per run's DAG",
)
_builtin(
    Kind.RUNS,
    runs,
    "console.panes.runs:RunsPane",
    "every run, newest first: data-safety verdict, processing, copies",
)

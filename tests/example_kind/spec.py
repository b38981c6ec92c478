"""The example kind's PaneSpec."""

from __future__ import annotations

from console.specs import PaneSpec
from tests.example_kind import render
from tests.example_kind.data import UPLINK

SPEC = PaneSpec(
    kind=UPLINK,
    pane="tests.example_kind.pane:UplinkPane",
    to_json=render.to_json,
    to_rich=render.to_rich,
    perfdata=render.perfdata,
    summary=render.summary,
    trends=render.trend_figures,
    help="the LNGS uplink's outgoing throughput and errors",
    figures=render.FIGURES,
)

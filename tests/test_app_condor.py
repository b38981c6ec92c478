"""The jobs pane on the condor backend, with one of two schedds unreachable.

Driven with Textual's Pilot over the real console: jobs from the condor
backend (ads parsed by classad2 from the simulator's jobs as -long text),
every other pane from the simulator. Asserted is what the terminal shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from backends.condor import CondorBackend
from backends.condor.classad_text import history_text, queue_text
from backends.model import JobsSnapshot, Kind
from backends.registry import create_backend
from backends.simulator import SCHEDD, SimulatorBackend
from backends.sources import Backend
from console.app import XenonConsole
from console.config import load_config
from console.fetching import Backends
from tests.condor_text_transport import TextTransport
from tests.screen import screen_text
from tests.test_app_sources import wait_for

SECOND = "submit-2.xenon.example"
CONFIG = f"""
[panes]
jobs = "condor"

[backends.condor]
schedds = ["{SCHEDD}", "{SECOND}"]
history_hours = 48
timeout = 5

[backends.simulator]
speed = 0

[intervals]
jobs = 0.2

[ui]
bell_on_critical = false
"""


@pytest.fixture(scope="module")
def sims() -> tuple[JobsSnapshot, JobsSnapshot]:
    held = SimulatorBackend({"scenario": "held-jobs", "speed": 0}).fetch_jobs()
    nominal = SimulatorBackend({"scenario": "nominal", "speed": 0}).fetch_jobs()
    return held, nominal


@pytest.fixture
def transport(sims: tuple[JobsSnapshot, JobsSnapshot]) -> TextTransport:
    held, nominal = sims
    text = TextTransport()
    text.set_text(SCHEDD, queue_text(held), history_text(held))
    text.set_text(SECOND, queue_text(nominal), history_text(nominal))
    text.fail[SECOND] = RuntimeError("Failed to connect to <10.0.0.7:9618>")
    return text


@pytest.fixture
def app(
    tmp_path: Path, transport: TextTransport, sims: tuple[JobsSnapshot, JobsSnapshot]
) -> XenonConsole:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    config = load_config(path)

    def factory(type_name: str, options: Mapping[str, Any]) -> Backend:
        if type_name == "condor":
            return CondorBackend(options, transport=transport, clock=lambda: sims[0].taken_at)
        return create_backend(type_name, options)

    return XenonConsole(config, Backends(config, factory=factory))


def _row(text: str, label: str) -> list[str]:
    """The cells of the table row whose first cell is ``label``."""
    for line in text.splitlines():
        for part in line.split("│"):
            cells = part.split()
            if cells and cells[0] == label:
                return cells
    raise AssertionError(f"no row {label!r} on screen")


async def test_unreachable_schedd_is_shown_and_recovers(
    app: XenonConsole, transport: TextTransport
) -> None:
    async with app.run_test(size=(160, 50)) as pilot:
        jobs = app.pane(Kind.JOBS)
        await wait_for(pilot, lambda: jobs.snapshot is not None, "jobs.snapshot is not None")
        await pilot.pause()
        text = screen_text(app)
        assert (f"✗ schedd unreachable: {SECOND} RuntimeError: Failed to connect") in text
        assert "(no data yet)" in text
        # The pane itself is live: the other schedd's 770 held jobs are there.
        assert not jobs.has_class("-stale") and "STALE" not in text
        assert "Held   273 Error from <slot>: Job has gone over memory limit" in text
        #              Site    Idle Run   Held   Xfer Done   Retried
        assert _row(text, SCHEDD)[:7] == [SCHEDD, "0", "27", "770", "0", "487", "29"]
        assert _row(text, SECOND)[:7] == [SECOND, "0", "0", "0", "0", "0", "0"]

        del transport.fail[SECOND]
        await wait_for(pilot, lambda: jobs.snapshot is not None and not jobs.snapshot.schedd_errors)  # type: ignore[union-attr]
        await pilot.pause()
        text = screen_text(app)
        assert "schedd unreachable" not in text
        assert _row(text, SCHEDD)[:7] == [SCHEDD, "0", "27", "770", "0", "487", "29"]
        # The nominal simulator's 46 running and 743 completed jobs.
        assert _row(text, SECOND)[:6] == [SECOND, "0", "46", "0", "0", "743"]

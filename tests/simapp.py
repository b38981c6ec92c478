"""Build the console on a seeded, frozen simulator, and wait until it settles."""

from __future__ import annotations

from backends.model import Kind
from console.app import XenonConsole
from console.config import load_config
from console.fetching import Backends


def simulator_app(
    scenario: str = "nominal", *, runs: int | None = None, seed: int = 1
) -> XenonConsole:
    """A console whose clock is frozen, so ages read '0 s' in snapshots."""
    config = load_config(None, scenario=scenario, seed=seed, speed=0, runs=runs)
    return XenonConsole(config, Backends(config), clock=lambda: 0.0)


def settled(app: XenonConsole) -> bool:
    """Every pane has data, every first poll's alarms are in, and their diagnosis."""
    return app.settled and all(app.pane(k).snapshot is not None for k in Kind) and app.diagnosed


async def wait_settled(pilot, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    waited = 0.0
    while not settled(pilot.app):
        await pilot.pause(0.02)
        waited += 0.02
        if waited > timeout:
            raise AssertionError("the console did not settle")
    await pilot.pause()

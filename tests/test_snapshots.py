"""SVG snapshots of the screens at 80x24 and 120x40 on the seeded simulator.

The console's clock is frozen (ages read 0 s) and the simulator is frozen
(speed 0), so a snapshot changes only when what the screen shows changes.
Update after a deliberate change with `pytest --snapshot-update`.
"""

from __future__ import annotations

import pytest

from tests.simapp import simulator_app, wait_settled

SMALL = (80, 24)
MEDIUM = (120, 40)
LARGE = (160, 50)


def settle_then(*keys: str):  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await wait_settled(pilot)
        if keys:
            await pilot.press(*keys)
        await pilot.pause()

    return run_before


#: Each scenario and the pane that shows it best (the one shown at 80x24).
SCENARIOS = {
    "nominal": "5",
    "uplink-down": "1",
    "rse-outage": "2",
    "tape-checksum": "3",
    "held-jobs": "4",
    "buffer-full": "1",
}


@pytest.mark.parametrize("size", [SMALL, MEDIUM], ids=["80x24", "120x40"])
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_every_scenario(snap_compare, scenario: str, size: tuple[int, int]) -> None:
    """Every scenario at both sizes a shift uses: a cut column or a lost figure
    shows up as a diff."""
    assert snap_compare(
        simulator_app(scenario), terminal_size=size, run_before=settle_then(SCENARIOS[scenario])
    )


def test_help_small(snap_compare) -> None:
    assert snap_compare(
        simulator_app(), terminal_size=SMALL, run_before=settle_then("question_mark")
    )


def test_run_details_large(snap_compare) -> None:
    assert snap_compare(
        simulator_app("tape-checksum"),
        terminal_size=LARGE,
        run_before=settle_then("5", "down", "down", "enter"),
    )


def test_replay_small(snap_compare, tmp_path) -> None:
    """A recording of the tape-checksum scenario, replayed, stepped once."""
    from console.app import XenonConsole
    from console.config import load_config
    from console.recording import read_recording
    from console.replay import ReplayDriver
    from tests.test_replay import write_session

    path = tmp_path / "s.rec"
    write_session(path, polls=3)
    driver = ReplayDriver(read_recording(path), paused=True)
    app = XenonConsole(load_config(None), None, replay=driver)

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await pilot.pause(0.3)
        await pilot.press("n", "3")
        await pilot.pause(0.3)
        for _ in range(250):  # the strip names the causes once diagnosed (a thread)
            if app.diagnosed:
                break
            await pilot.pause(0.02)
        await pilot.pause()

    assert snap_compare(app, terminal_size=SMALL, run_before=run_before)

"""The console on a real runs database that goes away mid-session and comes back.

The runs and tape panes read a secantusd on loopback (filled by the export
writer); the other panes read the controllable fake backend, to show they
carry on while the database is down. Driven with Textual's Pilot.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from backends.model import Kind, TapeState
from backends.mongo.export import export_simulated_runs
from backends.registry import create_backend
from backends.simulator import SimulatorBackend
from backends.sources import Backend
from console.app import XenonConsole
from console.config import load_config
from console.fetching import Backends
from console.screens.run_details import RunDetailsScreen
from tests.fakes import FakeBackend
from tests.mongo.server import SecantusServer, free_port
from tests.screen import screen_text, wait_for

PASSWORD = "s3cr3t-Pw0rd"


def console(
    tmp_path: Path, uri: str, fake: FakeBackend, database: str = "run", interval: float = 0.2
) -> XenonConsole:
    path = tmp_path / "config.toml"
    path.write_text(f"""
[panes]
buffer = "fake"
transfers = "fake"
jobs = "fake"
tape = "mongo"
runs = "mongo"

[backends.fake]
type = "fake"

[backends.mongo]
type = "mongo"
uri = "{uri}"
database = "{database}"
server_selection_timeout = 0.5
connect_timeout = 0.5
socket_timeout = 5

[intervals]
buffer = 0.2
transfers = 0.2
jobs = 0.2
tape = {interval}
runs = {interval}

[timeouts]
tape = 20
runs = 20

[ui]
bell_on_critical = false
""")
    config = load_config(path)

    def factory(type_name: str, options: Mapping[str, Any]) -> Backend:
        return fake if type_name == "fake" else create_backend(type_name, options)

    return XenonConsole(config, Backends(config, factory=factory))


async def test_losing_the_database_makes_runs_and_tape_stale_and_they_recover(
    tmp_path: Path, own_server: SecantusServer
) -> None:
    assert export_simulated_runs(own_server.uri) == 720
    fake = FakeBackend()
    app = console(tmp_path, f"{own_server.uri}run", fake)
    async with app.run_test(size=(160, 50)) as pilot:
        runs, tape, buffer = (app.pane(k) for k in (Kind.RUNS, Kind.TAPE, Kind.BUFFER))
        await wait_for(
            pilot, lambda: all(app.pane(k).snapshot is not None for k in Kind), timeout=30
        )
        await pilot.pause()
        assert "720 of 720 runs" in screen_text(app)
        assert runs.error is None and tape.error is None

        own_server.stop()
        await wait_for(
            pilot,
            lambda: runs.error is not None and tape.error is not None,
            "runs.error is not None and tape.error is not None",
            timeout=30,
        )
        calls = fake.calls[Kind.BUFFER]
        await pilot.pause(1.2)  # past a status tick: the age is on screen
        text = screen_text(app)
        for pane in (runs, tape):
            assert pane.has_class("-stale")
            assert pane.snapshot is not None  # the last good data stays
            # A poll under way when the server went says it lost the connection,
            # a later one that it cannot reach it: both are true.
            assert pane.error is not None and re.match(
                r"SourceError: (cannot reach|lost the connection to) the runs database at "
                r"127\.0\.0\.1:",
                pane.error,
            ), pane.error
        assert len(re.findall(r"STALE \d+ ?s", text)) == 2, text
        assert re.search(r"(cannot reach|lost the connection to) the runs database", text)
        assert "720 of 720 runs" in text  # still shown
        assert fake.calls[Kind.BUFFER] > calls  # the other panes go on
        assert not buffer.has_class("-stale")

        own_server.start()  # same port, same data
        await wait_for(
            pilot,
            lambda: runs.error is None and tape.error is None,
            "runs.error is None and tape.error is None",
            timeout=60,
        )
        await pilot.pause(1.2)
        assert not runs.has_class("-stale") and not tape.has_class("-stale")
        text = screen_text(app)
        assert "STALE" not in text
        assert "720 of 720 runs" in text


async def test_no_password_reaches_the_screen(tmp_path: Path) -> None:
    fake = FakeBackend()
    app = console(tmp_path, f"mongodb://xe1t:{PASSWORD}@127.0.0.1:{free_port()}/run", fake)
    async with app.run_test(size=(160, 50)) as pilot:
        runs = app.pane(Kind.RUNS)
        await wait_for(
            pilot,
            lambda: runs.error is not None and app.pane(Kind.TAPE).error is not None,
            timeout=30,
        )
        await pilot.pause(1.2)
        text = screen_text(app)
        assert "cannot reach the runs database" in text
        assert PASSWORD not in text
        assert PASSWORD not in (runs.error or "")


async def test_drill_down_asks_the_runs_database(
    tmp_path: Path, server_uri: str, db_name: str
) -> None:
    assert export_simulated_runs(server_uri, database=db_name, scenario="tape-checksum") == 720
    sim_failed = next(
        u.run_number
        for u in SimulatorBackend({"scenario": "tape-checksum", "speed": 0}).fetch_tape().uploads
        if u.state is TapeState.FAILED
    )
    app = console(tmp_path, server_uri, FakeBackend(), database=db_name, interval=30)
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_for(
            pilot,
            lambda: app.pane(Kind.RUNS).snapshot is not None,
            "app.pane(Kind.RUNS).snapshot is not None",
            timeout=30,
        )
        await pilot.press("colon", *str(sim_failed), "enter")
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, RunDetailsScreen) and "mongo: answered" in screen_text(app)
            ),
            timeout=30,
        )
        await pilot.pause()
        text = screen_text(app)
        assert f"Run {sim_failed}" in text
        assert "NOT SAFE" in text
        assert "checksum mismatch after the restore test" in text  # the tape row from mongo

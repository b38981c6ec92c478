"""The app against a backend the test controls: numbers on screen, failures, hangs.

Driven with Textual's Pilot; what is asserted is what the terminal shows.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from backends.model import Kind
from console.app import XenonConsole
from console.config import load_config
from console.fetching import Backends
from console.panes.runs import RunsPane
from console.polling import MAX_ABANDONED
from console.screens.run_details import RunDetailsScreen
from console.widgets.virtual_table import VirtualTable
from tests.fakes import FakeBackend
from tests.screen import screen_text, wait_for

CONFIG = """
[panes]
buffer = "fake"
transfers = "fake"
tape = "fake"
jobs = "fake"
runs = "fake"

[backends.fake]
type = "fake"

[intervals]
buffer = 0.2
transfers = 0.2
tape = 0.2
jobs = 0.2
runs = 0.2

[timeouts]
buffer = 0.5
transfers = 0.5
tape = 0.5
jobs = 0.5
runs = 0.5

[ui]
bell_on_critical = false
"""


@pytest.fixture
def fake() -> FakeBackend:
    return FakeBackend()


@pytest.fixture
def app(tmp_path: Path, fake: FakeBackend) -> XenonConsole:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    config = load_config(path)
    sources = Backends(config, factory=lambda _type, _options: fake)
    return XenonConsole(config, sources)


def populated(app: XenonConsole) -> bool:
    return all(app.pane(kind).snapshot is not None for kind in Kind)


async def test_every_pane_shows_the_backend_numbers(app: XenonConsole) -> None:
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_for(pilot, lambda: populated(app), "populated(app)")
        await pilot.pause()
        text = screen_text(app)
        assert "42.0%" in text  # buffer fill of the fake
        assert "21.0 TB" in text  # used bytes
        assert "CNAF_USERDISK" in text
        assert "1 stuck rule " in text
        assert "Connection timed out" in text
        assert "ANS1228E" in text  # the failed tape upload
        assert "Job has gone over memory limit" in text
        assert "10 of 10 runs" in text
        assert app.query_one(RunsPane).query_one(VirtualTable).row_count == 10
        # newest first
        assert text.index("1009") < text.index("1008")


async def test_hostile_backend_text_is_shown_literally(app: XenonConsole, fake) -> None:
    fake.hostile = True
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_for(pilot, lambda: populated(app), "populated(app)")
        await pilot.pause()
        text = screen_text(app)
        assert "[bold red]INJECTED[/]" in text  # markup not interpreted
        assert "\x1b" not in text and "\x07" not in text


async def test_a_failing_source_is_stale_with_its_error_and_the_rest_goes_on(
    app: XenonConsole, fake: FakeBackend
) -> None:
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_for(pilot, lambda: populated(app), "populated(app)")
        fake.fail[Kind.TAPE] = RuntimeError("tsm down, uri mongodb://xe:hunter2@db/run")
        await wait_for(
            pilot,
            lambda: app.pane(Kind.TAPE).error is not None,
            "app.pane(Kind.TAPE).error is not None",
        )
        await pilot.pause()
        tape = app.pane(Kind.TAPE)
        assert tape.has_class("-stale")
        assert tape.snapshot is not None  # the last good data stays
        text = screen_text(app)
        assert "STALE" in text
        assert "tsm down" in text
        assert "hunter2" not in text
        buffer_calls = fake.calls[Kind.BUFFER]
        await pilot.pause(0.5)
        assert fake.calls[Kind.BUFFER] > buffer_calls  # others keep polling
        assert not app.pane(Kind.BUFFER).has_class("-stale")
        # recovery by itself
        del fake.fail[Kind.TAPE]
        await wait_for(
            pilot, lambda: app.pane(Kind.TAPE).error is None, "app.pane(Kind.TAPE).error is None"
        )
        assert not app.pane(Kind.TAPE).has_class("-stale")


async def test_a_hanging_source_blocks_nothing_and_is_reported(
    app: XenonConsole, fake: FakeBackend
) -> None:
    gate = threading.Event()
    fake.hang[Kind.JOBS] = gate
    try:
        async with app.run_test(size=(160, 50)) as pilot:
            await wait_for(
                pilot, lambda: all(app.pane(k).snapshot is not None for k in Kind if k != Kind.JOBS)
            )
            await pilot.pause(1.2)  # past the 0.5 s timeout, and the 1 s status tick
            jobs = app.pane(Kind.JOBS)
            assert jobs.snapshot is None
            assert "no answer" in screen_text(app)
            # Given up on at the timeout, polled afresh, but never more than
            # MAX_ABANDONED hung fetches at once, however long it hangs.
            await pilot.pause(3)
            assert 2 <= fake.calls[Kind.JOBS] <= MAX_ABANDONED + 1
            assert "asked again" in screen_text(app) or "still hang" in screen_text(app)
            await pilot.press("2")  # the UI still answers keys
            assert app.active_kind is Kind.TRANSFERS
            gate.set()
            await wait_for(pilot, lambda: jobs.snapshot is not None, "jobs.snapshot is not None")
    finally:
        gate.set()


async def test_keys_move_between_panes_at_80x24(app: XenonConsole) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: populated(app), "populated(app)")
        assert app.screen.has_class("-narrow")
        await pilot.press("1")
        assert app.active_kind is Kind.BUFFER
        assert "42.0%" in screen_text(app)
        await pilot.press("tab")
        assert app.active_kind is Kind.TRANSFERS
        await pilot.press("3")
        assert "ANS1228E" in screen_text(app)
        await pilot.press("shift+tab")
        assert app.active_kind is Kind.TRANSFERS
        visible = [k for k in Kind if app.pane(k).region.height > 0]
        assert visible == [Kind.TRANSFERS]


async def test_filter_and_details_of_a_run(app: XenonConsole) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: populated(app), "populated(app)")
        await pilot.press("5", "slash")
        await pilot.press(*"1005")
        table = app.query_one(RunsPane).query_one(VirtualTable)
        await wait_for(pilot, lambda: table.row_count == 1)  # filtered in a worker
        await pilot.press("enter", "enter")  # leave the filter box, then open the run
        await pilot.pause()
        assert isinstance(app.screen, RunDetailsScreen)
        assert app.screen.run_number == 1005
        text = screen_text(app)
        assert "Run 1005" in text
        # odd runs lack the UC_OSG_USERDISK copy, but are hours old: on their way
        assert "not safe yet" in text and "missing UC_OSG_USERDISK" in text
        assert "rucio rule add" not in text
        await pilot.press("escape")
        await pilot.press("escape")  # clears the filter
        assert table.row_count == 10


async def test_goto_run_and_unsafe_runs_in_the_table(app: XenonConsole) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: populated(app), "populated(app)")
        await pilot.press("colon", *"1003", "enter")
        await pilot.pause()
        assert isinstance(app.screen, RunDetailsScreen)  # `:` opens the drill-down
        assert "Run 1003" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        table = app.runs_pane.query_one(VirtualTable)
        assert app.runs_pane.run_at(table.cursor_row).number == 1003
        text = screen_text(app)
        assert "wait: UC" in text  # unsafe, but younger than 48 h


async def test_help_and_quit(app: XenonConsole) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        assert "zoom the current pane" in screen_text(app)
        await pilot.press("escape")
        await pilot.press("q")
    assert app.return_code == 0


def test_panes_have_distinct_numbers() -> None:
    from console.specs import pane_specs

    assert [spec.number for spec in pane_specs()] == [1, 2, 3, 4, 5]
    assert len({spec.load_pane() for spec in pane_specs()}) == 5


def test_a_console_that_crashed_exits_non_zero(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Textual prints the traceback of a crash and run() returns None: the
    console exited 0 after it, as if the shifter had quit."""
    from console import app as app_module
    from console.config import load_config

    def crashed(self):  # type: ignore[no-untyped-def]
        self._return_code = 1  # what Textual sets on an unhandled exception
        return None

    monkeypatch.setattr(app_module.XenonConsole, "run", crashed)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert app_module.run_app(load_config(None, speed=0)) == 1


async def test_the_cursor_stays_on_its_run_when_new_runs_come(
    app: XenonConsole, fake: FakeBackend
) -> None:
    """A new run at the top and the oldest gone (the window of runs moves):
    the cursor stayed on its row and the next run slid under it, the detail
    line and Enter then about a run the shifter had not picked. On the
    newest (the top), it follows the newest."""
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_for(pilot, lambda: populated(app), "populated(app)")
        pane = app.query_one(RunsPane)
        table = pane.query_one(VirtualTable)
        detail = pane.query_one(".row-detail")
        table.focus()
        await pilot.press("down", "down", "down")
        await pilot.pause()
        assert pane.run_at(table.cursor_row).number == 1006
        fake.shift = 2
        await wait_for(pilot, lambda: pane.run_at(0).number == 1011, "two new runs")
        assert pane.run_at(table.cursor_row).number == 1006 and table.cursor_row == 5
        assert str(detail.render()).startswith("1006 ")
        await pilot.press("home")
        await pilot.pause()
        fake.shift = 3
        await wait_for(pilot, lambda: pane.run_at(0).number == 1012, "a new run")
        assert table.cursor_row == 0 and str(detail.render()).startswith("1012 ")

"""The console on the seeded simulator: the screen agrees with `report --json`.

Both read the same frozen simulator (seed 1, speed 0), so every figure the
TUI shows can be checked against the JSON report's figure for it.
"""

from __future__ import annotations

import json

import pytest

from backends.analysis.alarms import Severity
from backends.model import Kind
from console.cli import main
from console.fetching import Result
from console.panes.runs import RunsPane
from console.polling import Polled
from console.screens.run_details import RunDetailsScreen
from console.widgets.virtual_table import VirtualTable
from tests.screen import screen_lines, screen_text
from tests.simapp import simulator_app, wait_settled


def report_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    assert main(["report", "--json", "--speed", "0", "--seed", "1", *args]) == 0
    return json.loads(capsys.readouterr().out)


def line_with(lines: list[str], needle: str) -> str:
    found = [line for line in lines if needle in line]
    assert found, f"{needle!r} not on screen"
    return found[0]


@pytest.mark.parametrize(
    ("scenario", "expected"),
    [
        ("uplink-down", "uplink from LNGS down"),
        ("rse-outage", "NIKHEF_USERDISK unavailable"),
        ("tape-checksum", "failed checksum"),
        ("held-jobs", "held jobs"),
        ("buffer-full", "buffer 96.4 % full"),
    ],
)
async def test_each_scenario_raises_its_alarm_on_screen(
    scenario: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    report = report_json(capsys, "--scenario", scenario)
    titles = [a["title"] for a in report["alarms"]]
    assert any(expected in t for t in titles), titles
    app = simulator_app(scenario)
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_settled(pilot)
        shown = [a.title for a in app.alarms if a.severity is not Severity.OK]
        assert shown == titles  # the TUI and the report agree on every alarm
        strip = "\n".join(screen_lines(app)[1:3])
        worst = report["alarms"][0]
        assert worst["severity"] in strip
        # ... and on the diagnosis: the strip names the cause, its alarms folded.
        diagnosis = report["diagnosis"]
        assert [c.cause for c in app.causes] == [c["cause"] for c in diagnosis]
        assert len(diagnosis) == 1
        assert f"◆ {diagnosis[0]['title']}"[:40] in strip
        explained = set(diagnosis[0]["explains"])
        for alarm in report["alarms"]:
            assert (alarm["title"] in strip) == (alarm["key"] not in explained)


async def test_scenario_effects_in_the_panes() -> None:
    app = simulator_app("rse-outage")
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_settled(pilot)
        text = screen_text(app)
        assert "NIKHEF_USERDISK ✗" in text
        assert "stuck rules · oldest:" in text
    app = simulator_app("uplink-down")
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_settled(pilot)
        assert "Uplink DOWN" in screen_text(app)
    app = simulator_app("held-jobs")
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_settled(pilot)
        text = screen_text(app)
        assert "Held   273 Error from <slot>: Job has gone over memory" in text


@pytest.mark.slow
async def test_full_history_jump_to_end_and_details() -> None:
    app = simulator_app(runs=26762)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_settled(pilot, timeout=30)
        pane = app.runs_pane
        table = pane.query_one(VirtualTable)
        assert table.row_count == 26762
        await pilot.press("5", "end")
        assert table.cursor_row == 26761
        oldest = pane.run_at(table.cursor_row)
        assert oldest.number == min(pane.run_at(0).number, oldest.number)
        assert str(oldest.number) in screen_text(app)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, RunDetailsScreen)
        assert f"Run {oldest.number}" in screen_text(app)
        await pilot.press("escape", "home")
        assert table.cursor_row == 0


async def test_filter_finds_unsafe_runs() -> None:
    app = simulator_app("tape-checksum")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_settled(pilot)
        pane: RunsPane = app.runs_pane
        await pilot.press("5", "slash", *"unsafe")
        table = pane.query_one(VirtualTable)
        while pane.busy or table.row_count == 720:  # filtered in a worker thread
            await pilot.pause(0.05)
        assert 0 < table.row_count < 720
        for index in range(table.row_count):
            assert (
                pane.row_for(pane.run_at(index)).cells[4].plain.startswith(("MISS", "wait", "FAIL"))
            )
        snapshot = app.pane(Kind.RUNS).snapshot
        from backends.analysis.safety import data_safety

        unsafe = sum(1 for run in snapshot.runs if not data_safety(run).safe)
        assert table.row_count == unsafe


def type_fast(app, text: str) -> None:  # type: ignore[no-untyped-def]
    """Queue every key at once, as a quick typist's terminal delivers them
    (``pilot.press`` waits for each key to be handled before the next)."""
    from textual import events

    names = {"/": "slash", ":": "colon"}
    for char in text:
        app.post_message(events.Key(names.get(char, char), char))


async def test_keys_typed_fast_after_slash_go_to_the_filter() -> None:
    """The letters of `/unsafe` typed quickly reached the app's bindings: `a`
    opened the alarms screen and the filter stayed empty."""
    from textual.widgets import Input

    from console.screens.alarms import AlarmsScreen

    app = simulator_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_settled(pilot)
        await pilot.press("5")
        type_fast(app, "/unsafe")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, AlarmsScreen)
        assert app.runs_pane.query_one(".pane-filter", Input).value == "unsafe"
        assert app.runs_pane.filter_text == "unsafe"
        # And `/` inside the box is a character, not a new filter.
        type_fast(app, "/x")
        await pilot.pause(0.1)
        assert app.runs_pane.filter_text == "unsafe/x"


async def test_a_pane_number_typed_fast_then_slash_keeps_the_letters() -> None:
    """`5/unsafe` in one burst (a browser's keys through `serve` arrive so):
    the `5` waited its turn behind the focused pane, `/` and the letters
    reached the old pane, and the filter stayed empty. Digits typed in the
    box are still characters."""
    from textual.widgets import Input

    app = simulator_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_settled(pilot)
        type_fast(app, "5/unsafe")
        await pilot.pause(0.3)
        assert app.active_kind is Kind.RUNS
        assert app.runs_pane.query_one(".pane-filter", Input).value == "unsafe"
        type_fast(app, " 149")
        await pilot.pause(0.2)
        assert app.runs_pane.filter_text == "unsafe 149"
        assert app.active_kind is Kind.RUNS


async def test_enter_and_sort_do_not_wait_the_typing_pause(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Enter in the filter box and `s` scan at once: the pause is for typing.
    (With a pause of a minute, only a scan that does not wait can be done.)"""
    import console.panes.runs as runs_module

    monkeypatch.setattr(runs_module, "FILTER_DEBOUNCE", 60.0)
    app = simulator_app("tape-checksum")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_settled(pilot)
        pane: RunsPane = app.runs_pane
        table = pane.query_one(VirtualTable)
        await pilot.press("5")
        type_fast(app, "/unsafe")
        await pilot.pause(0.3)
        assert table.row_count == 720  # typed, not yet applied
        await pilot.press("enter")
        for _ in range(100):
            if not pane.busy and table.row_count < 720:
                break
            await pilot.pause(0.05)
        unsafe = table.row_count
        assert 0 < unsafe < 720
        await pilot.press("s")
        for _ in range(100):
            if not pane.busy and pane.sort_column == 0:
                break
            await pilot.pause(0.05)
        assert not pane.busy
        numbers = [pane.run_at(i).number for i in range(table.row_count)]
        assert numbers == sorted(numbers) and len(numbers) == unsafe


async def test_run_number_typed_fast_after_colon_goes_to_the_box() -> None:
    """Digits after `:` are the run number, not pane keys."""
    from console.screens.run_details import GoToRunScreen

    app = simulator_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_settled(pilot)
        newest = app.runs_pane.snapshot.runs[-1].number
        type_fast(app, f":{newest}")
        await pilot.pause(0.2)
        assert isinstance(app.screen, GoToRunScreen)
        assert app.active_kind is Kind.BUFFER  # no digit reached the pane keys
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert isinstance(app.screen, RunDetailsScreen)
        assert f"Run {newest}" in screen_text(app)


async def test_filter_the_dag_and_tape_tables() -> None:
    app = simulator_app("tape-checksum")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_settled(pilot)
        from textual.widgets import DataTable

        tape = app.pane(Kind.TAPE).query_one("#tape-table", DataTable)
        failed = tape.row_count
        assert failed >= 23
        await pilot.press("3", "slash", *"14997")
        assert tape.row_count == 1
        await pilot.press("escape")
        assert tape.row_count == failed
        dags = app.pane(Kind.JOBS).query_one("#dag-table", DataTable)
        all_dags = dags.row_count
        await pilot.press("4", "slash", *"100%")
        assert 0 < dags.row_count < all_dags
        await pilot.press("enter")  # keeps the filter, back to the table
        assert dags.row_count < all_dags
        await pilot.press("1", "slash")  # the buffer pane has no table to filter
        assert app.active_kind is Kind.BUFFER


async def test_sort_the_runs_and_the_rse_table() -> None:
    app = simulator_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_settled(pilot)
        pane: RunsPane = app.runs_pane
        await pilot.press("5")
        # s cycles the sort column: Run, Source, SR, Start, Safety, Processing,
        # Copies, Events, Size. Eight presses: by size; S reverses it.
        await pilot.press(*"s" * 9, "S")
        while pane.busy or not pane.ordered:
            await pilot.pause(0.05)
        sizes = [pane.run_at(i).raw_size_bytes for i in range(50)]
        assert sizes == sorted(sizes, reverse=True)
        biggest = max(r.raw_size_bytes for r in app.pane(Kind.RUNS).snapshot.runs)
        assert sizes[0] == biggest
        assert "sorted by Size ↓" in screen_text(app)
        await pilot.press("2", "s", "s")  # transfers: by Used
        from textual.widgets import DataTable

        table = app.pane(Kind.TRANSFERS).query_one("#rse-table", DataTable)
        names = [key.value for key in table.rows]
        assert names[0] == "LNGS_USERDISK" and names[-1] == "UC_OSG_USERDISK"  # 3.2 TB .. 200.6 TB


async def test_a_run_that_changed_is_highlighted_for_one_refresh() -> None:
    from console.widgets.tables import CHANGED_STYLE

    app = simulator_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_settled(pilot)
        pane = app.runs_pane
        sim = app.sources.for_kind(Kind.RUNS)
        before = app.pane(Kind.RUNS).snapshot
        sim.advance(1800)  # half an hour: the newest runs move on
        after = sim.fetch_runs()
        app.apply_event(Polled(Result(Kind.RUNS, "simulator", after, None, 0.0), 0.0))
        changed = [
            i
            for i in range(5)
            if any(CHANGED_STYLE in str(s.style) for c in pane.render_row(i) for s in c.spans)
        ]
        old_newest = {r.number: r for r in before.runs[-5:]}
        expect = [
            i
            for i in range(5)
            if pane.run_at(i).number in old_newest
            and pane.run_at(i) != old_newest[pane.run_at(i).number]
        ]
        assert changed == expect and expect  # exactly the runs that changed
        # The next refresh, no change.
        app.apply_event(Polled(Result(Kind.RUNS, "simulator", after, None, 0.0), 0.0))
        assert not any(
            CHANGED_STYLE in str(s.style)
            for i in range(5)
            for c in pane.render_row(i)
            for s in c.spans
        )


async def test_zoom_keeps_the_alarms_strip_and_jobs_focus_the_dags() -> None:
    app = simulator_app("held-jobs")
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_settled(pilot)
        await pilot.press("4")
        assert app.focused is not None and app.focused.id == "dag-table"
        await pilot.press("z")
        await pilot.pause()
        assert app.screen.has_class("-zoomed")
        assert app.query_one("#alarms").region.height == 2  # still in view
        assert [k for k in Kind if app.pane(k).region.height > 0] == [Kind.JOBS]
        assert app.pane(Kind.JOBS).region.height > 40
        await pilot.press("enter")  # Enter on the first DAG opens its run
        await pilot.pause()
        from console.screens.run_details import RunDetailsScreen

        assert isinstance(app.screen, RunDetailsScreen)
        await pilot.press("escape", "z")
        await pilot.pause()
        assert not app.screen.has_class("-zoomed")
        assert all(app.pane(k).region.height > 0 for k in Kind)


async def test_a_waiting_run_turns_to_missing_when_overdue_without_changing() -> None:
    from dataclasses import replace as dc_replace
    from datetime import timedelta

    app = simulator_app("uplink-down")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_settled(pilot)
        pane = app.runs_pane
        snap = app.pane(Kind.RUNS).snapshot
        newest = pane.run_at(3)
        assert pane.row_for(newest).cells[4].plain.startswith("wait:")
        # the same Run objects, five days later: nothing arrived
        later = dc_replace(snap, taken_at=snap.taken_at + timedelta(days=5))
        app.apply_event(Polled(Result(Kind.RUNS, "simulator", later, None, 0.0), 0.0))
        assert pane.run_at(3) is newest
        assert pane.row_for(newest).cells[4].plain.startswith("MISS:")


async def test_a_failing_diagnosis_leaves_every_alarm_on_the_strip(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import console.app

    def broken(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise ValueError("a rule tripped over garbage")

    monkeypatch.setattr(console.app, "diagnose", broken)
    app = simulator_app("rse-outage")
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_settled(pilot)
        assert app.causes == []
        strip = screen_lines(app)[1]
        assert "7 rules stuck at NIKHEF_USERDISK │ NIKHEF_USERDISK unavailable" in strip
        assert "◆" not in strip


async def test_a_burst_of_polls_is_one_frame_and_a_key_draws_at_once() -> None:
    """Polls that come back together (tape, transfers, jobs, buffer) are
    drawn in one frame, not one each; a key ends the wait at once; a
    pane's first data are never held (CI: a browser read the five panes
    while the runs' first rows waited in a hold)."""
    from console.app import FRAME_HOLD, PollEvent

    app = simulator_app()
    assert app.frame_hold == FRAME_HOLD > 0
    app._hold_frames(Kind.BUFFER)  # no data yet: the first screen is not kept waiting
    assert app._frames_held is None
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_settled(pilot)
        assert app.frame_hold == 0  # headless: drawn as it comes
        frames = 0
        screen = app.screen
        draw = screen._compositor_refresh

        def counted() -> None:
            nonlocal frames
            frames += 1
            draw()

        screen._compositor_refresh = counted  # type: ignore[method-assign]
        app.frame_hold = 60.0  # long enough that only the key below can end it
        sim = app.sources.for_kind(Kind.BUFFER)
        sim.advance(3600)
        fetchers = {
            Kind.TAPE: sim.fetch_tape,
            Kind.TRANSFERS: sim.fetch_transfers,
            Kind.JOBS: sim.fetch_jobs,
            Kind.BUFFER: sim.fetch_buffer,
        }
        snapshots = {kind: fetch() for kind, fetch in fetchers.items()}
        for kind, snapshot in snapshots.items():
            app.post_message(PollEvent(Polled(Result(kind, "simulator", snapshot, None, 0.0), 0.0)))
            await pilot.pause(0.05)  # apart, as polls come back
        assert frames == 0  # held: nothing drawn yet
        assert app._frames_held is not None
        assert app.pane(Kind.BUFFER).snapshot is snapshots[Kind.BUFFER]  # the state is current
        await pilot.press("f12")  # any key: answered, and the held changes drawn with it
        assert app._frames_held is None
        assert frames >= 1
        # A pane's first data end a hold that other panes' polls began.
        app.post_message(
            PollEvent(Polled(Result(Kind.JOBS, "simulator", sim.fetch_jobs(), None, 0.0), 0.0))
        )
        await pilot.pause(0.05)
        assert app._frames_held is not None
        app.states[Kind.TAPE].reset()  # as if tape had not answered yet
        app.post_message(
            PollEvent(Polled(Result(Kind.TAPE, "simulator", sim.fetch_tape(), None, 0.0), 0.0))
        )
        await pilot.pause(0.05)
        assert app._frames_held is None
        # A short hold ends by itself, with one frame for its burst.
        app.frame_hold = 0.2
        sim.advance(3600)
        before = frames
        for kind, fetch in fetchers.items():
            app.post_message(PollEvent(Polled(Result(kind, "simulator", fetch(), None, 0.0), 0.0)))
        for _ in range(200):
            await pilot.pause(0.02)
            if app._frames_held is None and frames > before:
                break
        assert app._frames_held is None and frames > before
        app.frame_hold = 0.001
        app.post_message(
            PollEvent(Polled(Result(Kind.TAPE, "simulator", sim.fetch_tape(), None, 0.0), 0.0))
        )
        app.exit()
    # A hold that ends once the console has left (no screen any more): no error.
    batches = app._batch_count  # (Textual's own, left at its exit)
    app._begin_batch()
    app._frames_held = app.set_timer(60, lambda: None)
    app._release_frames()
    assert app._frames_held is None and app._batch_count == batches

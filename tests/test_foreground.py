"""The screen's turn: long work waits while the screen answers a key."""

from __future__ import annotations

import threading
import time

from backends.foreground import MAX_WAIT, MIN_WORK, Foreground
from console.widgets.virtual_table import VirtualTable
from tests.simapp import simulator_app, wait_settled


def test_offer_does_not_wait_when_the_screen_is_free() -> None:
    gate = Foreground()
    gate.offer()
    assert gate.waits == 0 and not gate.is_busy


def test_offer_waits_until_the_screen_has_answered() -> None:
    gate = Foreground()
    gate.busy()
    assert gate.is_busy
    order: list[str] = []
    worker = threading.Thread(target=lambda: (gate.offer(), order.append("work")))
    worker.start()
    while not gate.waits:  # the worker is waiting for the screen
        time.sleep(0.001)
    order.append("screen")
    gate.done()
    worker.join(timeout=5)
    assert order == ["screen", "work"] and not gate.is_busy


def test_after_a_wait_the_work_runs_before_it_waits_again() -> None:
    """Keys held down: the work waits for one, then runs MIN_WORK."""
    gate = Foreground()
    gate.busy()
    threading.Timer(0.01, gate.done).start()
    gate.offer()  # waited for the screen
    assert gate.waits == 1
    gate.busy()  # the next key, at once
    gate.offer()
    assert gate.waits == 1  # ran on: it had not worked MIN_WORK since
    time.sleep(MIN_WORK)
    threading.Timer(0.01, gate.done).start()
    gate.offer()
    assert gate.waits == 2


def test_offer_never_waits_past_max_wait() -> None:
    gate = Foreground()
    gate.busy(now=time.monotonic() - MAX_WAIT)  # a key whose answer drew nothing
    assert not gate.is_busy
    gate.offer()
    assert gate.waits == 0


async def test_a_key_makes_the_screen_busy_until_it_is_drawn(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from console import app as app_module

    gate = Foreground()
    monkeypatch.setattr(app_module, "FOREGROUND", gate)
    app = simulator_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_settled(pilot)
        keys: list[bool] = []
        busy = gate.busy
        monkeypatch.setattr(gate, "busy", lambda now=None: (keys.append(True), busy(now)))
        await pilot.press("5", "down")
        # Each key once: not again when the screen did not take it and it
        # bubbled back up to the app, answered (the work then waited out
        # MAX_WAIT at every key, and keys held down starved it).
        assert len(keys) == 2
        await pilot.pause()
        assert not gate.is_busy  # drawn: the work goes on


async def test_the_detail_line_follows_the_cursor_in_the_same_step() -> None:
    """Moving the cursor updates the detail line before the table repaints
    (drawn in one frame): no message has to be handled first."""
    app = simulator_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_settled(pilot)
        await pilot.press("5")
        await pilot.pause()
        pane = app.runs_pane
        table = pane.query_one(VirtualTable)
        detail = pane.query_one(".row-detail")
        for row in (table.row_count - 1, 0, 5):
            table.move_cursor(row)  # no await: nothing processed in between
            number = pane.run_at(row).number
            assert str(detail.render()).startswith(f"{number} "), (row, str(detail.render()))

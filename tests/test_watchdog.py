"""The watchdog notices a terminal that went away."""

from __future__ import annotations

import os
import signal
import sys

from console.watchdog import TerminalWatch, watch_stdin


def test_a_closed_pty_is_a_gone_terminal() -> None:
    master, slave = os.openpty()
    try:
        watch = TerminalWatch(slave)
        assert watch.was_tty and not watch.terminal_gone()
        os.close(master)  # the SSH side hangs up
        assert watch.terminal_gone()
    finally:
        os.close(slave)


def test_sighup_means_gone_and_a_non_terminal_never_is(tmp_path) -> None:
    with open(tmp_path / "f", "w") as handle:
        watch = TerminalWatch(handle.fileno())
        assert not watch.was_tty and not watch.terminal_gone()
        watch.hung_up = True
        assert watch.terminal_gone()


def test_sighup_leaves_at_once_not_at_the_next_check() -> None:
    """The SSH-drop case: SIGHUP schedules the leaving from the handler,
    without waiting for the once-a-second check."""
    gone: list[str] = []
    scheduled: list[object] = []
    master, slave = os.openpty()
    stdin = sys.__stdin__
    before = signal.getsignal(signal.SIGHUP)
    try:
        sys.__stdin__ = os.fdopen(slave, "r", closefd=False)  # type: ignore[misc]
        ticks: list[object] = []
        assert watch_stdin(
            lambda seconds, check: ticks.append(check),
            lambda: gone.append("gone"),
            lambda callback: (scheduled.append(callback), callback()),
        )
        assert gone == [] and len(ticks) == 1  # a check once a second, not yet run
        os.kill(os.getpid(), signal.SIGHUP)
        assert gone == ["gone"] and len(scheduled) == 1
    finally:
        signal.signal(signal.SIGHUP, before)
        sys.__stdin__ = stdin  # type: ignore[misc]
        os.close(master)
        os.close(slave)


async def test_the_app_leaves_once_however_often_it_is_told() -> None:
    from tests.simapp import simulator_app

    app = simulator_app()
    calls: list[int] = []
    async with app.run_test() as pilot:
        app.exit = lambda *a, **k: calls.append(1)  # type: ignore[method-assign]
        import console.app as app_module

        left: list[float] = []
        original = app_module.leave_soon
        app_module.leave_soon = lambda seconds=2.0: left.append(seconds)  # type: ignore[assignment]
        try:
            app._terminal_gone()
            app._terminal_gone()  # the signal, then the once-a-second check
        finally:
            app_module.leave_soon = original
        assert calls == [1] and len(left) == 1
        await pilot.pause()


def test_a_sighup_after_the_event_loop_closed_is_harmless() -> None:
    watch = TerminalWatch(0)
    before = signal.getsignal(signal.SIGHUP)

    def closed() -> None:
        raise RuntimeError("Event loop is closed")

    try:
        watch.install_sighup(closed)
        os.kill(os.getpid(), signal.SIGHUP)
        assert watch.hung_up
    finally:
        signal.signal(signal.SIGHUP, before)


def test_a_served_sessions_pipes_closing_is_a_gone_terminal() -> None:
    """textual-serve gives a session's app pipes: when serve dies, their
    other ends close. (An app whose server died before it noted its parent
    went on as an orphan for ever.)"""
    stdin_read, stdin_write = os.pipe()
    stdout_read, stdout_write = os.pipe()
    try:
        watch = TerminalWatch(stdin_read, stdout_write)
        assert not watch.was_tty and not watch.terminal_gone()
        os.close(stdout_read)  # nobody reads the app's screen any more
        assert watch.terminal_gone()
        watch = TerminalWatch(stdin_read)
        assert not watch.terminal_gone()
        os.close(stdin_write)  # nobody will send it a key
        assert watch.terminal_gone()
    finally:
        for fd in (stdin_read, stdout_write):
            os.close(fd)

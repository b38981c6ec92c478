"""The watchdog notices a terminal that went away."""

from __future__ import annotations

import os

from console.watchdog import TerminalWatch


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

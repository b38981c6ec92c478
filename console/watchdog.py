"""Notice that the terminal is gone (an SSH session that dropped).

After a hang-up, Textual's input thread spins on end-of-file at 100 % CPU
(Textual issue 6690, fix not released), so a console used over SSH must
notice by itself and leave. Three signs, any one is enough: SIGHUP, the
parent process changed (we were orphaned), or the terminal answers I/O
errors (a pty whose other side closed).
"""

from __future__ import annotations

import contextlib
import os
import signal
import termios


class TerminalWatch:
    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.parent = os.getppid()
        self.was_tty = os.isatty(fd)
        self.hung_up = False

    def install_sighup(self) -> None:
        def on_hangup(_signum: int, _frame: object) -> None:
            self.hung_up = True

        with contextlib.suppress(ValueError, OSError):  # not the main thread
            signal.signal(signal.SIGHUP, on_hangup)

    def terminal_gone(self) -> bool:
        if self.hung_up or os.getppid() != self.parent:
            return True
        if not self.was_tty:
            return False  # nothing to lose: not started on a terminal
        try:
            termios.tcgetattr(self.fd)
        except (termios.error, OSError):
            return True
        return False

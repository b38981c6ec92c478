"""Notice that the terminal is gone (an SSH session that dropped).

After a hang-up, Textual's input thread spins on end-of-file at 100 % CPU
(Textual issue 6690, fix not released), so a console used over SSH must
notice by itself and leave. Four signs, any one is enough: SIGHUP, the
parent process changed (we were orphaned), the terminal answers I/O
errors (a pty whose other side closed), or, for a session of ``serve``
(textual-serve talks to the app through pipes), the other end of a pipe
on stdin or stdout closed: the server is gone, even one that died before
the app could note its parent. SIGHUP acts at once (``soon``
schedules the leaving on the event loop from the signal handler); the other
two are checked once a second.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import stat
import sys
import termios
import threading
from collections.abc import Callable


def _pipe_closed(fd: int, sign: int) -> bool:
    """``fd`` is a pipe whose other end is closed (``sign``: POLLHUP for a
    read end, POLLERR for a write end); False for anything not a pipe."""
    try:
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return False
        poller = select.poll()
        poller.register(fd, select.POLLIN if sign == select.POLLHUP else select.POLLOUT)
        return any(events & sign for _, events in poller.poll(0))
    except (OSError, ValueError):
        return False


class TerminalWatch:
    def __init__(self, fd: int, out: int | None = None) -> None:
        self.fd = fd
        #: stdout, when it is a pipe to watch too (a session of ``serve``).
        self.out = out
        self.parent = os.getppid()
        self.was_tty = os.isatty(fd)
        self.hung_up = False

    def install_sighup(self, then: Callable[[], object] | None = None) -> None:
        """Note SIGHUP, and call ``then`` (from the signal handler: it must
        only schedule work) when it comes."""

        def on_hangup(_signum: int, _frame: object) -> None:
            self.hung_up = True
            if then is not None:
                with contextlib.suppress(RuntimeError):  # the event loop is closed
                    then()

        with contextlib.suppress(ValueError, OSError):  # not the main thread
            signal.signal(signal.SIGHUP, on_hangup)

    def terminal_gone(self) -> bool:
        if self.hung_up or os.getppid() != self.parent:
            return True
        if not self.was_tty:
            # Pipes (textual-serve's): gone when the server's ends closed.
            if _pipe_closed(self.fd, select.POLLHUP):
                return True
            return self.out is not None and _pipe_closed(self.out, select.POLLERR)
        try:
            termios.tcgetattr(self.fd)
        except (termios.error, OSError):
            return True
        return False


def _fileno(stream: object) -> int | None:
    try:
        return stream.fileno()  # type: ignore[attr-defined]
    except (AttributeError, ValueError, OSError):
        return None


def watch_stdin(
    every: Callable[[float, Callable[[], None]], object],
    on_gone: Callable[[], None],
    soon: Callable[[Callable[[], None]], object] | None = None,
) -> bool:
    """Check the terminal on stdin once a second (``every``: the app's
    ``set_interval``) and call ``on_gone`` when it is gone (at once on
    SIGHUP when ``soon`` can schedule it: the event loop's
    ``call_soon_threadsafe``); False when there is no stdin to watch.
    ``on_gone`` may thus be called more than once."""
    try:
        watch = TerminalWatch(sys.__stdin__.fileno(), _fileno(sys.__stdout__))  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return False
    watch.install_sighup(None if soon is None else (lambda: soon(on_gone)))

    def check() -> None:
        if watch.terminal_gone():
            on_gone()

    every(1.0, check)
    return True


#: Seconds a console whose terminal is gone gets to leave cleanly (its
#: recording is closed first; a clean exit takes about 0.15 s).
LEAVE_WITHIN = 2.0


def leave_soon(seconds: float = LEAVE_WITHIN) -> None:
    """Leaving cleanly means writing to the terminal, which may block or fail
    once it is gone: end the process after ``seconds`` whatever happens."""
    deadline = threading.Timer(seconds, os._exit, args=(0,))
    deadline.daemon = True
    deadline.start()

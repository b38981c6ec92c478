"""The screen's turn: long work in a polling thread steps aside while the
screen's thread answers a key.

A first derivation of a long history (``analysis.run_index``) runs for
seconds in a polling thread, and CPython lets one thread run at a time:
while it runs, every step of the screen's answer to a key (reading the key,
the handler, the layout, the write) waits for the GIL, and a key took twice
as long to reach the screen as once the derivation was done. The console
says when a key came (``busy``) and when its answer has been written
(``done``); between the two, work that calls ``offer`` between its steps
waits, for at most ``MAX_WAIT`` (a key whose answer draws nothing must not
stall the work), instead of only offering the GIL, and then runs for at
least ``MIN_WORK`` before it waits again (keys held down must not starve
it). Plain threading: no
backend imports the screen, the screen only calls in.
"""

from __future__ import annotations

import threading
import time

__all__ = ["FOREGROUND", "MAX_WAIT", "Foreground"]

#: The longest the work waits for the screen after a key (seconds).
MAX_WAIT = 0.25
#: The least the work runs between two waits (seconds): keys held down (30
#: a second) would otherwise keep it waiting two thirds of the time, and the
#: verdicts of a long history came three times later.
MIN_WORK = 0.025


class Foreground:
    """Whether the screen is answering a key, and a pause for work while it is."""

    def __init__(self) -> None:
        self._free = threading.Event()
        self._free.set()
        self._until = 0.0
        #: When the work last went on after waiting for the screen.
        self._resumed = -MIN_WORK
        #: How many times ``offer`` waited for the screen (for tests).
        self.waits = 0

    def busy(self, now: float | None = None) -> None:
        """A key came: the screen wants the GIL until ``done`` (or MAX_WAIT)."""
        self._until = (time.monotonic() if now is None else now) + MAX_WAIT
        self._free.clear()

    def done(self) -> None:
        """The screen has written its answer."""
        self._free.set()

    @property
    def is_busy(self) -> bool:
        return not self._free.is_set() and time.monotonic() < self._until

    def offer(self) -> None:
        """Between two steps of long work: wait while the screen answers a
        key (never past ``MAX_WAIT`` after it came), else offer the GIL."""
        if not self._free.is_set():
            now = time.monotonic()
            left = self._until - now
            if left > 0 and now - self._resumed >= MIN_WORK:
                self.waits += 1
                self._free.wait(left)
                self._resumed = time.monotonic()
                return
        time.sleep(0)


#: The console's screen (one per process).
FOREGROUND = Foreground()

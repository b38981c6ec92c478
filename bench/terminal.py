"""A program in a pseudo-terminal, as a shifter's SSH session runs it.

The program gets a real terminal of a fixed size; everything it writes is
counted (bytes and time) and fed to a terminal emulator (``pyte``), so a
benchmark can wait for what a user would see ("26,762 runs" in the footer)
and send keys as a user types them. No Textual in here: the same harness
measures the console, a bare Textual app and htop.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Callable, Mapping, Sequence

import pyte


class Terminal:
    """Run ``argv`` in a ``columns`` x ``lines`` pseudo-terminal."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        columns: int = 120,
        lines: int = 40,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
    ) -> None:
        self.columns, self.lines = columns, lines
        self.screen = pyte.Screen(columns, lines)
        self.stream = pyte.ByteStream(self.screen)
        self._lock = threading.Lock()
        self.bytes = 0
        #: (time, bytes so far) at each read, for rates over a window.
        self.marks: list[tuple[float, int]] = []
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
        full_env = {
            "TERM": "xterm-256color",
            "COLUMNS": str(columns),
            "LINES": str(lines),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),
            "LANG": "C.UTF-8",
            **(env or {}),
        }
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            list(argv),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=full_env,
            cwd=cwd,
            start_new_session=True,
            close_fds=True,
        )
        os.close(slave)
        self._master = master
        self._stopping = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while not self._stopping:
            try:
                ready, _, _ = select.select([self._master], [], [], 0.02)
            except (OSError, ValueError):
                return
            if not ready:
                continue
            try:
                data = os.read(self._master, 65536)
            except OSError:
                return
            if not data:
                return
            now = time.perf_counter()
            with self._lock:
                self.bytes += len(data)
                self.marks.append((now, self.bytes))
                self.stream.feed(data)

    # ------------------------------------------------------------ reading

    def text(self) -> str:
        """The screen now, one line per terminal line."""
        with self._lock:
            return "\n".join(self.screen.display)

    def wait(
        self, what: Callable[[str], bool], timeout: float = 60.0, poll: float = 0.002
    ) -> float:
        """Seconds until ``what(screen text)`` holds (from now); raises on timeout."""
        start = time.perf_counter()
        while True:
            if what(self.text()):
                return time.perf_counter() - start
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the program exited ({self.process.returncode}):\n{self.text()}"
                )
            if time.perf_counter() - start > timeout:
                raise TimeoutError(f"not on screen after {timeout:g} s:\n{self.text()}")
            time.sleep(poll)

    def since_start(self) -> float:
        return time.perf_counter() - self.started

    # ------------------------------------------------------------- keys

    def press(self, keys: str | bytes) -> None:
        """Type these bytes, all at once (as a fast typist's terminal sends them)."""
        data = keys.encode() if isinstance(keys, str) else keys
        os.write(self._master, data)

    # ---------------------------------------------------------- figures

    def cpu_seconds(self) -> float:
        """User + system CPU of the program so far (from /proc)."""
        return cpu_seconds(self.process.pid)

    def peak_rss_mb(self) -> float:
        """The program's peak resident memory (VmHWM), MB."""
        return memory_mb(self.process.pid, "VmHWM")

    def hang_up(self) -> None:
        """Close the terminal's other side, as a dropped SSH session or a
        killed terminal emulator does (the reader stops first: a read
        blocked in another thread would keep the terminal open)."""
        self._stopping = True
        self._reader.join()
        os.close(self._master)

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        # The reader stops before its descriptor is closed: the next
        # terminal's pty may get the same number, and a reader still
        # selecting on it would take that terminal's output.
        self._stopping = True
        self._reader.join()
        with contextlib.suppress(OSError):
            os.close(self._master)

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (from /proc)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_mb(pid: int, field: str = "VmRSS") -> float:
    """A memory figure of a process's /proc status (VmRSS, VmHWM), MB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return 0.0


END = b"\x1b[F"
HOME = b"\x1b[H"
ENTER = b"\r"

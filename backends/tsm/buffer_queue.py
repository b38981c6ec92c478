"""The runs waiting on the LNGS buffer disk: what the tape queue is made of.

dsmc logs only tell what was uploaded; what still waits is what is on the
buffer and has no good upload yet. When the config names the buffer's raw
data directory (``buffer_dir``), each entry in it whose name carries a run
number (``buffer_pattern``) is a run on the buffer, and its size is the bytes
still to go. A directory's size is the sum of its files, remembered until the
directory's modification time changes (files added or removed), so a poll
does not walk every run's files again.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class BufferRun:
    run_number: int
    name: str
    bytes: int


def _tree_size(path: str) -> int:
    total = 0
    stack = [path]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(entry.path)
                        elif entry.is_file(follow_symlinks=False):
                            total += entry.stat(follow_symlinks=False).st_size
                    except OSError:
                        continue
        except OSError:
            continue
    return total


class BufferDirectory:
    """Lists the runs in the buffer's raw data directory, with their sizes."""

    def __init__(self, path: Path, pattern: re.Pattern[str]) -> None:
        self.path = path
        self.pattern = pattern
        self._sizes: dict[str, tuple[int, int]] = {}  # name -> (mtime_ns, bytes)
        self._lock = threading.Lock()

    def runs(self) -> list[BufferRun]:
        """Raises OSError when the directory cannot be listed."""
        with self._lock:
            found: list[BufferRun] = []
            seen: set[str] = set()
            with os.scandir(self.path) as entries:
                for entry in entries:
                    match = self.pattern.search(entry.name)
                    if entry.name.startswith(".") or match is None:
                        continue
                    try:
                        st = entry.stat()
                        if entry.is_dir():
                            cached = self._sizes.get(entry.name)
                            if cached is not None and cached[0] == st.st_mtime_ns:
                                size = cached[1]
                            else:
                                size = _tree_size(entry.path)
                                self._sizes[entry.name] = (st.st_mtime_ns, size)
                        else:
                            size = st.st_size
                    except OSError:
                        continue
                    seen.add(entry.name)
                    found.append(BufferRun(int(match.group("run")), entry.name, size))
            for gone in set(self._sizes) - seen:
                del self._sizes[gone]
            return found

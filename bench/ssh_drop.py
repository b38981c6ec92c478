"""How fast the console leaves when its SSH session drops.

Runs the console (simulator) in a real pseudo-terminal (``bench/terminal.py``)
until every pane is populated, then drops the session in one of two ways and
times the end of the process (its parent here reaps it at once):

- ``hangup``: SIGHUP to the console, as sshd (or ``tmux kill-session``)
  sends when a session drops;
- ``close``: the terminal's other side closes and no signal comes (the
  console is not the session's foreground here): the once-a-second check
  finds the terminal answering I/O errors.

    .venv/bin/python bench/ssh_drop.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from startup import env, populated
from terminal import Terminal

ROOT = Path(__file__).resolve().parents[1]


def drop(how: str, home: str) -> float:
    argv = [sys.executable, "-m", "console.cli", "--runs", "720"]
    with Terminal(argv, env=env(home)) as term:
        term.wait(populated(720), timeout=60)
        time.sleep(1.0)
        start = time.perf_counter()
        if how == "hangup":
            os.kill(term.process.pid, signal.SIGHUP)
        else:
            term.hang_up()
        while term.process.poll() is None:
            time.sleep(0.005)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="xenon-drop-")
    for how in ("hangup", "close"):
        times = [drop(how, home) for _ in range(args.repeat)]
        print(
            f"{how:7s}: process ended after {statistics.median(times):.2f} s "
            f"(median of {args.repeat}, max {max(times):.2f} s)"
        )


if __name__ == "__main__":
    main()

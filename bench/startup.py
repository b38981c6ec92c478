"""Startup figures for the README: first full frame, jump to last run, peak RSS.

Runs each measurement in a fresh interpreter, headless at 120x40, with the
simulator holding the paper's full history (26,762 runs), and a bare Textual
app in the same run as the floor to compare against (these machines are
shared and noisy: compare the ratio, not the absolute figures).

    .venv/bin/python bench/startup.py [--runs 26762] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BARE = r"""
import asyncio, json, resource, time
t0 = time.perf_counter()
from textual.app import App
from textual.widgets import Static
class Bare(App):
    def compose(self):
        yield Static("hello")
async def main():
    app = Bare()
    async with app.run_test(size=(120, 40)) as pilot:
        done = asyncio.Event()
        app.call_after_refresh(done.set)
        await done.wait()
        first = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"first_frame": first, "rss_mb": rss}))
asyncio.run(main())
"""

CONSOLE = r"""
import asyncio, json, resource, sys, time
t0 = time.perf_counter()
from console.app import XenonConsole
from console.fetching import Backends
from console.config import load_config
from backends.model import Kind
from console.widgets.virtual_table import VirtualTable
RUNS = int(sys.argv[1])

async def refreshed(app):
    # Resolves once the screen has been drawn after what was asked before it.
    done = asyncio.Event()
    app.call_after_refresh(done.set)
    await done.wait()

async def main():
    config = load_config(None, runs=RUNS, speed=0, seed=1)
    app = XenonConsole(config, Backends(config))
    async with app.run_test(size=(120, 40)) as pilot:
        while not all(app.pane(k).snapshot is not None for k in Kind):
            await asyncio.sleep(0.002)
        await refreshed(app)
        first = time.perf_counter() - t0
        while not app.settled:
            await asyncio.sleep(0.01)
        alarms = time.perf_counter() - t0
        table = app.runs_pane.query_one(VirtualTable)
        assert table.row_count == RUNS, table.row_count
        await pilot.press("5")
        await pilot.pause()
        t1 = time.perf_counter()
        table.action_last()
        await refreshed(app)
        jump = time.perf_counter() - t1
        assert table.cursor_row == RUNS - 1
        assert app.runs_pane.run_at(table.cursor_row) == app.runs_pane.snapshot.runs[0]
        t2 = time.perf_counter()
        table.action_first()
        await refreshed(app)
        home = time.perf_counter() - t2
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"first_frame": first, "alarms": alarms, "jump_end": jump,
                      "jump_home": home, "rss_mb": rss}))
asyncio.run(main())
"""


def measure(code: str, *args: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"CONDOR_CONFIG": "/dev/null", "PATH": "/usr/bin:/bin", "TERM": "xterm-256color"},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=26762)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    bare = [measure(BARE) for _ in range(args.repeat)]
    full = [measure(CONSOLE, str(args.runs)) for _ in range(args.repeat)]

    def med(rows: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    print(
        f"xenon-console startup, simulator with {args.runs:,} runs, 120x40, median of {args.repeat}"
    )
    print(f"  bare Textual app, first frame     {med(bare, 'first_frame') * 1000:7.0f} ms")
    print(
        f"  console, first full frame         {med(full, 'first_frame') * 1000:7.0f} ms"
        f"   ({med(full, 'first_frame') / med(bare, 'first_frame'):.1f}x the bare app)"
    )
    print(f"  runs alarms ready (all runs read) {med(full, 'alarms') * 1000:7.0f} ms")
    print(f"  jump to the last run (End)        {med(full, 'jump_end') * 1000:7.1f} ms")
    print(f"  jump back to the first (Home)     {med(full, 'jump_home') * 1000:7.1f} ms")
    print(
        f"  peak RSS                          {med(full, 'rss_mb'):7.0f} MB"
        f"   (bare app {med(bare, 'rss_mb'):.0f} MB)"
    )


if __name__ == "__main__":
    main()

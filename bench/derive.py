"""What the facts of every run cost: the first derivation, a later poll's, memory.

For each history size, in a fresh process: plan the simulator's history,
take its runs snapshot, then time

* ``floor``: building every run (what any reader of every run pays);
* ``first``: ``RunIndex.update`` of the snapshot (every run's facts derived);
* ``next``: the update of the next poll's snapshot (only changed runs);

and the memory the first update added to the process (VmRSS after minus
before: the table, and the runs the simulator keeps built). Times as
ratios to the floor measured in the same process; these machines are
shared and noisy.

    .venv/bin/python bench/derive.py [--runs 26762 267620]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import gc, sys, time
from backends.analysis.run_index import RunIndex
from backends.simulator import SimulatorBackend

n = int(sys.argv[1])
sim = SimulatorBackend({"runs": n, "speed": 0})
runs = sim.fetch_runs().runs
t = time.perf_counter(); count = sum(1 for _ in runs); floor = time.perf_counter() - t
assert count == n
index = RunIndex()
def rss():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmRSS"))
gc.collect()
before = rss()
t = time.perf_counter(); table = index.update(runs); first = time.perf_counter() - t
gc.collect()
kept = rss() - before
sim.advance(600)
again = sim.fetch_runs().runs
t = time.perf_counter(); later = index.update(again); nxt = time.perf_counter() - t
print(floor, first, nxt, later.derived, kept, len(getattr(table, "judged", ())))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[26_762, 267_620])
    args = parser.parse_args()
    print("| runs | floor: build every run | first derivation | next poll | memory added |")
    print("|---|---|---|---|---|")
    for n in args.runs:
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(n)],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        ).stdout.split()
        floor, first, nxt = (float(x) for x in out[:3])
        derived, kept, judged = int(out[3]), int(out[4]), int(out[5])
        print(
            f"| {n:,} | {floor:.2f} s | {first:.2f} s ({first / floor:.1f}x) | "
            f"{nxt * 1000:.0f} ms ({derived} derived) | "
            f"{kept / 1e6:.1f} MB ({kept / n:.0f} B a run, {judged} judgements) |"
        )


if __name__ == "__main__":
    main()

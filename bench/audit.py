"""What ``xenon-console audit --json`` of the whole history costs: time and peak RSS.

Each figure is a child process, measured with ``os.wait4`` (wall time and
``ru_maxrss``), the cases interleaved round by round, medians printed:

* ``floor``: read the history the way the audit does (the simulator's runs
  snapshot) and touch every run, judging nothing and writing nothing: what
  any tool that reads every run must pay;
* ``audit --json``: the command itself, its output to /dev/null;
* ``runs pane``: the console (headless, 120x40) until every pane has its first
  data and alarms: the memory the audit must not exceed ("no more memory than
  the runs pane").

The audit's figures are printed as ratios to the floor measured in the same
run; these machines are shared and noisy, so compare ratios, not seconds.

    .venv/bin/python bench/audit.py [--runs 26762 267620] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

FLOOR = """
import sys
from backends.simulator import SimulatorBackend
snapshot = SimulatorBackend({"runs": int(sys.argv[1]), "speed": 0}).fetch_runs()
count = sum(1 for _ in snapshot.runs)
assert count == int(sys.argv[1]), count
"""

PANE = """
import asyncio, sys
from tests.simapp import simulator_app, wait_settled

async def main():
    app = simulator_app(runs=int(sys.argv[1]))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_settled(pilot, timeout=600)

asyncio.run(main())
"""


def measure(argv: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one child process."""
    start = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        child = subprocess.Popen(
            argv,
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.PIPE,
            env={**os.environ, "CONDOR_CONFIG": "/dev/null"},
        )
        _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):  # audit exits 1 when an overdue run is unsafe
        err = child.stderr.read().decode(errors="replace") if child.stderr else ""
        sys.exit(f"{' '.join(argv)} failed ({code}):\n{err}")
    if child.stderr:
        child.stderr.close()
    return elapsed, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[26_762, 267_620])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-pane", action="store_true", help="skip the console's figure")
    args = parser.parse_args()
    python = sys.executable
    print(f"median of {args.rounds} rounds, cases interleaved; RSS = peak resident set size")
    print(f"{'runs':>8}  {'case':<14} {'time s':>8} {'x floor':>8} {'RSS MB':>8} {'x floor':>8}")
    for runs in args.runs:
        cases = {
            "floor": [python, "-c", FLOOR, str(runs)],
            "audit --json": [
                python,
                "-m",
                "console.cli",
                "audit",
                "--json",
                "--speed",
                "0",
                "--runs",
                str(runs),
            ],
        }
        if not args.no_pane:
            cases["runs pane"] = [python, "-c", PANE, str(runs)]
        figures: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
        for _ in range(args.rounds):
            for name, argv in cases.items():
                figures[name].append(measure(argv))
        floor_t = statistics.median(t for t, _ in figures["floor"])
        floor_m = statistics.median(m for _, m in figures["floor"])
        for name, values in figures.items():
            t = statistics.median(v[0] for v in values)
            m = statistics.median(v[1] for v in values)
            print(f"{runs:>8,}  {name:<14} {t:8.2f} {t / floor_t:8.2f} {m:8.0f} {m / floor_m:8.2f}")
        if "runs pane" in figures:
            audit_m = statistics.median(m for _, m in figures["audit --json"])
            pane_m = statistics.median(m for _, m in figures["runs pane"])
            print(f"{'':>8}  audit RSS / runs pane RSS: {audit_m / pane_m:.2f}")


if __name__ == "__main__":
    main()

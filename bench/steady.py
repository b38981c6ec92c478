"""Steady CPU and terminal bytes of two builds of the console, interleaved.

The console (simulator, default speed: every pane changes at every poll)
runs in a real 120x40 pseudo-terminal (``bench/terminal.py``) until its
history is settled; then its CPU (% of one core) and the bytes it writes
are counted over ``--steady`` seconds. This tree and ``--against`` (another
checkout, e.g. ``git archive <commit> | tar -x -C /tmp/base``) take turns,
``--pairs`` times per size, beside ``htop -d 10`` at the same size (the
floor for bytes). Compare within one run: the machines are shared.

    .venv/bin/python bench/steady.py --against /tmp/base [--sizes 26762,267620]
                                     [--pairs 2] [--steady 40]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from startup import htop_window, measure_window, populated, settled
from terminal import Terminal

ROOT = Path(__file__).resolve().parents[1]


def session(root: Path, runs: int, seconds: float) -> tuple[float, float]:
    """(% of one core, bytes per second) of the console of ``root``, settled."""
    home = tempfile.mkdtemp()
    env = {"CONDOR_CONFIG": "/dev/null", "PYTHONPATH": str(root), "HOME": home}
    argv = [sys.executable, "-m", "console.cli", "--runs", str(runs)]
    with Terminal(argv, env=env, cwd=str(root)) as term:
        term.wait(populated(runs), timeout=180)
        term.wait(settled(runs), timeout=900)
        time.sleep(3)
        return measure_window(term, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", type=Path, required=True)
    parser.add_argument("--sizes", default="26762,267620")
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--steady", type=float, default=40.0)
    args = parser.parse_args()
    trees = {"this": ROOT, "against": args.against.resolve()}
    htop = htop_window(tempfile.mkdtemp(), args.steady)
    floor = htop[1] if htop is not None else None
    print(f"htop -d 10: {floor:,.0f} B/s" if floor else "htop: not installed", flush=True)
    for runs in (int(s) for s in args.sizes.split(",")):
        figures: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
        for pair in range(args.pairs):
            order = list(trees.items()) if pair % 2 == 0 else list(trees.items())[::-1]
            for name, root in order:
                cpu, rate = session(root, runs, args.steady)
                figures[name].append((cpu, rate))
                print(
                    f"  {name:8} {runs:>7,} runs: {cpu:.2f} % of a core, {rate:,.0f} B/s",
                    flush=True,
                )
        for name, values in figures.items():
            cpu = statistics.median(v[0] for v in values)
            rate = statistics.median(v[1] for v in values)
            ratio = f" ({rate / floor:.2f}x htop)" if floor else ""
            low = min(v[0] for v in values)
            print(
                f"{name:8} {runs:>7,} runs: median {cpu:.2f} % of a core (min {low:.2f}),"
                f" {rate:,.0f} B/s{ratio}",
                flush=True,
            )


if __name__ == "__main__":
    main()

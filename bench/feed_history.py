"""What a runs history costs on the NATS feed: its base and a steady poll's head.

For each size, the simulator's history is planned into the feed's layout
(``backends.natsfeed.feed``: the pieces of the base and the head), as the
collector writes it, and assembled back, as a console reads it; then one
poll later (the simulator at 60x) the steady head. No server: the values
are kept in a dict, so this is the cost of the format on both sides, not
of NATS. The floor: building every run of the history (``list(runs)``) in
the same process.

    .venv/bin/python bench/feed_history.py [--sizes 26762,267620]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backends.natsfeed import feed
from backends.simulator import SimulatorBackend


def measure(size: int) -> dict[str, float]:
    sim = SimulatorBackend({"speed": 60, "runs": size})
    counter = itertools.count()
    publisher = feed.RunsPublisher(lambda: f"e{next(counter)}")
    assembler = feed.RunsAssembler()
    stamp = feed.Stamp("bench", time.time())
    store: dict[str, bytes] = {}
    snapshot = sim.fetch_runs()
    t = time.perf_counter()
    list(snapshot.runs)
    floor = time.perf_counter() - t
    figures: dict[str, float] = {"floor": floor}
    for step in ("base", "steady"):
        t = time.perf_counter()
        write = publisher.plan("sim", snapshot, stamp)
        figures[f"{step} plan"] = time.perf_counter() - t
        store.update(write.puts)
        publisher.done(write)
        figures[f"{step} bytes"] = sum(len(v) for _, v in write.puts)
        figures[f"{step} values"] = len(write.puts)
        t = time.perf_counter()
        got = assembler.assemble(feed.unpack_runs_head(store[feed.RUNS_HEAD_KEY]), store.get)
        figures[f"{step} read"] = time.perf_counter() - t
        assert len(got.runs) == len(snapshot.runs)
        time.sleep(1.0)
        snapshot = sim.fetch_runs()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="26762,267620")
    args = parser.parse_args()
    print(
        "| runs | floor: build every run | base: write | values, bytes | base: read "
        "| steady head: write | bytes | steady head: read |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for size in (int(s) for s in args.sizes.split(",")):
        f = measure(size)
        print(
            f"| {size:,} | {f['floor']:.2f} s | {f['base plan']:.2f} s "
            f"({f['base plan'] / f['floor']:.1f}x) | {f['base values']:.0f}, "
            f"{f['base bytes'] / 1e6:.1f} MB | {f['base read']:.2f} s "
            f"({f['base read'] / f['floor']:.1f}x) | {f['steady plan'] * 1000:.0f} ms "
            f"| {f['steady bytes'] / 1000:.1f} KB | {f['steady read'] * 1000:.0f} ms |"
        )


if __name__ == "__main__":
    main()

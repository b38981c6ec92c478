"""What a console costs on a collector's NATS feed, against polling itself.

For 1, 5 and 20 consoles at once (each a real TUI in a 120x40 pseudo-terminal,
``bench/terminal.py``, on the simulator at its default speed), both ways:

- **direct**: every console polls its own simulator;
- **fed**: one ``xenon-console collect`` polls, on a NATS server with
  JetStream started here (``tests/nats_testbed.py``), and every console has
  the ``nats`` backend.

Printed per way and number of consoles, over a window of ``--window``
seconds once every console shows its data: CPU (% of one core) and RSS
(MB) per console (median), the collector's own, and the backend polls per
minute (the direct consoles' from their ``--record`` files, every snapshot a
console receives being one poll; the collector's from the poll counts in its
heartbeat). Ratios are fed / direct within the same run.

    .venv/bin/python bench/collector.py [--consoles 1,5,20] [--window 30]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from startup import env, populated  # noqa: E402
from terminal import Terminal, cpu_seconds, memory_mb  # noqa: E402

from tests.nats_testbed import NatsServer  # noqa: E402


def records(path: Path) -> int:
    """Snapshots in a recording (its header not counted), read as far as written."""
    count = -1
    try:
        with gzip.open(path, "rb") as stream:
            for _ in stream:
                count += 1
    except (EOFError, OSError):
        pass
    return max(0, count)


def collector_polls(url: str, bucket: str = "xenon-console") -> int:
    from backends.natsfeed import feed

    async def read() -> int:
        import nats

        client = await nats.connect(url)
        try:
            kv = await client.jetstream().key_value(bucket)
            beat = feed.unpack_heartbeat((await kv.get(feed.HEARTBEAT_KEY)).value)
        finally:
            await client.close()
        return sum(h.polls for h in beat.sources.values())

    return asyncio.run(read())


def session(
    consoles: int, window: float, home: str, fed_config: Path | None, workdir: Path
) -> dict[str, float]:
    terms: list[Terminal] = []
    recs: list[Path] = []
    try:
        for i in range(consoles):
            argv = [sys.executable, "-m", "console.cli"]
            if fed_config is not None:
                argv += ["--config", str(fed_config)]
            else:
                rec = workdir / f"direct-{consoles}-{i}.rec"
                recs.append(rec)
                argv += ["--record", str(rec)]
            terms.append(Terminal(argv, env=env(home)))
        for term in terms:
            term.wait(populated(720), timeout=180)
        time.sleep(3)
        cpu0 = [cpu_seconds(t.process.pid) for t in terms]
        rec0 = [records(r) for r in recs]
        start = time.perf_counter()
        time.sleep(window)
        wall = time.perf_counter() - start
        cpu = [
            (cpu_seconds(t.process.pid) - c) / wall * 100 for t, c in zip(terms, cpu0, strict=True)
        ]
        rss = [memory_mb(t.process.pid) for t in terms]
        polls = sum(records(r) - n for r, n in zip(recs, rec0, strict=True)) / wall * 60
        return {"cpu": statistics.median(cpu), "rss": statistics.median(rss), "polls": polls}
    finally:
        for term in terms:
            term.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--consoles", default="1,5,20")
    parser.add_argument("--window", type=float, default=30.0)
    args = parser.parse_args()
    counts = [int(n) for n in args.consoles.split(",")]
    home = tempfile.mkdtemp(prefix="xenon-bench-")
    workdir = Path(tempfile.mkdtemp(prefix="xenon-collector-"))
    server = NatsServer(workdir)
    server.start()
    feed = workdir / "feed.toml"
    feed.write_text(f'[backends.simulator]\ntype = "nats"\nurl = "{server.url}"\n')
    log = open(workdir / "collect.log", "wb")  # noqa: SIM115 (closed below)
    collector = subprocess.Popen(
        [sys.executable, "-m", "console.cli", "collect", "--nats", server.url],
        env=env(home),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    rows = []
    try:
        time.sleep(3)
        for n in counts:
            print(f"  {n} console(s), direct…", file=sys.stderr, flush=True)
            direct = session(n, args.window, home, None, workdir)
            print(f"  {n} console(s), fed…", file=sys.stderr, flush=True)
            polls0, cpu0, t0 = (
                collector_polls(server.url),
                cpu_seconds(collector.pid),
                time.perf_counter(),
            )
            fed = session(n, args.window, home, feed, workdir)
            elapsed = time.perf_counter() - t0
            fed["polls"] = (collector_polls(server.url) - polls0) / elapsed * 60
            fed["collector_cpu"] = (cpu_seconds(collector.pid) - cpu0) / elapsed * 100
            fed["collector_rss"] = memory_mb(collector.pid)
            rows.append((n, direct, fed))
    finally:
        collector.terminate()
        collector.wait(10)
        log.close()
        server.stop()
    print(
        f"{args.window:.0f} s windows, simulator at its default speed, medians per console; "
        "fed / direct in brackets"
    )
    print()
    print(
        "| consoles | CPU per console, direct | fed | RSS per console, direct | fed "
        "| backend polls/min, direct | fed (the collector's) | collector CPU, RSS |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for n, d, f in rows:
        print(
            f"| {n} | {d['cpu']:.1f} % | {f['cpu']:.1f} % ({f['cpu'] / d['cpu']:.2f}x) "
            f"| {d['rss']:.0f} MB | {f['rss']:.0f} MB ({f['rss'] / d['rss']:.2f}x) "
            f"| {d['polls']:.0f} | {f['polls']:.0f} ({f['polls'] / max(d['polls'], 1e-9):.2f}x) "
            f"| {f['collector_cpu']:.1f} %, {f['collector_rss']:.0f} MB |"
        )


if __name__ == "__main__":
    main()

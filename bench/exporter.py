"""What the Prometheus exporter costs, per poll and per scrape, against floors.

For 720, 26,762 and 267,620 simulated runs (all panes, ``--speed 0``):

- **poll**: the exporter's metric families of a runs poll (``console.metrics``,
  computed in the polling thread when the poll comes back), against the floor
  of the same poll's derivation the console does anyway (``polling.derive``:
  the run table and the alarms) for a poll whose runs did not change;
- **scrape**: one ``/metrics`` over HTTP (what Prometheus pays each scrape),
  against the floor of a bare ``prometheus_client`` registry holding the same
  number of samples as plain gauges, served the same way.

Min and median of ``--repeat`` interleaved pairs, as ratios to the floor.

    .venv/bin/python bench/exporter.py [--runs 720,26762,267620] [--repeat 15]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from prometheus_client import CollectorRegistry, Gauge, start_http_server  # noqa: E402

from backends.model import Kind  # noqa: E402
from console.config import load_config  # noqa: E402
from console.exporter import Exporter, MetricsServer  # noqa: E402
from console.fetching import Backends, fetch_one  # noqa: E402
from console.metrics import snapshot_metrics  # noqa: E402
from console.polling import derive  # noqa: E402


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def fetch(url: str) -> None:
    with urllib.request.urlopen(url, timeout=30) as answer:
        answer.read()


def bench(runs: int, repeat: int) -> dict[str, tuple[float, float, float]]:
    config = load_config(None, speed=0, runs=runs)
    sources = Backends(config)
    exporter = Exporter(config, sources)
    exporter.poll_once(sources)
    derived = derive(config)
    runs_result = fetch_one(sources, Kind.RUNS)
    event = derived(runs_result)  # the table the console keeps, warm
    server = MetricsServer(exporter, "127.0.0.1", 0)
    samples = sum(len(f.samples) for f in exporter.families())
    floor_registry = CollectorRegistry()
    gauge = Gauge("floor", "floor", ["i"], registry=floor_registry)
    for i in range(samples):
        gauge.labels(str(i)).set(i)
    floor_server, _thread = start_http_server(0, "127.0.0.1", registry=floor_registry)
    floor_url = f"http://127.0.0.1:{floor_server.server_address[1]}/metrics"
    pairs: dict[str, list[tuple[float, float]]] = {"poll": [], "scrape": []}
    try:
        for _ in range(repeat):
            floor = timed(lambda: derived(runs_result))
            cost = timed(
                lambda: snapshot_metrics(
                    Kind.RUNS, runs_result.snapshot, config.thresholds, config.policy, event.table
                )
            )
            pairs["poll"].append((cost, floor))
            floor = timed(lambda: fetch(floor_url))
            cost = timed(lambda: fetch(server.url))
            pairs["scrape"].append((cost, floor))
    finally:
        server.close()
        floor_server.shutdown()
        sources.close()
    out = {}
    for name, measured in pairs.items():
        ratios = [c / f for c, f in measured]
        out[name] = (
            min(ratios),
            statistics.median(ratios),
            statistics.median(c for c, _ in measured) * 1000,
        )
    out["samples"] = (samples, samples, 0.0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="720,26762,267620")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    print(f"{'runs':>8}  {'figure':<7} {'min':>6} {'median':>7}  {'ms (median)':>11}  samples")
    for runs in (int(r) for r in args.runs.split(",")):
        found = bench(runs, args.repeat)
        samples = int(found["samples"][0])
        for name in ("poll", "scrape"):
            low, mid, ms = found[name]
            print(f"{runs:>8,}  {name:<7} {low:>5.2f}x {mid:>6.2f}x  {ms:>11.1f}  {samples}")


if __name__ == "__main__":
    main()

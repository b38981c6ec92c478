"""Size and write time of a recording, for issue #7 and the README.

Simulates ten minutes of polling (every kind fetched, then the simulator
advanced 10 s, 60 times) and records it with ``RecordingWriter``, once with
the paper's full history (26,762 runs) and once with the default 720-run
history; prints the file size, the time spent in ``write`` (the first runs
record, which carries every run, apart), what the runs would have taken
without deltas, and the time ``read_recording`` takes to read the file back.

    .venv/bin/python bench/recording_size.py [--runs 26762 720] [--minutes 10]

Times are wall-clock on a shared machine: read them as orders of magnitude.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backends.model import Kind  # noqa: E402
from backends.simulator import SimulatorBackend  # noqa: E402
from console.fetching import Result  # noqa: E402
from console.recording import RecordingWriter, read_recording  # noqa: E402

POLL_S = 10.0


def measure(runs: int, minutes: float, directory: Path) -> dict[str, float]:
    backend = SimulatorBackend({"seed": 1, "speed": 0, "runs": runs})
    path = directory / f"session-{runs}.xrec.gz"
    polls = int(minutes * 60 / POLL_S)
    write_s = 0.0
    first_runs_s = 0.0
    first_runs_bytes = 0
    runs_bytes = 0
    kind_bytes = dict.fromkeys(Kind, 0)
    with RecordingWriter(path, meta={"bench": "recording_size", "runs": runs}) as writer:
        size = path.stat().st_size
        for poll in range(polls):
            for kind in Kind:
                snapshot = backend.fetch(kind)
                if kind is Kind.RUNS and poll == 0:
                    tuple(snapshot.runs)  # build the lazy runs outside the timing
                result = Result(kind, "simulator", snapshot, None, 0.0)
                start = time.perf_counter()
                writer.write(result, poll * POLL_S)
                elapsed = time.perf_counter() - start
                new_size = path.stat().st_size  # every write is flushed
                grew = new_size - size
                size = new_size
                kind_bytes[kind] += grew
                if kind is Kind.RUNS and poll == 0:
                    first_runs_s, first_runs_bytes = elapsed, grew
                else:
                    write_s += elapsed
            backend.advance(POLL_S)
    start = time.perf_counter()
    recording = read_recording(path)
    read_s = time.perf_counter() - start
    assert recording.damage is None and len(recording.frames) == polls * len(Kind)
    runs_bytes = kind_bytes[Kind.RUNS]
    return {
        "runs": runs,
        "polls": polls,
        "file_bytes": path.stat().st_size,
        "first_runs_bytes": first_runs_bytes,
        "first_runs_write_s": first_runs_s,
        "other_writes_s": write_s,
        "other_writes": polls * len(Kind) - 1,
        "runs_bytes": runs_bytes,
        "runs_bytes_without_deltas": first_runs_bytes * polls,
        "read_s": read_s,
        **{f"{kind.value}_bytes": n for kind, n in kind_bytes.items()},
    }


def report(m: dict[str, float]) -> None:
    mb = 1e6
    print(f"{m['runs']:,} runs, {m['polls']} polls of every kind every {POLL_S:g} s:")
    print(f"  file                {m['file_bytes'] / mb:8.2f} MB")
    print(
        f"  first runs record   {m['first_runs_bytes'] / mb:8.2f} MB, "
        f"written in {m['first_runs_write_s']:.2f} s"
    )
    later = m["runs_bytes"] - m["first_runs_bytes"]
    print(
        f"  later runs records  {later / 1e3:8.1f} kB in all "
        f"({later / max(1, m['polls'] - 1):,.0f} B each)"
    )
    print(f"  runs without deltas {m['runs_bytes_without_deltas'] / mb:8.2f} MB (estimated)")
    per_kind = ", ".join(f"{kind.value} {m[f'{kind.value}_bytes'] / 1e3:,.0f} kB" for kind in Kind)
    print(f"  by kind             {per_kind}")
    print(
        f"  other writes        {m['other_writes_s']:.2f} s for {m['other_writes']} "
        f"({1e3 * m['other_writes_s'] / m['other_writes']:.1f} ms each)"
    )
    print(f"  read back           {m['read_s']:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[26_762, 720])
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for runs in args.runs:
            report(measure(runs, args.minutes, Path(tmp)))


if __name__ == "__main__":
    main()

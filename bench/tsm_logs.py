"""What reading the dsmc log directory costs: first poll, then the polls after.

Writes N logs in dsmc's ``incremental`` format (one per run, about 30 files of
1 GiB each, like a XENON1T raw run) into a temporary directory, then times
``TsmBackend.fetch_tape``: the first poll (every log read and parsed), a poll
with nothing changed (one ``stat`` per log), and a poll after one log grew
(only its new bytes read); then the first poll of a *new* console (a new
backend) that finds the index the previous one wrote (``backends/tsm/index.py``):
with nothing changed since, and with 1 % of the logs rewritten since. Figures
are medians; compare the ratios, the machines are shared and noisy.

    .venv/bin/python bench/tsm_logs.py [--logs 26762] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backends.tsm import TsmBackend

FILES_PER_RUN = 30
GIB = 1024**3


def log_text(run: int, at: datetime) -> str:
    lines = [
        "IBM Tivoli Storage Manager",
        "Command Line Backup-Archive Client Interface",
        "  Client Version 7, Release 1, Level 6.0",
        f"  Client date/time: {at:%m/%d/%Y %H:%M:%S}",
        "",
        "Node Name: XE1T-DATAMANAGER",
        "Session established with server PDC-TSM: Linux/x86_64",
        "",
        f"Incremental backup of volume '/data/xenon/raw/{run}/'",
    ]
    for i in range(FILES_PER_RUN):
        lines.append(
            f"Normal File-->         1,073,741,824 /data/xenon/raw/{run}/"
            f"XENON1T-{run}-{i * 1000:09d}-{i * 1000 + 999:09d}-000001000.zip [Sent]"
        )
    lines += [
        f"Successful incremental backup of '/data/xenon/raw/{run}/*'",
        "",
        f"Total number of objects inspected:   {FILES_PER_RUN:>10}",
        f"Total number of objects backed up:   {FILES_PER_RUN:>10}",
        "Total number of objects failed:               0",
        "Total number of bytes inspected:          30.00 GB",
        "Total number of bytes transferred:        30.00 GB",
        "Data transfer time:                      250.00 sec",
        "Network data transfer rate:          125,829.12 KB/sec",
        "Aggregate data transfer rate:         87,381.33 KB/sec",
        "Elapsed processing time:               00:06:00",
        "uploader: dsmc return code 0",
        "",
    ]
    return "\n".join(lines)


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logs", type=int, default=26_762)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        t0 = datetime(2017, 1, 1, tzinfo=UTC)
        for run in range(args.logs):
            at = t0 + timedelta(hours=run)
            path = d / f"{run}_{at:%Y%m%dT%H%M%S}.log"
            path.write_text(log_text(run, at))
        size = sum(p.stat().st_size for p in d.iterdir())
        print(f"{args.logs} dsmc logs, {size / 1e6:.1f} MB, {FILES_PER_RUN} files per run")

        index_file = str(Path(tmp + "-index.json"))
        firsts, unchanged, grown = [], [], []
        snap = None
        for _ in range(args.repeat):
            backend = TsmBackend({"log_dir": str(d), "index": False})
            firsts.append(timed(backend.fetch_tape))
            unchanged.append(timed(backend.fetch_tape))
            last = sorted(d.iterdir())[-1]
            with open(last, "a") as f:
                f.write("uploader: restore test queued\n")
            os.utime(last)
            grown.append(timed(backend.fetch_tape))
            snap = backend.fetch_tape()
        assert snap is not None and snap.verified_runs == args.logs

        writer = TsmBackend({"log_dir": str(d), "index_file": index_file})
        writer.fetch_tape()
        # A console that ends writes the index (in a thread of its own).
        save = timed(lambda: (writer.close(), writer.logs.wait_closed()))
        index_mb = Path(index_file).stat().st_size / 1e6
        indexed, indexed_changed = [], []
        logs = sorted(d.iterdir())
        for n in range(args.repeat):
            indexed.append(
                timed(TsmBackend({"log_dir": str(d), "index_file": index_file}).fetch_tape)
            )
            for path in logs[n::100]:  # 1 % of the logs rewritten (new inode)
                text = path.read_text()
                path.unlink()
                path.write_text(text)
            console = TsmBackend({"log_dir": str(d), "index_file": index_file})
            indexed_changed.append(timed(console.fetch_tape))
            assert console.fetch_tape().verified_runs == args.logs
            console.close()
            console.logs.wait_closed()
        first, same, grew = (statistics.median(x) for x in (firsts, unchanged, grown))
        new, new_changed = statistics.median(indexed), statistics.median(indexed_changed)
        os.unlink(index_file)
        print(f"first poll (read and parse every log):   {first * 1000:8.1f} ms")
        print(
            f"next poll, nothing changed (stat only):  {same * 1000:8.1f} ms"
            f"  ({first / same:.1f}x faster)"
        )
        print(
            f"next poll, one log grew (its new bytes): {grew * 1000:8.1f} ms"
            f"  ({first / grew:.1f}x faster)"
        )
        print(f"writing the index ({index_mb:.1f} MB):      {save * 1000:8.1f} ms")
        print(
            f"new console, index, nothing changed:     {new * 1000:8.1f} ms"
            f"  ({first / new:.1f}x faster)"
        )
        print(
            f"new console, index, 1 % rewritten since: {new_changed * 1000:8.1f} ms"
            f"  ({first / new_changed:.1f}x faster)"
        )


if __name__ == "__main__":
    main()

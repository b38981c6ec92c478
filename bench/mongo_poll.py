"""What a poll of the mongo backend costs with a large runs database.

Starts a secantusd on loopback (the test server, from the ``test`` extra),
exports the simulator's history into it (30,000 runs by default), then times
in this one process: the first poll (a full read), later polls (tail reads),
a tape poll, a forced full re-read, and a bare pymongo read of every document
with the same projection (how much of a full read is the server and the
driver rather than our conversion). These machines are shared and noisy:
compare the ratios within one run, not the absolute figures across runs.

    .venv/bin/python bench/mongo_poll.py [--runs 30000] [--repeat 10]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pymongo

from backends.mongo import MongoBackend
from backends.mongo.documents import PROJECTION
from backends.mongo.export import export_simulated_runs


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_server(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    exe = Path(sys.executable).parent / "secantusd-py"
    command = str(exe) if exe.exists() else shutil.which("secantusd-py")
    if command is None:
        sys.exit("secantusd-py not found: pip install -c constraints.txt -e '.[test]'")
    port = _free_port()
    log = (workdir / "secantusd.log").open("wb")
    process = subprocess.Popen(
        [command, "--host", "127.0.0.1", "--port", str(port), "--storage-path", ":memory:"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    uri = f"mongodb://127.0.0.1:{port}/"
    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=500)
    deadline = time.monotonic() + 60
    while True:
        try:
            client.admin.command("ping")
            break
        except pymongo.errors.PyMongoError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                sys.exit(
                    "secantusd did not start:\n"
                    + (workdir / "secantusd.log").read_text(errors="replace")
                )
            time.sleep(0.1)
    client.close()
    return process, uri


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30_000)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        process, uri = _start_server(Path(tmp))
        try:
            t_export = _timed(lambda: export_simulated_runs(uri, runs=args.runs))
            print(f"exported {args.runs:,} runs into secantusd in {t_export:.1f} s")

            raw = pymongo.MongoClient(uri)
            coll = raw.run.runs_new
            bare = statistics.median(
                _timed(lambda: list(coll.find({}, dict(PROJECTION)))) for _ in range(3)
            )
            raw.close()

            backend = MongoBackend({"uri": uri, "socket_timeout": 120})
            first = _timed(backend.fetch_runs)
            first_read = backend.last_read
            later = [_timed(backend.fetch_runs) for _ in range(args.repeat)]
            later_read = backend.last_read
            tape = [_timed(backend.fetch_tape) for _ in range(args.repeat)]
            backend.close()

            again = MongoBackend({"uri": uri, "full_every": 1e-9, "socket_timeout": 120})
            full = [_timed(again.fetch_runs) for _ in range(3)]
            again.close()
        finally:
            process.terminate()
            process.wait(timeout=30)

    later_median = statistics.median(later)
    rows = [
        ("first poll (full read)", first, f"{first_read[1]:,} documents"),
        ("later polls, median", later_median, f"{later_read[1]:,} documents (tail)"),
        ("tape polls, median", statistics.median(tape), "tail read + tape view"),
        ("forced full re-read, median of 3", statistics.median(full), "every document"),
        ("bare pymongo find, same projection", bare, "server + driver only"),
    ]
    print(f"\n{'poll':<38} {'seconds':>8}  {'x later':>8}  read")
    for name, seconds, what in rows:
        print(f"{name:<38} {seconds:8.3f}  {seconds / later_median:8.1f}  {what}")


if __name__ == "__main__":
    main()

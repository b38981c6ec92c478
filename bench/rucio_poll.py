"""What one poll of the Rucio backend costs with 10,000 rules on a real server.

Starts the test bed's Rucio server (``tests/testbeds/rucio/setup.sh`` must
have run), fills it once with ``--rules`` rules of the experiment's account
(bulk calls: one ``add_replication_rule`` over many datasets per RSE; this
takes a few minutes, which is why it is not part of the test run; pass
``--home DIR`` to keep the filled server for the next run), then times, median
of ``--repeat``:

- a full poll (every rule listed, one usage call per RSE),
- an incremental poll when nothing changed (``updated_after``),
- an incremental poll after 500 rules changed (their ``updated_at`` bumped),
- one ``get_replication_rule`` call, to show what a call per rule would cost.

    .venv/bin/python bench/rucio_poll.py [--rules 10000] [--repeat 5] [--home DIR]

The machine is shared: compare the figures of one run with each other.
"""

from __future__ import annotations

import argparse
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backends.rucio import RucioBackend
from backends.rucio.aggregate import RunMatcher
from backends.rucio.options import DEFAULT_RUN_PATTERN
from backends.rucio.rulecache import RuleCache
from tests.rucio.testbed import RucioServer

ACCOUNT = "xenon"
PASSWORD = "bench-Pa55word"
RSES = (
    "UC_OSG_USERDISK",
    "NIKHEF_USERDISK",
    "SURFSARA_USERDISK",
    "CNAF_USERDISK",
    "CCIN2P3_USERDISK",
)
SOURCE = "LNGS_USERDISK"
#: Datasets per bulk call. Larger calls stall on SQLite (a big transaction
#: spills and locks out the server's own nested reads until they time out).
CHUNK = 10


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def fill(server: RucioServer, rules: int) -> None:
    """``rules`` rules: datasets of one file each, one rule per dataset and RSE."""
    client = server.root_client()
    client.timeout = 900  # one bulk call creates hundreds of rules (30-50 ms each here)
    datasets = -(-rules // len(RSES))
    client.add_account(ACCOUNT, "USER", "xenon@localhost")
    client.add_identity(
        account=ACCOUNT,
        identity=ACCOUNT,
        authtype="USERPASS",
        email="xenon@localhost",
        password=PASSWORD,
    )
    for rse in (SOURCE, *RSES):
        client.add_rse(rse)
        client.add_protocol(
            rse,
            {
                "scheme": "file",
                "hostname": "localhost",
                "port": 0,
                "prefix": f"/tmp/{rse}/",
                "impl": "rucio.rse.protocols.posix.Default",
                "domains": {
                    "lan": {"read": 1, "write": 1, "delete": 1},
                    "wan": {
                        "read": 1,
                        "write": 1,
                        "delete": 1,
                        "third_party_copy_read": 1,
                        "third_party_copy_write": 1,
                    },
                },
            },
        )
        client.set_local_account_limit(ACCOUNT, rse, 10**18)
        client.set_rse_usage(rse, "storage", 10**14, 4 * 10**14)
    scope = "x1t_SR001_bench"
    client.add_scope(ACCOUNT, scope)
    names = [f"run_{i:06d}" for i in range(datasets)]
    started = time.monotonic()
    for at in range(0, datasets, CHUNK):
        chunk = names[at : at + CHUNK]
        files = [
            {"scope": scope, "name": f"{n}.zip", "bytes": 10**9, "adler32": "0cc737eb"}
            for n in chunk
        ]
        client.add_replicas(SOURCE, files)
        client.add_dids([{"scope": scope, "name": n, "type": "DATASET"} for n in chunk])
        client.attach_dids_to_dids(
            [
                {"scope": scope, "name": n, "dids": [{"scope": scope, "name": f"{n}.zip"}]}
                for n in chunk
            ]
        )
        for rse in RSES:
            client.add_replication_rule(
                [{"scope": scope, "name": n} for n in chunk], 1, rse, account=ACCOUNT
            )
        if (at // CHUNK) % 50 == 49:
            log(
                f"  {min(at + CHUNK, datasets) * len(RSES)} rules, "
                f"{time.monotonic() - started:.0f} s"
            )
    log(f"  done, {time.monotonic() - started:.0f} s")


def touch_rules(server: RucioServer, count: int, offset: int) -> None:
    """Mark ``count`` rules updated now, straight in the server's SQLite file.

    What an incremental poll sees after ``count`` rules changed, without the
    minutes Rucio's own state changes take per thousand files on SQLite.
    """
    db = sqlite3.connect(server.home / "rucio.db", timeout=60)
    try:
        with db:
            db.execute(
                "UPDATE rules SET updated_at = ? WHERE id IN "
                "(SELECT id FROM rules ORDER BY id LIMIT ? OFFSET ?)",
                (datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" "), count, offset),
            )
    finally:
        db.close()


def age_rules(server: RucioServer, spacing_s: float = 8.0) -> None:
    """Spread the rules' last updates over the past day, one every ``spacing_s``.

    As on a server in use, where few rules changed in the last minutes: a
    freshly filled server has every rule updated in the last few minutes,
    which an incremental poll's overlap window would read again.
    """
    db = sqlite3.connect(server.home / "rucio.db", timeout=60)
    now = datetime.now(UTC).replace(tzinfo=None)
    try:
        with db:
            ids = [row[0] for row in db.execute("SELECT id FROM rules ORDER BY id")]
            db.executemany(
                "UPDATE rules SET updated_at = ? WHERE id = ?",
                [
                    ((now - timedelta(seconds=spacing_s * (i + 1))).isoformat(sep=" "), rule_id)
                    for i, rule_id in enumerate(ids)
                ],
            )
    finally:
        db.close()


def median_s(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--home", type=Path, help="keep the server's data here between runs")
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="rucio-bench-"))
    home.mkdir(parents=True, exist_ok=True)
    server = RucioServer(home)
    fresh = not (home / "rucio.db").exists()
    if fresh:
        server.bootstrap()
    server.start()
    try:
        if fresh:
            log(f"filling {home} with {args.rules} rules (bulk calls)...")
            fill(server, args.rules)
        age_rules(server)
        options = {
            "host": server.url,
            "account": ACCOUNT,
            "auth_type": "userpass",
            "username": ACCOUNT,
            "password": PASSWORD,
            "token_dir": str(home / "tok"),
            "timeout": 120,
        }
        full = RucioBackend({**options, "full_sync_minutes": 0})
        first = time.perf_counter()
        snap = full.fetch_transfers()
        first_s = time.perf_counter() - first
        rules = len(snap.rules)
        full_s = median_s(full.fetch_transfers, args.repeat)
        per_poll = {k: v for k, v in full.requests_sent.items() if k != "GET auth/userpass"}

        incremental = RucioBackend(options)
        incremental.fetch_transfers()
        quiet_s = median_s(incremental.fetch_transfers, args.repeat)

        changed_times = []
        for round_ in range(args.repeat):
            touch_rules(server, 500, 500 * round_)
            start = time.perf_counter()
            incremental.fetch_transfers()
            changed_times.append(time.perf_counter() - start)
        changed_s = statistics.median(changed_times)

        root = server.root_client()
        root.timeout = 900
        listing_s = median_s(
            lambda: list(root.list_replication_rules({"account": ACCOUNT})), args.repeat
        )
        records = list(root.list_replication_rules({"account": ACCOUNT}))
        matcher = RunMatcher(re.compile(DEFAULT_RUN_PATTERN))
        parse_s = median_s(lambda: RuleCache(600, 120).apply(records, matcher, True), args.repeat)
        some_rule = snap.rules[0].id
        one_s = median_s(lambda: root.get_replication_rule(some_rule), max(args.repeat, 10))
    finally:
        server.stop()

    print(
        f"Rucio poll, {rules} rules of one account, {len(RSES) + 1} RSEs, "
        f"median of {args.repeat} (seconds)"
    )
    print(f"  first poll (login, RSE list, full listing, usage): {first_s:8.3f}")
    print(f"  full poll (every rule listed):                     {full_s:8.3f}")
    print(f"  of which rucio-clients listing alone (as root):    {listing_s:8.3f}")
    print(f"  of which reading the records into Rules:           {parse_s:8.3f}")
    print(f"  incremental poll, nothing changed:                 {quiet_s:8.3f}")
    print(f"  incremental poll, 500 rules changed:               {changed_s:8.3f}")
    print(
        f"  one get_replication_rule call:                     {one_s:8.4f}"
        f"  (x {rules} = {one_s * rules:.0f} s for a call per rule)"
    )
    print(f"  requests per full poll: {per_poll} over {1 + args.repeat} polls")
    print(f"  full poll / quiet incremental poll: {full_s / quiet_s:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How long the condor backend takes to turn 100,000 job ads into a JobsSnapshot.

The ads are generated as ``condor_q -long`` text (200 DAGs of 500 nodes:
running, idle, held with three reasons, transferring, retried, at eight
sites), parsed once by the real classad2, then served by an in-memory
transport, as a schedd answering ``Schedd.query`` with the backend's
projection would. Timed, median of several rounds:

- read: the ClassAds into Jobs and Dags (``read_ads``), every ad read in full;
- first poll: a whole ``CondorBackend.fetch_jobs`` of a new backend (threads,
  history, merge, snapshot);
- next polls: the same backend again; jobs whose status, time of entering
  it and number of starts did not change are not read again;
- pane figures: per-site counts, totals, hold reasons, DAG rows;
- the same read from plain dicts, to separate the bindings' cost;
- the floor: only looking up, in each ClassAd, the attributes a job needs.

Usage: ``CONDOR_CONFIG=/dev/null .venv/bin/python bench/condor_aggregate.py [N]``.
Machines here are shared and noisy: compare figures of one run, not runs.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("CONDOR_CONFIG", "/dev/null")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import classad2

from backends.analysis.jobs import dag_rows, hold_reasons, jobs_by_site, jobs_total
from backends.condor import CondorBackend
from backends.condor.ads import AdReader
from backends.condor.aggregate import read_ads
from backends.condor.run_mapping import RunMapper
from backends.condor.transport import ScheddRef

SCHEDD = "xenon-submit.grid.uchicago.edu"
NOW = datetime(2017, 11, 15, 12, 0, tzinfo=UTC)
T0 = int(NOW.timestamp()) - 6 * 3600
NODES_PER_DAG = 500
SITES = (
    "MWT2",
    "UChicago",
    "Nebraska",
    "SU-ITS",
    "NIKHEF-ELPROD",
    "CCIN2P3",
    "INFN-T1",
    "Weizmann",
)
REASONS = (
    "Error from slot1_{n}@wn{n}.mwt2.org: Job has gone over memory limit of 2048 megabytes. "
    "Peak usage: {p} megabytes.",
    "Error from glidein_{n}@node{n}.unl.edu: Transfer input files failure at execution point "
    "slot1_{n}@node{n}.unl.edu using protocol osdf.",
    "Error from slot1_{n}@c{n}.its.syr.edu: STARTER at 10.1.{n}.2 failed to send file(s) to "
    "<192.170.227.{n}:9618>",
)
ROUNDS = 5


def generate(n_jobs: int) -> str:
    """``condor_q -long`` text: DAGMan ads, then their node jobs."""
    n_dags = max(1, n_jobs // NODES_PER_DAG)
    blocks = []
    for d in range(n_dags):
        cluster = 1_000_000 + d * (NODES_PER_DAG + 1)
        blocks.append(
            f'ClusterId = {cluster}\nProcId = 0\nJobStatus = 2\nOwner = "xenon"\n'
            f'JobUniverse = 7\nCmd = "/usr/bin/condor_dagman"\n'
            f'JobBatchName = "pax_v6.8.0_run{10000 + d}"\nQDate = {T0 + d}\n'
            f"EnteredCurrentStatus = {T0 + d}\nDAG_NodesTotal = {NODES_PER_DAG}\n"
            f"DAG_NodesDone = 0\nDAG_NodesFailed = 0\nDAG_NodesQueued = {NODES_PER_DAG}\n"
            f"DAG_JobsHeld = 40\nDAG_Status = 0\nRunNumber = {10000 + d}\n"
        )
        for i in range(NODES_PER_DAG):
            k = d * NODES_PER_DAG + i
            status = (2, 2, 2, 1, 1, 6, 2, 1, 2, 5)[k % 10] if k % 25 else 5
            lines = [
                f"ClusterId = {cluster + 1 + i}",
                "ProcId = 0",
                f"JobStatus = {status}",
                'Owner = "xenon"',
                f'JobBatchName = "pax_v6.8.0_run{10000 + d}"',
                f"DAGManJobId = {cluster}",
                f'DAGNodeName = "chunk_{i:04d}"',
                f"QDate = {T0 + d}",
                f"EnteredCurrentStatus = {T0 + d + i}",
                f"NumJobStarts = {1 + (k % 13 == 0)}",
                "JobUniverse = 5",
                'Cmd = "/home/xenon/processing/pax_wrapper.sh"',
            ]
            if status != 1:
                lines.append(f'MATCH_EXP_JOB_GLIDEIN_Site = "{SITES[k % len(SITES)]}"')
            if status == 5:
                reason = REASONS[k % 3].format(n=k % 251, p=2049 + k % 900)
                lines += [f'HoldReason = "{reason}"', f"HoldReasonCode = {(34, 13, 12)[k % 3]}"]
            blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def parse(text: str) -> list[classad2.ClassAd]:
    """classad2.parseAds in slices: it is superlinear on one huge string."""
    blocks = [b for b in text.split("\n\n") if b.strip()]
    ads: list[classad2.ClassAd] = []
    for i in range(0, len(blocks), 2000):
        ads.extend(
            classad2.parseAds("\n\n".join(blocks[i : i + 2000]) + "\n", classad2.ParserType.Old)
        )
    return ads


class Served:
    """A schedd that answers with ads already in memory (the network is not timed)."""

    def __init__(self, ads: list[Any]) -> None:
        self.ads = ads

    def locate_schedds(self) -> list[ScheddRef]:
        return [ScheddRef(SCHEDD, "<127.0.0.1:9618>")]

    def locate(self, name: str) -> ScheddRef:
        return ScheddRef(name, "<127.0.0.1:9618>")

    def query(
        self, schedd: ScheddRef, constraint: str, projection: Sequence[str]
    ) -> list[Mapping[str, Any]]:
        return self.ads

    def history(
        self, schedd: ScheddRef, since: str | None, constraint: str, projection: Sequence[str]
    ) -> list[Mapping[str, Any]]:
        return []


def medians_s(cases: dict[str, Callable[[], object]], rounds: int = ROUNDS) -> dict[str, float]:
    """Median seconds of each case, the cases interleaved round by round.

    The machine's load changes from one second to the next; interleaving
    gives every case the same share of it, so their ratios mean something.
    """
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, fn in cases.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    text = generate(n)
    start = time.perf_counter()
    ads = parse(text)
    parse_s = time.perf_counter() - start
    dicts = [dict(ad.items()) for ad in ads]
    sites = ("MATCH_EXP_JOB_GLIDEIN_Site", "MATCH_GLIDEIN_Site")
    reader = AdReader(SCHEDD, sites, RunMapper())

    read = read_ads(reader, ads)
    assert read.skipped == 0, read.first_problem

    def new_backend() -> CondorBackend:
        return CondorBackend(
            {"schedds": [SCHEDD], "timeout": 120}, transport=Served(ads), clock=lambda: NOW
        )

    def first_poll() -> None:
        fresh = new_backend()
        fresh.fetch_jobs()
        fresh.close()

    backend = new_backend()
    snap = backend.fetch_jobs()
    assert len(snap.jobs) + len(snap.dags) == len(ads), "every ad read"

    def figures() -> None:
        jobs_by_site(snap)
        jobs_total(snap)
        hold_reasons(snap)
        dag_rows(snap)

    needed = (
        "ClusterId",
        "ProcId",
        "JobStatus",
        "EnteredCurrentStatus",
        "QDate",
        "DAGManJobId",
        "NumJobStarts",
        "Owner",
        "JobBatchName",
        "DAGNodeName",
        "MATCH_EXP_JOB_GLIDEIN_Site",
        "MATCH_GLIDEIN_Site",
    )

    def floor() -> None:
        for ad in ads:
            get = ad.get
            for name in needed:
                get(name)

    m = medians_s(
        {
            "floor": floor,
            "read": lambda: read_ads(reader, ads),
            "dict": lambda: read_ads(reader, dicts),
            "first": first_poll,
            "next": backend.fetch_jobs,
            "figures": figures,
        }
    )
    floor_s, read_s, dict_s = m["floor"], m["read"], m["dict"]
    first_s, fetch_s, figures_s = m["first"], m["next"], m["figures"]
    backend.close()

    total = jobs_total(snap)
    print(
        f"{len(ads):,} job ads ({len(snap.dags)} DAGs, {len(snap.jobs):,} node jobs: "
        f"{total.running:,} running, {total.idle:,} idle, {total.held:,} held, "
        f"{total.transferring:,} transferring, {total.retried:,} retried; "
        f"{len(hold_reasons(snap))} hold reasons after grouping)"
    )
    print(f"parse -long text with classad2 (once, not part of a poll): {parse_s:6.2f} s")
    print(f"median of {ROUNDS} rounds, the cases interleaved:")
    print(f"  floor: look up {len(needed)} attributes in each ad   {floor_s * 1000:7.0f} ms")
    print(
        f"  read ClassAds into Jobs/Dags (read_ads)      {read_s * 1000:7.0f} ms "
        f"({read_s / floor_s:.2f}x the floor)"
    )
    print(
        f"  the same from plain dicts                    {dict_s * 1000:7.0f} ms "
        f"(ClassAd access = {read_s / dict_s:.1f}x dicts)"
    )
    print(f"  first poll: fetch_jobs of a new backend      {first_s * 1000:7.0f} ms")
    print(f"  next polls: fetch_jobs, nothing changed      {fetch_s * 1000:7.0f} ms")
    print(f"  pane figures (sites, totals, reasons, DAGs)  {figures_s * 1000:7.0f} ms")
    print(f"  first poll to pane figures                   {(first_s + figures_s) * 1000:7.0f} ms")
    print(f"  next poll to pane figures                    {(fetch_s + figures_s) * 1000:7.0f} ms")


if __name__ == "__main__":
    main()

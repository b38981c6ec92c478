"""What a transfers poll of the XENONnT simulator costs with every rule listed.

Under ``profile = "xenonnt"`` the simulator's transfers snapshot lists every
rule of every run (as XENONnT's Rucio does: tens of thousands at the paper's
26,762 runs), and each transfers poll joins Rucio's word to the runs
(``rucio_evidence.evidence_of``, then ``RunIndex.with_evidence``). In one
process, for ``--runs`` runs (speed 0, the clock advanced a minute between
polls), median of ``--repeat``:

* ``floor``: a XENON1T simulator's transfers poll (last week's rules only);
* ``nt first``: the xenonnt simulator's first transfers poll (the settled
  runs' rules built);
* ``nt poll``: a later xenonnt transfers poll;
* ``evidence``: ``evidence_of`` of that poll, incremental from the last one
  (``previous``), and a full one for comparison;
* ``with_evidence``: the runs' table derived again with it (only the runs
  whose rules changed), and with a full ``evidence_of`` (every run keyed);
* ``pane``: the transfers pane's drawing of a poll (RSE rows, stuck line
  and rows) on the main thread, after the poll's thread prepared it (the
  console) and with nothing prepared (its passes over the rules its own).

    .venv/bin/python bench/nt_transfers.py [--runs 26762] [--repeat 5]

The machine is shared: compare the figures of one run with each other.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dataclasses import replace

from backends.analysis.policy import XENONNT_POLICY
from backends.analysis.rucio_evidence import evidence_of
from backends.analysis.run_index import RunIndex
from backends.model import TransfersSnapshot
from backends.simulator import SimulatorBackend
from console.render import transfers as transfers_render
from console.render.eta import transfers_etas

#: Simulated seconds between two polls (rules change: the newest runs').
STEP_S = 900.0


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def median(fn: Callable[[], object], repeat: int) -> float:
    return statistics.median(timed(fn)[0] for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=26_762)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    runs, repeat = args.runs, args.repeat

    x1t = SimulatorBackend({"runs": runs, "speed": 0})
    x1t.fetch_transfers()

    def x1t_poll() -> object:
        x1t.advance(STEP_S)
        return x1t.fetch_transfers()

    floor = median(x1t_poll, repeat)
    x1t_rules = len(x1t.fetch_transfers().rules)

    nt = SimulatorBackend({"runs": runs, "speed": 0, "profile": "xenonnt"})
    nt.fetch_runs()
    first, snap = timed(nt.fetch_transfers)
    assert isinstance(snap, TransfersSnapshot)
    evidence = evidence_of(snap)
    index = RunIndex(XENONNT_POLICY, evidence)
    nt_runs = nt.fetch_runs().runs
    index.update(nt_runs)
    walk = median(lambda: sum(1 for _ in nt_runs), repeat)

    polls: list[float] = []
    joins: list[float] = []
    fulls: list[float] = []
    rederive: list[float] = []
    derived: list[int] = []
    for _ in range(repeat):
        nt.advance(STEP_S)
        took, snap = timed(nt.fetch_transfers)
        assert isinstance(snap, TransfersSnapshot)
        polls.append(took)
        took, new = timed(lambda s=snap, e=evidence: evidence_of(s, previous=e))  # type: ignore[misc]
        joins.append(took)
        fulls.append(timed(lambda s=snap: evidence_of(s))[0])  # type: ignore[misc]
        took, table = timed(lambda n=new: index.with_evidence(n))  # type: ignore[misc]
        rederive.append(took)
        derived.append(0 if table is None else table.derived)  # type: ignore[attr-defined]
        evidence = new  # type: ignore[assignment]
        index.update(nt.fetch_runs().runs)

    # The transfers pane's drawing (the main thread): with the poll's
    # ``prepare`` made in the poll's thread (the console), and alone (each of
    # its passes over the rules made on the main thread, as before they were
    # made once a snapshot).
    def pane(s: TransfersSnapshot, etas: object) -> None:
        transfers_render.rse_rows(s, s.taken_at, etas=etas)  # type: ignore[arg-type]
        transfers_render.stuck_line(s)
        transfers_render.stuck_rows(s, s.taken_at)
        transfers_render.stuck_runs(s, s.taken_at)

    def fresh() -> TransfersSnapshot:
        return replace(snap, rules=tuple(snap.rules))  # another snapshot: nothing made yet

    prepared_draw: list[float] = []
    prepare_times: list[float] = []
    alone: list[float] = []
    for _ in range(repeat):
        s = fresh()
        took, etas = timed(lambda s=s: transfers_render.prepare(s))  # type: ignore[misc]
        prepare_times.append(took)
        prepared_draw.append(timed(lambda s=s, e=etas.rses: pane(s, e))[0])  # type: ignore[attr-defined,misc]
        s = fresh()
        etas = transfers_etas(s)
        alone.append(timed(lambda s=s, e=etas.rses: pane(s, e))[0])  # type: ignore[misc]
    # The same join without ``previous`` (every run keyed again), for comparison.
    full_join = median(lambda: index.with_evidence(evidence_of(snap)), repeat)
    rules = len(snap.rules)
    ms = 1000.0
    print(f"{runs:,} runs; median of {repeat}; times in ms (x the floor)")
    print(f"{f'floor: XENON1T transfers poll ({x1t_rules:,} rules)':<48} {floor * ms:8.1f}")
    print(f"{'(every xenonnt run read once, for scale)':<48} {walk * ms:8.1f}")
    derived_median = statistics.median(derived)
    for label, value in (
        (f"nt first transfers poll ({rules:,} rules)", first),
        ("nt transfers poll", statistics.median(polls)),
        ("evidence_of, incremental", statistics.median(joins)),
        ("evidence_of, full", statistics.median(fulls)),
        (f"with_evidence ({derived_median:g} runs derived)", statistics.median(rederive)),
        ("full evidence_of + with_evidence (all keyed)", full_join),
    ):
        print(f"{label:<48} {value * ms:8.1f}  ({value / floor:5.1f}x)")
    for label, value in (
        ("pane prepare, in the poll's thread", statistics.median(prepare_times)),
        ("pane drawing after it (main thread)", statistics.median(prepared_draw)),
        ("pane drawing, nothing made before", statistics.median(alone)),
    ):
        print(f"{label:<48} {value * ms:8.1f}  ({value / floor:5.1f}x)")
    poll = statistics.median(polls) + statistics.median(joins) + statistics.median(rederive)
    print(f"{'nt poll + evidence join, total':<48} {poll * ms:8.1f}  ({poll / floor:5.1f}x)")


if __name__ == "__main__":
    main()

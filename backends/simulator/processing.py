"""HTCondor/DAGMan as XENON1T used it: one DAG per run, one job per chunk.

Jobs are events on a heap (start, then done, failed or held at a drawn time),
not objects ticked every step, so thousands of chunk jobs a day cost little.
A pool of slots per site bounds how many run at once. Failing jobs go back to
idle and start again (NumJobStarts counts) up to RETRY 5; a held job stays
held, which stalls its DAG: there is no periodic release.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable

from backends.model import DagStatus, JobStatus
from backends.simulator import draws
from backends.simulator.infrastructure import (
    CHUNK_FAILURE_PROBABILITY,
    CHUNK_SECONDS,
    DAG_HISTORY_S,
    DAG_RETRIES,
    EGI_SITES,
    FIRST_CLUSTER_ID,
    HOLD_REASONS,
    JOB_HISTORY_S,
    MERGE_SECONDS,
    OSG_SITES,
    SITES,
    WORKER_DOMAINS,
)
from backends.simulator.records import DagRec, JobRec, RunRec
from backends.simulator.scenarios import Faults

_DONE, _FAIL, _HOLD = 0, 1, 2


def _weighted(sites: tuple[str, ...], free: dict[str, int], total: int, u: float) -> str:
    """A site with free slots, chosen with probability proportional to them."""
    pick = u * total
    for site in sites:
        pick -= free[site]
        if pick < 0:
            return site
    return max(sites, key=lambda s: free[s])


class Scheduler:
    """The XENON schedd and the slots XENON gets at OSG and EGI sites."""

    def __init__(self, faults: Faults, on_processed: Callable[[RunRec, float], None]) -> None:
        self._faults = faults
        self._on_processed = on_processed
        self._next_cluster = FIRST_CLUSTER_ID
        self._seq = 0
        self._pending: list[tuple[float, int, RunRec]] = []
        self._events: list[tuple[float, int, JobRec, int]] = []
        self._idle: deque[JobRec] = deque()
        self.free: dict[str, int] = {site: slots for site, (_, slots) in SITES.items()}
        #: Jobs in the queue (idle, running, held), by cluster id.
        self.queue: dict[int, JobRec] = {}
        #: Jobs that left the queue, oldest first (pruned after JOB_HISTORY_S).
        self.left: deque[JobRec] = deque()
        self.active_dags: dict[int, DagRec] = {}
        self.finished_dags: deque[DagRec] = deque()
        #: Bumped whenever a job or DAG changes, so the view knows to rebuild.
        self.changes = 0

    def submit_later(self, run: RunRec, at: float) -> None:
        """CAX will submit the run's DAG at ``at``."""
        self._seq += 1
        heapq.heappush(self._pending, (at, self._seq, run))

    def step(self, t1: float) -> None:
        while self._pending and self._pending[0][0] <= t1:
            at, _, run = heapq.heappop(self._pending)
            self._submit(run, at)
        while self._events and self._events[0][0] <= t1:
            at, _, job, kind = heapq.heappop(self._events)
            self._handle(job, kind, at)
        self._match(t1)
        self._prune(t1)

    # ------------------------------------------------------------ submission

    def _cluster(self) -> int:
        self._next_cluster += 1
        return self._next_cluster - 1

    def _submit(self, run: RunRec, at: float) -> None:
        dag = DagRec(self._cluster(), run, at)
        run.dag = dag
        self.active_dags[dag.cluster] = dag
        for chunk in range(dag.chunks):
            self._enqueue(JobRec(self._cluster(), dag, f"chunk_{chunk:04d}", chunk, at))
        self.changes += 1

    def _enqueue(self, job: JobRec) -> None:
        self.queue[job.cluster] = job
        self._idle.append(job)
        job.dag.queued += 1
        job.dag.view = None

    # ---------------------------------------------------------------- events

    def _handle(self, job: JobRec, kind: int, at: float) -> None:
        dag = job.dag
        self.free[job.site] += 1  # type: ignore[index]
        job.entered = at
        job.view = dag.view = None
        self.changes += 1
        if kind == _HOLD:
            job.status = JobStatus.HELD
            dag.held += 1
            return
        if kind == _FAIL and job.starts <= DAG_RETRIES:
            job.status = JobStatus.IDLE
            self._idle.append(job)
            return
        job.status = JobStatus.COMPLETED
        self._leave(job, at)
        if kind == _FAIL:
            dag.failed += 1
        else:
            dag.done += 1
        if job.node == "merge":
            self._finish(dag, at, DagStatus.OK)
            self._on_processed(dag.run, at)
        elif dag.done + dag.failed == dag.chunks:
            if dag.failed:
                self._finish(dag, at, DagStatus.NODE_FAILED)
            else:
                self._enqueue(JobRec(self._cluster(), dag, "merge", dag.chunks, at))

    def _leave(self, job: JobRec, at: float) -> None:
        del self.queue[job.cluster]
        job.left_at = at
        job.dag.queued -= 1
        self.left.append(job)

    def _finish(self, dag: DagRec, at: float, status: DagStatus) -> None:
        dag.status = status
        dag.finished_at = at
        del self.active_dags[dag.cluster]
        self.finished_dags.append(dag)

    # -------------------------------------------------------------- matching

    def _match(self, t1: float) -> None:
        """One negotiation cycle: idle jobs, oldest first, into free slots."""
        free = self.free
        idle = self._idle
        if not idle:
            return
        osg = sum(free[s] for s in OSG_SITES)
        egi = sum(free[s] for s in EGI_SITES)
        waiting: list[JobRec] = []
        while idle and (osg or egi):
            job = idle.popleft()
            h = self._hash(job)
            u = (h & 0xFFFF) / 65536.0
            # OSG first when dCache Chicago holds the data, else EGI only.
            if osg and job.dag.run.has_chicago_copy():
                site = _weighted(OSG_SITES, free, osg, u)
                osg -= 1
            elif egi:
                site = _weighted(EGI_SITES, free, egi, u)
                egi -= 1
            else:
                waiting.append(job)
                continue
            self._start(job, site, t1, h >> 16)
        idle.extendleft(reversed(waiting))

    def _hash(self, job: JobRec) -> int:
        """64 random bits for this attempt of this node of this run."""
        key = draws.K_JOB + job.node_key * 8 + min(job.starts, 7)
        return draws.mix(job.dag.run.spec.salt, key)

    def _start(self, job: JobRec, site: str, t1: float, bits: int) -> None:
        """Start an attempt; its outcome and end time come from ``bits``."""
        self.free[site] -= 1
        job.status = JobStatus.RUNNING
        job.site = site
        job.entered = t1
        job.starts += 1
        job.view = job.dag.view = None
        self.changes += 1
        low, high = MERGE_SECONDS if job.node == "merge" else CHUNK_SECONDS
        duration = low + (high - low) * (bits & 0xFFF) / 4096.0
        if self._faults.site_holds(site, t1):
            self._hold_reason(job, site, bits >> 12)
            self._push(t1 + 120.0 + 600.0 * ((bits >> 24) & 0xFF) / 256.0, job, _HOLD)
        elif job.node != "merge" and ((bits >> 12) & 0xFFF) / 4096.0 < CHUNK_FAILURE_PROBABILITY:
            fraction = 0.1 + 0.8 * ((bits >> 24) & 0xFF) / 256.0
            self._push(t1 + duration * fraction, job, _FAIL)
        else:
            self._push(t1 + duration, job, _DONE)

    def _hold_reason(self, job: JobRec, site: str, bits: int) -> None:
        code, template = HOLD_REASONS[(bits & 0xFF) % len(HOLD_REASONS)]
        w = bits >> 20
        job.hold_code = code
        job.hold_reason = template.format(
            slot=1 + w % 32,
            worker=f"wn{(w // 32) % 400:03d}.{WORKER_DOMAINS[site]}",
            peak=2049 + (w // 12_800) % 900,
        )

    def _push(self, at: float, job: JobRec, kind: int) -> None:
        self._seq += 1
        heapq.heappush(self._events, (at, self._seq, job, kind))

    def _prune(self, t1: float) -> None:
        left = self.left
        while left and left[0].left_at is not None and left[0].left_at < t1 - JOB_HISTORY_S:
            left.popleft()
        done = self.finished_dags
        while done and done[0].finished_at is not None and done[0].finished_at < t1 - DAG_HISTORY_S:
            done.popleft()

"""What left one schedd's queue recently, read incrementally.

``Schedd.history`` scans the history file newest first until its ``since``
expression holds. The first poll reads back to the start of the window; each
later poll stops at the newest job seen before, so it reads only what is new.
Records older than the window are dropped, so memory stays bounded.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from backends.condor.aggregate import AdsRead, JobKey
from backends.model import Dag, Job


class HistoryWindow:
    """Jobs and DAGs of one schedd that left the queue within ``window_s``."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._records: dict[tuple[str, int, int], tuple[float, Job | Dag]] = {}
        #: The newest job read so far: where the next scan stops.
        self.marker: JobKey | None = None

    def since(self, now: datetime) -> str:
        """The ``since`` expression for the next scan."""
        cutoff = int(now.timestamp() - self.window_s)
        expression = f"EnteredCurrentStatus < {cutoff}"
        if self.marker is not None:
            cluster, proc = self.marker
            expression = f"(ClusterId == {cluster} && ProcId == {proc}) || {expression}"
        return expression

    def add(self, read: AdsRead, now: datetime) -> None:
        """Take in one scan's records (newest first) and forget the expired."""
        if read.first_id is not None:
            self.marker = read.first_id
        for job in read.jobs:
            self._records[("j", job.cluster_id, job.proc_id)] = (
                job.entered_status_at.timestamp(),
                job,
            )
        for dag in read.dags:
            # A DAG has no time of leaving in the model; its scan time will do.
            self._records[("d", dag.cluster_id, 0)] = (now.timestamp(), dag)
        cutoff = now.timestamp() - self.window_s
        expired = [key for key, (at, _) in self._records.items() if at < cutoff]
        for key in expired:
            del self._records[key]

    def __iter__(self) -> Iterator[Job | Dag]:
        return (record for _, record in self._records.values())

    def __len__(self) -> int:
        return len(self._records)

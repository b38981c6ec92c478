"""From job ads to one JobsSnapshot: per schedd, then across schedds.

Pure: takes mappings (ClassAds or dicts) and model objects, returns model
objects. Garbage in one ad is counted and described once per schedd; it
never hides the other ads.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from operator import attrgetter
from typing import Any

from backends.condor.ads import AdProblem, AdReader
from backends.model import Dag, Job, JobsSnapshot, JobStatus, RunDetail

JobKey = tuple[int, int]
_JOB_ORDER = attrgetter("cluster_id", "proc_id")
_DAG_ORDER = attrgetter("cluster_id")


@dataclass(slots=True)
class AdsRead:
    """Jobs and DAGs read from a batch of ads, and what was skipped."""

    jobs: list[Job] = field(default_factory=list)
    dags: list[Dag] = field(default_factory=list)
    skipped: int = 0
    first_problem: str | None = None
    #: Id of the first ad that had one (the newest, for history).
    first_id: JobKey | None = None

    def merge(self, other: AdsRead) -> None:
        self.jobs.extend(other.jobs)
        self.dags.extend(other.dags)
        self.skipped += other.skipped
        if self.first_problem is None:
            self.first_problem = other.first_problem


def read_ads(reader: AdReader, ads: Iterable[Mapping[str, Any]], finished: bool = False) -> AdsRead:
    """Read every ad; a bad one is counted, the rest go on."""
    out = AdsRead()
    jobs, dags = out.jobs, out.dags
    read = reader.read
    for ad in ads:
        try:
            record = read(ad, finished)
        except AdProblem as exc:
            out.skipped += 1
            if out.first_problem is None:
                out.first_problem = str(exc)
            continue
        except Exception as exc:  # a mapping that misbehaves is garbage too
            out.skipped += 1
            if out.first_problem is None:
                out.first_problem = f"unreadable ad: {type(exc).__name__}: {exc}"
            continue
        if out.first_id is None:
            out.first_id = (record.cluster_id, getattr(record, "proc_id", 0))
        if type(record) is Job:
            jobs.append(record)
        else:
            dags.append(record)  # type: ignore[arg-type]
    return out


def merge_queue_and_history(
    queue: AdsRead, history: Iterable[Job | Dag]
) -> tuple[list[Job], list[Dag]]:
    """The queue plus what left it; an id in both counts as what left (read later)."""
    jobs: dict[JobKey, Job] = {(j.cluster_id, j.proc_id): j for j in queue.jobs}
    dags: dict[int, Dag] = {d.cluster_id: d for d in queue.dags}
    for record in history:
        if isinstance(record, Job):
            jobs[(record.cluster_id, record.proc_id)] = record
        else:
            dags[record.cluster_id] = record
    # Sorted here, in the schedd's worker thread, not in the fetch that waits.
    return (
        sorted(jobs.values(), key=_JOB_ORDER),
        sorted(fill_held_nodes(dags.values(), jobs.values()), key=_DAG_ORDER),
    )


def fill_held_nodes(dags: Iterable[Dag], jobs: Iterable[Job]) -> list[Dag]:
    """Held nodes per DAG, counted in the queue where DAGMan does not publish them."""
    dags = list(dags)
    if all(d.nodes_held >= 0 for d in dags):
        return dags
    held = Counter(
        j.dag_cluster_id
        for j in jobs
        if j.status is JobStatus.HELD and j.dag_cluster_id is not None
    )
    return [d if d.nodes_held >= 0 else replace(d, nodes_held=held[d.cluster_id]) for d in dags]


def problem_line(schedd: str, skipped: int, first: str | None) -> str | None:
    if not skipped:
        return None
    plural = "" if skipped == 1 else "s"
    return f"{schedd}: {skipped} job ad{plural} skipped ({first})"


def snapshot(
    taken_at: datetime,
    schedds: Sequence[str],
    jobs: dict[str, Sequence[Job]],
    dags: dict[str, Sequence[Dag]],
    errors: Sequence[tuple[str, str]] = (),
    problems: Sequence[str] = (),
) -> JobsSnapshot:
    """One snapshot over every schedd, in the order given (each schedd's own
    jobs and DAGs as given: merge_queue_and_history sorts them)."""
    all_jobs: list[Job] = []
    all_dags: list[Dag] = []
    for name in schedds:
        all_jobs.extend(jobs.get(name, ()))
        all_dags.extend(dags.get(name, ()))
    return JobsSnapshot(
        taken_at=taken_at,
        jobs=tuple(all_jobs),
        dags=tuple(all_dags),
        schedds=tuple(schedds),
        schedd_errors=tuple(errors),
        ad_problems=tuple(problems),
    )


def run_detail(snap: JobsSnapshot, run_number: int) -> RunDetail:
    """A run's DAGs (every submission) and their node jobs, held ones first."""
    dags = tuple(d for d in snap.dags if d.run_number == run_number)
    keys = {(d.schedd, d.cluster_id) for d in dags}
    jobs = [j for j in snap.jobs if (j.schedd, j.dag_cluster_id) in keys]
    jobs.sort(key=lambda j: (j.status is not JobStatus.HELD, j.schedd, j.cluster_id, j.proc_id))
    notes = tuple(
        f"schedd {name} unreachable: {error}"
        for name, error in snap.schedd_errors
        if any(d.schedd == name for d in dags) or not dags
    )
    return RunDetail(
        taken_at=snap.taken_at, run_number=run_number, dags=dags, jobs=tuple(jobs), notes=notes
    )

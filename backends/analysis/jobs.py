"""HTCondor queues seen per site and per DAG (one DAG processes one run)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from backends.model import Dag, Job, JobsSnapshot, JobStatus

UNMATCHED = "unmatched"


@dataclass(frozen=True, slots=True)
class SiteCounts:
    site: str
    idle: int
    running: int
    held: int
    transferring: int
    completed: int
    #: Jobs started more than once (HTCondor retried them).
    retried: int

    @property
    def total(self) -> int:
        return self.idle + self.running + self.held + self.transferring + self.completed


def _count(site: str, jobs: Iterable[Job]) -> SiteCounts:
    by_status: Counter[JobStatus] = Counter()
    retried = 0
    for job in jobs:
        by_status[job.status] += 1
        if job.num_job_starts > 1:
            retried += 1
    return SiteCounts(
        site=site,
        idle=by_status[JobStatus.IDLE],
        running=by_status[JobStatus.RUNNING],
        held=by_status[JobStatus.HELD],
        transferring=by_status[JobStatus.TRANSFERRING_OUTPUT],
        completed=by_status[JobStatus.COMPLETED],
        retried=retried,
    )


def jobs_by_site(snap: JobsSnapshot) -> list[SiteCounts]:
    """Counts per site, by site name; jobs not matched to a site come last as 'unmatched'."""
    groups: dict[str, list[Job]] = {}
    for job in snap.jobs:
        groups.setdefault(job.site or UNMATCHED, []).append(job)
    order = sorted(groups, key=lambda s: (s == UNMATCHED, s))
    return [_count(site, groups[site]) for site in order]


def jobs_total(snap: JobsSnapshot) -> SiteCounts:
    return _count("all", snap.jobs)


# "slot1_3@node042.mwt2.org", "glidein_1234_567@host" ... and addresses like
# "<192.168.1.4:9618?addrs=...>" differ per job for the same cause.
_SLOT = re.compile(r"[\w.\-]+@[\w.\-]+[\w]")
_SINFUL = re.compile(r"<[^<>\s]*\d+\.\d+\.\d+\.\d+[^<>\s]*>")
_IP = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b")
_SPACE = re.compile(r"\s+")
# Numbers and hosts that HTCondor puts in a reason and that differ per job.
_VARYING: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(STARTER|SHADOW|starter|shadow) at [\w.\-]+"), r"\1 at <host>"),
    (re.compile(r"(?i)\b(peak usage:?\s*)\d+"), r"\1N"),
    (re.compile(r"\bdir_\d+"), "dir_N"),
    (re.compile(r"\b(pid|PID)\s+\d+"), r"\1 N"),
)


def normalise_hold_reason(reason: str | None, code: int | None = None) -> str:
    """The cause of a hold without the parts that differ from job to job."""
    if not reason:
        return f"(no reason given, code {code})" if code is not None else "(no reason given)"
    text = _SLOT.sub("<slot>", reason)
    text = _SINFUL.sub("<addr>", text)
    text = _IP.sub("<ip>", text)
    for pattern, repl in _VARYING:
        text = pattern.sub(repl, text)
    return _SPACE.sub(" ", text).strip()


def hold_reasons(snap: JobsSnapshot, top: int = 5) -> list[tuple[str, int]]:
    """The most frequent hold reasons of held jobs, most frequent first."""
    counts = Counter(
        normalise_hold_reason(j.hold_reason, j.hold_reason_code)
        for j in snap.jobs
        if j.status is JobStatus.HELD
    )
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top]


def dag_rows(snap: JobsSnapshot) -> list[Dag]:
    """DAGs still running first, then newest submitted first."""
    return sorted(
        snap.dags,
        key=lambda d: (d.finished, -d.submitted_at.timestamp(), d.schedd, d.cluster_id),
    )


def dag_for_run(snap: JobsSnapshot) -> dict[int, Dag]:
    """The newest DAG of each run (a run may have been resubmitted)."""
    out: dict[int, Dag] = {}
    for dag in snap.dags:
        if dag.run_number is None:
            continue
        current = out.get(dag.run_number)
        if current is None or (dag.submitted_at, dag.cluster_id) > (
            current.submitted_at,
            current.cluster_id,
        ):
            out[dag.run_number] = dag
    return out


def dag_stalled(dag: Dag) -> bool:
    """A DAG that is still in the queue, has held nodes and nothing else moving.

    DAGMan counts held nodes among the queued ones, so 'nothing running' is
    queued <= held.
    """
    return not dag.finished and dag.nodes_held > 0 and dag.nodes_queued <= dag.nodes_held

"""HTCondor queues seen per site and per DAG (one DAG processes one run)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

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


#: Column of each status in a tally row (retried is the last column).
_COLUMN = {
    JobStatus.IDLE: 0,
    JobStatus.RUNNING: 1,
    JobStatus.HELD: 2,
    JobStatus.TRANSFERRING_OUTPUT: 3,
    JobStatus.COMPLETED: 4,
}


def _tally(jobs: Iterable[Job], by_site: bool) -> dict[str, list[int]]:
    """One pass over the jobs: counts per site (or for all), by status.

    A pool can hold 100,000 jobs, so this is a single loop with plain lists,
    not a pass per site or per status.
    """
    rows: dict[str, list[int]] = {}
    column = _COLUMN.get
    for job in jobs:
        key = (job.site or UNMATCHED) if by_site else "all"
        row = rows.get(key)
        if row is None:
            row = rows[key] = [0, 0, 0, 0, 0, 0]
        index = column(job.status)
        if index is not None:
            row[index] += 1
        if job.num_job_starts > 1:
            row[5] += 1
    return rows


def _counts(site: str, row: list[int]) -> SiteCounts:
    return SiteCounts(site, row[0], row[1], row[2], row[3], row[4], row[5])


def _count(site: str, jobs: Iterable[Job]) -> SiteCounts:
    return _counts(site, _tally(jobs, by_site=False).get("all", [0] * 6))


def jobs_by_site(snap: JobsSnapshot) -> list[SiteCounts]:
    """Counts per site, by site name; jobs not matched to a site come last as 'unmatched'."""
    rows = _tally(snap.jobs, by_site=True)
    order = sorted(rows, key=lambda s: (s == UNMATCHED, s))
    return [_counts(site, rows[site]) for site in order]


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


@lru_cache(maxsize=4096)
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


_NO_DIGITS = str.maketrans("", "", "0123456789")


def hold_reasons(snap: JobsSnapshot, top: int = 5) -> list[tuple[str, int]]:
    """The most frequent hold reasons of held jobs, most frequent first.

    Reasons are grouped by their text without digits (slot numbers, hosts,
    peak usage differ per job) and shown as the first one's normalised text:
    14,000 held jobs cost one regex pass per distinct cause, not per job.
    """
    shape_counts: Counter[tuple[str, int | None]] = Counter()
    first: dict[tuple[str, int | None], str | None] = {}
    for job in snap.jobs:
        if job.status is JobStatus.HELD:
            reason = job.hold_reason or ""
            shape = (reason.translate(_NO_DIGITS), job.hold_reason_code)
            shape_counts[shape] += 1
            first.setdefault(shape, job.hold_reason)
    counts: Counter[str] = Counter()
    for shape, n in shape_counts.items():
        counts[normalise_hold_reason(first[shape], shape[1])] += n
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top]


@dataclass(frozen=True, slots=True)
class DagJobs:
    """A DAG's node jobs now in the queue, by state, and where they run."""

    idle: int
    running: int
    held: int
    #: The site most of its jobs run at or were held at ("-" when none is
    #: at a site; more sites show as "+N").
    site: str


def jobs_by_dag(snap: JobsSnapshot) -> dict[tuple[str, int], DagJobs]:
    """(schedd, DAG cluster) -> its jobs by state: one pass over the jobs."""
    tally: dict[tuple[str, int], list[int]] = {}
    sites: dict[tuple[str, int], Counter[str]] = {}
    for job in snap.jobs:
        dag = job.dag_cluster_id
        if dag is None:
            continue
        key = (job.schedd, dag)
        row = tally.get(key)
        if row is None:
            row = tally[key] = [0, 0, 0]
            sites[key] = Counter()
        status = job.status
        if status is JobStatus.IDLE:
            row[0] += 1
        elif status is JobStatus.RUNNING:
            row[1] += 1
            sites[key][job.site or UNMATCHED] += 1
        elif status is JobStatus.HELD:
            row[2] += 1
            # Where it was held (the site table counts it there too).
            if job.site:
                sites[key][job.site] += 1
    out = {}
    for key, (idle, running, held) in tally.items():
        ranked = sites[key].most_common()
        site = ranked[0][0] if ranked else "-"
        if len(ranked) > 1:
            site += f" +{len(ranked) - 1}"
        out[key] = DagJobs(idle, running, held, site)
    return out


def dag_percent(dag: Dag) -> int:
    """Nodes done, in whole percent, rounded down: 221 of 222 is 99 %, never 100."""
    return 100 * dag.nodes_done // dag.nodes_total if dag.nodes_total else 0


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


def stalled_dags(snap: JobsSnapshot) -> list[Dag]:
    """The stalled DAGs (``dag_stalled``), in the snapshot's order."""
    return [d for d in snap.dags if dag_stalled(d)]

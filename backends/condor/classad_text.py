"""``condor_q -long`` and ``condor_history -long`` text for a JobsSnapshot.

Lets tests and demos feed the condor backend realistic job ads without a
running HTCondor: the simulator's jobs (or any snapshot) become the text a
schedd would print, DAGMan job ads included, which the real ``classad2``
parser then reads. It lives here rather than in the simulator so the
simulator stays independent of HTCondor's formats.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from backends.model import Dag, DagStatus, Job, JobsSnapshot, JobStatus

DAGMAN_CMD = "/usr/bin/condor_dagman"
NODE_CMD = "/home/xenon/processing/pax_wrapper.sh"
SCHEDULER_UNIVERSE = 7
VANILLA_UNIVERSE = 5
_LEFT_QUEUE = (JobStatus.COMPLETED, JobStatus.REMOVED)


def quote(text: str) -> str:
    """A string literal in the old ClassAd syntax that ``-long`` prints.

    There only ``\\"`` is an escape; a line cannot hold a line break, so
    breaks become spaces (as the tools print them). Other characters,
    terminal escapes included, are kept: the parser must cope with them.
    """
    out = text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    out = out.replace('"', '\\"')
    if out.endswith("\\"):
        out += " "  # would escape the closing quote
    return f'"{out}"'


def _ts(at: datetime) -> int:
    return int(at.timestamp())


def job_ad(job: Job) -> list[str]:
    lines = [
        f"ClusterId = {job.cluster_id}",
        f"ProcId = {job.proc_id}",
        f"GlobalJobId = {quote(f'{job.schedd}#{job.job_id}#{_ts(job.submitted_at)}')}",
        f"JobStatus = {int(job.status)}",
        f"Owner = {quote(job.owner)}",
        f"User = {quote(f'{job.owner}@{job.schedd}')}",
        f"JobUniverse = {VANILLA_UNIVERSE}",
        f"Cmd = {quote(NODE_CMD)}",
        f"QDate = {_ts(job.submitted_at)}",
        f"EnteredCurrentStatus = {_ts(job.entered_status_at)}",
        f"NumJobStarts = {job.num_job_starts}",
        "RequestMemory = 2000",
        "RequestCpus = 1",
        'Requirements = (TARGET.OpSysMajorVer == 7) && (TARGET.Arch == "X86_64")',
    ]
    if job.batch_name is not None:
        lines.append(f"JobBatchName = {quote(job.batch_name)}")
    if job.dag_cluster_id is not None:
        lines.append(f"DAGManJobId = {job.dag_cluster_id}")
    if job.node_name is not None:
        lines.append(f"DAGNodeName = {quote(job.node_name)}")
    if job.site is not None:
        lines.append(f"MATCH_EXP_JOB_GLIDEIN_Site = {quote(job.site)}")
    if job.status is JobStatus.HELD:
        lines.append(f"HoldReason = {quote(job.hold_reason or '')}")
        if job.hold_reason_code is not None:
            lines.append(f"HoldReasonCode = {job.hold_reason_code}")
    if job.status in _LEFT_QUEUE:
        lines.append(f"CompletionDate = {_ts(job.entered_status_at)}")
        done = job.status is JobStatus.COMPLETED
        lines.append("ExitCode = 0" if done else "ExitCode = undefined")
    return lines


def dag_ad(
    dag: Dag,
    owner: str = "xenon",
    run_attribute: str | None = "RunNumber",
    left_at: datetime | None = None,
) -> list[str]:
    """The DAGMan job's own ad, with the DAG_* counts DAGMan publishes.

    ``left_at``: when a finished DAGMan job left the queue (its
    EnteredCurrentStatus); the model does not keep it.
    """
    if not dag.finished:
        status = JobStatus.RUNNING
    elif dag.status is DagStatus.REMOVED:
        status = JobStatus.REMOVED
    else:
        status = JobStatus.COMPLETED
    submitted = _ts(dag.submitted_at)
    unready = max(0, dag.nodes_total - dag.nodes_done - dag.nodes_failed - dag.nodes_queued)
    lines = [
        f"ClusterId = {dag.cluster_id}",
        "ProcId = 0",
        f"JobStatus = {int(status)}",
        f"Owner = {quote(owner)}",
        f"JobUniverse = {SCHEDULER_UNIVERSE}",
        f"Cmd = {quote(DAGMAN_CMD)}",
        f"Arguments = {quote(f'-p 0 -f -l . -Lockfile {dag.batch_name}.dag.lock')}",
        f"JobBatchName = {quote(dag.batch_name)}",
        f"QDate = {submitted}",
        f"EnteredCurrentStatus = {submitted if left_at is None else _ts(left_at)}",
        "NumJobStarts = 1",
        f"DAG_NodesTotal = {dag.nodes_total}",
        f"DAG_NodesDone = {dag.nodes_done}",
        f"DAG_NodesFailed = {dag.nodes_failed}",
        f"DAG_NodesQueued = {dag.nodes_queued}",
        "DAG_NodesReady = 0",
        f"DAG_NodesUnready = {unready}",
        f"DAG_JobsHeld = {dag.nodes_held}",
        f"DAG_Status = {int(dag.status)}",
        "DAG_InRecovery = 0",
    ]
    if run_attribute and dag.run_number is not None:
        lines.append(f"{run_attribute} = {dag.run_number}")
    return lines


def _ads(blocks: Iterable[list[str]]) -> Iterator[str]:
    for block in blocks:
        yield "\n".join(block) + "\n\n"


def queue_text(
    snap: JobsSnapshot,
    schedd: str | None = None,
    owner: str = "xenon",
    run_attribute: str | None = "RunNumber",
) -> str:
    """What ``condor_q -long`` prints: DAGMan jobs and node jobs still queued."""
    dags = [
        dag_ad(d, owner, run_attribute)
        for d in snap.dags
        if not d.finished and schedd in (None, d.schedd)
    ]
    jobs = [
        job_ad(j) for j in snap.jobs if j.status not in _LEFT_QUEUE and schedd in (None, j.schedd)
    ]
    return "".join(_ads([*dags, *jobs]))


def history_text(
    snap: JobsSnapshot,
    schedd: str | None = None,
    owner: str = "xenon",
    run_attribute: str | None = "RunNumber",
) -> str:
    """What ``condor_history -long`` prints: jobs that left the queue, newest first."""
    left: list[tuple[int, list[str]]] = [
        (_ts(j.entered_status_at), job_ad(j))
        for j in snap.jobs
        if j.status in _LEFT_QUEUE and schedd in (None, j.schedd)
    ]
    # DAGMan leaves the queue right after its last node did.
    last_node: dict[tuple[str, int], datetime] = {}
    for job in snap.jobs:
        if job.dag_cluster_id is not None:
            key = (job.schedd, job.dag_cluster_id)
            last_node[key] = max(last_node.get(key, job.entered_status_at), job.entered_status_at)
    for dag in snap.dags:
        if dag.finished and schedd in (None, dag.schedd):
            at = last_node.get((dag.schedd, dag.cluster_id), dag.submitted_at)
            left.append((_ts(at), dag_ad(dag, owner, run_attribute, at)))
    left.sort(key=lambda item: item[0], reverse=True)
    return "".join(_ads(block for _, block in left))

"""Reading one HTCondor job ad into the model's Job or Dag.

Ads arrive as mappings (``classad2.ClassAd`` from the bindings, or plain dicts
in tests); nothing here imports the bindings, so the parsing is testable and
the same for every transport. Every value is untrusted: a wrong type or an
unknown status makes the ad an :class:`AdProblem` (counted by the caller),
long strings are cut, and ClassAd's ``undefined``/``error`` values read as
missing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from backends.condor.run_mapping import RunMapper
from backends.model import Dag, DagStatus, Job, JobStatus

#: Attributes of a job ad that the backend reads (the query's projection).
JOB_ATTRIBUTES: tuple[str, ...] = (
    "ClusterId",
    "ProcId",
    "JobStatus",
    "Owner",
    "JobBatchName",
    "DAGManJobId",
    "DAGNodeName",
    "HoldReason",
    "HoldReasonCode",
    "EnteredCurrentStatus",
    "QDate",
    "NumJobStarts",
    "Cmd",
)
#: Attributes DAGMan publishes in its own job ad.
DAG_ATTRIBUTES: tuple[str, ...] = (
    "DAG_NodesTotal",
    "DAG_NodesDone",
    "DAG_NodesFailed",
    "DAG_NodesQueued",
    "DAG_JobsHeld",
    "DAG_Status",
)
#: Where OSG glideins record the site a job matched, most specific first.
DEFAULT_SITE_ATTRIBUTES: tuple[str, ...] = ("MATCH_EXP_JOB_GLIDEIN_Site", "MATCH_GLIDEIN_Site")
#: Longest string kept from an ad (a hold reason can carry a whole stderr).
MAX_TEXT = 500

_STATUSES = {s.value: s for s in JobStatus}
_DAG_STATUSES = {s.value: s for s in DagStatus}
_FINISHED = (JobStatus.REMOVED, JobStatus.COMPLETED)


class AdProblem(ValueError):
    """One ad that cannot be read; the message says which and why."""


def projection(site_attributes: Sequence[str], run_attribute: str | None) -> list[str]:
    """Only what is read: keeps a 100,000-job queue query small."""
    extra = [run_attribute] if run_attribute else []
    return list(dict.fromkeys([*JOB_ATTRIBUTES, *DAG_ATTRIBUTES, *site_attributes, *extra]))


def _missing(value: Any) -> bool:
    # classad2 returns its Value enum for undefined and error.
    return value is None or isinstance(value, Enum)


def _int(ad: Mapping[str, Any], name: str, default: int | None = None) -> int | None:
    value = ad.get(name)
    if _missing(value):
        return default
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise AdProblem(f"{name} is not a number: {str(value)[:40]!r}")


def _text(ad: Mapping[str, Any], name: str) -> str | None:
    value = ad.get(name)
    if _missing(value):
        return None
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _time(seconds: int | None, name: str) -> datetime:
    if seconds is None:
        raise AdProblem(f"{name} missing")
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise AdProblem(f"{name} out of range: {seconds}") from exc


@dataclass(frozen=True, slots=True)
class AdReader:
    """Turns job ads of one schedd into Jobs and Dags."""

    schedd: str
    site_attributes: tuple[str, ...]
    runs: RunMapper

    def read(self, ad: Mapping[str, Any], finished: bool = False) -> Job | Dag:
        """A node or plain job as a Job; a DAGMan job as a Dag.

        ``finished`` marks ads from the history: the job has left the queue.
        """
        cluster = _int(ad, "ClusterId")
        if cluster is None:
            raise AdProblem("ClusterId missing")
        proc = _int(ad, "ProcId", 0)
        try:
            return self._read(ad, cluster, proc or 0, finished)
        except AdProblem as exc:
            raise AdProblem(f"job {cluster}.{proc}: {exc}") from None

    def _read(self, ad: Mapping[str, Any], cluster: int, proc: int, finished: bool) -> Job | Dag:
        code = _int(ad, "JobStatus")
        status = _STATUSES.get(code) if code is not None else None
        if status is None:
            raise AdProblem(f"JobStatus {code} unknown")
        submitted = _time(_int(ad, "QDate"), "QDate")
        entered_s = _int(ad, "EnteredCurrentStatus")
        entered = submitted if entered_s is None else _time(entered_s, "EnteredCurrentStatus")
        dag_cluster = _int(ad, "DAGManJobId")
        batch = _text(ad, "JobBatchName")
        if dag_cluster is None and self._is_dagman(ad):
            return self._dag(ad, cluster, status, submitted, batch, finished)
        site = None
        for name in self.site_attributes:
            site = _text(ad, name)
            if site is not None:
                break
        held = status is JobStatus.HELD
        return Job(
            schedd=self.schedd,
            cluster_id=cluster,
            proc_id=proc,
            status=status,
            owner=_text(ad, "Owner") or "",
            site=site,
            entered_status_at=entered,
            submitted_at=submitted,
            dag_cluster_id=dag_cluster,
            node_name=_text(ad, "DAGNodeName"),
            batch_name=batch,
            num_job_starts=_int(ad, "NumJobStarts", 0) or 0,
            hold_reason=_text(ad, "HoldReason") if held else None,
            hold_reason_code=_int(ad, "HoldReasonCode") if held else None,
        )

    @staticmethod
    def _is_dagman(ad: Mapping[str, Any]) -> bool:
        if not _missing(ad.get("DAG_NodesTotal")):
            return True
        cmd = ad.get("Cmd")
        return isinstance(cmd, str) and cmd.endswith("condor_dagman")

    def _dag(
        self,
        ad: Mapping[str, Any],
        cluster: int,
        status: JobStatus,
        submitted: datetime,
        batch: str | None,
        finished: bool,
    ) -> Dag:
        code = _int(ad, "DAG_Status", 0) or 0
        dag_status = _DAG_STATUSES.get(code)
        if dag_status is None:
            raise AdProblem(f"DAG_Status {code} unknown")
        if status is JobStatus.REMOVED and dag_status is DagStatus.OK:
            dag_status = DagStatus.REMOVED
        name = batch or f"ID: {cluster}"
        # -1: this DAGMan does not publish DAG_JobsHeld; counted from the queue.
        held = _int(ad, "DAG_JobsHeld")
        return Dag(
            schedd=self.schedd,
            cluster_id=cluster,
            batch_name=name,
            run_number=self.runs.run_of(ad, name),
            nodes_total=_int(ad, "DAG_NodesTotal", 0) or 0,
            nodes_done=_int(ad, "DAG_NodesDone", 0) or 0,
            nodes_failed=_int(ad, "DAG_NodesFailed", 0) or 0,
            nodes_queued=_int(ad, "DAG_NodesQueued", 0) or 0,
            nodes_held=-1 if held is None else held,
            status=dag_status,
            submitted_at=submitted,
            finished=finished or status in _FINISHED,
        )

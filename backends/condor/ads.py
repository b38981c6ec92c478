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
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from backends.condor.run_mapping import RunMapper
from backends.construct import positional_constructor
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


def _int(value: Any, name: str, default: int | None = None) -> int | None:
    """The slow path of the int reads below: anything but a plain int."""
    if _missing(value):
        return default
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise AdProblem(f"{name} is not a number: {str(value)[:40]!r}")


def _text(value: Any) -> str | None:
    if type(value) is str and len(value) <= MAX_TEXT:
        return value
    if _missing(value):
        return None
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


#: ``Job(...)`` by position, about twice as fast as the frozen dataclass's own.
_make_job = positional_constructor(Job)
#: (JobStatus, EnteredCurrentStatus, Job) of a job seen before.
_Known = tuple[Any, Any, Job]


class AdReader:
    """Turns job ads of one schedd into Jobs and Dags.

    Keep one per schedd: it remembers the jobs of the last queue read, and
    a job whose status and time of entering it did not change is the same
    Job again, read with four attribute lookups instead of a dozen (looking
    up a ClassAd attribute is the dominant cost). What else the model keeps
    of a job changes only with its status: the site and the start count
    when it starts, the hold reason when it is held.
    """

    def __init__(self, schedd: str, site_attributes: Sequence[str], runs: RunMapper) -> None:
        self.schedd = schedd
        self.site_attributes = tuple(site_attributes)
        self.runs = runs
        self._known: dict[tuple[int, int], _Known] = {}
        self._seen: dict[tuple[int, int], _Known] | None = None
        self._times: dict[int, datetime] = {}

    def begin_queue(self) -> None:
        """A queue read starts: jobs read from now on are remembered."""
        self._seen = {}

    def end_queue(self) -> None:
        """Remember only the jobs of this read (the others left the queue)."""
        if self._seen is not None:
            self._known, self._seen = self._seen, None
        if len(self._times) > 500_000:
            self._times.clear()

    def _time(self, seconds: Any, name: str) -> datetime:
        at = self._times.get(seconds) if type(seconds) is int else None
        if at is not None:
            return at
        value = _int(seconds, name)
        if value is None:
            raise AdProblem(f"{name} missing")
        try:
            at = datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise AdProblem(f"{name} out of range: {value}") from exc
        self._times[value] = at
        return at

    def read(self, ad: Mapping[str, Any], finished: bool = False) -> Job | Dag:
        """A node or plain job as a Job; a DAGMan job as a Dag.

        ``finished`` marks ads from the history: the job has left the queue.
        """
        get = ad.get
        cluster, proc = get("ClusterId"), get("ProcId")
        code, entered = get("JobStatus"), get("EnteredCurrentStatus")
        if type(cluster) is int and type(proc) is int:
            key = (cluster, proc)
            known = self._known.get(key)
            if known is not None and known[0] == code and known[1] == entered:
                if self._seen is not None:
                    self._seen[key] = known
                return known[2]
        else:
            cluster = _int(cluster, "ClusterId")
            if cluster is None:
                raise AdProblem("ClusterId missing")
            try:
                proc = _int(proc, "ProcId", 0) or 0
            except AdProblem as exc:
                raise AdProblem(f"job {cluster}: {exc}") from None
            key = (cluster, proc)
        try:
            record = self._read(get, cluster, proc, code, entered, finished)
        except AdProblem as exc:
            raise AdProblem(f"job {cluster}.{proc}: {exc}") from None
        if self._seen is not None and type(record) is Job:
            self._seen[key] = (code, entered, record)
        return record

    def _read(
        self, get: Any, cluster: int, proc: int, code: Any, entered: Any, finished: bool
    ) -> Job | Dag:
        status = _STATUSES.get(code) if type(code) is int else None
        if status is None:
            code = _int(code, "JobStatus")
            status = _STATUSES.get(code) if code is not None else None
            if status is None:
                raise AdProblem(f"JobStatus {code} unknown")
        times = self._times
        qdate = get("QDate")
        submitted = times.get(qdate) or self._time(qdate, "QDate")
        if entered is None or isinstance(entered, Enum):
            entered_at = submitted
        else:
            entered_at = times.get(entered) or self._time(entered, "EnteredCurrentStatus")
        dag_cluster = get("DAGManJobId")
        if type(dag_cluster) is not int:
            dag_cluster = _int(dag_cluster, "DAGManJobId")
            if dag_cluster is None and self._is_dagman(get):
                return self._dag(get, cluster, status, submitted, finished)
        site = None
        # An idle job runs nowhere: a site left from an earlier match would
        # count it at a site it has left (and costs failed look-ups).
        if status is not JobStatus.IDLE:
            for name in self.site_attributes:
                site = _text(get(name))
                if site is not None:
                    break
        held = status is JobStatus.HELD
        starts = get("NumJobStarts")
        # Plain short strings, the usual case, without a call each.
        owner, node, batch = get("Owner"), get("DAGNodeName"), get("JobBatchName")
        return _make_job(
            self.schedd,
            cluster,
            proc,
            status,
            owner if type(owner) is str and len(owner) <= MAX_TEXT else _text(owner) or "",
            site,
            entered_at,
            submitted,
            dag_cluster,
            node if type(node) is str and len(node) <= MAX_TEXT else _text(node),
            batch if type(batch) is str and len(batch) <= MAX_TEXT else _text(batch),
            starts if type(starts) is int else _int(starts, "NumJobStarts", 0) or 0,
            _text(get("HoldReason")) if held else None,
            _int(get("HoldReasonCode"), "HoldReasonCode") if held else None,
        )

    @staticmethod
    def _is_dagman(get: Any) -> bool:
        if not _missing(get("DAG_NodesTotal")):
            return True
        cmd = get("Cmd")
        return isinstance(cmd, str) and cmd.endswith("condor_dagman")

    def _dag(
        self, get: Any, cluster: int, status: JobStatus, submitted: datetime, finished: bool
    ) -> Dag:
        code = _int(get("DAG_Status"), "DAG_Status", 0) or 0
        dag_status = _DAG_STATUSES.get(code)
        if dag_status is None:
            raise AdProblem(f"DAG_Status {code} unknown")
        if status is JobStatus.REMOVED and dag_status is DagStatus.OK:
            dag_status = DagStatus.REMOVED
        name = _text(get("JobBatchName")) or f"ID: {cluster}"
        # -1: this DAGMan does not publish DAG_JobsHeld; counted from the queue.
        held = _int(get("DAG_JobsHeld"), "DAG_JobsHeld")
        return Dag(
            schedd=self.schedd,
            cluster_id=cluster,
            batch_name=name,
            run_number=self.runs.run_of_get(get, name),
            nodes_total=_int(get("DAG_NodesTotal"), "DAG_NodesTotal", 0) or 0,
            nodes_done=_int(get("DAG_NodesDone"), "DAG_NodesDone", 0) or 0,
            nodes_failed=_int(get("DAG_NodesFailed"), "DAG_NodesFailed", 0) or 0,
            nodes_queued=_int(get("DAG_NodesQueued"), "DAG_NodesQueued", 0) or 0,
            nodes_held=-1 if held is None else held,
            status=dag_status,
            submitted_at=submitted,
            finished=finished or status in _FINISHED,
        )

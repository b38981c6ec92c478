"""The domain model every backend returns and every view reads.

Snapshots are immutable and stamped with the time they were taken, so a pane
can always say how old its data is, and the derived knowledge in
``backends.analysis`` can be plain functions over them. Nothing here knows
about the terminal: backends never import Textual.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import ClassVar

TB = 10**12
GB = 10**9


_KINDS: dict[str, Kind] = {}


class _OpenEnumeration(type):
    """``Kind``'s metaclass: ``for kind in Kind``, ``in`` and ``len`` over the
    kinds defined so far, in the order they were defined."""

    def __iter__(cls) -> Iterator[Kind]:
        return iter(tuple(_KINDS.values()))

    def __len__(cls) -> int:
        return len(_KINDS)

    def __contains__(cls, value: object) -> bool:
        return isinstance(value, str) and value in _KINDS


class Kind(str, metaclass=_OpenEnumeration):
    """The name of a kind of data a backend can serve; one pane each.

    An open enumeration: it reads like a ``StrEnum`` of the built-in kinds
    (``Kind.RUNS``, ``Kind("runs")`` raising ValueError for an unknown name,
    ``kind.value``, ``for kind in Kind``), and ``backends.kinds.register``
    defines more without touching this file. Each name has one instance.
    """

    __slots__ = ()

    BUFFER: ClassVar[Kind]
    TRANSFERS: ClassVar[Kind]
    TAPE: ClassVar[Kind]
    JOBS: ClassVar[Kind]
    RUNS: ClassVar[Kind]

    def __new__(cls, value: str) -> Kind:
        try:
            return _KINDS[value]
        except (KeyError, TypeError):
            known = ", ".join(_KINDS)
            raise ValueError(f"{value!r} is not a kind (known: {known})") from None

    @classmethod
    def define(cls, value: str) -> Kind:
        """The kind of this name, defined now if it is new (lower-case words)."""
        if value in _KINDS:
            return _KINDS[value]
        if not (value.isidentifier() and value == value.lower()):
            raise ValueError(f"a kind is a lower-case name, got {value!r}")
        kind = str.__new__(cls, value)
        _KINDS[value] = kind
        return kind

    @classmethod
    def forget(cls, value: str) -> None:
        """Undefine a kind (tests that define one of their own clean up with this)."""
        if value in _BUILT_IN:
            raise ValueError(f"{value!r} is a built-in kind")
        _KINDS.pop(value, None)

    @property
    def value(self) -> str:
        return str.__str__(self)

    def __str__(self) -> str:
        return str.__str__(self)

    def __repr__(self) -> str:
        return f"Kind({str.__str__(self)!r})"

    def __reduce__(self) -> tuple[type[Kind], tuple[str]]:
        return (Kind, (str.__str__(self),))


Kind.BUFFER = Kind.define("buffer")
Kind.TRANSFERS = Kind.define("transfers")
Kind.TAPE = Kind.define("tape")
Kind.JOBS = Kind.define("jobs")
Kind.RUNS = Kind.define("runs")
_BUILT_IN = frozenset(_KINDS)


# ---------------------------------------------------------------- buffer disk


@dataclass(frozen=True, slots=True)
class BufferSample:
    at: datetime
    used_bytes: int


@dataclass(frozen=True, slots=True)
class BufferSnapshot:
    """The LNGS buffer disk the DAQ writes raw data to."""

    taken_at: datetime
    total_bytes: int
    used_bytes: int
    #: Recent fill-level samples, oldest first, for rates and forecasts.
    history: tuple[BufferSample, ...] = ()
    #: Rate at which the DAQ writes new raw data (bytes/s), when known: the
    #: rate that matters when the uplink is down and nothing can be purged.
    daq_write_bps: float | None = None
    #: Whether the uplink from LNGS is up, when the source knows.
    uplink_up: bool | None = None
    mount: str = "/data/xenon/raw"
    #: What the source had to leave out (e.g. history samples that were not
    #: numbers), one line each (untrusted text); the rest is still good.
    malformed: tuple[str, ...] = ()

    @property
    def free_bytes(self) -> int:
        return max(0, self.total_bytes - self.used_bytes)

    @property
    def fill_fraction(self) -> float:
        return self.used_bytes / self.total_bytes if self.total_bytes else 0.0


# ------------------------------------------------------------------ transfers


class RuleState(StrEnum):
    OK = "OK"
    REPLICATING = "REPLICATING"
    STUCK = "STUCK"
    SUSPENDED = "SUSPENDED"
    WAITING_APPROVAL = "WAITING_APPROVAL"
    INJECT = "INJECT"


#: RSEs of the experiment: where they are and what they count for.
LNGS_RSE = "LNGS_USERDISK"
CHICAGO_RSE = "UC_OSG_USERDISK"
EUROPEAN_RSES: tuple[str, ...] = (
    "NIKHEF_USERDISK",
    "SURFSARA_USERDISK",
    "CNAF_USERDISK",
    "CCIN2P3_USERDISK",
    "WEIZMANN_USERDISK",
)
ALL_RSES: tuple[str, ...] = (LNGS_RSE, CHICAGO_RSE, *EUROPEAN_RSES)


@dataclass(frozen=True, slots=True)
class Rule:
    """A Rucio replication rule of one run's raw data to one RSE."""

    id: str
    scope: str
    name: str
    rse: str
    state: RuleState
    locks_ok: int
    locks_replicating: int
    locks_stuck: int
    bytes: int
    created_at: datetime
    updated_at: datetime
    run_number: int | None = None
    expires_at: datetime | None = None
    #: When the rule last entered STUCK, if it is stuck.
    stuck_since: datetime | None = None
    error: str | None = None
    #: The run's name (``YYMMDD_HHMM``) when the source knows it rather than
    #: its number (a Rucio scope carries the name), so views can join by name.
    run_name: str | None = None

    @property
    def locks_total(self) -> int:
        return self.locks_ok + self.locks_replicating + self.locks_stuck

    @property
    def progress(self) -> float:
        """Locks OK over all locks (1.0 for a rule without locks)."""
        total = self.locks_total
        return self.locks_ok / total if total else 1.0


@dataclass(frozen=True, slots=True)
class RseStatus:
    name: str
    used_bytes: int | None
    total_bytes: int | None
    #: Bytes/s arriving at this RSE recently, when known.
    throughput_bps: float | None = None
    available: bool = True
    region: str = ""

    @property
    def free_bytes(self) -> int | None:
        if self.used_bytes is None or self.total_bytes is None:
            return None
        return max(0, self.total_bytes - self.used_bytes)


@dataclass(frozen=True, slots=True)
class TransfersSnapshot:
    taken_at: datetime
    rses: tuple[RseStatus, ...]
    rules: tuple[Rule, ...]
    #: Records the source could not read (one line each, untrusted text);
    #: they are left out of ``rules``/``rses`` and do not hide the others.
    malformed: tuple[str, ...] = ()


# ----------------------------------------------------------------------- tape


class TapeState(StrEnum):
    QUEUED = "queued"
    UPLOADING = "uploading"
    VERIFYING = "verifying"
    VERIFIED = "verified"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class TapeUpload:
    """One run's raw data on its way to (or on) tape at PDC Stockholm."""

    run_number: int
    state: TapeState
    bytes: int
    updated_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    #: dsmc return code: 0 ok, 4 files skipped, 8 warnings, 12 errors.
    return_code: int | None = None
    message: str | None = None
    #: Figures of the upload's ``dsmc incremental`` summary, when a source
    #: reads them (the TSM log backend); None when unknown.
    objects_inspected: int | None = None
    objects_backed_up: int | None = None
    objects_failed: int | None = None
    bytes_transferred: int | None = None
    #: dsmc's aggregate data transfer rate (bytes/s).
    transfer_rate_bps: float | None = None
    elapsed_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class TapeSnapshot:
    taken_at: datetime
    #: Uploads not yet verified, and verified or failed ones of the recent past.
    uploads: tuple[TapeUpload, ...]
    verified_runs: int = 0
    verified_bytes: int = 0
    last_success: datetime | None = None
    #: Recent upload rate (bytes/s), when known.
    rate_bps: float | None = None
    #: What the source could not read (an unreadable log, a file name that
    #: names no run), one line each (untrusted text); the rest is still good.
    malformed: tuple[str, ...] = ()


# ----------------------------------------------------------------------- jobs


class JobStatus(IntEnum):
    """HTCondor's JobStatus codes."""

    IDLE = 1
    RUNNING = 2
    REMOVED = 3
    COMPLETED = 4
    HELD = 5
    TRANSFERRING_OUTPUT = 6
    SUSPENDED = 7


@dataclass(frozen=True, slots=True)
class Job:
    schedd: str
    cluster_id: int
    proc_id: int
    status: JobStatus
    owner: str
    site: str | None
    entered_status_at: datetime
    submitted_at: datetime
    dag_cluster_id: int | None = None
    node_name: str | None = None
    batch_name: str | None = None
    num_job_starts: int = 0
    hold_reason: str | None = None
    hold_reason_code: int | None = None

    @property
    def job_id(self) -> str:
        return f"{self.cluster_id}.{self.proc_id}"


class DagStatus(IntEnum):
    """DAGMan's DAG_Status codes."""

    OK = 0
    ERROR = 1
    NODE_FAILED = 2
    ABORTED = 3
    REMOVED = 4
    CYCLE = 5
    HALTED = 6


@dataclass(frozen=True, slots=True)
class Dag:
    """A DAGMan job: the processing of one run."""

    schedd: str
    cluster_id: int
    batch_name: str
    run_number: int | None
    nodes_total: int
    nodes_done: int
    nodes_failed: int
    nodes_queued: int
    nodes_held: int
    status: DagStatus
    submitted_at: datetime
    #: Whether the DAGMan job itself has left the queue (finished).
    finished: bool = False

    @property
    def progress(self) -> float:
        return self.nodes_done / self.nodes_total if self.nodes_total else 0.0


@dataclass(frozen=True, slots=True)
class JobsSnapshot:
    taken_at: datetime
    #: Jobs in the queue plus jobs that left it recently (from history).
    jobs: tuple[Job, ...]
    dags: tuple[Dag, ...]
    schedds: tuple[str, ...] = ()
    #: Schedds that could not be read this time, with a one-line error each
    #: (untrusted text). Their jobs and DAGs above are the last ones read.
    schedd_errors: tuple[tuple[str, str], ...] = ()
    #: Job ads skipped as garbage, one line per schedd with the count and the
    #: first problem; the other ads of that schedd are in ``jobs``/``dags``.
    ad_problems: tuple[str, ...] = ()


# ----------------------------------------------------------------------- runs


class CopyType(StrEnum):
    RAW = "raw"
    PROCESSED = "processed"
    MINITREES = "minitrees"


class CopyStatus(StrEnum):
    TRANSFERRING = "transferring"
    VERIFYING = "verifying"
    TRANSFERRED = "transferred"
    ERROR = "error"
    OTHER = "other"


#: Hosts that appear in run documents.
HOST_BUFFER = "xe1t-datamanager"
HOST_TAPE = "tsm-server"
HOST_RUCIO = "rucio-catalogue"
HOST_RCC = "midway-login1"
HOST_OSG = "login"
#: Hosts whose copies are never Rucio copies, whatever ``rse`` they carry.
NON_RUCIO_HOSTS = frozenset({HOST_BUFFER, HOST_TAPE, HOST_RCC, HOST_OSG})


@dataclass(frozen=True, slots=True)
class DataCopy:
    """One entry of a run document's ``data`` list."""

    type: str
    host: str
    status: str
    location: str = ""
    checksum: str | None = None
    rse: str | None = None
    creation_time: datetime | None = None
    #: True when any checksum problem is recorded (the reader counts every
    #: ``checksumproblem`` value but an absent one or ``false``).
    checksum_problem: bool = False
    #: What the reader found malformed in this entry (wrong types, an RSE list
    #: holding something that is not a name), one line each (untrusted text).
    #: A copy with problems is never a valid copy (``analysis.safety``).
    problems: tuple[str, ...] = ()
    #: XENONnT: how many files the copy has (``file_count``) and its Rucio DID.
    file_count: int | None = None
    did: str | None = None
    #: What Rucio says of a Rucio copy (``analysis.rucio_evidence``): its
    #: rule's state ("OK", "STUCK", ..., "no rule") and the files the rule
    #: holds; None when nobody asked Rucio ("unverified in Rucio").
    rucio_state: str | None = None
    rucio_files: int | None = None


SCIENCE_TAG_PREFIX = "_sciencerun"


def xenonnt_did(number: int, data_type: str, lineage: str) -> str:
    """A XENONnT Rucio DID as admix makes it: ``xnt_NNNNNN:<type>-<lineage hash>``."""
    return f"xnt_{number:06d}:{data_type}-{lineage}"


#: XENONnT: the run ``status`` values that mean trouble (admix's life cycle
#: is ``eb_ready_to_upload`` -> ``transferring`` -> ``transferred``).
RUN_STATUS_TROUBLE = ("stuck", "error")
#: The event builder's (bootstrax) states of a run, as straxen writes them.
BUILDER_STATES = ("considering", "busy", "done", "failed", "abandoned")


@dataclass(frozen=True, slots=True)
class BuilderState:
    """XENONnT: the event builder's (bootstrax's) word on one run, from the
    run document's ``bootstrax`` (untrusted text)."""

    #: ``BUILDER_STATES``, or ``unknown`` for anything else (a malformed value).
    state: str
    #: The event builder, e.g. ``eb3.xenon.local`` (None: not recorded).
    host: str | None = None
    #: Failed attempts so far (None: not recorded).
    n_failures: int | None = None
    #: When bootstrax tries a failed run again (None: not recorded).
    next_retry: datetime | None = None


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """XENONnT: an event builder's last heartbeat (bootstrax's ``eb_monitor``
    documents in the DAQ database): its host, when, and its state then.

    A configured host with no heartbeat document at all is ``seen=False``
    (``time`` None): never seen, which is silent (alarm ``eb.silent``), not
    unknown as an unreadable time is."""

    host: str
    #: The heartbeat's time (None: unreadable, the age is then unknown; or
    #: never seen, ``seen`` False).
    time: datetime | None
    #: bootstrax's state then (``idle``, ``busy``, ...; untrusted text).
    state: str = ""
    #: Problems found while reading it; empty when it was clean.
    malformed: tuple[str, ...] = ()
    #: False when the host has no heartbeat document at all (never seen).
    seen: bool = True

    @property
    def unreadable(self) -> bool:
        """Documents there, but none with a time: its age is unknown."""
        return self.seen and self.time is None


@dataclass(frozen=True, slots=True)
class Run:
    number: int
    name: str
    start: datetime
    end: datetime | None
    detector: str
    source: str
    tags: tuple[str, ...]
    events: int | None
    raw_size_bytes: int | None
    copies: tuple[DataCopy, ...] = ()
    #: Problems found while reading the document; empty when it was clean.
    malformed: tuple[str, ...] = field(default=())
    #: Other documents with the same run number, as read (a runs database can
    #: hold two). The run gets the worst of their verdicts (``analysis.safety``).
    twins: tuple[Run, ...] = ()
    #: XENONnT: the run document's ``status`` (``eb_ready_to_upload``,
    #: ``transferring``, ``transferred``, or trouble: ``RUN_STATUS_TROUBLE``);
    #: None when there is none (XENON1T's documents), ``unknown`` when malformed.
    status: str | None = None
    #: XENONnT: the event builder's state of the run (None: no ``bootstrax``).
    builder: BuilderState | None = None

    @property
    def science(self) -> bool:
        return any(t.startswith(SCIENCE_TAG_PREFIX) for t in self.tags)

    @property
    def science_run(self) -> str | None:
        """``SR0``, ``SR1``... for science data, else None."""
        for tag in self.tags:
            if tag.startswith(SCIENCE_TAG_PREFIX):
                return "SR" + tag[len(SCIENCE_TAG_PREFIX) :]
        return None


@dataclass(frozen=True, slots=True)
class RunsSnapshot:
    taken_at: datetime
    #: Every run known, ordered by run number ascending. May be a lazy
    #: sequence that builds Run objects on first access (index, slice,
    #: iteration); it is immutable and safe to read from several threads.
    runs: Sequence[Run]
    #: Whether the DAQ is taking data now, when the source knows.
    data_taking: bool | None = None
    #: XENONnT: the event builders' last heartbeats, one per host; None when
    #: the source has none (XENON1T, or heartbeats not read).
    heartbeats: tuple[Heartbeat, ...] | None = None
    #: Why the heartbeats could not be read (the runs could): their state is
    #: unknown, not "all well".
    heartbeats_error: str | None = None


# ----------------------------------------------------------------- drill-down


@dataclass(frozen=True, slots=True)
class Replica:
    """One file replica of a run's data at one RSE, as Rucio reports it."""

    scope: str
    name: str
    rse: str
    #: Rucio's replica state: AVAILABLE, COPYING, UNAVAILABLE, BAD, ...
    state: str
    bytes: int | None = None


@dataclass(frozen=True, slots=True)
class TransferRequest:
    """A Rucio transfer request of a rule (what FTS is doing or did)."""

    id: str
    scope: str
    name: str
    rse: str
    #: Rucio's request state: QUEUED, SUBMITTED, FAILED, DONE, ...
    state: str
    created_at: datetime | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class RunDetail:
    """What one backend knows about one run, for the drill-down screen.

    Each backend fills the parts it has; the console merges the details of
    every backend that serves them.
    """

    taken_at: datetime
    run_number: int
    run: Run | None = None
    rules: tuple[Rule, ...] = ()
    replicas: tuple[Replica, ...] = ()
    requests: tuple[TransferRequest, ...] = ()
    tape: tuple[TapeUpload, ...] = ()
    dags: tuple[Dag, ...] = ()
    jobs: tuple[Job, ...] = ()
    #: Anything else worth a line, in words (untrusted text).
    notes: tuple[str, ...] = ()


Snapshot = BufferSnapshot | TransfersSnapshot | TapeSnapshot | JobsSnapshot | RunsSnapshot

"""Mutable records of the engine: the live state behind the immutable views.

Each record carries ``view``, the immutable model object last built from it,
reset to None whenever the record changes, so a fetch rebuilds only what
changed since the previous one.
"""

from __future__ import annotations

from backends.model import (
    CHICAGO_RSE,
    LNGS_RSE,
    Dag,
    Job,
    JobStatus,
    Rule,
    RuleState,
    TapeState,
    TapeUpload,
)
from backends.simulator.catalogue import RunSpec


class RuleRec:
    """One Rucio rule of one run's raw data."""

    __slots__ = (
        "created",
        "done",
        "error",
        "expires",
        "id",
        "repair_at",
        "rse",
        "run",
        "start_after",
        "state",
        "stuck_at",
        "stuck_since",
        "updated",
        "view",
    )

    def __init__(self, run: RunRec, rse: str, rule_id: str, created: float) -> None:
        self.run = run
        self.rse = rse
        self.id = rule_id
        self.created = created
        self.updated = created
        self.expires: float | None = None
        self.state = RuleState.REPLICATING
        self.done = 0.0
        self.start_after = created
        #: Fraction of the bytes at which this rule will get STUCK, if it will.
        self.stuck_at: float | None = None
        self.stuck_since: float | None = None
        self.repair_at: float | None = None
        self.error: str | None = None
        self.view: Rule | None = None


class TapeRec:
    """One run's upload to tape at PDC, then its restore test."""

    __slots__ = (
        "checksum_problem",
        "done",
        "finished",
        "message",
        "rc",
        "ready_at",
        "run",
        "started",
        "state",
        "updated",
        "verify_left",
        "view",
    )

    def __init__(self, run: RunRec, ready_at: float, queued_at: float) -> None:
        self.run = run
        self.state = TapeState.QUEUED
        self.ready_at = ready_at
        self.updated = queued_at
        self.done = 0.0
        self.started: float | None = None
        self.finished: float | None = None
        self.verify_left = 0.0
        self.rc: int | None = None
        self.message: str | None = None
        self.checksum_problem = False
        self.view: TapeUpload | None = None


class DagRec:
    """The DAGMan job processing one run: chunk nodes, then a merge node."""

    __slots__ = (
        "chunks",
        "cluster",
        "done",
        "failed",
        "finished_at",
        "held",
        "queued",
        "run",
        "status",
        "submitted",
        "view",
    )

    def __init__(self, cluster: int, run: RunRec, submitted: float) -> None:
        self.cluster = cluster
        self.run = run
        self.submitted = submitted
        self.chunks = run.spec.files
        self.done = 0
        self.failed = 0
        self.held = 0
        self.queued = 0
        self.status = 0
        self.finished_at: float | None = None
        self.view: Dag | None = None


class JobRec:
    """One node job of a DAG (a chunk of 100 events, or the merge)."""

    __slots__ = (
        "cluster",
        "dag",
        "entered",
        "hold_code",
        "hold_reason",
        "left_at",
        "node",
        "node_key",
        "site",
        "starts",
        "status",
        "submitted",
        "view",
    )

    def __init__(self, cluster: int, dag: DagRec, node: str, node_key: int, at: float) -> None:
        self.cluster = cluster
        self.dag = dag
        self.node = node
        self.node_key = node_key
        self.status = JobStatus.IDLE
        self.site: str | None = None
        self.entered = at
        self.submitted = at
        self.starts = 0
        self.hold_reason: str | None = None
        self.hold_code: int | None = None
        self.left_at: float | None = None
        self.view: Job | None = None


class RunRec:
    """A run with full records: every run of the last days, and new ones."""

    __slots__ = (
        "dag",
        "ended",
        "first_copy_at",
        "index",
        "minitrees_at",
        "on_buffer",
        "processed_at",
        "purged_at",
        "rcc_done_at",
        "rules",
        "spec",
        "tape",
        "upload_ready",
        "written",
    )

    def __init__(self, index: int, spec: RunSpec) -> None:
        self.index = index
        self.spec = spec
        self.written = 0
        self.ended = False
        self.on_buffer = True
        self.purged_at: float | None = None
        self.upload_ready = spec.end
        self.rules: dict[str, RuleRec] = {}
        self.tape: TapeRec | None = None
        self.dag: DagRec | None = None
        self.first_copy_at: float | None = None
        self.processed_at: float | None = None
        self.rcc_done_at: float | None = None
        self.minitrees_at: float | None = None

    def has_copy_outside_lngs(self) -> bool:
        return any(r.state is RuleState.OK and r.rse != LNGS_RSE for r in self.rules.values())

    def has_chicago_copy(self) -> bool:
        rule = self.rules.get(CHICAGO_RSE)
        return rule is not None and rule.state is RuleState.OK

    def safe_to_purge(self) -> bool:
        """The paper's rule: verified tape copy and a Rucio copy outside LNGS."""
        tape = self.tape
        return (
            tape is not None and tape.state is TapeState.VERIFIED and self.has_copy_outside_lngs()
        )

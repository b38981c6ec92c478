"""Immutable snapshots built from the engine's records, rebuilding only what
changed: with the paper's 26,762 runs a poll must not rebuild 26,762 runs.

Settled runs are not built by a poll at all: the runs snapshot carries them as
a ``LazyRuns`` sequence that builds each (from ``settle``'s closed-form times)
on first access and keeps it for later polls. The other runs are rebuilt only
when the engine marks them dirty; a rule, tape upload, job or DAG only when its
record dropped its cached ``view``.
"""

from __future__ import annotations

from collections.abc import Iterator

from backends.model import (
    ALL_RSES,
    CHICAGO_RSE,
    HOST_BUFFER,
    HOST_OSG,
    HOST_RCC,
    HOST_RUCIO,
    HOST_TAPE,
    BufferSnapshot,
    CopyStatus,
    CopyType,
    Dag,
    DagStatus,
    DataCopy,
    Job,
    JobsSnapshot,
    RseStatus,
    Rule,
    RuleState,
    Run,
    RunsSnapshot,
    TapeSnapshot,
    TapeState,
    TapeUpload,
    TransfersSnapshot,
)
from backends.simulator import settle
from backends.simulator.catalogue import RunSpec, run_name, scope_of
from backends.simulator.engine import Engine, to_datetime
from backends.simulator.infrastructure import (
    BUFFER_LOCATION,
    BUFFER_MOUNT,
    BUFFER_TOTAL_BYTES,
    JOB_HISTORY_S,
    MINITREES_LOCATION,
    OWNER,
    PROCESSED_OSG_LOCATION,
    PROCESSED_RCC_LOCATION,
    RATE_WINDOW_S,
    RSES,
    RULES_RECENT_S,
    SCHEDD,
    TAPE_LOCATION,
    TAPE_RATE_WINDOW_S,
    TAPE_RECENT_S,
)
from backends.simulator.lazyruns import LazyRuns, SettledRuns, build_settled_run
from backends.simulator.records import DagRec, JobRec, RuleRec, RunRec, TapeRec

_RAW = CopyType.RAW.value
_PROCESSED = CopyType.PROCESSED.value
_MINITREES = CopyType.MINITREES.value
_TRANSFERRED = CopyStatus.TRANSFERRED.value
_TRANSFERRING = CopyStatus.TRANSFERRING.value
_RULE_COPY_STATUS = {
    RuleState.OK: _TRANSFERRED,
    RuleState.STUCK: CopyStatus.ERROR.value,
}
_TAPE_COPY_STATUS = {
    TapeState.UPLOADING: _TRANSFERRING,
    TapeState.VERIFYING: CopyStatus.VERIFYING.value,
    TapeState.VERIFIED: _TRANSFERRED,
    TapeState.FAILED: CopyStatus.ERROR.value,
}


def batch_name(spec: RunSpec) -> str:
    return f"pax_{run_name(spec.start)}"


class Views:
    """Snapshot builders over one engine, with their caches."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        #: Settled runs, built on demand and shared by every runs snapshot.
        self._settled: SettledRuns | None = None
        #: One byte per settled run, 1 while on the buffer (frozen per change).
        self._on_buffer = b""
        #: Runs after the settled ones (all have records), rebuilt when dirty.
        self._tail: list[Run] = []
        self._last_runs: LazyRuns | None = None

    # ----------------------------------------------------------------- buffer

    def buffer(self) -> BufferSnapshot:
        engine = self.engine
        return BufferSnapshot(
            taken_at=to_datetime(engine.t),
            total_bytes=BUFFER_TOTAL_BYTES,
            used_bytes=int(engine.buffer_used),
            history=tuple(engine.samples),
            daq_write_bps=sum(b for _, b in engine.daq_moved) / RATE_WINDOW_S,
            uplink_up=engine.faults.uplink_up(engine.t),
            mount=BUFFER_MOUNT,
        )

    # -------------------------------------------------------------- transfers

    def transfers(self, every_rule: bool = False) -> TransfersSnapshot:
        """The RSEs and the rules: every rule not OK and the OK ones of the
        last week (XENON1T's pane), or with ``every_rule`` all the rules of
        every run (as XENONnT's Rucio lists them): the settled runs' first
        (``settled_rules``, the same objects every poll), then the live ones."""
        engine = self.engine
        live: tuple[Rule, ...]
        if every_rule:
            live = tuple(r.view or self._rule(r) for r in engine.live_rules.values())
        else:
            since = engine.t - RULES_RECENT_S
            live = tuple(
                r.view or self._rule(r)
                for r in engine.live_rules.values()
                if r.updated >= since or r.state is not RuleState.OK
            )
        rses = tuple(
            RseStatus(
                name=rse,
                used_bytes=int(engine.rse_stored[rse]),
                total_bytes=RSES[rse][1],
                throughput_bps=sum(b for _, b in engine.rse_moved[rse]) / RATE_WINDOW_S,
                available=engine.faults.rse_up(rse, engine.t),
                region=RSES[rse][0],
            )
            for rse in ALL_RSES
        )
        return TransfersSnapshot(to_datetime(engine.t), rses, live)

    def settled_rules(self) -> Iterator[tuple[RunSpec, str, str, float, float]]:
        """The settled runs' rules, all OK at their destinations (the copies
        their documents record), as (spec, rule id, RSE, created, OK at):
        a settled run's rules never change (its LNGS_USERDISK rule expired
        long ago), so a caller builds them once."""
        engine = self.engine
        specs = engine.specs
        rule_id, times = settle.rule_id, settle.rule_times
        for index in range(engine.first_rec):
            spec = specs[index]
            lngs_ok, chicago_ok, eu_ok = times(spec)
            if chicago_ok is not None:
                yield spec, rule_id(spec, CHICAGO_RSE), CHICAGO_RSE, lngs_ok, chicago_ok
            yield spec, rule_id(spec, spec.eu_rse), spec.eu_rse, lngs_ok, eu_ok

    @staticmethod
    def _rule(rec: RuleRec) -> Rule:
        spec = rec.run.spec
        files = spec.files
        ok = (
            files
            if rec.state is RuleState.OK
            else min(files - 1, int(files * rec.done / spec.size))
        )
        rest = files - ok
        stuck = 0
        if rec.state is RuleState.STUCK:
            # A site outage sticks every remaining lock; a transfer error a few.
            stuck = rest if rec.repair_at is None else max(1, rest // 10)
        view = rec.view = Rule(
            rec.id,
            scope_of(spec),
            "raw",
            rec.rse,
            rec.state,
            ok,
            rest - stuck,
            stuck,
            spec.size,
            to_datetime(rec.created),
            to_datetime(rec.updated),
            spec.number,
            None if rec.expires is None else to_datetime(rec.expires),
            None if rec.stuck_since is None else to_datetime(rec.stuck_since),
            rec.error,
        )
        return view

    # ------------------------------------------------------------------- tape

    def tape(self) -> TapeSnapshot:
        engine = self.engine
        since = engine.t - TAPE_RECENT_S
        recs = [r for r in engine.tape_recent if (r.finished or 0.0) >= since]
        recs.extend(engine.tape_open)
        recs.sort(key=lambda r: r.run.spec.number)
        return TapeSnapshot(
            taken_at=to_datetime(engine.t),
            uploads=tuple(r.view or self._upload(r) for r in recs),
            verified_runs=engine.verified_runs,
            verified_bytes=engine.verified_bytes,
            last_success=None if engine.last_success is None else to_datetime(engine.last_success),
            rate_bps=sum(b for _, b in engine.tape_moved) / TAPE_RATE_WINDOW_S,
        )

    @staticmethod
    def _upload(rec: TapeRec) -> TapeUpload:
        view = rec.view = TapeUpload(
            run_number=rec.run.spec.number,
            state=rec.state,
            bytes=rec.run.spec.size,
            updated_at=to_datetime(rec.updated),
            started_at=None if rec.started is None else to_datetime(rec.started),
            finished_at=None if rec.finished is None else to_datetime(rec.finished),
            return_code=rec.rc,
            message=rec.message,
        )
        return view

    # ------------------------------------------------------------------- jobs

    def jobs(self) -> JobsSnapshot:
        engine = self.engine
        sched = engine.scheduler
        since = engine.t - JOB_HISTORY_S
        recs = [j for j in sched.left if (j.left_at or 0.0) >= since]
        recs.extend(sched.queue.values())
        recs.sort(key=lambda j: j.cluster)
        dags = list(sched.finished_dags)
        dags.extend(sched.active_dags.values())
        dags.sort(key=lambda d: d.cluster)
        return JobsSnapshot(
            taken_at=to_datetime(engine.t),
            jobs=tuple(j.view or self._job(j) for j in recs),
            dags=tuple(d.view or self._dag(d) for d in dags),
            schedds=(SCHEDD,),
        )

    @staticmethod
    def _job(rec: JobRec) -> Job:
        view = rec.view = Job(
            SCHEDD,
            rec.cluster,
            0,
            rec.status,
            OWNER,
            rec.site,
            to_datetime(rec.entered),
            to_datetime(rec.submitted),
            rec.dag.cluster,
            rec.node,
            batch_name(rec.dag.run.spec),
            rec.starts,
            rec.hold_reason,
            rec.hold_code,
        )
        return view

    @staticmethod
    def _dag(rec: DagRec) -> Dag:
        view = rec.view = Dag(
            schedd=SCHEDD,
            cluster_id=rec.cluster,
            batch_name=batch_name(rec.run.spec),
            run_number=rec.run.spec.number,
            nodes_total=rec.chunks + 1,
            nodes_done=rec.done,
            nodes_failed=rec.failed,
            nodes_queued=rec.queued,
            nodes_held=rec.held,
            status=DagStatus(rec.status),
            submitted_at=to_datetime(rec.submitted),
            finished=rec.finished_at is not None,
        )
        return view

    # ------------------------------------------------------------------- runs

    def runs(self) -> RunsSnapshot:
        engine = self.engine
        store = self._settled
        if store is None:
            # The settled history is fixed once the engine is built.
            store = self._settled = SettledRuns(engine.specs, engine.first_rec)
            self._on_buffer = bytes(engine.settled_on_buffer[: store.count])
        settled = store.count
        tail = self._tail
        known = settled + len(tail)
        count = engine.started_runs
        changed = count > known
        settled_changed = False
        for index in engine.dirty_runs:
            if index < settled:
                changed = settled_changed = True
            elif index < known:
                tail[index - settled] = self._run(index)
                changed = True
        engine.dirty_runs.clear()
        if settled_changed:
            # Only the purge changes a settled run: take the bits afresh, so
            # snapshots already handed out keep the ones they were taken with.
            self._on_buffer = bytes(engine.settled_on_buffer[:settled])
        tail.extend(self._run(index) for index in range(known, count))
        runs = self._last_runs
        if changed or runs is None:
            runs = self._last_runs = LazyRuns(store, self._on_buffer, tuple(tail))
        return RunsSnapshot(to_datetime(engine.t), runs, data_taking=engine.data_taking)

    def _run(self, index: int) -> Run:
        engine = self.engine
        rec = engine.recs.get(index)
        if rec is None:
            return build_settled_run(engine.specs[index], engine.settled_on_buffer[index])
        return self._live_run(rec, engine.t)

    @staticmethod
    def _live_run(rec: RunRec, now: float) -> Run:
        spec = rec.spec
        name = run_name(spec.start)
        checksum = settle.checksum(spec) if rec.ended else None
        copies = []
        if rec.on_buffer:
            copies.append(
                DataCopy(
                    _RAW,
                    HOST_BUFFER,
                    _TRANSFERRED if rec.ended else _TRANSFERRING,
                    BUFFER_LOCATION.format(name=name),
                    checksum,
                    None,
                    to_datetime(spec.start),
                )
            )
        location = f"{scope_of(spec)}:raw"
        for rse, rule in rec.rules.items():
            copies.append(
                DataCopy(
                    _RAW,
                    HOST_RUCIO,
                    _RULE_COPY_STATUS.get(rule.state, _TRANSFERRING),
                    location,
                    checksum,
                    rse,
                    to_datetime(rule.created),
                )
            )
        tape = rec.tape
        if tape is not None and tape.state is not TapeState.QUEUED and tape.started is not None:
            copies.append(
                DataCopy(
                    _RAW,
                    HOST_TAPE,
                    _TAPE_COPY_STATUS[tape.state],
                    TAPE_LOCATION.format(name=name),
                    checksum if tape.state in (TapeState.VERIFIED, TapeState.FAILED) else None,
                    None,
                    to_datetime(tape.started),
                    tape.checksum_problem,
                )
            )
        if rec.processed_at is not None and rec.processed_at <= now:
            processed = to_datetime(rec.processed_at)
            copies.append(
                DataCopy(
                    _PROCESSED,
                    HOST_OSG,
                    _TRANSFERRED,
                    PROCESSED_OSG_LOCATION.format(name=name),
                    None,
                    None,
                    processed,
                )
            )
            rcc_done = rec.rcc_done_at is not None and rec.rcc_done_at <= now
            copies.append(
                DataCopy(
                    _PROCESSED,
                    HOST_RCC,
                    _TRANSFERRED if rcc_done else _TRANSFERRING,
                    PROCESSED_RCC_LOCATION.format(name=name),
                    None,
                    None,
                    processed,
                )
            )
            if rec.minitrees_at is not None and rec.minitrees_at <= now:
                copies.append(
                    DataCopy(
                        _MINITREES,
                        HOST_RCC,
                        _TRANSFERRED,
                        MINITREES_LOCATION.format(name=name),
                        None,
                        None,
                        to_datetime(rec.minitrees_at),
                    )
                )
        fraction = 1.0 if rec.ended else rec.written / spec.size
        return Run(
            spec.number,
            name,
            to_datetime(spec.start),
            to_datetime(spec.end) if rec.ended else None,
            spec.detector,
            spec.source,
            spec.tags,
            spec.events if rec.ended else int(spec.events * fraction),
            int(rec.written),
            tuple(copies),
        )

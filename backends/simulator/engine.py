"""The chain stepped through simulated time: DAQ, Ruciax, FTS, TSM, purge.

The history is built in two parts. Runs older than the last few days are
*settled*: their fate follows in closed form (``settle``), they cost a few
additions each, and only their buffer copy can still change (when the purge
reaches them). The last ``WINDOW_S`` before ``now`` are simulated step by step
from the same plan, so what an operator sees at ``now`` (queues, rates,
stuck rules, held jobs) is the real dynamic state, and every scenario's fault
(which starts inside that window) has had its effect.

Bytes are conserved: ``bytes_written == buffer_used + bytes_purged`` always.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from datetime import UTC, datetime

from backends.model import (
    CHICAGO_RSE,
    LNGS_RSE,
    BufferSample,
    RuleState,
    TapeState,
)
from backends.simulator import draws, settle
from backends.simulator.catalogue import Catalogue, RunSpec, run_name
from backends.simulator.infrastructure import (
    BUFFER_MOUNT,
    BUFFER_TOTAL_BYTES,
    FTS_ERRORS,
    LNGS_RULE_LIFETIME_S,
    LNGS_UPLOAD_BPS,
    PURGE_RETENTION_S,
    RATE_WINDOW_S,
    REPAIR_DELAY_S,
    RSE_HOSTS,
    RSES,
    STUCK_PROBABILITY,
    TAPE_RATE_WINDOW_S,
    TAPE_RECENT_S,
    TAPE_UPLOAD_BPS,
)
from backends.simulator.processing import Scheduler
from backends.simulator.records import RuleRec, RunRec, TapeRec
from backends.simulator.scenarios import Faults
from backends.simulator.spec_columns import SpecColumns

#: Longest simulated step (seconds); steps end on multiples of it.
STEP_S = 300.0
#: Time before ``now`` simulated step by step when the simulator is built.
WINDOW_S = 48 * 3600.0
#: Settled runs this close to the window get full records: their LNGS rule
#: is still alive when the window starts, and their rules are recent enough
#: to be listed (RULES_RECENT_S); older runs' rules never are.
RECENT_S = 6 * 86400.0
#: Processing is simulated job by job only for runs whose first copy outside
#: LNGS came this close to ``now`` (jobs and DAGs older than that have left
#: the snapshot anyway); earlier ones get the settled processing times.
PROCESSING_WINDOW_S = 12 * 3600.0
#: Buffer fill samples kept (48 h of one every STEP_S).
SAMPLES_KEPT = int(48 * 3600 / STEP_S) + 1
#: A pause between runs longer than this counts as a DAQ break.
DAQ_BREAK_S = 600.0


def to_datetime(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


class Engine:
    """The whole simulated chain. Not thread-safe: the backend holds a lock."""

    def __init__(self, catalogue: Catalogue, faults: Faults, now: float) -> None:
        self.catalogue = catalogue
        self.faults = faults
        #: The plan (the catalogue's columns, which the engine extends).
        self.specs: SpecColumns = catalogue.history
        self.history_runs = len(self.specs)
        self.first_number = self.specs[0].number
        # Conservation counters.
        self.bytes_written = 0
        self.bytes_purged = 0
        self.buffer_used = 0
        #: Per run index of a settled run: 1 while on the buffer.
        self.settled_on_buffer = bytearray(0)
        self.recs: dict[int, RunRec] = {}
        self.first_rec = 0
        #: Run indices on the buffer in purge order, and those the rule keeps.
        self._purge_queue: deque[int] = deque()
        self._purge_blocked: list[int] = []
        #: Run indices whose view must be rebuilt.
        self.dirty_runs: set[int] = set()
        # Rucio.
        self.rse_stored: dict[str, float] = {rse: float(v[2]) for rse, v in RSES.items()}
        self.live_rules: dict[str, RuleRec] = {}
        self._replicating: list[RuleRec] = []
        self._lngs_expiry: deque[RuleRec] = deque()
        self._upload_queue: deque[RunRec] = deque()
        self._uploading: RuleRec | None = None
        self.rse_moved: dict[str, deque[tuple[float, float]]] = {rse: deque() for rse in RSES}
        # Tape.
        self._tape_queue: deque[TapeRec] = deque()
        self._tape_uploading: TapeRec | None = None
        self._tape_verifying: list[TapeRec] = []
        self.tape_open: list[TapeRec] = []
        self.tape_recent: deque[TapeRec] = deque()
        self.tape_moved: deque[tuple[float, float]] = deque()
        self.verified_runs = 0
        self.verified_bytes = 0
        self.last_success: float | None = None
        # DAQ.
        self.daq_moved: deque[tuple[float, float]] = deque()
        self.samples: deque[BufferSample] = deque(maxlen=SAMPLES_KEPT)
        self._active: RunRec | None = None
        self._next_index = 0
        self.daq_blocked = False
        # Processing.
        self.scheduler = Scheduler(faults, self._processed)
        self._wakeups: list[tuple[float, int]] = []

        self.t = now - WINDOW_S
        self._jobs_from = now - PROCESSING_WINDOW_S
        self._settle()
        self.run_until(now)

    # ================================================================ history

    def _settle(self) -> None:
        """Put every run that ended before the window in its settled state."""
        t_w = self.t
        specs = self.specs
        stop = self.faults.purge_stopped_from
        purge_limit = t_w if stop is None else min(t_w, stop)
        recent_cut = t_w - RECENT_S
        on_buffer = bytearray(len(specs))
        stored = self.rse_stored
        written = purged = verified = chicago = 0
        last_success = None
        index = 0
        # Straight from the columns: no RunSpec is made for the settled past.
        ends, sizes, science, eu_codes = specs.ends, specs.sizes, specs.science, specs.eu_codes
        eu_bytes = [0] * len(specs.eu_names)
        for index in range(len(specs)):
            end = ends[index]
            if end > recent_cut:
                break
            size = sizes[index]
            written += size
            if end + PURGE_RETENTION_S <= purge_limit:
                purged += size
            else:
                on_buffer[index] = 1
                self._purge_queue.append(index)
            if science[index]:
                chicago += size
            eu_bytes[eu_codes[index]] += size
            verified += size
        else:
            index = len(specs)
        stored[CHICAGO_RSE] += chicago
        for name, size in zip(specs.eu_names, eu_bytes, strict=True):
            stored[name] += size
        self.first_rec = index
        settled = index
        self.settled_on_buffer = on_buffer
        self.bytes_written = written
        self.bytes_purged = purged
        self.buffer_used = written - purged
        self.verified_runs = settled
        self.verified_bytes = verified
        if settled:
            last_success = settle.settled_times(specs[settled - 1]).tape_verified
        self.last_success = last_success

        for index in range(settled, len(specs)):
            spec = specs[index]
            if spec.end > t_w:
                break
            self._settle_recent(index, spec, purge_limit)
        else:
            index = len(specs)
        self._next_index = index

    def _settle_recent(self, index: int, spec: RunSpec, purge_limit: float) -> None:
        """A run of the last days before the window, with full records."""
        t_w = self.t
        times = settle.settled_times(spec)
        run = RunRec(index, spec)
        self.recs[index] = run
        self.dirty_runs.add(index)
        run.written = spec.size
        run.ended = True
        self.bytes_written += spec.size
        if spec.end + PURGE_RETENTION_S <= purge_limit:
            run.on_buffer = False
            run.purged_at = spec.end + PURGE_RETENTION_S
            self.bytes_purged += spec.size
        else:
            self.buffer_used += spec.size
            self._purge_queue.append(index)
        if times.upload_start + LNGS_RULE_LIFETIME_S > t_w:
            rule = self._new_rule(run, LNGS_RSE, times.upload_start)
            self._settle_rule(rule, times.lngs_ok)
            self._lngs_expiry.append(rule)
        for rse, ok in ((CHICAGO_RSE, times.chicago_ok), (spec.eu_rse, times.eu_ok)):
            if ok is not None:
                self._settle_rule(self._new_rule(run, rse, times.lngs_ok), ok)
        run.first_copy_at = min(t for t in (times.chicago_ok, times.eu_ok) if t is not None)
        tape = TapeRec(run, times.tape_start, spec.end)
        tape.state = TapeState.VERIFIED
        tape.done = spec.size
        tape.started = times.tape_start
        tape.finished = tape.updated = times.tape_verified
        tape.rc = 0
        run.tape = tape
        self.tape_recent.append(tape)
        self.verified_runs += 1
        self.verified_bytes += spec.size
        self.last_success = times.tape_verified
        if times.processed is not None:
            self._set_processed(run, times.processed)

    def _settle_rule(self, rule: RuleRec, ok_at: float) -> None:
        rule.state = RuleState.OK
        rule.done = rule.run.spec.size
        rule.updated = ok_at
        self.rse_stored[rule.rse] += rule.done

    # ================================================================== clock

    def run_until(self, target: float) -> None:
        """Advance to ``target`` in steps ending on multiples of STEP_S."""
        while self.t < target:
            boundary = (math.floor(self.t / STEP_S) + 1) * STEP_S
            t1 = min(boundary, target)
            self._step(self.t, t1)
            self.t = t1
            if t1 == boundary:
                self.samples.append(BufferSample(to_datetime(t1), int(self.buffer_used)))

    def _step(self, t0: float, t1: float) -> None:
        self._daq(t0, t1)
        self._ruciax(t0, t1)
        self._replicate(t0, t1)
        self._expire(t1)
        self._tape(t0, t1)
        self.scheduler.step(t1)
        self._purge(t1)
        while self._wakeups and self._wakeups[0][0] <= t1:
            self.dirty_runs.add(heapq.heappop(self._wakeups)[1])
        for dq, window in (
            (self.daq_moved, RATE_WINDOW_S),
            (self.tape_moved, TAPE_RATE_WINDOW_S),
            *((dq, RATE_WINDOW_S) for dq in self.rse_moved.values()),
        ):
            while dq and dq[0][0] <= t1 - window:
                dq.popleft()
        recent = self.tape_recent
        while recent and (recent[0].finished or 0.0) < t1 - TAPE_RECENT_S:
            recent.popleft().view = None

    # ==================================================================== DAQ

    def _spec_at(self, index: int) -> RunSpec:
        if index == len(self.specs):
            prev = self.specs[-1]
            self.specs.append(self.catalogue.next_spec(prev.end + prev.gap_after))
        return self.specs[index]

    def _daq(self, t0: float, t1: float) -> None:
        moved = 0
        while True:
            run = self._active
            if run is not None:
                spec = run.spec
                if t1 >= spec.end:
                    target = spec.size
                else:
                    target = int(spec.size * (t1 - spec.start) / (spec.end - spec.start))
                delta = target - run.written
                if delta > 0:
                    run.written = target
                    moved += delta
                self.dirty_runs.add(run.index)
                if t1 < spec.end:
                    break
                self._end_run(run)
            spec = self._spec_at(self._next_index)
            if spec.start > t1:
                break
            if (
                self._next_index >= self.history_runs
                and self.buffer_used + moved + spec.size > BUFFER_TOTAL_BYTES
            ):
                self.daq_blocked = True  # no room: the DAQ waits, the plan slips
                duration = spec.end - spec.start
                self.specs[self._next_index] = spec._replace(
                    start=t1 + STEP_S, end=t1 + STEP_S + duration
                )
                break
            self.daq_blocked = False
            self._start_run(self._next_index, spec, t0)
            self._next_index += 1
        if moved:
            self.bytes_written += moved
            self.buffer_used += moved
            self.daq_moved.append((t1, moved))

    def _start_run(self, index: int, spec: RunSpec, t0: float) -> None:
        run = RunRec(index, spec)
        self.recs[index] = run
        self._active = run
        self._purge_queue.append(index)
        if spec.start < t0:  # in progress when the window opened
            part = int(spec.size * (t0 - spec.start) / (spec.end - spec.start))
            run.written = part
            self.bytes_written += part
            self.buffer_used += part

    def _end_run(self, run: RunRec) -> None:
        spec = run.spec
        run.ended = True
        self._active = None
        run.upload_ready = spec.end + settle.upload_delay(spec)
        self._upload_queue.append(run)
        tape = TapeRec(run, spec.end + settle.tape_delay(spec), spec.end)
        run.tape = tape
        self._tape_queue.append(tape)
        self.tape_open.append(tape)

    @property
    def started_runs(self) -> int:
        """Runs the DAQ has started so far: the runs the runs DB knows."""
        return self._next_index

    @property
    def data_taking(self) -> bool:
        if self._active is not None:
            return True
        if self.daq_blocked:
            return False
        nxt = self.specs[self._next_index] if self._next_index < len(self.specs) else None
        return nxt is None or nxt.start - self.t <= DAQ_BREAK_S

    # ================================================================== Rucio

    def _new_rule(self, run: RunRec, rse: str, created: float) -> RuleRec:
        rule = RuleRec(run, rse, settle.rule_id(run.spec, rse), created)
        run.rules[rse] = rule
        self.live_rules[rule.id] = rule
        self.dirty_runs.add(run.index)
        if rse == LNGS_RSE:
            rule.expires = created + LNGS_RULE_LIFETIME_S
        return rule

    def _move(self, rule: RuleRec, amount: float, at: float) -> None:
        if amount > 0:
            rule.done += amount
            self.rse_stored[rule.rse] += amount
            moved = self.rse_moved[rule.rse]
            if moved and moved[-1][0] == self.t:
                moved[-1] = (self.t, moved[-1][1] + amount)
            else:
                moved.append((self.t, amount))
        rule.updated = at
        rule.view = None
        self.dirty_runs.add(rule.run.index)

    def _ruciax(self, t0: float, t1: float) -> None:
        """Upload ended runs, one at a time, into LNGS_USERDISK."""
        if not self.faults.uplink_up(t0):
            return
        tau = t0
        while tau < t1:
            rule = self._uploading
            if rule is None:
                if not self._upload_queue:
                    return
                run = self._upload_queue[0]
                start = max(tau, run.upload_ready)
                if start >= t1:
                    return
                self._upload_queue.popleft()
                rule = self._uploading = self._new_rule(run, LNGS_RSE, start)
                self._lngs_expiry.append(rule)
                tau = start
            size = rule.run.spec.size
            need = size - rule.done
            can = LNGS_UPLOAD_BPS * (t1 - tau)
            if can >= need:
                tau += need / LNGS_UPLOAD_BPS
                self._move(rule, need, tau)
                rule.done = size
                self._rule_ok(rule, tau)
                self._uploading = None
            else:
                self._move(rule, can, t1)
                tau = t1

    def _rule_ok(self, rule: RuleRec, at: float) -> None:
        rule.state = RuleState.OK
        rule.updated = at
        rule.view = None
        run = rule.run
        spec = run.spec
        if rule.rse == LNGS_RSE:
            # Ruciax sets the replication rules once the upload is done.
            targets = (CHICAGO_RSE, spec.eu_rse) if spec.science else (spec.eu_rse,)
            for rse in targets:
                new = self._new_rule(run, rse, at)
                new.start_after = at + settle.fts_delay(spec, rse)
                offset = 16 * settle.RSE_INDEX[rse]
                if draws.unit(spec.salt, draws.K_STUCK + offset) < STUCK_PROBABILITY:
                    new.stuck_at = draws.between(spec.salt, draws.K_STUCK_AT + offset, 0.1, 0.9)
                self._replicating.append(new)
        elif run.first_copy_at is None:
            run.first_copy_at = at
            if not spec.processable:
                pass
            elif at < self._jobs_from:
                self._set_processed(run, settle.processed_after(spec, at))
            else:
                self.scheduler.submit_later(run, at + settle.dag_delay(spec))

    def _stick(self, rule: RuleRec, at: float, repair_at: float | None) -> None:
        spec = rule.run.spec
        key = draws.K_STUCK_ERROR + 16 * settle.RSE_INDEX[rule.rse]
        if repair_at is None:  # a site outage: the connection-level errors
            template = FTS_ERRORS[1 + int(draws.unit(spec.salt, key) * 2)]
        else:
            template = FTS_ERRORS[int(draws.unit(spec.salt, key) * len(FTS_ERRORS))]
        rule.state = RuleState.STUCK
        rule.stuck_since = at
        rule.repair_at = repair_at
        rule.error = template.format(host=RSE_HOSTS[rule.rse])
        rule.updated = at
        rule.view = None
        self.dirty_runs.add(rule.run.index)

    def _replicate(self, t0: float, t1: float) -> None:
        """FTS transfers of the replication rules, sharing each RSE's link."""
        faults = self.faults
        uplink = faults.uplink_up(t0)
        active: dict[str, list[RuleRec]] = {}
        for rule in self._replicating:
            if rule.state is RuleState.STUCK:
                if rule.repair_at is None or t1 < rule.repair_at:
                    continue
                if not faults.rse_up(rule.rse, t1):
                    continue
                # The judge-repairer resubmitted the stuck transfers.
                rule.state = RuleState.REPLICATING
                rule.error = rule.stuck_since = None
                rule.start_after = max(t0, rule.repair_at)
                rule.repair_at = None
                self._move(rule, 0, rule.start_after)
            if t1 <= rule.start_after:
                continue
            if not faults.rse_up(rule.rse, t1):
                down_from = faults.rse_down_from or t0
                self._stick(rule, max(rule.start_after, down_from, t0), None)
                continue
            if uplink:
                active.setdefault(rule.rse, []).append(rule)
        for rse, rules in active.items():
            rate = RSES[rse][3] / len(rules)
            for rule in rules:
                size = rule.run.spec.size
                begin = max(t0, rule.start_after)
                limit = size - rule.done
                if rule.stuck_at is not None:
                    limit = max(0.0, rule.stuck_at * size - rule.done)
                amount = min(rate * (t1 - begin), limit)
                at = begin + amount / rate
                self._move(rule, amount, at)
                if rule.done >= size - 0.5:
                    rule.done = size
                    self._rule_ok(rule, at)
                elif rule.stuck_at is not None and amount >= limit:
                    rule.stuck_at = None
                    key = draws.K_REPAIR + 16 * settle.RSE_INDEX[rse]
                    repair = draws.between(rule.run.spec.salt, key, *REPAIR_DELAY_S)
                    self._stick(rule, at, at + repair)
        self._replicating = [r for r in self._replicating if r.state is not RuleState.OK]

    def _expire(self, t1: float) -> None:
        """LNGS_USERDISK rules go when their 4-day lifetime is over."""
        expiry = self._lngs_expiry
        while expiry and (expiry[0].expires or 0.0) <= t1:
            rule = expiry.popleft()
            run = rule.run
            if run.rules.get(rule.rse) is rule:
                del run.rules[rule.rse]
            self.live_rules.pop(rule.id, None)
            self.rse_stored[rule.rse] -= rule.done
            if self._uploading is rule:
                self._uploading = None
            self.dirty_runs.add(run.index)

    # =================================================================== tape

    def _tape(self, t0: float, t1: float) -> None:
        """The TSM client: one upload at a time (FIFO), then restore tests."""
        if not self.faults.uplink_up(t0):
            return
        tau = t0
        moved = 0.0
        while tau < t1:
            rec = self._tape_uploading
            if rec is None:
                if not self._tape_queue:
                    break
                start = max(tau, self._tape_queue[0].ready_at)
                if start >= t1:
                    break
                rec = self._tape_uploading = self._tape_queue.popleft()
                rec.state = TapeState.UPLOADING
                rec.started = rec.updated = start
                tau = start
            size = rec.run.spec.size
            need = size - rec.done
            can = TAPE_UPLOAD_BPS * (t1 - tau)
            rec.view = None
            self.dirty_runs.add(rec.run.index)
            if can >= need:
                tau += need / TAPE_UPLOAD_BPS
                moved += need
                rec.done = size
                rec.state = TapeState.VERIFYING
                rec.updated = tau
                rec.verify_left = settle.verify_seconds(rec.run.spec)
                self._tape_verifying.append(rec)
                self._tape_uploading = None
            else:
                moved += can
                rec.done += can
                tau = t1
        if moved:
            self.tape_moved.append((t1, moved))
        still = []
        for rec in self._tape_verifying:
            rec.verify_left -= t1 - max(t0, rec.updated)
            if rec.verify_left > 0:
                still.append(rec)
            else:
                self._verified(rec, t1 + rec.verify_left)
        self._tape_verifying = still

    def _verified(self, rec: TapeRec, at: float) -> None:
        spec = rec.run.spec
        rec.finished = rec.updated = at
        rec.view = None
        self.dirty_runs.add(rec.run.index)
        self.tape_open.remove(rec)
        self.tape_recent.append(rec)
        if self.faults.tape_checksum_bad(at):
            good = settle.checksum(spec)
            bad = f"{draws.mix(spec.salt, draws.K_BAD_CHECKSUM) & 0xFFFFFFFF:08x}"
            rec.state = TapeState.FAILED
            rec.rc = 8
            rec.checksum_problem = True
            rec.message = (
                f"checksum mismatch after restore: adler32 {bad} != {good} "
                f"({BUFFER_MOUNT}/{run_name(spec.start)})"
            )
            return
        rec.state = TapeState.VERIFIED
        rec.rc = 0
        self.verified_runs += 1
        self.verified_bytes += spec.size
        self.last_success = at

    # ============================================================= processing

    def _processed(self, run: RunRec, at: float) -> None:
        self._set_processed(run, at)
        self.dirty_runs.add(run.index)

    def _set_processed(self, run: RunRec, at: float) -> None:
        run.processed_at = at
        run.rcc_done_at = at + settle.rcc_copy_seconds(run.spec)
        run.minitrees_at = run.rcc_done_at + settle.minitrees_seconds(run.spec)
        for t in (run.rcc_done_at, run.minitrees_at):
            if t > self.t:
                heapq.heappush(self._wakeups, (t, run.index))

    # ================================================================== purge

    def _safe(self, index: int) -> bool:
        run = self.recs.get(index)
        return run is None or run.safe_to_purge()  # settled runs are safe

    def _purge(self, t1: float) -> None:
        """The purge tool: old runs whose raw data is safe elsewhere."""
        if not self.faults.purge_enabled(t1):
            return
        if self._purge_blocked:
            blocked, self._purge_blocked = self._purge_blocked, []
            for index in blocked:
                if self._safe(index):
                    self._purge_run(index, t1)
                else:
                    self._purge_blocked.append(index)
        queue = self._purge_queue
        while queue:
            index = queue[0]
            if self.specs[index].end + PURGE_RETENTION_S > t1:
                break
            queue.popleft()
            if self._safe(index):
                self._purge_run(index, t1)
            else:
                self._purge_blocked.append(index)

    def _purge_run(self, index: int, at: float) -> None:
        size = self.specs[index].size
        run = self.recs.get(index)
        if run is None:
            self.settled_on_buffer[index] = 0
        else:
            run.on_buffer = False
            run.purged_at = at
        self.buffer_used -= size
        self.bytes_purged += size
        self.dirty_runs.add(index)

    # ================================================================ queries

    def on_buffer(self, index: int) -> bool:
        run = self.recs.get(index)
        return bool(self.settled_on_buffer[index]) if run is None else run.on_buffer

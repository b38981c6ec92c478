"""ETAs: when a rule, a DAG, the tape queue, the buffer will be done, and
which runs lose their LNGS_USERDISK copy before their other copies exist.

Each ETA is reckoned from one snapshot and says what it was computed from,
or that it is **unknown** and why (a stuck rule, no throughput measured in
the rate window, no node done yet, no tape rate reported). It never
guesses: an unknown ETA is not a long one.

- **Rule completion** (:func:`rule_eta`): the bytes a replicating rule still
  lacks, from its lock progress (``bytes * (locks - locks OK) / locks``),
  over its share of the link into its RSE: the RSE's measured incoming
  throughput (``RseStatus.throughput_bps``) divided equally among the rules
  replicating there. The assumption (FTS shares a link roughly per file,
  every rule out of LNGS uses the same link into the RSE) is stated in the
  basis of every ETA. :func:`rse_eta`: when the last rule replicating to an
  RSE is done.
- **DAG completion** (:func:`dag_eta`): the nodes left over the nodes done
  per second since the DAG was submitted.
- **Tape queue drain** (:func:`tape_drain_eta`): the bytes of the queued and
  uploading runs over the tape rate (``TapeSnapshot.rate_bps``, else the
  ``dsmc`` rate of the uploads).
- **Buffer full** (:func:`buffer_full_eta`): ``buffer_forecast``'s time to
  full, as it is (not computed again here).
- **Data-at-risk clock** (:func:`data_at_risk`): the runs whose LNGS_USERDISK
  copy (an OK rule there with ``expires_at``) expires before the copies the
  policy needs (the European one, and Chicago's when the run has a rule
  there) complete by their rule ETAs; a copy whose ETA is unknown, or with
  no rule at all, does not complete. Soonest expiry first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from backends.analysis.buffer import buffer_forecast
from backends.analysis.jobs import dag_stalled
from backends.analysis.safety import (
    DEFAULT_POLICY,
    SLOT_CHICAGO,
    SLOT_EUROPE,
    SafetyPolicy,
    rse_slot,
)
from backends.analysis.units import format_bytes, format_duration, format_rate
from backends.model import (
    CHICAGO_RSE,
    LNGS_RSE,
    BufferSnapshot,
    Dag,
    DagStatus,
    JobsSnapshot,
    Rule,
    RuleState,
    TapeSnapshot,
    TapeState,
    TransfersSnapshot,
)


@dataclass(frozen=True, slots=True)
class Eta:
    """How long until something is done, reckoned at ``since``; or unknown."""

    #: Seconds from ``since``; None when unknown.
    seconds: float | None
    #: The time it is reckoned from (the snapshot's).
    since: datetime
    #: What it was computed from (known), or why it is unknown, in words.
    basis: str

    @property
    def known(self) -> bool:
        return self.seconds is not None

    @property
    def at(self) -> datetime | None:
        """When it will be done, or None when unknown."""
        return None if self.seconds is None else self.since + timedelta(seconds=self.seconds)


def known(since: datetime, seconds: float, basis: str) -> Eta:
    return Eta(max(0.0, seconds), since, basis)


def unknown(since: datetime, reason: str) -> Eta:
    return Eta(None, since, reason)


def _plural(n: int, word: str) -> str:
    return f"{n} {word if n == 1 else word + 's'}"


# ---------------------------------------------------------------- rules


def link_shares(snap: TransfersSnapshot) -> dict[str, int]:
    """How many rules replicate into each RSE: they share its throughput."""
    shares: dict[str, int] = {}
    for rule in snap.rules:
        if rule.state is RuleState.REPLICATING:
            shares[rule.rse] = shares.get(rule.rse, 0) + 1
    return shares


def rule_eta(rule: Rule, snap: TransfersSnapshot, shares: Mapping[str, int] | None = None) -> Eta:
    """When the rule is OK: its remaining bytes over its share of the link.

    ``shares`` (``link_shares(snap)``) saves counting for every rule.
    """
    now = snap.taken_at
    if rule.state is RuleState.OK:
        return known(now, 0.0, "rule OK")
    if rule.state is RuleState.STUCK:
        return unknown(now, f"rule stuck, {_plural(rule.locks_stuck, 'lock')} stuck")
    if rule.state is not RuleState.REPLICATING:
        return unknown(now, f"rule {rule.state.value}: not replicating")
    if rule.locks_stuck:
        return unknown(now, f"{_plural(rule.locks_stuck, 'lock')} stuck")
    total = rule.locks_total
    if total <= 0:
        return unknown(now, "no locks reported")
    if rule.bytes <= 0:
        return unknown(now, "rule size unknown")
    status = next((s for s in snap.rses if s.name == rule.rse), None)
    if status is None:
        return unknown(now, f"no status of {rule.rse}")
    if not status.available:
        return unknown(now, f"{rule.rse} unavailable")
    throughput = status.throughput_bps
    if throughput is None:
        return unknown(now, f"no throughput reported into {rule.rse}")
    if throughput <= 0:
        return unknown(now, f"no transfer into {rule.rse} in the rate window")
    n = max(1, (shares if shares is not None else link_shares(snap)).get(rule.rse, 0))
    share = throughput / n
    remaining = rule.bytes * (total - rule.locks_ok) / total
    return known(
        now,
        remaining / share,
        f"{format_bytes(remaining)} left ({rule.locks_ok}/{total} locks OK) at "
        f"{format_rate(share)}: {format_rate(throughput)} into {rule.rse} shared by "
        f"{_plural(n, 'replicating rule')}",
    )


def rule_etas(snap: TransfersSnapshot) -> dict[str, Eta]:
    """The ETA of every rule that is not OK, by rule id."""
    shares = link_shares(snap)
    return {r.id: rule_eta(r, snap, shares) for r in snap.rules if r.state is not RuleState.OK}


def rse_eta(rse: str, snap: TransfersSnapshot, etas: Mapping[str, Eta] | None = None) -> Eta | None:
    """When every rule replicating into ``rse`` is done: the last of their
    ETAs, unknown when any is; None when no rule replicates there."""
    etas = etas if etas is not None else rule_etas(snap)
    rules = [r for r in snap.rules if r.rse == rse and r.state is RuleState.REPLICATING]
    if not rules:
        return None
    now = snap.taken_at
    for rule in rules:
        eta = etas[rule.id]
        if not eta.known:
            run = f"run {rule.run_number}" if rule.run_number is not None else rule.id
            return unknown(now, f"{run}: {eta.basis}")
    last = max(rules, key=lambda r: (etas[r.id].seconds or 0.0, r.id))
    eta = etas[last.id]
    assert eta.seconds is not None
    run = f"run {last.run_number}" if last.run_number is not None else last.id
    last_of = f"last of {len(rules)} rules, " if len(rules) > 1 else ""
    return known(now, eta.seconds, f"{last_of}{run}: {eta.basis}")


def rse_etas(snap: TransfersSnapshot, etas: Mapping[str, Eta] | None = None) -> dict[str, Eta]:
    """``rse_eta`` of every RSE some rule replicates into."""
    etas = etas if etas is not None else rule_etas(snap)
    names = dict.fromkeys(r.rse for r in snap.rules if r.state is RuleState.REPLICATING)
    out: dict[str, Eta] = {}
    for name in names:
        eta = rse_eta(name, snap, etas)
        if eta is not None:
            out[name] = eta
    return out


# ----------------------------------------------------------------- DAGs


def dag_eta(dag: Dag, now: datetime) -> Eta:
    """When the DAG's nodes are all done: the nodes left over the nodes done
    per second since it was submitted."""
    total, done = dag.nodes_total, dag.nodes_done
    if dag.finished:
        if dag.status is DagStatus.OK and dag.nodes_failed == 0:
            return known(now, 0.0, "finished")
        return unknown(
            now, f"finished ({dag.status.name}, {_plural(dag.nodes_failed, 'node')} failed)"
        )
    if total <= 0:
        return unknown(now, "no nodes reported")
    if done >= total:
        return known(now, 0.0, f"all {total} nodes done")
    if dag.nodes_failed:
        return unknown(now, f"{_plural(dag.nodes_failed, 'node')} failed: it cannot complete")
    if dag_stalled(dag):
        return unknown(now, "stalled: only held nodes left")
    if dag.nodes_held:
        # A held node waits for someone to release it: no rate says when.
        return unknown(now, f"{_plural(dag.nodes_held, 'node')} held: done only once released")
    if done <= 0:
        return unknown(now, "no node done yet")
    elapsed = (now - dag.submitted_at).total_seconds()
    if elapsed <= 0:
        return unknown(now, "submitted at or after the snapshot")
    left = total - done
    return known(
        now,
        left * elapsed / done,
        f"{left} of {total} nodes left; {done} done in {format_duration(elapsed)}",
    )


def dag_etas(snap: JobsSnapshot) -> dict[tuple[str, int], Eta]:
    """``dag_eta`` of every DAG, by (schedd, cluster id)."""
    return {(d.schedd, d.cluster_id): dag_eta(d, snap.taken_at) for d in snap.dags}


# ----------------------------------------------------------------- tape


def tape_drain_eta(snap: TapeSnapshot) -> Eta:
    """When the queued and uploading runs are on tape: their bytes not yet
    sent over the tape rate (the snapshot's, else the ``dsmc`` rate of the
    uploads running, else of the newest upload that reports one)."""
    now = snap.taken_at
    waiting = [u for u in snap.uploads if u.state in (TapeState.QUEUED, TapeState.UPLOADING)]
    if not waiting:
        return known(now, 0.0, "nothing queued or uploading")
    left = 0.0
    for upload in waiting:
        sent = upload.bytes_transferred if upload.state is TapeState.UPLOADING else None
        left += max(0, upload.bytes - (sent or 0))
    rate = snap.rate_bps
    where = "tape rate"
    if rate is None:
        running = [
            u.transfer_rate_bps
            for u in waiting
            if u.state is TapeState.UPLOADING and u.transfer_rate_bps is not None
        ]
        if running:
            rate, where = sum(running), "dsmc rate of the running uploads"
        else:
            reported = [u for u in snap.uploads if u.transfer_rate_bps is not None]
            if reported:
                newest = max(reported, key=lambda u: (u.updated_at, u.run_number))
                rate, where = newest.transfer_rate_bps, f"dsmc rate of run {newest.run_number}"
    if rate is None:
        return unknown(now, "no tape rate reported")
    if rate <= 0:
        return unknown(now, "no upload to tape in the rate window")
    return known(
        now,
        left / rate,
        f"{_plural(len(waiting), 'run')}, {format_bytes(left)} to upload at "
        f"{format_rate(rate)} ({where})",
    )


# --------------------------------------------------------------- buffer


def buffer_full_eta(snap: BufferSnapshot, window: timedelta = timedelta(hours=6)) -> Eta:
    """``buffer_forecast``'s time to full, with its basis or why there is none."""
    forecast = buffer_forecast(snap, window)
    now = snap.taken_at
    span = format_duration(window)
    rate = forecast.fill_rate_bps
    if forecast.time_to_full is not None and rate is not None:
        return known(
            now,
            forecast.time_to_full.total_seconds(),
            f"{format_bytes(forecast.free_bytes)} free at {format_rate(rate)} net "
            f"(fit over {span})",
        )
    if rate is None:
        return unknown(now, f"fewer than two fill samples in {span}")
    return unknown(now, f"not filling: {format_rate(rate)} net over {span}")


# -------------------------------------------------------- data at risk


@dataclass(frozen=True, slots=True)
class AtRisk:
    """A run whose LNGS_USERDISK copy expires before its other copies exist."""

    run_number: int | None
    run_name: str | None
    #: The LNGS_USERDISK rule and when it expires.
    rule_id: str
    expires_at: datetime
    #: The required copies that do not complete before then: slot (the
    #: policy's ``SLOT_CHICAGO`` / ``SLOT_EUROPE``) and its ETA.
    late: tuple[tuple[str, Eta], ...] = field(default=())

    @property
    def run(self) -> str:
        return str(self.run_number) if self.run_number is not None else self.run_name or "?"

    def reason(self) -> str:
        """One line: each late copy and its ETA or why it is unknown."""
        parts = []
        for slot, eta in self.late:
            when = f"in {format_duration(eta.seconds)}" if eta.seconds is not None else "unknown"
            parts.append(f"{slot} copy ETA {when} ({eta.basis})")
        return "; ".join(parts)


def _slot_eta(slot: str, rules: list[Rule], etas: Mapping[str, Eta], now: datetime) -> Eta:
    """When the slot is filled: the soonest ETA of the rules that fill it."""
    best: tuple[Eta, Rule] | None = None
    reasons: list[str] = []
    for rule in rules:
        eta = etas.get(rule.id) or (
            known(now, 0.0, "rule OK") if rule.state is RuleState.OK else None
        )
        if eta is None:
            continue
        if eta.seconds is None:
            reasons.append(f"{rule.rse}: {eta.basis}")
        elif best is None or eta.seconds < (best[0].seconds or 0.0):
            best = (eta, rule)
    if best is not None:
        eta, rule = best
        return Eta(eta.seconds, now, f"{rule.rse}: {eta.basis}")
    if reasons:
        return unknown(now, "; ".join(reasons))
    where = "a European RSE" if slot == SLOT_EUROPE else CHICAGO_RSE
    return unknown(now, f"no rule at {where}")


def data_at_risk(
    snap: TransfersSnapshot,
    policy: SafetyPolicy = DEFAULT_POLICY,
    etas: Mapping[str, Eta] | None = None,
) -> list[AtRisk]:
    """Runs whose LNGS_USERDISK copy expires before their copies complete.

    A run's LNGS copy is an OK rule at LNGS_USERDISK with ``expires_at`` (an
    upload still running is the buffer's business: its rules are made when
    it ends). The copies it needs: one at a European RSE of the catalogue
    and, when the run has a rule at UC_OSG_USERDISK (Ruciax makes one for
    science runs), Chicago's; regions as the verdicts read them
    (``safety.rse_slot``). A slot completes at the soonest ETA of its rules
    (an OK rule: now); unknown, or no rule, is never. Soonest expiry first.
    """
    etas = etas if etas is not None else rule_etas(snap)
    now = snap.taken_at
    by_run: dict[object, list[Rule]] = {}
    for rule in snap.rules:
        key = rule.run_number if rule.run_number is not None else rule.run_name
        if key is not None:
            by_run.setdefault(key, []).append(rule)
    out: list[AtRisk] = []
    for rules in by_run.values():
        lngs = [
            r
            for r in rules
            if r.rse == LNGS_RSE and r.state is RuleState.OK and r.expires_at is not None
        ]
        if not lngs:
            continue
        copy = max(lngs, key=lambda r: (r.expires_at, r.id))
        expires = copy.expires_at
        assert expires is not None
        slots: dict[str, list[Rule]] = {SLOT_EUROPE: []}
        if any(r.rse == CHICAGO_RSE for r in rules):
            slots = {SLOT_CHICAGO: [], SLOT_EUROPE: []}
        for rule in rules:
            slot = rse_slot(rule.rse, policy.rses)
            if slot in slots:
                slots[slot].append(rule)
        late = []
        for slot, candidates in slots.items():
            eta = _slot_eta(slot, candidates, etas, now)
            if eta.at is None or eta.at > expires:
                late.append((slot, eta))
        if late:
            out.append(AtRisk(copy.run_number, copy.run_name, copy.id, expires, tuple(late)))
    out.sort(key=lambda a: (a.expires_at, a.run))
    return out

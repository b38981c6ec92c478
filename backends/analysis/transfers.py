"""Per-RSE view of Rucio: rule states, lock progress, what is stuck or expiring."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import TypeVar, cast

from backends.model import ALL_RSES, RseStatus, Rule, RuleState, TransfersSnapshot

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class RseSummary:
    name: str
    region: str
    available: bool
    used_bytes: int | None
    total_bytes: int | None
    throughput_bps: float | None
    #: Count of rules per state; every state is present, zeros included.
    rules: Mapping[RuleState, int]
    locks_ok: int
    locks_total: int
    #: The rule stuck longest (by stuck_since, else updated_at).
    oldest_stuck: Rule | None
    #: Rules expiring within ``expiring_within`` (LNGS_USERDISK's lifetime matters).
    expiring_soon: int

    @property
    def progress(self) -> float:
        return self.locks_ok / self.locks_total if self.locks_total else 1.0


def stuck_since(rule: Rule) -> datetime:
    """When a stuck rule got stuck, as well as the source knows."""
    return rule.stuck_since or rule.updated_at


#: The answers of each function below for the last snapshot asked about, by
#: their arguments (the snapshot itself is kept: an identity is not reused
#: while it lives).
#: A transfers poll's rules are read by the pane (the main thread), its
#: alarms and the diagnosis; XENONnT's Rucio lists every rule of every run
#: (53,615 at 26,762 runs, 15 ms a pass): each pass is made once a snapshot,
#: in the poll's thread (``console/render/transfers.prepare``).
#: (The diagnosis asks for the summaries at another ``now`` than the pane.)
_LAST: dict[str, tuple[TransfersSnapshot, dict[object, object]]] = {}
_LAST_LOCK = threading.Lock()  # (the pane's, the poll's and the diagnosis's threads)


def _once(name: str, snap: TransfersSnapshot, args: object, compute: Callable[[], _T]) -> _T:
    with _LAST_LOCK:
        last = _LAST.get(name)
        if last is not None and last[0] is snap and args in last[1]:
            return cast(_T, last[1][args])
    result = compute()  # (outside the lock: two threads may both make it)
    with _LAST_LOCK:
        last = _LAST.get(name)
        if last is None or last[0] is not snap:
            last = _LAST[name] = (snap, {})
        answers = last[1]
        answers[args] = result
        if len(answers) > 8:  # (one snapshot asked at ever new times: keep a few)
            del answers[next(iter(answers))]
    return result


def rules_in(snap: TransfersSnapshot, state: RuleState) -> tuple[Rule, ...]:
    """The snapshot's rules in ``state``, in the snapshot's order."""
    by_state = _once("by_state", snap, None, lambda: _by_state(snap))
    return by_state.get(state, ())


def _by_state(snap: TransfersSnapshot) -> dict[RuleState, tuple[Rule, ...]]:
    grouped: dict[RuleState, list[Rule]] = {}
    for rule in snap.rules:
        grouped.setdefault(rule.state, []).append(rule)
    return {state: tuple(rules) for state, rules in grouped.items()}


def stuck_rules(snap: TransfersSnapshot) -> tuple[Rule, ...]:
    """Rules in STUCK, the one stuck longest first."""
    return _once(
        "stuck",
        snap,
        None,
        lambda: tuple(
            sorted(rules_in(snap, RuleState.STUCK), key=lambda r: (stuck_since(r), r.id))
        ),
    )


def _rse_order(name: str) -> tuple[int, str]:
    return (ALL_RSES.index(name), "") if name in ALL_RSES else (len(ALL_RSES), name)


def summarize_transfers(
    snap: TransfersSnapshot,
    now: datetime | None = None,
    expiring_within: timedelta = timedelta(hours=24),
) -> tuple[RseSummary, ...]:
    """One summary per RSE known from the status list or from a rule.

    Order: the experiment's RSEs (``model.ALL_RSES``) first, then others by name.
    """
    now = now or snap.taken_at
    return _once(
        "summaries", snap, (now, expiring_within), lambda: _summaries(snap, now, expiring_within)
    )


def _summaries(
    snap: TransfersSnapshot, now: datetime, expiring_within: timedelta
) -> tuple[RseSummary, ...]:
    statuses: dict[str, RseStatus] = {s.name: s for s in snap.rses}
    by_rse: dict[str, list[Rule]] = {name: [] for name in statuses}
    for rule in snap.rules:
        by_rse.setdefault(rule.rse, []).append(rule)
    horizon = now + expiring_within
    out: list[RseSummary] = []
    for name in sorted(by_rse, key=_rse_order):
        rules = by_rse[name]
        status = statuses.get(name)
        counts = dict.fromkeys(RuleState, 0)
        for rule in rules:
            counts[rule.state] += 1
        stuck = [r for r in rules if r.state is RuleState.STUCK]
        out.append(
            RseSummary(
                name=name,
                region=status.region if status else "",
                available=status.available if status else True,
                used_bytes=status.used_bytes if status else None,
                total_bytes=status.total_bytes if status else None,
                throughput_bps=status.throughput_bps if status else None,
                rules=MappingProxyType(counts),
                locks_ok=sum(r.locks_ok for r in rules),
                locks_total=sum(r.locks_total for r in rules),
                oldest_stuck=min(stuck, key=lambda r: (stuck_since(r), r.id)) if stuck else None,
                expiring_soon=sum(
                    1 for r in rules if r.expires_at is not None and r.expires_at <= horizon
                ),
            )
        )
    return tuple(out)

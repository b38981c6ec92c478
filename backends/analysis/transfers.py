"""Per-RSE view of Rucio: rule states, lock progress, what is stuck or expiring."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType

from backends.model import ALL_RSES, RseStatus, Rule, RuleState, TransfersSnapshot


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


def stuck_rules(snap: TransfersSnapshot) -> list[Rule]:
    """Rules in STUCK, the one stuck longest first."""
    stuck = [r for r in snap.rules if r.state is RuleState.STUCK]
    return sorted(stuck, key=lambda r: (stuck_since(r), r.id))


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

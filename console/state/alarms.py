"""The alarm book: which alarms are active, which cleared, and when to ring.

It holds the alarms each source's data raised (computed per poll, off the
UI thread), adds each source's health every time it is asked (cheap), keeps
the alarms that cleared during the session, gates acknowledgements until
every source has spoken (so a restart does not close what is merely not
polled yet), and decides when the bell rings: once per new critical
occurrence that nobody acknowledged.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from datetime import datetime, timedelta

from backends.analysis.alarms import Alarm, Severity, data_time, sort_alarms, source_alarm
from backends.model import Kind
from console.acks import AckStore
from console.state.source import SourceState

#: Cleared alarms remembered for the alarms screen.
RECENT = 100


def current_time(states: Mapping[Kind, SourceState], clock: float) -> datetime:
    """The data's clock now: the newest snapshot's own time plus how long ago
    (on the console's clock) it arrived. For a real source that is the wall
    clock; for a frozen simulator or a replay it moves on from the data's
    time as the console's clock does."""
    times = [
        s.snapshot.taken_at + timedelta(seconds=max(0.0, clock - s.received_at))
        for s in states.values()
        if s.snapshot is not None and s.received_at is not None
    ]
    return max(times) if times else data_time(())


class AlarmBook:
    def __init__(self, acks: AckStore, *, bell_on_critical: bool = True) -> None:
        self.acks = acks
        self.bell_on_critical = bell_on_critical
        #: Alarms raised by each kind's last snapshot.
        self.content: dict[Kind, list[Alarm]] = {}
        #: Every active alarm, most severe first.
        self.alarms: list[Alarm] = []
        #: Alarms that cleared during the session, newest first, with when.
        self.recent: deque[tuple[Alarm, datetime]] = deque(maxlen=RECENT)
        #: Critical occurrences nobody acknowledged: the bell rang once for each.
        self.ringing: set[str] = set()

    def set_content(self, kind: Kind, alarms: list[Alarm]) -> None:
        self.content[kind] = alarms

    def clear(self) -> None:
        """Forget every alarm (a replay seeking)."""
        self.content.clear()
        self.alarms = []
        self.recent.clear()

    def ready(self, states: Mapping[Kind, SourceState]) -> bool:
        """Every assigned source has spoken, and the alarms of its data are in."""
        assigned = [s for s in states.values() if s.assigned]
        return all(s.answered for s in assigned) and all(
            s.kind in self.content or s.snapshot is None for s in assigned
        )

    def update(self, states: Mapping[Kind, SourceState], clock: float) -> bool:
        """Recompute the active alarms from the states at ``clock`` (the
        console's clock: monotonic, or the replay position); True when the bell
        should ring. Each source's age is measured on that clock, never against
        the newest snapshot (with every source failing, no data is fresh)."""
        now = current_time(states, clock)
        found = [a for kind_alarms in self.content.values() for a in kind_alarms]
        for state in states.values():
            if not state.assigned:
                continue
            age = None if state.received_at is None else max(0.0, clock - state.received_at)
            health = source_alarm(
                state.kind,
                state.snapshot,
                state.current_error(clock),
                now,
                state.stale_limit(),
                age=age,
            )
            if health is not None:
                found.append(health)
        alarms = sort_alarms(found)
        if self.ready(states):
            self.acks.observe(alarms, now)
        if alarms != self.alarms:
            keys = {a.key for a in alarms}
            for old in self.alarms:
                if old.key not in keys:
                    self.recent.appendleft((old, now))
            self.alarms = alarms
        critical = {
            self.acks.occurrence(a)
            for a in alarms
            if a.severity is Severity.CRITICAL and not self.is_acked(a)
        }
        ring = bool(critical - self.ringing) and self.bell_on_critical
        self.ringing = critical
        return ring

    def is_acked(self, alarm: Alarm) -> bool:
        return self.acks.ack_for(alarm) is not None

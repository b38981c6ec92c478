"""The example kind's data: the LNGS uplink's throughput, as a site might add it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from backends.analysis.alarms import Alarm, Severity, Thresholds
from backends.analysis.safety import SafetyPolicy
from backends.kinds import KindSpec
from backends.model import Kind

UPLINK = Kind.define("uplink")


@dataclass(frozen=True, slots=True)
class UplinkSnapshot:
    taken_at: datetime
    out_bps: float
    errors: int = 0


class UplinkSource(ABC):
    @abstractmethod
    def fetch_uplink(self) -> UplinkSnapshot: ...


def uplink_alarms(
    snapshot: UplinkSnapshot, thresholds: Thresholds, now: datetime, policy: SafetyPolicy
) -> Iterable[Alarm]:
    if snapshot.errors:
        yield Alarm(
            key="uplink.errors",
            severity=Severity.WARNING,
            kind=UPLINK,
            title=f"{snapshot.errors} uplink errors",
            detail="the router counts errors on the LNGS uplink",
            since=None,
            hint="call LNGS IT",
        )


SPEC = KindSpec(
    UPLINK, "Uplink (LNGS)", 6, UplinkSnapshot, UplinkSource, "fetch_uplink", 5.0, uplink_alarms
)

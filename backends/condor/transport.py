"""The seam between the backend and HTCondor: where schedds are and what they hold.

Everything past this interface (reading ads, aggregation, run mapping, the
pane) is the same code in tests and in production. The real transport calls
the ``htcondor2`` bindings; tests serve ads that the real ``classad2`` parsed
from ``condor_q -long`` text (``tests/condor_text_transport.py``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

#: A schedd address as condor_q prints it (``<host:port?params>``) or plain
#: ``host:port``.
_ADDRESS = re.compile(r"^<[^<>\s]+>$|^[\w.\-]+:\d{1,5}$")


@dataclass(frozen=True, slots=True)
class ScheddRef:
    """A schedd by the name shown to the user and, when known, its address."""

    name: str
    address: str | None = None


def looks_like_address(text: str) -> bool:
    return bool(_ADDRESS.match(text))


class Transport(Protocol):
    """What the backend needs from a pool; every call may raise on failure."""

    def locate_schedds(self) -> list[ScheddRef]:
        """Every schedd the collector knows."""
        ...

    def locate(self, name: str) -> ScheddRef:
        """One schedd by name, through the collector."""
        ...

    def query(
        self, schedd: ScheddRef, constraint: str, projection: Sequence[str]
    ) -> Iterable[Mapping[str, Any]]:
        """Job ads in the queue matching ``constraint``."""
        ...

    def history(
        self, schedd: ScheddRef, since: str | None, constraint: str, projection: Sequence[str]
    ) -> Iterable[Mapping[str, Any]]:
        """Job ads that left the queue, newest first, back to ``since`` (exclusive)."""
        ...


def _bindings() -> Any:
    """Import ``htcondor2`` only when a real pool is used.

    Without a config the bindings look for /etc/condor/condor_config and log
    complaints; a console that only talks to remote daemons needs none.
    """
    os.environ.setdefault("CONDOR_CONFIG", "/dev/null")
    import htcondor2

    return htcondor2


class Htcondor2Transport:
    """The real pool, through ``htcondor2.Collector`` and ``htcondor2.Schedd``."""

    def __init__(self, pool: str | None) -> None:
        self.pool = pool
        self._htcondor = _bindings()

    def _collector(self) -> Any:
        return self._htcondor.Collector(self.pool) if self.pool else self._htcondor.Collector()

    def locate_schedds(self) -> list[ScheddRef]:
        ads = self._collector().locateAll(self._htcondor.DaemonType.Schedd)
        refs = [ScheddRef(str(ad.get("Name", ad["MyAddress"])), str(ad["MyAddress"])) for ad in ads]
        return sorted(refs, key=lambda r: r.name)

    def locate(self, name: str) -> ScheddRef:
        ad = self._collector().locate(self._htcondor.DaemonType.Schedd, name)
        return ScheddRef(name, str(ad["MyAddress"]))

    def _schedd(self, ref: ScheddRef) -> Any:
        import classad2

        address = ref.address or ref.name
        if not address.startswith("<"):
            address = f"<{address}>"
        # What Collector.locate would return; Schedd() reads only these two.
        location = classad2.ClassAd(
            {
                "MyAddress": address,
                "Name": ref.name,
                "CondorVersion": "$CondorVersion: 25.0.0 2025-01-01 BuildID: 0 $",
            }
        )
        return self._htcondor.Schedd(location)

    def query(
        self, schedd: ScheddRef, constraint: str, projection: Sequence[str]
    ) -> Iterable[Mapping[str, Any]]:
        ads: Iterable[Mapping[str, Any]] = self._schedd(schedd).query(constraint, list(projection))
        return ads

    def history(
        self, schedd: ScheddRef, since: str | None, constraint: str, projection: Sequence[str]
    ) -> Iterable[Mapping[str, Any]]:
        ads: Iterable[Mapping[str, Any]] = self._schedd(schedd).history(
            constraint, list(projection), since=since
        )
        return ads

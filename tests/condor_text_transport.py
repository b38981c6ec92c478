"""A condor transport that serves ads parsed from ``condor_q -long`` text.

No HTCondor daemon can run on these machines, so tests put the seam here:
the ads are parsed by the real ``classad2`` (old ClassAd syntax, as the
tools print it), constraints and ``since`` expressions are evaluated by the
real ClassAd library, and everything past this class is the production code.
Per schedd, a test can make calls fail, hang until released, or count what
they returned.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import classad2

from backends.condor.transport import ScheddRef

#: classad2.parseAds is superlinear on one very large string (100,000 ads of
#: 13 attributes took 45 s here, 20,000 took 0.6 s): parse in slices.
_SLICE = 2_000


def parse_long(text: str) -> list[classad2.ClassAd]:
    """Every ad of ``condor_q -long`` text (blank-line separated), in order."""
    blocks = [b for b in text.split("\n\n") if b.strip()]
    ads: list[classad2.ClassAd] = []
    for i in range(0, len(blocks), _SLICE):
        chunk = "\n\n".join(blocks[i : i + _SLICE]) + "\n"
        ads.extend(classad2.parseAds(chunk, classad2.ParserType.Old))
    return ads


def _true(expression: str, ad: classad2.ClassAd) -> bool:
    return classad2.ExprTree(expression).eval(ad) is True


@dataclass
class TextSchedd:
    queue: list[classad2.ClassAd] = field(default_factory=list)
    #: Newest first, as condor_history reads its file.
    history: list[classad2.ClassAd] = field(default_factory=list)


class TextTransport:
    """Schedds whose queue and history are ``-long`` text the test sets."""

    def __init__(self) -> None:
        self.schedds: dict[str, TextSchedd] = {}
        self.fail: dict[str, Exception] = {}
        self.hang: dict[str, threading.Event] = {}
        self.collector_fail: Exception | None = None
        self.collector_hang: threading.Event | None = None
        #: (method, schedd, ads returned, since) per call.
        self.calls: list[tuple[str, str, int, str | None]] = []
        self.projections: list[list[str]] = []
        self._lock = threading.Lock()

    def set_text(self, schedd: str, queue: str, history: str = "") -> None:
        self.schedds[schedd] = TextSchedd(parse_long(queue), parse_long(history))

    def set_ads(
        self,
        schedd: str,
        queue: list[classad2.ClassAd],
        history: list[classad2.ClassAd] | None = None,
    ) -> None:
        self.schedds[schedd] = TextSchedd(queue, history or [])

    def _enter(self, name: str) -> TextSchedd:
        event = self.hang.get(name)
        if event is not None:
            event.wait(30)
        if name in self.fail:
            raise self.fail[name]
        return self.schedds[name]

    def locate_schedds(self) -> list[ScheddRef]:
        if self.collector_hang is not None:
            self.collector_hang.wait(30)
        if self.collector_fail is not None:
            raise self.collector_fail
        return [
            ScheddRef(name, f"<127.0.0.1:{9618 + i}>")
            for i, name in enumerate(sorted(self.schedds))
        ]

    def locate(self, name: str) -> ScheddRef:
        if self.collector_fail is not None:
            raise self.collector_fail
        return ScheddRef(name, "<127.0.0.1:9618>")

    def _project(
        self, ads: list[classad2.ClassAd], projection: Sequence[str]
    ) -> list[Mapping[str, Any]]:
        self.projections.append(list(projection))
        # A schedd returns only the projected attributes.
        keep = {p.lower() for p in projection}
        out = []
        for ad in ads:
            small = classad2.ClassAd()
            for key in ad:
                if key.lower() in keep:
                    small[key] = ad.lookup(key)
            out.append(small)
        return out

    def query(
        self, schedd: ScheddRef, constraint: str, projection: Sequence[str]
    ) -> list[Mapping[str, Any]]:
        ads = [ad for ad in self._enter(schedd.name).queue if _true(constraint, ad)]
        with self._lock:
            self.calls.append(("query", schedd.name, len(ads), None))
        return self._project(ads, projection)

    def history(
        self, schedd: ScheddRef, since: str | None, constraint: str, projection: Sequence[str]
    ) -> list[Mapping[str, Any]]:
        ads = []
        for ad in self._enter(schedd.name).history:
            if since is not None and _true(since, ad):
                break
            if _true(constraint, ad):
                ads.append(ad)
        with self._lock:
            self.calls.append(("history", schedd.name, len(ads), since))
        return self._project(ads, projection)

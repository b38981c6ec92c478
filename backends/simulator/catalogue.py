"""The DAQ's run plan: which runs exist, when, of what source and size.

Everything about a run that the DAQ decides when it takes it (start, source,
events, size, tags, the European RSE Ruciax will pick) is drawn here, from one
``random.Random(seed)`` stream in run order, so the same seed always gives the
same runs. The shares of the sources follow Table 1 of the XENON1T computing
paper: per-source run probabilities are the table's volumes divided by a mean
run size per source, so that volumes, not run counts, match the table.
"""

from __future__ import annotations

import operator
import random
import time
from array import array
from bisect import bisect_left
from collections.abc import Mapping
from datetime import UTC, datetime
from itertools import accumulate, repeat
from typing import NamedTuple

from backends.model import CHICAGO_RSE, EUROPEAN_RSES

MB = 10**6

# ------------------------------------------------------------------ vocabulary

SOURCE_DARK_MATTER = "dark_matter"
SOURCE_LED = "LED"
SOURCE_CS137 = "Cs137"
SOURCE_KR83M = "Kr83m"
SOURCE_RN220 = "Rn220"
SOURCE_AMBE = "AmBe"
SOURCE_TH228 = "Th228"
SOURCE_NEUTRON_GENERATOR = "neutron_generator"
SOURCE_MUON_VETO = "muon_veto"

#: The ``Run.source`` vocabulary of the simulator, in Table 1 order.
SOURCES: tuple[str, ...] = (
    SOURCE_DARK_MATTER,
    SOURCE_LED,
    SOURCE_CS137,
    SOURCE_KR83M,
    SOURCE_RN220,
    SOURCE_AMBE,
    SOURCE_TH228,
    SOURCE_NEUTRON_GENERATOR,
    SOURCE_MUON_VETO,
)

#: Table 1 of the paper: total raw data per source (TB) over 26,762 runs.
TABLE1_TB: dict[str, float] = {
    SOURCE_DARK_MATTER: 414.69,
    SOURCE_LED: 37.37,
    SOURCE_CS137: 8.47,
    SOURCE_KR83M: 62.25,
    SOURCE_RN220: 91.14,
    SOURCE_AMBE: 68.71,
    SOURCE_TH228: 3.01,
    SOURCE_NEUTRON_GENERATOR: 54.5,
    SOURCE_MUON_VETO: 2.73,
}
TABLE1_TOTAL_TB = 743.23
TABLE1_RUNS = 26_762

#: Typical events per run and mean bytes per event, per source. Their product
#: is the mean run size; ~20,000 events of ~1.5 MB for a dark-matter hour.
EVENTS_AND_EVENT_BYTES: dict[str, tuple[int, int]] = {
    SOURCE_DARK_MATTER: (20_000, 1_500_000),
    SOURCE_LED: (10_000, 1_000_000),
    SOURCE_CS137: (25_000, 1_200_000),
    SOURCE_KR83M: (60_000, 750_000),
    SOURCE_RN220: (50_000, 1_000_000),
    SOURCE_AMBE: (16_700, 1_800_000),
    SOURCE_TH228: (30_000, 1_000_000),
    SOURCE_NEUTRON_GENERATOR: (25_000, 1_600_000),
    SOURCE_MUON_VETO: (3_000, 500_000),
}
MAX_EVENT_BYTES = 2 * MB
EVENTS_PER_FILE = 100

DETECTOR_TPC = "tpc"
DETECTOR_MUON_VETO = "muon_veto"

TAG_DONOTPROCESS = "donotprocess"
#: Sources whose runs never get a science-run tag (as in Table 1).
NEVER_SCIENCE: frozenset[str] = frozenset({SOURCE_LED, SOURCE_TH228, SOURCE_MUON_VETO})


def _utc(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


#: Science-run periods: (tag, first second, end second).
SCIENCE_RUNS: tuple[tuple[str, float, float], ...] = (
    ("_sciencerun0", _utc("2016-11-01"), _utc("2017-01-18")),
    ("_sciencerun1", _utc("2017-02-02"), _utc("2018-02-08")),
)

#: Probability that the next run keeps the previous run's source: calibration
#: campaigns come in blocks. Mixing with the Table 1 draw keeps its shares.
CAMPAIGN_STICKINESS = 0.7
DONOTPROCESS_PROBABILITY = 0.02
BREAK_PROBABILITY = 0.008
BREAK_HOURS = (1.0, 8.0)
GAP_SECONDS = (20.0, 150.0)
RUN_MINUTES = (56.0, 62.0)

#: The run number of the newest run of a history of up to this many runs, so
#: the default month of runs has realistic SR1-era numbers.
NEWEST_RUN_NUMBER = 14_999


def _run_probabilities() -> tuple[list[str], list[float]]:
    weights = []
    for source in SOURCES:
        events, event_bytes = EVENTS_AND_EVENT_BYTES[source]
        weights.append(TABLE1_TB[source] * 1e12 / (events * event_bytes))
    total = sum(weights)
    cumulative, acc = [], 0.0
    for w in weights:
        acc += w / total
        cumulative.append(acc)
    cumulative[-1] = 1.0
    return list(SOURCES), cumulative


_SOURCE_LIST, _SOURCE_CUMULATIVE = _run_probabilities()


class RunSpec(NamedTuple):
    """What the DAQ decided about one run. Times are POSIX seconds (UTC)."""

    number: int
    start: float
    end: float
    detector: str
    source: str
    tags: tuple[str, ...]
    events: int
    size: int
    files: int
    eu_rse: str
    #: Seed of the keyed draws (``draws.unit(salt, key)``) for this run.
    salt: int
    #: Pause before the next run starts (seconds); long ones are DAQ breaks.
    gap_after: float
    #: Its raw data goes to Chicago too: tagged as science data (XENON1T),
    #: or its detector's destinations name UC_OSG_USERDISK (``destinations``).
    science: bool
    #: Processed at all (not muon-veto, not ``donotprocess``).
    processable: bool


_DAYS: dict[int, str] = {}


def run_name(start: float) -> str:
    """``YYMMDD_HHMM`` of the start time, as XENON1T named its runs.

    Day strings are cached: names are made for every run of the history."""
    seconds = int(start)
    day, second = divmod(seconds, 86400)
    prefix = _DAYS.get(day)
    if prefix is None:
        prefix = _DAYS[day] = time.strftime("%y%m%d", time.gmtime(day * 86400))
    return f"{prefix}_{second // 3600:02d}{second % 3600 // 60:02d}"


def science_tag(start: float, source: str) -> str | None:
    if source in NEVER_SCIENCE:
        return None
    for tag, first, end in SCIENCE_RUNS:
        if first <= start < end:
            return tag
    return None


def scope_of(spec: RunSpec, name: str | None = None) -> str:
    """The Rucio scope Ruciax used: ``x1t_SR001_171115_1200_tpc``.

    The label is the science-run era of the upload (SR000 until SR1 began).
    """
    period = "SR000" if spec.start < SCIENCE_RUNS[1][1] else "SR001"
    return f"x1t_{period}_{name or run_name(spec.start)}_{spec.detector}"


#: (source, duration, events, size, eu_rse, donotprocess, salt, gap_after)
_Draw = tuple[str, float, int, int, str, bool, int, float]


class Catalogue:
    """The seeded run plan: the history up to ``now`` and runs after it.

    Generation is a hot path (26,762 runs must be planned in a few tens of
    milliseconds), hence the plain tuples and inlined draws below.
    """

    def __init__(
        self,
        seed: int,
        runs: int,
        now: float,
        destinations: Mapping[str, tuple[bool, str]] | None = None,
    ) -> None:
        """``destinations``: where each detector's raw data goes, as (to
        UC_OSG_USERDISK too, the European RSE), instead of XENON1T's (Chicago
        for science data, a European RSE drawn per run); the draws are the
        same either way (see ``destinations_of``)."""
        from backends.simulator.spec_columns import SpecColumns

        self._destinations = destinations

        self._rng = random.Random(seed)
        self._source = SOURCE_DARK_MATTER
        # The draws, in the order of the seeded stream, straight into columns
        # (no tuple per run: 267,620 of them were 60 MB at the peak), by
        # ``_draw`` inlined (the same draws in the same order, the same
        # arithmetic: a test holds the two equal); a call and a tuple a run
        # were a third of the plan.
        sources: list[str] = [""] * runs
        durations = array("d", bytes(8 * runs))
        events = array("q", bytes(8 * runs))
        sizes = array("q", bytes(8 * runs))
        eu: list[str] = [""] * runs
        donotprocess = bytearray(runs)
        salts = array("q", bytes(8 * runs))
        gaps = array("d", bytes(8 * runs))
        rand = self._rng.random
        bits = self._rng.getrandbits
        source = self._source
        mean_events, mean_event_bytes = EVENTS_AND_EVENT_BYTES[source]
        switches = tuple(zip(_SOURCE_LIST, _SOURCE_CUMULATIVE, strict=True))
        means = EVENTS_AND_EVENT_BYTES
        break_low, break_span = BREAK_HOURS[0], BREAK_HOURS[1] - BREAK_HOURS[0]
        gap_low, gap_span = GAP_SECONDS[0], GAP_SECONDS[1] - GAP_SECONDS[0]
        minutes_low, minutes_span = RUN_MINUTES[0], RUN_MINUTES[1] - RUN_MINUTES[0]
        n_eu = len(EUROPEAN_RSES)
        for i in range(runs):
            if rand() >= CAMPAIGN_STICKINESS:
                u = rand()
                for name, edge in switches:
                    if u < edge:
                        if name != source:
                            source = name
                            mean_events, mean_event_bytes = means[source]
                        break
            sources[i] = source
            n = int(mean_events * (0.85 + 0.3 * rand()))
            if n < 100:
                n = 100
            event_bytes = mean_event_bytes * (0.9 + 0.2 * rand())
            if not event_bytes < MAX_EVENT_BYTES:
                event_bytes = MAX_EVENT_BYTES
            events[i] = n
            sizes[i] = int(n * event_bytes)
            if rand() < BREAK_PROBABILITY:
                gaps[i] = 3600.0 * (break_low + break_span * rand())
            else:
                gaps[i] = gap_low + gap_span * rand()
            durations[i] = 60.0 * (minutes_low + minutes_span * rand())
            eu[i] = EUROPEAN_RSES[int(rand() * n_eu)]
            if rand() < DONOTPROCESS_PROBABILITY:
                donotprocess[i] = 1
            salts[i] = bits(63)
        self._source = source
        # The newest run is in progress at ``now``: place the plan backwards
        # (each start the next one's less the gap and the duration between).
        start = now - durations[-1] * (0.1 + 0.8 * self._rng.random())
        steps = array("d", map(operator.add, gaps[: runs - 1], durations[: runs - 1]))
        steps.reverse()
        starts = array("d", accumulate(steps, operator.sub, initial=start))
        starts.reverse()
        # What follows from a run's source, science-run era and donotprocess
        # (``_facts``, as ``_spec`` makes it), by a table of the few
        # combinations: the eras (``_era``) are stretches of the sorted
        # starts (the first era listed wins).
        era: list[str | None] = [None] * runs
        for tag, first, end in reversed(SCIENCE_RUNS):
            low, high = bisect_left(starts, first), bisect_left(starts, end)
            era[low:high] = [tag] * (high - low)
        facts = {
            (source, tag, dnp): _facts(source, tag, bool(dnp), destinations)
            for source in set(sources)
            for tag in (None, *(t for t, _, _ in SCIENCE_RUNS))
            for dnp in (0, 1)
        }
        tags, science_of, processable_of, detectors, fixed_eu = zip(
            *map(facts.__getitem__, zip(sources, era, donotprocess, strict=True)), strict=True
        )
        science = bytearray(science_of)
        processable = bytearray(processable_of)
        if destinations is not None:
            eu = [e if f is None else f for e, f in zip(eu, fixed_eu, strict=True)]
        first_number = max(0, NEWEST_RUN_NUMBER - runs + 1)
        #: The plan in columns (``spec_columns``); the engine goes on appending.
        self.history = SpecColumns.from_columns(
            numbers=array("q", range(first_number, first_number + runs)),
            starts=starts,
            ends=array("d", map(operator.add, starts, durations)),
            detectors=detectors,
            sources=sources,
            tags=tags,
            events=events,
            sizes=sizes,
            files=_files_of(events),
            eu_rses=eu,
            salts=salts,
            gaps=gaps,
            science=science,
            processable=processable,
        )
        self._next_number = first_number + runs

    def next_spec(self, start: float) -> RunSpec:
        """The run after the last one planned, starting at ``start``."""
        spec = self._spec(self._next_number, start, self._draw(), self._destinations)
        self._next_number += 1
        return spec

    def _draw(self) -> _Draw:
        rand = self._rng.random
        if rand() >= CAMPAIGN_STICKINESS:
            u = rand()
            for source, edge in zip(_SOURCE_LIST, _SOURCE_CUMULATIVE, strict=True):
                if u < edge:
                    self._source = source
                    break
        source = self._source
        mean_events, mean_event_bytes = EVENTS_AND_EVENT_BYTES[source]
        events = max(100, int(mean_events * (0.85 + 0.3 * rand())))
        event_bytes = min(MAX_EVENT_BYTES, mean_event_bytes * (0.9 + 0.2 * rand()))
        if rand() < BREAK_PROBABILITY:
            low, high = BREAK_HOURS
            gap = 3600.0 * (low + (high - low) * rand())
        else:
            gap = GAP_SECONDS[0] + (GAP_SECONDS[1] - GAP_SECONDS[0]) * rand()
        duration = 60.0 * (RUN_MINUTES[0] + (RUN_MINUTES[1] - RUN_MINUTES[0]) * rand())
        eu_rse = EUROPEAN_RSES[int(rand() * len(EUROPEAN_RSES))]
        donotprocess = rand() < DONOTPROCESS_PROBABILITY
        salt = self._rng.getrandbits(63)
        return (
            source,
            duration,
            events,
            int(events * event_bytes),
            eu_rse,
            donotprocess,
            salt,
            gap,
        )

    @staticmethod
    def _spec(
        number: int,
        start: float,
        d: _Draw,
        destinations: Mapping[str, tuple[bool, str]] | None = None,
    ) -> RunSpec:
        source, duration, events, size, eu_rse, donotprocess, salt, gap = d
        tags, science, processable, detector, fixed_eu = _facts(
            source, _era(start), bool(donotprocess), destinations
        )
        return _new_spec(
            RunSpec,
            (
                number,
                start,
                start + duration,
                detector,
                source,
                tags,
                events,
                size,
                _files(events),
                eu_rse if fixed_eu is None else fixed_eu,
                salt,
                gap,
                science,
                processable,
            ),
        )


_new_spec = tuple.__new__


#: XENONnT's destinations of raw data per detector (admix's data manager
#: config: ``raw_records`` to UC_OSG_USERDISK and SURFSARA_USERDISK,
#: ``raw_records_mv`` to UC_OSG_USERDISK and CCIN2P3_USERDISK), which the
#: ``xenonnt`` policy requires.
XENONNT_DESTINATIONS: Mapping[str, tuple[str, ...]] = {
    DETECTOR_TPC: (CHICAGO_RSE, "SURFSARA_USERDISK"),
    DETECTOR_MUON_VETO: (CHICAGO_RSE, "CCIN2P3_USERDISK"),
}


def destinations_of(rses: tuple[str, ...]) -> tuple[bool, str]:
    """A detector's destinations as the simulation moves data: (to
    UC_OSG_USERDISK, the one European RSE). ValueError for what it cannot
    move (no European RSE, two, an RSE it does not have)."""
    unknown = [r for r in rses if r != CHICAGO_RSE and r not in EUROPEAN_RSES]
    if unknown:
        raise ValueError(f"{unknown[0]!r} is not an RSE the simulator replicates to")
    european = [r for r in rses if r in EUROPEAN_RSES]
    if len(european) != 1 or len(set(rses)) != len(rses):
        raise ValueError(
            f"{list(rses)}: the simulator replicates to one European RSE"
            f" ({', '.join(EUROPEAN_RSES)}), and to {CHICAGO_RSE} or not"
        )
    return CHICAGO_RSE in rses, european[0]


def _files(events: int) -> int:
    """The raw data files of a run of ``events`` events (the last one partial)."""
    return -(-events // EVENTS_PER_FILE)


def _files_of(events: array[int]) -> array[int]:
    """``_files`` of each run, with no Python call a run."""
    whole = map(operator.floordiv, map(operator.neg, events), repeat(EVENTS_PER_FILE))
    return array("q", map(operator.neg, whole))


def _facts(
    source: str,
    era: str | None,
    donotprocess: bool,
    destinations: Mapping[str, tuple[bool, str]] | None,
) -> tuple[tuple[str, ...], bool, bool, str, str | None]:
    """(tags, science, processable, detector, the European RSE the
    destinations fix or None) of a run of ``source`` started in science-run
    era ``era`` (None: none): the plan's and ``_spec``'s one derivation."""
    tag = None if source in NEVER_SCIENCE else era
    muon_veto = tag is None and source == SOURCE_MUON_VETO
    detector = DETECTOR_MUON_VETO if muon_veto else DETECTOR_TPC
    science = tag is not None
    fixed = destinations.get(detector) if destinations is not None else None
    eu = None
    if fixed is not None:
        science, eu = fixed
    return _TAGS[tag, donotprocess], science, not (muon_veto or donotprocess), detector, eu


def _era(start: float) -> str | None:
    """The science run a run started at ``start`` falls in (None: none)."""
    for tag, first, end in SCIENCE_RUNS:
        if first <= start < end:
            return tag
    return None


#: The tags of a run by (science-run tag, donotprocess): one shared tuple each.
_TAGS: dict[tuple[str | None, bool], tuple[str, ...]] = {
    (tag, dnp): (*((tag,) if tag else ()), *((TAG_DONOTPROCESS,) if dnp else ()))
    for tag in (None, *(t for t, _, _ in SCIENCE_RUNS))
    for dnp in (False, True)
}

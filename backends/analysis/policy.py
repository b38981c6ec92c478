"""What the data-safety verdicts and the purge rule are decided against.

The policy is data, not code (issue 19): requirements (``[[policy.require]]``)
say which runs a rule applies to and which copies each needs, the purge
rules (``[policy.purge]``) which copies must exist before a buffer host's
copy may go. :data:`DEFAULT_POLICY` is XENON1T's, as the paper writes it;
``analysis.safety`` decides the verdicts from whichever policy it is given.

**Slots** (``copies = [...]``): ``"tape"`` a valid tape copy; ``"rse:NAME"`` a
valid Rucio copy at that RSE; ``"region:Europe"`` one at an RSE of that
region of the catalogue (never the copy an ``rse:`` slot of the same rule
names: the Chicago copy is not the European one too); ``"outside:LNGS"`` one
at a catalogue RSE of any other region.

**Which rule applies**: the requirements are tried in order, and for each
data type the first whose conditions hold for any document of the run
decides (so a stricter rule goes first: a run with one science document is
judged as science data). A run no rule applies to is never safe.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from fnmatch import fnmatchcase
from functools import cached_property

from backends.model import (
    CHICAGO_RSE,
    EUROPEAN_RSES,
    HOST_BUFFER,
    LNGS_RSE,
    CopyType,
    DataCopy,
    Run,
)

# ------------------------------------------------------------- the catalogue


class Region(StrEnum):
    US = "US"
    EUROPE = "Europe"
    LNGS = "LNGS"


#: Rucio's own rule for RSE names (``rucio.common.schema``: upper case,
#: digits, single ``_`` or ``-`` between them).
RSE_NAME = re.compile(r"[A-Z0-9]+(?:[_-][A-Z0-9]+)*")


@dataclass(frozen=True)
class RseCatalogue:
    """The RSEs the experiment has, each with its region.

    A Rucio copy at an RSE that is not here (a typo, a placeholder, a number,
    a site of another experiment) never counts.
    """

    #: (name, region) pairs in the order they were given.
    entries: tuple[tuple[str, Region], ...]

    @cached_property
    def regions(self) -> Mapping[str, Region]:
        """Region by RSE name."""
        return dict(self.entries)

    def region(self, name: object) -> Region | None:
        """The RSE's region, or None when the catalogue does not know it."""
        return self.regions.get(name) if isinstance(name, str) else None

    def names(self, region: Region | None = None) -> tuple[str, ...]:
        return tuple(n for n, r in self.entries if region is None or r is region)

    def with_changes(self, changes: Mapping[str, Region | None]) -> RseCatalogue:
        """This catalogue with RSEs added, moved to another region, or removed (None)."""
        out = dict(self.entries)
        for name, region in changes.items():
            if region is None:
                out.pop(name, None)
            else:
                out[name] = region
        return RseCatalogue(tuple(out.items()))


#: The paper's sites.
DEFAULT_RSES = RseCatalogue(
    (
        (LNGS_RSE, Region.LNGS),
        (CHICAGO_RSE, Region.US),
        *((rse, Region.EUROPE) for rse in EUROPEAN_RSES),
    )
)


# ------------------------------------------------------------------- slots


class SlotKind(StrEnum):
    TAPE = "tape"
    RSE = "rse"
    REGION = "region"
    OUTSIDE = "outside"


#: How a region is named in a slot's label ("European RSE").
_REGION_ADJECTIVE = {Region.US: "US", Region.EUROPE: "European", Region.LNGS: "LNGS"}


@dataclass(frozen=True, slots=True)
class Slot:
    """One copy a rule needs."""

    kind: SlotKind
    #: The RSE of an ``rse`` slot; None for the others.
    rse: str | None = None
    #: The region of a ``region`` or ``outside`` slot.
    region: Region | None = None

    @property
    def label(self) -> str:
        """The slot in verdicts and reasons: ``tape``, ``UC_OSG_USERDISK``,
        ``European RSE``, ``RSE outside LNGS``."""
        if self.kind is SlotKind.TAPE:
            return "tape"
        if self.kind is SlotKind.RSE:
            return str(self.rse)
        assert self.region is not None
        if self.kind is SlotKind.REGION:
            return f"{_REGION_ADJECTIVE[self.region]} RSE"
        return f"RSE outside {self.region.value}"

    @property
    def spec(self) -> str:
        """The slot as the config writes it."""
        if self.kind is SlotKind.TAPE:
            return "tape"
        if self.kind is SlotKind.RSE:
            return f"rse:{self.rse}"
        assert self.region is not None
        return f"{self.kind.value}:{self.region.value}"

    @property
    def rucio(self) -> bool:
        return self.kind is not SlotKind.TAPE


TAPE_SLOT = Slot(SlotKind.TAPE)


class SlotError(ValueError):
    """A slot the config writes that is none (the message says why)."""


SLOT_FORMS = '"tape", "rse:NAME", "region:US|Europe|LNGS" or "outside:US|Europe|LNGS"'


def parse_slot(text: str) -> Slot:
    """A slot from its config text (:attr:`Slot.spec`); SlotError if none."""
    if text == "tape":
        return TAPE_SLOT
    kind, sep, value = text.partition(":")
    if sep and kind == SlotKind.RSE.value:
        if not RSE_NAME.fullmatch(value):
            raise SlotError(f"{text!r}: {value!r} is not an RSE name")
        return Slot(SlotKind.RSE, rse=value)
    if sep and kind in (SlotKind.REGION.value, SlotKind.OUTSIDE.value):
        regions = {r.value.lower(): r for r in Region}
        region = regions.get(value.lower())
        if region is None:
            raise SlotError(f"{text!r}: {value!r} is not a region (US, Europe, LNGS)")
        return Slot(SlotKind(kind), region=region)
    raise SlotError(f"{text!r} is not a slot ({SLOT_FORMS})")


# ------------------------------------------------------------------- rules

RAW = CopyType.RAW.value
#: A purge rule's ``data_type`` for "each copy's own": every data type the
#: host holds needs the rule's copies, of that type.
ANY_TYPE = "*"


@dataclass(frozen=True)
class Requirement:
    """One ``[[policy.require]]``: the runs it applies to, the copies they need."""

    #: Names the rule in reasons ("science run: missing ...") and the drill-down.
    name: str
    copies: tuple[Slot, ...]
    #: Data the rule is about: copies of another ``type`` fill none of its slots.
    data_type: str = RAW
    #: Conditions, all of which must hold (None / empty: any run):
    #: a science tag (``_sciencerun…``) or none,
    science: bool | None = None
    #: any of these tags,
    tags: frozenset[str] = frozenset()
    #: the detector and the source type one of these.
    detectors: frozenset[str] = frozenset()
    sources: frozenset[str] = frozenset()

    def applies_to(self, doc: Run) -> bool:
        if self.science is not None and doc.science != self.science:
            return False
        if self.tags and not self.tags.intersection(doc.tags):
            return False
        # A XENONnT run of several detectors reads as "tpc+muon_veto".
        if self.detectors and not self.detectors.intersection(doc.detector.split("+")):
            return False
        return not self.sources or doc.source in self.sources

    @cached_property
    def named_rses(self) -> frozenset[str]:
        """RSEs an ``rse:`` slot names: no region slot of this rule takes their copy."""
        return frozenset(s.rse for s in self.copies if s.rse is not None)


@dataclass(frozen=True)
class PurgeRule:
    """One buffer host's ``[policy.purge."HOST"]``: the copies that must be
    valid before its copy of a run may be deleted."""

    #: The host's name as the copies give it, or a pattern (``eb*``).
    host: str
    copies: tuple[Slot, ...]
    data_type: str = RAW

    @property
    def name(self) -> str:
        return f"purge rule of {self.host}"

    def holds(self, copy: DataCopy) -> bool:
        """Whether the copy is one this rule guards: on its host, of its type."""
        if self.pattern:
            if not fnmatchcase(copy.host, self.host):
                return False
        elif copy.host != self.host:
            return False
        return self.data_type == ANY_TYPE or copy.type == self.data_type

    @cached_property
    def pattern(self) -> bool:
        """Whether ``host`` is a pattern (``eb*``) rather than a name."""
        return "*" in self.host or "?" in self.host

    @cached_property
    def named_rses(self) -> frozenset[str]:
        return frozenset(s.rse for s in self.copies if s.rse is not None)


SCIENCE_RULE = Requirement(
    "science run",
    (Slot(SlotKind.RSE, rse=CHICAGO_RSE), Slot(SlotKind.REGION, region=Region.EUROPE), TAPE_SLOT),
    science=True,
)
NON_SCIENCE_RULE = Requirement(
    "non-science run", (Slot(SlotKind.REGION, region=Region.EUROPE), TAPE_SLOT), science=False
)
#: XENON1T's, from the paper.
XENON1T_REQUIRE: tuple[Requirement, ...] = (SCIENCE_RULE, NON_SCIENCE_RULE)
XENON1T_PURGE: tuple[PurgeRule, ...] = (
    PurgeRule(HOST_BUFFER, (TAPE_SLOT, Slot(SlotKind.OUTSIDE, region=Region.LNGS))),
)

#: Types of data that are never raw data: such copies are candidates for no slot.
OTHER_TYPES = frozenset({CopyType.PROCESSED.value, CopyType.MINITREES.value})


@dataclass(frozen=True)
class SafetyPolicy:
    """What the verdicts are decided against: the RSE catalogue (``[rses]``),
    the requirements (``[[policy.require]]``) and the purge rules
    (``[policy.purge]``); XENON1T's by default."""

    rses: RseCatalogue = field(default=DEFAULT_RSES)
    require: tuple[Requirement, ...] = XENON1T_REQUIRE
    purge: tuple[PurgeRule, ...] = XENON1T_PURGE
    #: A Rucio copy counts only when Rucio confirms it: an OK rule for its DID
    #: at its RSE holding ``file_count`` files (XENONnT's ``clean_eb``).
    rucio_check: bool = False
    #: Which profile this is (``[policy] profile``), for the drill-down.
    profile: str = "xenon1t"

    @cached_property
    def data_types(self) -> tuple[str, ...]:
        """The data types the rules are about, in the order they first appear."""
        types = [r.data_type for r in self.require] + [p.data_type for p in self.purge]
        return tuple(dict.fromkeys(t for t in types if t != ANY_TYPE)) or (RAW,)

    @cached_property
    def purge_hosts(self) -> frozenset[str]:
        """The buffer hosts named exactly (patterns are matched per copy)."""
        return frozenset(p.host for p in self.purge if not p.pattern)

    def on_buffer_host(self, copy: DataCopy) -> bool:
        return any(p.holds(copy) for p in self.purge)

    def not_candidates(self, data_type: str) -> frozenset[str]:
        """Copy types that are no candidate for a slot of ``data_type``: other
        kinds of data (processed, minitrees) and the other data types the
        policy knows (a ``records`` copy is no bad ``raw_records`` copy)."""
        known = self.excluded.get(data_type)
        if known is None:
            return (OTHER_TYPES | frozenset(self.data_types)) - {data_type}
        return known

    @cached_property
    def excluded(self) -> Mapping[str, frozenset[str]]:
        """:meth:`not_candidates` of each data type the policy names (the hot path)."""
        known = frozenset(self.data_types)
        return {dt: (OTHER_TYPES | known) - {dt} for dt in self.data_types}

    def slot_label(self, data_type: str, slot: Slot) -> str:
        """A slot's name in verdicts, with its data type when the policy has several."""
        return f"{data_type} {slot.label}" if len(self.data_types) > 1 else slot.label

    @cached_property
    def labels(self) -> Mapping[int, tuple[str, ...]]:
        """The slot labels of each requirement, by ``id`` (the hot path)."""
        return {
            id(r): tuple(self.slot_label(r.data_type, s) for s in r.copies) for r in self.require
        }

    def requirements(self, docs: tuple[Run, ...]) -> tuple[Requirement, ...]:
        """The rules that decide a run of these documents: per data type, the
        first that applies to any of them."""
        if len(docs) == 1:  # the hot path: remembered by what the rules read
            doc = docs[0]
            key = (doc.tags, doc.detector, doc.source)
            memo = self._requirements
            known = memo.get(key)
            if known is None:
                if len(memo) > 4096:
                    memo.clear()
                known = memo[key] = self._choose(docs)
            return known
        return self._choose(docs)

    @cached_property
    def _requirements(self) -> dict[tuple[object, ...], tuple[Requirement, ...]]:
        return {}

    def _choose(self, docs: tuple[Run, ...]) -> tuple[Requirement, ...]:
        chosen: dict[str, Requirement] = {}
        for rule in self.require:
            if rule.data_type not in chosen and any(rule.applies_to(d) for d in docs):
                chosen[rule.data_type] = rule
        return tuple(chosen.values())


DEFAULT_POLICY = SafetyPolicy()

#: XENONnT (admix's data manager config and ``clean_eb``): raw data per
#: detector, each data type to its destinations; an event builder's copy
#: of any data type may go only when an RSE outside LNGS has it, confirmed
#: by Rucio.
XENONNT_REQUIRE: tuple[Requirement, ...] = (
    Requirement(
        "TPC run",
        (Slot(SlotKind.RSE, rse=CHICAGO_RSE), Slot(SlotKind.RSE, rse="SURFSARA_USERDISK")),
        data_type="raw_records",
        detectors=frozenset({"tpc"}),
    ),
    Requirement(
        "muon veto run",
        (Slot(SlotKind.OUTSIDE, region=Region.LNGS),),
        data_type="raw_records_mv",
        detectors=frozenset({"muon_veto"}),
    ),
    Requirement(
        "neutron veto run",
        (Slot(SlotKind.OUTSIDE, region=Region.LNGS),),
        data_type="raw_records_nv",
        detectors=frozenset({"neutron_veto"}),
    ),
)
XENONNT_PURGE: tuple[PurgeRule, ...] = (
    PurgeRule("eb*", (Slot(SlotKind.OUTSIDE, region=Region.LNGS),), data_type=ANY_TYPE),
)
XENONNT_POLICY = SafetyPolicy(
    require=XENONNT_REQUIRE, purge=XENONNT_PURGE, rucio_check=True, profile="xenonnt"
)
#: ``[policy] profile`` (and a ``mongo`` backend's ``profile``).
PROFILES: Mapping[str, SafetyPolicy] = {"xenon1t": DEFAULT_POLICY, "xenonnt": XENONNT_POLICY}

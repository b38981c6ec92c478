"""The data-safety policy and the purge rule, decided from a run's copies.

This module is the one place that says what a valid copy is; the runs pane,
the drill-down, the alarms, ``report``, ``check`` and ``audit`` all ask it.

**A valid copy.** A copy counts toward the policy or the purge rule only when
every one of these holds; anything else is "not a valid copy", and the reason
is kept (:func:`copy_problems`):

* its ``type`` is ``raw``, and its ``host`` is the expected one:
  ``rucio-catalogue`` for a Rucio copy, ``tsm-server`` for tape;
* its ``status`` is exactly ``transferred``;
* no checksum problem is recorded on it (on any host, Rucio included; the
  reader counts any ``checksumproblem`` value but an absent one or ``false``
  as a problem);
* a tape copy carries a checksum (without one it has not been shown to pass
  the restore test);
* a Rucio copy names an RSE of the catalogue (:class:`RseCatalogue`; the
  paper's sites by default, ``[rses]`` in the config);
* the reader found nothing malformed in the entry (``DataCopy.problems``).

**The policy.** Science runs need a valid copy at UC_OSG_USERDISK, one at a
European RSE and a valid tape copy; other runs a European RSE and tape.
**The purge rule.** The raw data may leave the LNGS buffer only with a valid
tape copy and a valid Rucio copy at a catalogue RSE outside LNGS.

**Several documents with one number** (``Run.twins``): each document is
judged on its own and the run gets the *worst* verdict, never the best.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cached_property

from backends.analysis.jobs import dag_stalled
from backends.model import (
    CHICAGO_RSE,
    EUROPEAN_RSES,
    HOST_BUFFER,
    HOST_RUCIO,
    HOST_TAPE,
    LNGS_RSE,
    NON_RUCIO_HOSTS,
    CopyStatus,
    CopyType,
    Dag,
    DagStatus,
    DataCopy,
    Run,
)

SLOT_CHICAGO = CHICAGO_RSE
SLOT_EUROPE = "European RSE"
SLOT_TAPE = "tape"

_RAW = CopyType.RAW.value
_TRANSFERRED = CopyStatus.TRANSFERRED.value
#: Types that are not raw data: such copies are no candidates for any slot.
_OTHER_TYPES = frozenset({CopyType.PROCESSED.value, CopyType.MINITREES.value})


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


@dataclass(frozen=True)
class SafetyPolicy:
    """What the verdicts are decided against (the config's ``[rses]``)."""

    rses: RseCatalogue = field(default=DEFAULT_RSES)


DEFAULT_POLICY = SafetyPolicy()


# ---------------------------------------------------------------- one copy

_TAPE = "tape"
_RUCIO = "rucio"


def _role(copy: DataCopy) -> str | None:
    """Which slots a copy is a candidate for: tape, Rucio, or none (not raw
    data at a copy host: the buffer, processed data, ...)."""
    if copy.type in _OTHER_TYPES:
        return None
    if copy.host == HOST_TAPE:
        return _TAPE
    if copy.host == HOST_RUCIO or (copy.rse is not None and copy.host not in NON_RUCIO_HOSTS):
        return _RUCIO
    return None


def is_candidate(copy: DataCopy) -> bool:
    """Whether the copy is meant as raw data on tape or in Rucio (valid or not);
    the others (the buffer, processed data, RCC) are no copy for any slot."""
    return _role(copy) is not None


def _valid(copy: DataCopy, role: str, rses: RseCatalogue) -> bool:
    """The rules of the module doc, without building any words (the hot path)."""
    if copy.type != _RAW or copy.status != _TRANSFERRED or copy.checksum_problem or copy.problems:
        return False
    if role == _TAPE:
        return has_checksum(copy)
    return copy.host == HOST_RUCIO and rses.region(copy.rse) is not None


#: Text that stands where no checksum was recorded.
_NO_CHECKSUM = frozenset({"", "-", "none", "null", "n/a", "na", "nan", "?", "0"})


def has_checksum(copy: DataCopy) -> bool:
    """Whether the copy records a checksum: not empty, not a placeholder
    ("null", "-", "none"), and holding a letter or digit."""
    value = copy.checksum
    if not value:
        return False
    text = value.strip().lower()
    return text not in _NO_CHECKSUM and any(ch.isalnum() for ch in text)


def _shown(value: str, limit: int = 40) -> str:
    """A value from a document, quoted and cut short for a reason."""
    text = value if len(value) <= limit else value[: limit - 1] + "…"
    return repr(text)


def _subject(copy: DataCopy, role: str) -> str:
    if role == _TAPE:
        return "tape copy"
    if copy.rse:
        return f"Rucio copy at {copy.rse}"
    return "Rucio copy"


def copy_problems(copy: DataCopy, policy: SafetyPolicy = DEFAULT_POLICY) -> tuple[str, ...]:
    """Why a copy is not a valid copy, one clause each; empty when it is valid.

    A copy that is no candidate for any slot (a buffer copy, processed data)
    gives ``("not a raw-data copy on tape or in Rucio",)``.
    """
    role = _role(copy)
    if role is None:
        return ("not a raw-data copy on tape or in Rucio",)
    if _valid(copy, role, policy.rses):
        return ()
    who = _subject(copy, role)
    out: list[str] = []
    if copy.type != _RAW:
        out.append(
            f"{who} has no type"
            if not copy.type
            else f"{who} is of type {_shown(copy.type)}, not raw"
        )
    if role == _RUCIO and copy.host != HOST_RUCIO:
        out.append(
            f"{who} has no host"
            if not copy.host
            else f"{who} has host {_shown(copy.host)}, not {HOST_RUCIO}"
        )
    if copy.status != _TRANSFERRED:
        out.append(
            f"{who} has no status"
            if not copy.status
            else f"{who} is {_shown(copy.status)}, not transferred"
        )
    if copy.checksum_problem:
        out.append(f"{who} has a checksum problem")
    if role == _TAPE and not has_checksum(copy):
        out.append(
            f"{who} has no checksum"
            if not copy.checksum
            else f"{who} has no checksum ({_shown(copy.checksum)})"
        )
    if role == _RUCIO:
        if not copy.rse:
            out.append(f"{who} names no RSE")
        elif policy.rses.region(copy.rse) is None:
            out.append(f"RSE {_shown(copy.rse)} is not a known RSE")
    out.extend(f"{who} is malformed: {problem}" for problem in copy.problems)
    return tuple(out)


def valid_rucio_copy(copy: DataCopy, policy: SafetyPolicy = DEFAULT_POLICY) -> bool:
    """A raw copy in Rucio that passes every rule of the module doc."""
    return _role(copy) == _RUCIO and _valid(copy, _RUCIO, policy.rses)


def valid_tape_copy(copy: DataCopy, policy: SafetyPolicy = DEFAULT_POLICY) -> bool:
    """A raw copy on tape that passes every rule (restore-tested: it has a checksum)."""
    return _role(copy) == _TAPE and _valid(copy, _TAPE, policy.rses)


# ------------------------------------------------------ one document's copies


def documents(run: Run) -> tuple[Run, ...]:
    """The run's documents: itself and any others with the same number."""
    return (run, *run.twins) if run.twins else (run,)


def rucio_rses(run: Run, policy: SafetyPolicy = DEFAULT_POLICY) -> tuple[str, ...]:
    """RSEs holding a valid raw copy of this document, in the document's order."""
    seen: list[str] = []
    for copy in run.copies:
        if valid_rucio_copy(copy, policy) and copy.rse not in seen:
            seen.append(copy.rse)  # type: ignore[arg-type]
    return tuple(seen)


def tape_checksum_problem(run: Run) -> bool:
    """Whether a document of the run records a tape copy that failed its checksum."""
    return any(
        c.host == HOST_TAPE and c.checksum_problem and c.type not in _OTHER_TYPES
        for doc in documents(run)
        for c in doc.copies
    )


def _is_buffer_copy(copy: DataCopy) -> bool:
    return copy.type == _RAW and copy.host == HOST_BUFFER


def on_buffer(run: Run) -> bool:
    """Whether a document of the run records its raw data on the LNGS buffer."""
    return any(_is_buffer_copy(c) for doc in documents(run) for c in doc.copies)


def copies_overdue(run: Run, before: datetime | None) -> bool:
    """Whether all the run's copies should exist by now: it ended (or, with no
    end recorded, started) before ``before`` (now - unsafe_after_hours).

    Younger runs are not yet safe because their copies are on their way.
    ``before=None`` means no grace: every run counts as due. Of several
    documents the earliest time counts.
    """
    if before is None:
        return True
    return any((doc.end or doc.start) <= before for doc in documents(run))


def run_problems(run: Run, policy: SafetyPolicy = DEFAULT_POLICY) -> tuple[str, ...]:
    """What is malformed about the run, in words: the reader's notes on each
    document and every RSE name the catalogue does not know.

    Empty for a clean run; the runs pane marks the others in red and counts
    them, ``report`` and ``audit`` list these.
    """
    if not run.malformed and not run.twins:  # the common case, once per run and poll
        regions = policy.rses.regions
        if all(c.rse is None or c.rse in regions for c in run.copies):
            return ()
    docs = documents(run)
    notes: list[str] = []
    for index, doc in enumerate(docs, start=1):
        where = f"document {index}: " if index > 1 else ""
        notes.extend(where + note for note in doc.malformed)
        for copy in doc.copies:
            if copy.rse is not None and policy.rses.region(copy.rse) is None:
                notes.append(f"{where}RSE {_shown(copy.rse)} is not a known RSE")
    return tuple(dict.fromkeys(notes))


def count_malformed(runs: Iterable[Run], policy: SafetyPolicy = DEFAULT_POLICY) -> int:
    """How many runs :func:`run_problems` finds something malformed in."""
    return sum(1 for run in runs if run_problems(run, policy))


# ------------------------------------------------------------------ verdicts


@dataclass(frozen=True, slots=True)
class SafetyVerdict:
    safe: bool
    #: Requirement slots: "UC_OSG_USERDISK", "European RSE", "tape".
    required: tuple[str, ...]
    present: tuple[str, ...]
    missing: tuple[str, ...]
    reason: str
    #: Missing slots with a copy that failed its checksum: a failure, not a
    #: copy on its way, whatever the run's age.
    failed: tuple[str, ...] = ()


def is_science(run: Run) -> bool:
    """Science data when any document of the run says so (the stricter policy)."""
    return any(doc.science for doc in documents(run))


def _required(science: bool) -> tuple[str, ...]:
    return (SLOT_CHICAGO, SLOT_EUROPE, SLOT_TAPE) if science else (SLOT_EUROPE, SLOT_TAPE)


def rse_slot(rse: object, rses: RseCatalogue) -> str | None:
    """The slot of the policy a valid Rucio copy at this RSE fills: Chicago's,
    the European one, or none (LNGS, an RSE the catalogue does not know).

    One copy fills one slot: the Chicago copy is never the European one too.
    The verdicts and the ETAs' data-at-risk clock both ask this.
    """
    if rse == CHICAGO_RSE:
        return SLOT_CHICAGO if rses.region(rse) is not None else None
    return SLOT_EUROPE if rses.region(rse) is Region.EUROPE else None


def _fills(slot: str, copy: DataCopy, role: str, rses: RseCatalogue) -> bool:
    """Whether a copy of this role would fill the slot if it were valid."""
    if slot == SLOT_TAPE:
        return role == _TAPE
    if role != _RUCIO:
        return False
    return rse_slot(copy.rse, rses) == slot


def _candidates(slot: str, doc: Run, policy: SafetyPolicy) -> list[tuple[DataCopy, str]]:
    """Copies that were meant for the slot: those at its RSEs (or on tape),
    and Rucio copies at no known RSE, which might have been meant for any."""
    rses = policy.rses
    out = []
    for copy in doc.copies:
        role = _role(copy)
        if role is None:
            continue
        if _fills(slot, copy, role, rses) or (role == _RUCIO and rses.region(copy.rse) is None):
            out.append((copy, role))
    return out


def _why_missing(slot: str, doc: Run, policy: SafetyPolicy) -> str:
    reasons = [p for copy, _ in _candidates(slot, doc, policy) for p in copy_problems(copy, policy)]
    return "; ".join(dict.fromkeys(reasons)) or "none recorded"


def _document_safety(doc: Run, policy: SafetyPolicy, science: bool) -> SafetyVerdict:
    required = _required(science)
    rses = policy.rses
    filled: set[str] = set()
    failed: set[str] = set()
    for copy in doc.copies:
        role = _role(copy)
        if role is None:
            continue
        valid = _valid(copy, role, rses)
        for slot in required:
            if _fills(slot, copy, role, rses):
                if valid:
                    filled.add(slot)
                elif copy.checksum_problem:
                    failed.add(slot)
    present = tuple(s for s in required if s in filled)
    missing = tuple(s for s in required if s not in filled)
    kind = "science run" if science else "non-science run"
    if not missing:
        reason = f"{kind}: {len(required)} valid copies ({', '.join(required)})"
    else:
        parts = [f"{slot} ({_why_missing(slot, doc, policy)})" for slot in missing]
        reason = f"{kind}: missing {', '.join(parts)}"
    return SafetyVerdict(
        safe=not missing,
        required=required,
        present=present,
        missing=missing,
        reason=reason,
        failed=tuple(s for s in missing if s in failed),
    )


def _worst(verdicts: list[SafetyVerdict]) -> int:
    """The index of the worst verdict: unsafe before safe, failed before missing."""
    return min(
        range(len(verdicts)),
        key=lambda i: (verdicts[i].safe, -len(verdicts[i].failed), -len(verdicts[i].missing), i),
    )


def _of_document(index: int, run: Run) -> str:
    return f"document {index + 1} of {len(run.twins) + 1} with number {run.number}: "


def data_safety(run: Run, policy: SafetyPolicy = DEFAULT_POLICY) -> SafetyVerdict:
    """Whether the run meets the policy, the missing slots and why, in words.

    Of several documents with one number, each is judged on its own (by the
    science policy when any of them is science data): a slot counts only
    when every document has it, and the reasons of every document that
    falls short are given.
    """
    if not run.twins:
        return _document_safety(run, policy, run.science)
    science = is_science(run)
    verdicts = [_document_safety(doc, policy, science) for doc in documents(run)]
    required = verdicts[0].required
    missing = tuple(s for s in required if any(s in v.missing for v in verdicts))
    failed = tuple(s for s in required if any(s in v.failed for v in verdicts))
    if not missing:
        reason = f"all {len(verdicts)} documents with number {run.number}: {verdicts[0].reason}"
    else:
        reason = "; ".join(
            _of_document(i, run) + v.reason for i, v in enumerate(verdicts) if not v.safe
        )
    present = tuple(s for s in required if s not in missing)
    return SafetyVerdict(not missing, required, present, missing, reason, failed)


def deciding_document(run: Run, policy: SafetyPolicy = DEFAULT_POLICY) -> Run:
    """The document that shows the worst verdict (the copies label follows it)."""
    if not run.twins:
        return run
    docs = documents(run)
    science = is_science(run)
    return docs[_worst([_document_safety(doc, policy, science) for doc in docs])]


@dataclass(frozen=True, slots=True)
class PurgeVerdict:
    allowed: bool
    on_buffer: bool
    reason: str


def _purge_problems(doc: Run, policy: SafetyPolicy) -> tuple[list[str], list[str]]:
    """(what stops a purge on this document, the RSEs outside LNGS with a valid copy)."""
    rses = policy.rses
    problems: list[str] = []
    if not any(valid_tape_copy(c, policy) for c in doc.copies):
        tape = [p for c in doc.copies if _role(c) == _TAPE for p in copy_problems(c, policy)]
        problems.append(
            "no valid tape copy (" + ("; ".join(dict.fromkeys(tape)) or "none recorded") + ")"
        )
    outside = [r for r in rucio_rses(doc, policy) if rses.region(r) is not Region.LNGS]
    if not outside:
        why = [
            p
            for c in doc.copies
            if _role(c) == _RUCIO and rses.region(c.rse) is not Region.LNGS
            for p in copy_problems(c, policy)
        ]
        problems.append(
            "no valid Rucio copy outside LNGS"
            + (f" ({'; '.join(dict.fromkeys(why))})" if why else "")
        )
    return problems, outside


def purge_verdict(run: Run, policy: SafetyPolicy = DEFAULT_POLICY) -> PurgeVerdict:
    """May the raw data of this run be deleted from the LNGS buffer?

    Only when every document of the run has a valid tape copy and a valid
    Rucio copy at a catalogue RSE outside LNGS.
    """
    docs = documents(run)
    if not any(is_candidate(c) or _is_buffer_copy(c) for doc in docs for c in doc.copies):
        return PurgeVerdict(False, False, "no copy recorded")
    buffered = on_buffer(run)
    judged = [_purge_problems(doc, policy) for doc in docs]
    for index, (problems, _) in enumerate(judged):
        if problems:
            where = _of_document(index, run) if run.twins else ""
            if not buffered:
                problems = ["not on the buffer (already purged)", *problems]
            return PurgeVerdict(False, buffered, where + " and ".join(problems))
    if not buffered:
        return PurgeVerdict(False, False, "already purged")
    outside = list(dict.fromkeys(r for _, rses in judged for r in rses))
    return PurgeVerdict(True, True, f"valid tape copy and Rucio copy at {', '.join(outside)}")


# ---------------------------------------------------------------- processing


class ProcessingState(StrEnum):
    WAITING = "waiting"
    SKIPPED = "skipped"
    QUEUED = "queued"
    PROCESSING = "processing"
    STALLED = "stalled"
    FAILED = "failed"
    PROCESSED = "processed"
    MINITREES = "minitrees"


DO_NOT_PROCESS_TAG = "donotprocess"
MUON_VETO = "muon_veto"
_DAG_FAILED = (
    DagStatus.ERROR,
    DagStatus.NODE_FAILED,
    DagStatus.ABORTED,
    DagStatus.REMOVED,
    DagStatus.CYCLE,
)


def _has(run: Run, copy_type: CopyType, status: CopyStatus) -> bool:
    return any(c.type == copy_type and c.status == status for c in run.copies)


def processing_state(run: Run, dag: Dag | None = None) -> ProcessingState:
    """Where a run is in processing, from its copies and (if given) its newest DAG.

    Copies recorded in the runs DB win over the queue: a run with a processed
    copy is processed whatever an old DAG says.
    """
    if DO_NOT_PROCESS_TAG in run.tags or run.detector == MUON_VETO:
        return ProcessingState.SKIPPED
    if _has(run, CopyType.MINITREES, CopyStatus.TRANSFERRED):
        return ProcessingState.MINITREES
    if _has(run, CopyType.PROCESSED, CopyStatus.TRANSFERRED):
        return ProcessingState.PROCESSED
    if dag is not None:
        if dag.finished:
            if dag.status is DagStatus.OK and dag.nodes_failed == 0:
                return ProcessingState.PROCESSED
            return ProcessingState.FAILED
        if dag.status in _DAG_FAILED:
            return ProcessingState.FAILED
        if dag_stalled(dag) or dag.status is DagStatus.HALTED:
            return ProcessingState.STALLED
        if dag.nodes_done > 0 or dag.nodes_queued > 0 or dag.nodes_failed > 0:
            return ProcessingState.PROCESSING
        return ProcessingState.QUEUED
    if _has(run, CopyType.PROCESSED, CopyStatus.ERROR):
        return ProcessingState.FAILED
    if any(
        c.type == CopyType.PROCESSED and c.status in (CopyStatus.TRANSFERRING, CopyStatus.VERIFYING)
        for c in run.copies
    ):
        return ProcessingState.PROCESSING
    return ProcessingState.WAITING


# --------------------------------------------------------------------- views


def copies_label(run: Run, policy: SafetyPolicy = DEFAULT_POLICY) -> str:
    """Compact copy list for the runs table: 'buf tape UC EU2' (at most 16 chars).

    Only valid copies are shown, of the document that decided the verdict;
    'tape!' flags a tape copy that failed its checksum, 'tape?' one that says
    transferred but is not valid (no checksum, malformed), 'EU2' means two
    European RSEs, 'LN' a run in Rucio only at LNGS.
    """
    doc = deciding_document(run, policy)
    rses = policy.rses
    parts: list[str] = []
    if on_buffer(doc):
        parts.append("buf")
    tapes = [c for c in doc.copies if _role(c) == _TAPE]
    if any(_valid(c, _TAPE, rses) for c in tapes):
        parts.append("tape")
    elif any(c.checksum_problem for c in tapes):
        parts.append("tape!")
    elif any(c.status == _TRANSFERRED for c in tapes):
        parts.append("tape?")
    valid = rucio_rses(doc, policy)
    if CHICAGO_RSE in valid:
        parts.append("UC")
    n_eu = sum(1 for r in valid if rses.region(r) is Region.EUROPE)
    if n_eu:
        parts.append("EU" if n_eu == 1 else f"EU{n_eu}")
    if valid and all(rses.region(r) is Region.LNGS for r in valid):
        parts.append("LN")
    return " ".join(parts) or "-"


def verdict_word(verdict: SafetyVerdict, overdue: bool) -> str:
    """One word for a verdict, the same in the runs pane, report and audit:
    ``safe``; ``fail`` (a copy failed its checksum); ``miss`` (overdue and
    missing copies); ``wait`` (a young run whose copies are on their way)."""
    if verdict.safe:
        return "safe"
    if verdict.failed:
        return "fail"
    return "miss" if overdue else "wait"

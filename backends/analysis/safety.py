"""The data-safety policy and the purge rule, decided from a run's copies.

This module is the one place that says what a valid copy is; the runs pane,
the drill-down, the alarms, ``report``, ``check`` and ``audit`` all ask it.

**A valid copy.** A copy counts toward the policy or the purge rule only when
every one of these holds; anything else is "not a valid copy", and the reason
is kept (:func:`copy_problems`):

* its ``type`` is the rule's data type (``raw``), and its ``host`` is the expected one:
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

**The policy** (``analysis.policy``, configurable; XENON1T's by default).
Science runs need a valid copy at UC_OSG_USERDISK, one at a European RSE and
a valid tape copy; other runs a European RSE and tape. **The purge rule.**
The raw data may leave the LNGS buffer only with a valid tape copy and a
valid Rucio copy at a catalogue RSE outside LNGS. Verdicts name the rules
that decided them.

**Several documents with one number** (``Run.twins``): each document is
judged on its own and the run gets the *worst* verdict, never the best.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from backends.analysis.jobs import dag_stalled
from backends.analysis.policy import (
    ANY_TYPE,
    DEFAULT_POLICY,
    DEFAULT_RSES,
    RAW,
    RSE_NAME,
    PurgeRule,
    Region,
    Requirement,
    RseCatalogue,
    SafetyPolicy,
    Slot,
    SlotKind,
)
from backends.analysis.rucio_evidence import UNVERIFIED
from backends.model import (
    CHICAGO_RSE,
    HOST_RUCIO,
    HOST_TAPE,
    NON_RUCIO_HOSTS,
    CopyStatus,
    CopyType,
    Dag,
    DagStatus,
    DataCopy,
    Run,
)

__all__ = [
    "DEFAULT_POLICY",
    "DEFAULT_RSES",
    "RSE_NAME",
    "PurgeRule",
    "Region",
    "Requirement",
    "RseCatalogue",
    "SafetyPolicy",
    "Slot",
    "SlotKind",
]

#: The default policy's slots, by label (the drill-down's hints and the
#: alarms name them).
SLOT_CHICAGO = CHICAGO_RSE
SLOT_EUROPE = "European RSE"
SLOT_TAPE = "tape"

_TRANSFERRED = CopyStatus.TRANSFERRED.value
#: Types that are not raw data in the default policy (``policy.OTHER_TYPES``).
_OTHER_TYPES = frozenset({CopyType.PROCESSED.value, CopyType.MINITREES.value})


# ---------------------------------------------------------------- one copy

_TAPE = "tape"
_RUCIO = "rucio"


def _role(copy: DataCopy, policy: SafetyPolicy, data_type: str) -> str | None:
    """Which slots a copy is a candidate for: tape, Rucio, or none (not data
    of this type at a copy host: the buffer, processed data, ...)."""
    excluded = policy.excluded.get(data_type)
    if copy.type in (policy.not_candidates(data_type) if excluded is None else excluded):
        return None
    if copy.host == HOST_TAPE:
        return _TAPE
    if copy.host == HOST_RUCIO or (
        copy.rse is not None
        and copy.host not in NON_RUCIO_HOSTS
        and copy.host not in policy.purge_hosts
    ):
        return _RUCIO
    return None


def _data_type(copy: DataCopy, policy: SafetyPolicy) -> str:
    """The data type a copy is judged as: its own when a rule is about it,
    else the policy's first (so an odd ``type`` is a bad copy of that)."""
    return copy.type if copy.type in policy.data_types else policy.data_types[0]


def is_candidate(copy: DataCopy, policy: SafetyPolicy = DEFAULT_POLICY) -> bool:
    """Whether the copy is meant as data on tape or in Rucio (valid or not);
    the others (the buffer, processed data, RCC) are no copy for any slot."""
    return _role(copy, policy, _data_type(copy, policy)) is not None


def _valid(copy: DataCopy, role: str, policy: SafetyPolicy, data_type: str = RAW) -> bool:
    """The rules of the module doc, without building any words (the hot path)."""
    if (
        copy.type != data_type
        or copy.status != _TRANSFERRED
        or copy.checksum_problem
        or copy.problems
    ):
        return False
    if role == _TAPE:
        return has_checksum(copy)
    if copy.host != HOST_RUCIO or policy.rses.region(copy.rse) is None:
        return False
    return not policy.rucio_check or _rucio_confirms(copy)


def _rucio_confirms(copy: DataCopy) -> bool:
    """Rucio has an OK rule for the copy's DID at its RSE, holding as many
    files as the copy's ``file_count`` (admix's ``clean_eb``)."""
    return (
        copy.rucio_state == "OK"
        and copy.file_count is not None
        and copy.file_count > 0
        and copy.rucio_files == copy.file_count
    )


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


def copy_problems(
    copy: DataCopy, policy: SafetyPolicy = DEFAULT_POLICY, data_type: str | None = None
) -> tuple[str, ...]:
    """Why a copy is not a valid copy (of ``data_type``, by default its own
    or the policy's first), one clause each; empty when it is valid.

    A copy that is no candidate for any slot (a buffer copy, processed data)
    gives ``("not a raw-data copy on tape or in Rucio",)``.
    """
    dt = _data_type(copy, policy) if data_type is None else data_type
    role = _role(copy, policy, dt)
    if role is None:
        what = "raw-data" if dt == RAW else f"{dt}"
        return (f"not a {what} copy on tape or in Rucio",)
    if _valid(copy, role, policy, dt):
        return ()
    who = _subject(copy, role)
    out: list[str] = []
    if copy.type != dt:
        out.append(
            f"{who} has no type"
            if not copy.type
            else f"{who} is of type {_shown(copy.type)}, not {dt}"
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
        if policy.rucio_check:
            out.extend(_rucio_problems(copy, who))
    out.extend(f"{who} is malformed: {problem}" for problem in copy.problems)
    return tuple(out)


def _rucio_problems(copy: DataCopy, who: str) -> list[str]:
    """Why Rucio does not confirm the copy, in words (see ``_rucio_confirms``)."""
    out = []
    state = copy.rucio_state
    if state is None:
        out.append(f"{who} is unverified in Rucio (no rucio backend to ask)")
    elif state.startswith(UNVERIFIED):
        out.append(f"{who} is unverified in Rucio ({state[len(UNVERIFIED) :]})")
    elif state == "no rule":
        out.append(f"{who} has no rule in Rucio for its DID")
    elif state != "OK":
        out.append(f"{who} has its rule {_shown(state)} in Rucio, not OK")
    if copy.file_count is None or copy.file_count <= 0:
        out.append(f"{who} has no file_count")
    elif copy.rucio_files is not None and copy.rucio_files != copy.file_count:
        out.append(f"{who} has {copy.rucio_files} of {copy.file_count} files in Rucio")
    return out


def valid_rucio_copy(copy: DataCopy, policy: SafetyPolicy = DEFAULT_POLICY) -> bool:
    """A copy in Rucio that passes every rule of the module doc."""
    dt = _data_type(copy, policy)
    return _role(copy, policy, dt) == _RUCIO and _valid(copy, _RUCIO, policy, dt)


def valid_tape_copy(copy: DataCopy, policy: SafetyPolicy = DEFAULT_POLICY) -> bool:
    """A copy on tape that passes every rule (restore-tested: it has a checksum)."""
    dt = _data_type(copy, policy)
    return _role(copy, policy, dt) == _TAPE and _valid(copy, _TAPE, policy, dt)


# ------------------------------------------------------ one document's copies


def documents(run: Run) -> tuple[Run, ...]:
    """The run's documents: itself and any others with the same number."""
    return (run, *run.twins) if run.twins else (run,)


def rucio_rses(
    run: Run, policy: SafetyPolicy = DEFAULT_POLICY, data_type: str | None = None
) -> tuple[str, ...]:
    """RSEs holding a valid copy (of ``data_type``, the policy's first by
    default) of this document, in the document's order."""
    dt = policy.data_types[0] if data_type is None else data_type
    seen: list[str] = []
    for copy in run.copies:
        if (
            _role(copy, policy, dt) == _RUCIO
            and _valid(copy, _RUCIO, policy, dt)
            and copy.rse not in seen
        ):
            seen.append(copy.rse)  # type: ignore[arg-type]
    return tuple(seen)


def tape_checksum_problem(run: Run) -> bool:
    """Whether a document of the run records a tape copy that failed its checksum."""
    return any(
        c.host == HOST_TAPE and c.checksum_problem and c.type not in _OTHER_TYPES
        for doc in documents(run)
        for c in doc.copies
    )


def _is_buffer_copy(copy: DataCopy, policy: SafetyPolicy) -> bool:
    """A copy on a buffer host the policy has a purge rule for, of its data type."""
    return policy.on_buffer_host(copy)


#: XENONnT: an event builder's dataset admix's upload manager is to take up.
EB_READY_TO_UPLOAD = "eb_ready_to_upload"


def upload_waiting(run: Run, policy: SafetyPolicy = DEFAULT_POLICY) -> int:
    """The run's datasets on a buffer host (an event builder) waiting for
    the upload (status exactly ``eb_ready_to_upload``); every document's."""
    return sum(
        1
        for doc in documents(run)
        for c in doc.copies
        if c.status == EB_READY_TO_UPLOAD and policy.on_buffer_host(c)
    )


def on_buffer(run: Run, policy: SafetyPolicy = DEFAULT_POLICY) -> bool:
    """Whether a document of the run records its data on a buffer host (the
    LNGS buffer, ``xe1t-datamanager``, by default)."""
    return any(_is_buffer_copy(c, policy) for doc in documents(run) for c in doc.copies)


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
    #: Requirement slots by label: "UC_OSG_USERDISK", "European RSE", "tape".
    required: tuple[str, ...]
    present: tuple[str, ...]
    missing: tuple[str, ...]
    reason: str
    #: Missing slots with a copy that failed its checksum: a failure, not a
    #: copy on its way, whatever the run's age.
    failed: tuple[str, ...] = ()
    #: The names of the rules that decided (``[[policy.require]] name``).
    rules: tuple[str, ...] = ()


def is_science(run: Run) -> bool:
    """Science data when any document of the run says so (the stricter policy)."""
    return any(doc.science for doc in documents(run))


def rse_slot(rse: object, rses: RseCatalogue) -> str | None:
    """XENON1T's slot a valid Rucio copy at this RSE fills: Chicago's, the
    European one, or none (LNGS, an RSE the catalogue does not know). One
    copy fills one slot: the Chicago copy is never the European one too.

    The ETAs' data-at-risk clock asks this (it knows the European and the
    Chicago copies, not a configured policy's slots).
    """
    if rse == CHICAGO_RSE:
        return SLOT_CHICAGO if rses.region(rse) is not None else None
    return SLOT_EUROPE if rses.region(rse) is Region.EUROPE else None


def _rse_fills(slot: Slot, rse: object, rses: RseCatalogue, named: frozenset[str]) -> bool:
    """Whether a valid Rucio copy at ``rse`` fills the slot."""
    region = rses.region(rse)
    if region is None:
        return False
    if slot.kind is SlotKind.RSE:
        return rse == slot.rse
    if slot.kind is SlotKind.REGION:
        # One copy fills one slot: the Chicago copy is never the European one too.
        return region is slot.region and rse not in named
    if slot.kind is SlotKind.OUTSIDE:
        return region is not slot.region
    return False


def _fills(
    slot: Slot, copy: DataCopy, role: str, rses: RseCatalogue, named: frozenset[str]
) -> bool:
    """Whether a copy of this role would fill the slot if it were valid."""
    if slot.kind is SlotKind.TAPE:
        return role == _TAPE
    return role == _RUCIO and _rse_fills(slot, copy.rse, rses, named)


def _candidates(
    slot: Slot, doc: Run, policy: SafetyPolicy, data_type: str, named: frozenset[str]
) -> list[DataCopy]:
    """Copies that were meant for the slot: those at its RSEs (or on tape),
    and Rucio copies at no known RSE, which might have been meant for any
    (the tape slot included: XENON1T's reasons have always listed them)."""
    rses = policy.rses
    out = []
    for copy in doc.copies:
        role = _role(copy, policy, data_type)
        if role is None:
            continue
        if _fills(slot, copy, role, rses, named) or (
            role == _RUCIO and rses.region(copy.rse) is None
        ):
            out.append(copy)
    return out


def _why(copies: Iterable[DataCopy], policy: SafetyPolicy, data_type: str) -> str:
    return "; ".join(dict.fromkeys(p for c in copies for p in copy_problems(c, policy, data_type)))


def _label(rule: Requirement | PurgeRule, slot: Slot, policy: SafetyPolicy) -> str:
    """A slot's label, with its data type when the policy has several."""
    return policy.slot_label(rule.data_type, slot)


def _labels(rule: Requirement, policy: SafetyPolicy) -> tuple[str, ...]:
    """The labels of a rule's slots (remembered by the policy: the hot path)."""
    labels = policy.labels.get(id(rule))
    return labels if labels is not None else tuple(_label(rule, s, policy) for s in rule.copies)


@dataclass(frozen=True, slots=True)
class _RuleVerdict:
    required: tuple[str, ...]
    missing: tuple[str, ...]
    failed: tuple[str, ...]
    reason: str


def _rule_safety(doc: Run, rule: Requirement, policy: SafetyPolicy) -> _RuleVerdict:
    rses = policy.rses
    dt = rule.data_type
    named = rule.named_rses
    slots = rule.copies
    filled = [False] * len(slots)  # by slot index (a Slot hashes slowly)
    failed = [False] * len(slots)
    for copy in doc.copies:
        role = _role(copy, policy, dt)
        if role is None:
            continue
        valid = _valid(copy, role, policy, dt)
        if not valid and not copy.checksum_problem:
            continue  # fills no slot and fails none
        for i, slot in enumerate(slots):
            if _fills(slot, copy, role, rses, named):
                if valid:
                    filled[i] = True
                else:
                    failed[i] = True
    labels = _labels(rule, policy)
    if all(filled):
        copies = "1 valid copy" if len(labels) == 1 else f"{len(labels)} valid copies"
        return _RuleVerdict(labels, (), (), f"{rule.name}: {copies} ({', '.join(labels)})")
    missing = [i for i in range(len(slots)) if not filled[i]]
    parts = [
        f"{labels[i]} "
        f"({_why(_candidates(slots[i], doc, policy, dt, named), policy, dt) or 'none recorded'})"
        for i in missing
    ]
    return _RuleVerdict(
        labels,
        tuple(labels[i] for i in missing),
        tuple(labels[i] for i in missing if failed[i]),
        f"{rule.name}: missing {', '.join(parts)}",
    )


#: The reason of a run no requirement applies to.
NO_RULE = "no rule of the policy applies to this run"


def _document_safety(
    doc: Run, policy: SafetyPolicy, rules: tuple[Requirement, ...]
) -> SafetyVerdict:
    names = tuple(r.name for r in rules)
    if not rules:
        return SafetyVerdict(False, (), (), (), NO_RULE, (), names)
    if len(rules) == 1:
        one = _rule_safety(doc, rules[0], policy)
        required, missing, failed, reason = one.required, one.missing, one.failed, one.reason
    else:
        each = [_rule_safety(doc, rule, policy) for rule in rules]
        required = tuple(dict.fromkeys(label for v in each for label in v.required))
        missing = tuple(dict.fromkeys(label for v in each for label in v.missing))
        failed = tuple(dict.fromkeys(label for v in each for label in v.failed))
        reason = "; ".join(v.reason for v in each)
    present = tuple(s for s in required if s not in missing)
    return SafetyVerdict(not missing, required, present, missing, reason, failed, names)


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
    rules that apply to any of them: the science policy when one is science
    data): a slot counts only when every document has it, and the reasons of
    every document that falls short are given.
    """
    if not run.twins:
        return _document_safety(run, policy, policy.requirements((run,)))
    rules = policy.requirements(documents(run))
    verdicts = [_document_safety(doc, policy, rules) for doc in documents(run)]
    names = verdicts[0].rules
    if not rules:
        return verdicts[0]
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
    return SafetyVerdict(not missing, required, present, missing, reason, failed, names)


def deciding_document(run: Run, policy: SafetyPolicy = DEFAULT_POLICY) -> Run:
    """The document that shows the worst verdict (the copies label follows it)."""
    if not run.twins:
        return run
    docs = documents(run)
    rules = policy.requirements(docs)
    return docs[_worst([_document_safety(doc, policy, rules) for doc in docs])]


@dataclass(frozen=True, slots=True)
class PurgeVerdict:
    allowed: bool
    on_buffer: bool
    reason: str
    #: The purge rules that decided ("purge rule of xe1t-datamanager").
    rules: tuple[str, ...] = ()


def _where(slot: Slot) -> str:
    if slot.kind is SlotKind.RSE:
        return f"at {slot.rse}"
    assert slot.region is not None
    if slot.kind is SlotKind.REGION:
        return f"in {slot.region.value}"
    return f"outside {slot.region.value}"


def _purge_problems(
    doc: Run, policy: SafetyPolicy, rule: PurgeRule, dt: str
) -> tuple[list[str], list[str]]:
    """(what stops a purge of this document's ``dt`` copy, the RSEs with a
    valid copy the rule asks for)."""
    rses = policy.rses
    named = rule.named_rses
    problems: list[str] = []
    found: list[str] = []
    valid = rucio_rses(doc, policy, dt)
    for slot in rule.copies:
        if slot.kind is SlotKind.TAPE:
            tapes = [c for c in doc.copies if _role(c, policy, dt) == _TAPE]
            if not any(_valid(c, _TAPE, policy, dt) for c in tapes):
                why = _why(tapes, policy, dt) or "none recorded"
                problems.append(f"no valid tape copy ({why})")
            continue
        here = [r for r in valid if _rse_fills(slot, r, rses, named)]
        if not here:
            why = _why(_candidates(slot, doc, policy, dt, named), policy, dt)
            problems.append(f"no valid Rucio copy {_where(slot)}" + (f" ({why})" if why else ""))
        found.extend(here)
    return problems, found


def _allowed_words(rule: PurgeRule, rses: list[str]) -> str:
    parts = []
    if any(s.kind is SlotKind.TAPE for s in rule.copies):
        parts.append("tape copy")
    if any(s.rucio for s in rule.copies):
        parts.append(f"Rucio copy at {', '.join(rses)}")
    return "valid " + " and ".join(parts)


def purge_verdict(run: Run, policy: SafetyPolicy = DEFAULT_POLICY) -> PurgeVerdict:
    """May the data of this run be deleted from the buffer?

    Only when every document of the run has the copies the purge rule of
    each buffer host it is on asks for (XENON1T: a valid tape copy and a
    valid Rucio copy at a catalogue RSE outside LNGS).
    """
    docs = documents(run)
    if not policy.purge:
        return PurgeVerdict(False, False, "no purge rule in the policy")
    copies = run.copies if not run.twins else tuple(c for d in docs for c in d.copies)
    held = [p for p in policy.purge if any(p.holds(c) for c in copies)]
    if not held and not any(is_candidate(c, policy) for c in copies):
        return PurgeVerdict(False, False, "no copy recorded")
    buffered = bool(held)
    rules = held or list(policy.purge)
    names = tuple(p.name for p in rules)
    several = len(policy.purge) > 1
    allowed: list[str] = []
    for rule in rules:
        host = f"{rule.host}: " if several else ""
        for dt in _purged_types(rule, docs, policy):
            judged = [_purge_problems(doc, policy, rule, dt) for doc in docs]
            what = host + (f"{dt}: " if rule.data_type == ANY_TYPE else "")
            for index, (problems, _) in enumerate(judged):
                if problems:
                    where = _of_document(index, run) if run.twins else ""
                    if not buffered:
                        problems = ["not on the buffer (already purged)", *problems]
                    return PurgeVerdict(
                        False, buffered, what + where + " and ".join(problems), names
                    )
            if buffered:
                found = list(dict.fromkeys(r for _, rses in judged for r in rses))
                allowed.append(what + _allowed_words(rule, found))
    if not buffered:
        return PurgeVerdict(False, False, "already purged", names)
    return PurgeVerdict(True, True, "; ".join(allowed), names)


def _purged_types(rule: PurgeRule, docs: tuple[Run, ...], policy: SafetyPolicy) -> list[str]:
    """The data types a purge rule judges for these documents: its own, or
    (``data_type = "*"``) each type the host holds of the run."""
    if rule.data_type != ANY_TYPE:
        return [rule.data_type]
    held = [c.type for d in docs for c in d.copies if rule.holds(c)]
    return list(dict.fromkeys(held)) or [policy.data_types[0]]


def missing_slots(
    run: Run, verdict: SafetyVerdict, policy: SafetyPolicy = DEFAULT_POLICY
) -> list[tuple[Requirement, Slot]]:
    """The verdict's missing slots with the rules that ask for them (for the
    drill-down's hints)."""
    return [
        (rule, slot)
        for rule in policy.requirements(documents(run))
        for slot in rule.copies
        if _label(rule, slot, policy) in verdict.missing
    ]


def counted_slots(
    copy: DataCopy, run: Run, policy: SafetyPolicy = DEFAULT_POLICY
) -> tuple[str, ...]:
    """The slots of the run's rules and of the purge rules this copy fills
    when it is valid (the drill-down's copies table): empty for a valid copy
    that counts for nothing (at LNGS, say)."""
    out: list[str] = []
    rules: list[Requirement | PurgeRule] = [*policy.requirements(documents(run)), *policy.purge]
    for rule in rules:
        dt = copy.type if rule.data_type == ANY_TYPE else rule.data_type
        role = _role(copy, policy, dt)
        if role is None or not _valid(copy, role, policy, dt):
            continue
        for slot in rule.copies:
            if _fills(slot, copy, role, policy.rses, rule.named_rses):
                out.append(
                    _label(rule, slot, policy)
                    if isinstance(rule, Requirement)
                    else f"purge: {slot.label}"
                )
    return tuple(dict.fromkeys(out))


def decided_by(
    safety: SafetyVerdict, purge: PurgeVerdict, policy: SafetyPolicy = DEFAULT_POLICY
) -> str:
    """Which rules of the policy decided the two verdicts, with the copies
    each asks for: the drill-down's "Policy" line."""
    parts = []
    by_name = {r.name: r for r in policy.require}
    for name in safety.rules:
        rule = by_name[name]
        parts.append(f"rule {name!r} ({', '.join(_label(rule, s, policy) for s in rule.copies)})")
    if not safety.rules:
        parts.append("no rule applies")
    hosts = {p.name: p for p in policy.purge}
    for name in purge.rules:
        prule = hosts[name]
        parts.append(f"{name} ({', '.join(s.label for s in prule.copies)})")
    return "; ".join(parts)


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
    dt = policy.data_types[0]
    parts: list[str] = []
    if on_buffer(doc, policy):
        parts.append("buf")
    tapes = [c for c in doc.copies if _role(c, policy, dt) == _TAPE]
    if any(_valid(c, _TAPE, policy, dt) for c in tapes):
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

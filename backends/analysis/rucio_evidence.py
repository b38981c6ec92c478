"""What Rucio says of the runs database's Rucio copies (XENONnT's purge rule).

admix's ``clean_eb`` deletes an event builder's copy only when an RSE
outside LNGS has the copy ``transferred`` in the runs database **and** an OK
rule for its DID **and** as many replicas as the copy's ``file_count``. The
runs database alone cannot say the last two: this joins the rules of a
transfers snapshot (a ``rucio`` backend) to the copies, by DID and RSE.
A copy no rule matches keeps ``rucio_state`` None: "unverified in Rucio",
which a policy with ``rucio_check`` never counts.

The replicas are counted as the rule's OK locks (one lock per file replica
the rule holds at its RSE).

Every front end gets Rucio's word from its transfers pane (any backend whose
``TransfersSnapshot`` has the rules: ``rucio``, the simulator, a collector's
feed) through ``Evidence``: the TUI's polling core keeps the last one and
derives the runs' facts with it (``RunIndex``); the one-shot reports join
the runs once (``joined_runs``). Without transfers data every Rucio copy is
"unverified in Rucio (no transfers data)" and never counts.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import replace
from itertools import compress, count
from operator import is_not

from backends.model import HOST_RUCIO, DataCopy, Rule, Run, RunsSnapshot, TransfersSnapshot


def _key(rule: Rule) -> tuple[str, str]:
    return (f"{rule.scope}:{rule.name}", rule.rse)


def _worse(a: Rule, b: Rule) -> Rule:
    """Of two rules for one (DID, RSE): the one not OK, else (both OK or
    both not) the one of the smaller id, whatever order they were listed in."""
    a_ok, b_ok = a.state.value == "OK", b.state.value == "OK"
    if a_ok != b_ok:
        return b if a_ok else a
    return a if a.id <= b.id else b


def rules_by_did(rules: Iterable[Rule]) -> Mapping[tuple[str, str], Rule]:
    """The rules by (DID, RSE); of two for one pair, the worse (not OK) wins
    (``_worse``: the listing's order does not matter)."""
    return _full(rules)[0]


def _full(
    rules: Iterable[Rule],
) -> tuple[dict[tuple[str, str], Rule], dict[tuple[str, str], list[Rule]]]:
    """``rules_by_did``, and the rules of the pairs that have several."""
    out: dict[tuple[str, str], Rule] = {}
    shared: dict[tuple[str, str], list[Rule]] = {}
    for rule in rules:
        key = _key(rule)
        known = out.get(key)
        if known is None:
            out[key] = rule
            continue
        out[key] = _worse(known, rule)
        several = shared.get(key)
        if several is None:
            shared[key] = [known, rule]
        else:
            several.append(rule)
    return out, shared


def _checked(copy: DataCopy, rules: Mapping[tuple[str, str], Rule]) -> DataCopy:
    if copy.host != HOST_RUCIO or copy.did is None or copy.rse is None:
        return copy
    rule = rules.get((copy.did, copy.rse))
    if rule is None:
        return replace(copy, rucio_state="no rule", rucio_files=None)
    return replace(copy, rucio_state=rule.state.value, rucio_files=rule.locks_ok)


def with_rucio(run: Run, rules: Mapping[tuple[str, str], Rule]) -> Run:
    """The run with what Rucio says of each Rucio copy with a DID (and of
    its twins' copies)."""
    copies = tuple(_checked(c, rules) for c in run.copies)
    twins = tuple(with_rucio(t, rules) for t in run.twins)
    return replace(run, copies=copies, twins=twins)


#: ``DataCopy.rucio_state`` of a copy nobody could ask Rucio about (no
#: transfers data): the words after it say why.
UNVERIFIED = "unverified: "
#: Why, when the transfers pane has no data (unassigned, failing, not yet polled).
NO_TRANSFERS_DATA = "no transfers data"
NO_TRANSFERS_PANE = "no transfers pane"


def _asks(copy: DataCopy) -> bool:
    return copy.host == HOST_RUCIO and copy.did is not None and copy.rse is not None


class Evidence:
    """What Rucio says, as the transfers pane last saw it: the rules by (DID,
    RSE), or none (``missing`` says why: no transfers data, no transfers
    pane). ``join`` is the one place a run gets Rucio's word; ``key`` is what
    of it a run's verdict depends on (a run whose key did not change need not
    be judged again)."""

    __slots__ = (
        "__weakref__",
        "_listed",
        "_shared",
        "_since",
        "_unverified",
        "changed",
        "missing",
        "rules",
    )

    def __init__(
        self,
        rules: Mapping[tuple[str, str], Rule] | None,
        missing: str = NO_TRANSFERS_DATA,
    ) -> None:
        self.rules = rules
        self.missing = missing if rules is None else None
        self._unverified = UNVERIFIED + missing
        #: The rules listed (``evidence_of``: what the next one compares its
        #: listing with); the rules of the pairs that have several.
        self._listed: tuple[Rule, ...] | None = None
        self._shared: dict[tuple[str, str], list[Rule]] = {}
        #: The (DID, RSE) pairs whose rule differs from the evidence this
        #: one was made from (``evidence_of``'s ``previous``); None: unknown.
        self.changed: frozenset[tuple[str, str]] | None = None
        self._since: weakref.ref[Evidence] | None = None

    def __repr__(self) -> str:
        if self.rules is None:
            return f"Evidence({self.missing})"
        return f"Evidence({len(self.rules):,} rules)"

    def changed_since(self, other: Evidence | None) -> frozenset[tuple[str, str]] | None:
        """The (DID, RSE) pairs whose rule is another than in ``other``, when
        this evidence was made from it (``evidence_of``'s ``previous``);
        None when that is not known (then any pair may have changed)."""
        if other is self:
            return frozenset()
        since = self._since
        if other is None or since is None or since() is not other:
            return None
        return self.changed

    def key(self, run: Run) -> object:
        """What Rucio says of the run's Rucio copies (and its twins')."""
        asks = (c for c in run.copies if _asks(c))
        key: tuple[object, ...]
        if self.rules is None:
            key = tuple(self._unverified for _ in asks)  # () for a run with no such copy
        else:
            get = self.rules.get
            key = tuple(get((c.did, c.rse)) for c in asks)  # type: ignore[arg-type]
        if run.twins:
            key += tuple(self.key(t) for t in run.twins)
        return key

    def join(self, run: Run) -> Run:
        """The run with what Rucio says of each Rucio copy with a DID."""
        if self.rules is not None:
            return with_rucio(run, self.rules)
        state = self._unverified
        if not any(_asks(c) for c in run.copies) and not run.twins:
            return run
        copies = tuple(
            replace(c, rucio_state=state, rucio_files=None) if _asks(c) else c for c in run.copies
        )
        return replace(run, copies=copies, twins=tuple(self.join(t) for t in run.twins))


def evidence_of(
    transfers: object, missing: str = NO_TRANSFERS_DATA, previous: Evidence | None = None
) -> Evidence:
    """The evidence of a transfers snapshot (anything else: none, because of
    ``missing``). With ``previous`` (the evidence of an earlier snapshot) only
    the rules that are not the objects it was made from are joined again
    (a source keeps a rule's object until it changes: XENONnT lists tens of
    thousands, nearly all the same from poll to poll); the result is the one
    a full join gives, and ``changed`` says which pairs differ."""
    if not isinstance(transfers, TransfersSnapshot):
        return Evidence(None, missing)
    listed = transfers.rules
    old = previous._listed if previous is not None else None
    moved: list[int] = []
    if old is not None:
        # Position by position (in C): the same objects where nothing changed.
        moved = list(compress(count(), map(is_not, listed, old)))
    if (
        old is None
        or previous is None
        or previous.rules is None
        or len(moved) + abs(len(listed) - len(old)) > len(listed) // 4
    ):
        # (a source that made every rule anew, as a full listing of Rucio
        # does: joining them all at once is cheaper)
        by_key, several = _full(listed)
        evidence = Evidence(by_key)
        evidence._listed = listed
        evidence._shared = several
        return evidence
    common = min(len(listed), len(old))
    gone = [old[i] for i in moved] + list(old[common:])
    new = [listed[i] for i in moved] + list(listed[common:])
    if not gone and not new:
        return previous
    rules = dict(previous.rules)
    shared = {k: list(v) for k, v in previous._shared.items()}
    touched: dict[tuple[str, str], list[Rule]] = {}

    def members_of(rule: Rule) -> list[Rule]:
        """The rules listed for the rule's pair (taken up once per pair)."""
        key = _key(rule)
        members = touched.get(key)
        if members is None:
            members = touched[key] = _members(key, rules, shared)
        return members

    for rule in gone:
        members = members_of(rule)
        # One listing of it gone (the same object may be listed twice).
        at = next((i for i, r in enumerate(members) if r is rule), None)
        if at is not None:
            del members[at]
    for rule in new:
        members_of(rule).append(rule)
    changed = set()
    for key, members in touched.items():
        was = rules.get(key)
        shared.pop(key, None)
        if not members:
            rules.pop(key, None)
        else:
            winner = members[0]
            for rule in members[1:]:
                winner = _worse(winner, rule)
            rules[key] = winner
            if len(members) > 1:
                shared[key] = members
        if rules.get(key) is not was:
            changed.add(key)
    evidence = Evidence(rules)
    evidence._listed = listed
    evidence._shared = shared
    evidence.changed = frozenset(changed)
    evidence._since = weakref.ref(previous)
    return evidence


#: A XENONnT DID's run number (admix's ``make_did``: ``xnt_NNNNNN:...``).
_DID_NUMBER = re.compile(r"xnt_(\d{6}):")


def did_number(did: str) -> int | None:
    """The run number a XENONnT DID names (None: not such a DID)."""
    match = _DID_NUMBER.match(did)
    return None if match is None else int(match[1])


def asks_elsewhere(run: Run) -> bool:
    """Whether a Rucio copy of the run (or of its twins) asks Rucio about a
    DID that does not name the run (another run's, or not a XENONnT DID):
    such a run's word can change with any rule (``RunIndex.with_evidence``)."""
    for doc in (run, *run.twins):
        for c in doc.copies:
            if _asks(c) and did_number(c.did) != run.number:  # type: ignore[arg-type]
                return True
    return False


def _members(
    key: tuple[str, str],
    rules: Mapping[tuple[str, str], Rule],
    shared: Mapping[tuple[str, str], list[Rule]],
) -> list[Rule]:
    """The rules of a pair before the change (a fresh list)."""
    several = shared.get(key)
    if several is not None:
        return list(several)
    one = rules.get(key)
    return [] if one is None else [one]


def joined_runs(snapshot: RunsSnapshot, evidence: Evidence) -> RunsSnapshot:
    """The runs snapshot with Rucio's word on every run (the one-shot reports:
    ``report``, ``check``, ``audit`` judge these)."""
    return replace(snapshot, runs=tuple(evidence.join(r) for r in snapshot.runs))

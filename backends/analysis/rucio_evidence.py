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

from collections.abc import Iterable, Mapping
from dataclasses import replace

from backends.model import HOST_RUCIO, DataCopy, Rule, Run, RunsSnapshot, TransfersSnapshot


def rules_by_did(rules: Iterable[Rule]) -> Mapping[tuple[str, str], Rule]:
    """The rules by (DID, RSE); of two for one pair, the worse (not OK) wins."""
    out: dict[tuple[str, str], Rule] = {}
    for rule in rules:
        key = (f"{rule.scope}:{rule.name}", rule.rse)
        known = out.get(key)
        if known is None or known.state.value == "OK":
            out[key] = rule
    return out


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

    __slots__ = ("_unverified", "missing", "rules")

    def __init__(
        self,
        rules: Mapping[tuple[str, str], Rule] | None,
        missing: str = NO_TRANSFERS_DATA,
    ) -> None:
        self.rules = rules
        self.missing = missing if rules is None else None
        self._unverified = UNVERIFIED + missing

    def __repr__(self) -> str:
        if self.rules is None:
            return f"Evidence({self.missing})"
        return f"Evidence({len(self.rules):,} rules)"

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


def evidence_of(transfers: object, missing: str = NO_TRANSFERS_DATA) -> Evidence:
    """The evidence of a transfers snapshot (anything else: none, because of ``missing``)."""
    if isinstance(transfers, TransfersSnapshot):
        return Evidence(rules_by_did(transfers.rules))
    return Evidence(None, missing)


def joined_runs(snapshot: RunsSnapshot, evidence: Evidence) -> RunsSnapshot:
    """The runs snapshot with Rucio's word on every run (the one-shot reports:
    ``report``, ``check``, ``audit`` judge these)."""
    return replace(snapshot, runs=tuple(evidence.join(r) for r in snapshot.runs))

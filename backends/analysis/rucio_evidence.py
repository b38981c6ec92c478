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
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from backends.model import HOST_RUCIO, DataCopy, Rule, Run


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

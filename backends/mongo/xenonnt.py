"""XENONnT run documents (collection ``runs``) <-> the domain model.

XENONnT's tools (admix, outsource, straxen) keep XENON1T's chain with other
names: a copy per data type (``type``: ``raw_records``, ``raw_records_he``,
``raw_records_mv``, ``records``, ``peaklets``, ...) on an event builder
(``host`` ``eb2.xenon.local``, ``location`` a path ending in
``NNNNNN-<dtype>-<hash>``) or in Rucio (``host`` ``rucio-catalogue``,
``location`` the RSE, ``did`` ``xnt_NNNNNN:<dtype>-<hash>``), each with a
``status`` and a ``file_count``. The reader trusts nothing, as the XENON1T
one: each oddity is a note on the run and, when it is in a copy, a problem
of that copy, which then never counts (a DID of another run or data type, a
file count that is no count).

``run_to_nt_document`` writes the simulator's runs in this shape, for
``sim export-mongo --profile xenonnt``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, overload

from backends.model import (
    BUILDER_STATES,
    HOST_BUFFER,
    HOST_RUCIO,
    BuilderState,
    CopyType,
    DataCopy,
    Heartbeat,
    Rule,
    RuleState,
    Run,
    xenonnt_did,
)
from backends.mongo.documents import (
    NO_TIME,
    _checksum_problem,
    _count,
    _kind,
    _Notes,
    _number,
    _tags,
    _text,
    _time,
    as_datetime,
)

#: The fields read (the projection of every query).
NT_PROJECTION: Mapping[str, int] = {
    "number": 1,
    "name": 1,
    "start": 1,
    "end": 1,
    "detectors": 1,
    "detector": 1,
    "source": 1,
    "tags": 1,
    "status": 1,
    "bootstrax": 1,
    "data": 1,
}
#: A Rucio DID as admix makes it (``admix.utils.make_did``).
DID = re.compile(r"xnt_(\d{6}):([a-z0-9_]+)-([a-z0-9]+)")
EVENT_BUILDERS = tuple(f"eb{i}.xenon.local" for i in range(6))
#: Where the simulator's raw data goes as XENONnT data types.
_NT_TYPE = {"tpc": "raw_records", "muon_veto": "raw_records_mv"}


make_did = xenonnt_did


def _source(doc: Mapping[str, Any], notes: _Notes) -> str:
    value = doc.get("source")
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return _text(value, "type", notes, "unknown", "source.")
    notes.add("no source" if value is None else f"source is not text ({_kind(value)})")
    return "unknown"


def _detector(doc: Mapping[str, Any], notes: _Notes) -> str:
    value = doc.get("detectors", doc.get("detector"))
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return "+".join(value)
    notes.add(
        "no detectors" if value is None else f"detectors is not a list of names ({_kind(value)})"
    )
    return "unknown"


UNKNOWN = "unknown"
#: Longest text kept of a document's state or host (the rest is garbage).
_TEXT_KEPT = 80


def _run_status(doc: Mapping[str, Any], notes: _Notes) -> str | None:
    """The run's ``status``: None when there is none, ``unknown`` (with a
    note) when it is not text; other text is kept (shortened), as untrusted."""
    value = doc.get("status")
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        notes.add(f"status is not text ({_kind(value)})" if value != "" else "status is empty")
        return UNKNOWN
    return value[:_TEXT_KEPT]


def _builder(doc: Mapping[str, Any], notes: _Notes) -> BuilderState | None:
    """The run's ``bootstrax`` (the event builder's state of it), read
    tolerantly: an odd state is ``unknown``, an odd field is left out; each
    oddity is a note."""
    value = doc.get("bootstrax")
    if value is None:
        return None
    if not isinstance(value, Mapping):
        notes.add(f"bootstrax is not a document ({_kind(value)})")
        return BuilderState(UNKNOWN)
    state = value.get("state")
    if not isinstance(state, str) or state not in BUILDER_STATES:
        shown = state[:_TEXT_KEPT] if isinstance(state, str) else _kind(state)
        notes.add(
            "no bootstrax.state" if state is None else f"bootstrax.state {shown!r} is not a state"
        )
        state = UNKNOWN
    host = value.get("host")
    if host is not None and not isinstance(host, str):
        notes.add(f"bootstrax.host is not text ({_kind(host)})")
        host = None
    failures = value.get("n_failures")
    n_failures = _count(failures, "bootstrax.n_failures", notes)
    retry = value.get("next_retry")
    next_retry = as_datetime(retry)
    if retry is not None and next_retry is None:
        notes.add(f"bootstrax.next_retry is not a date ({_kind(retry)})")
    return BuilderState(state, host[:_TEXT_KEPT] if host else None, n_failures, next_retry)


def _copy(entry: Mapping[str, Any], index: int, number: int | None, notes: _Notes) -> DataCopy:
    where = f"data[{index}]."
    mine = _Notes()
    kind = _text(entry, "type", notes, "", where)
    host = _text(entry, "host", notes, "", where)
    status = _text(entry, "status", notes, "", where)
    location = entry.get("location", "")
    if not isinstance(location, str):
        mine.add(f"{where}location is not text ({_kind(location)})")
        location = str(location)
    created = entry.get("creation_time", entry.get("creation_place_time"))
    created_at = as_datetime(created)
    problem = _checksum_problem(entry, where, notes)
    raw_count = entry.get("file_count")
    file_count = None
    if raw_count is not None:
        file_count = _count(raw_count, f"{where}file_count", mine)
    did = entry.get("did")
    if did is not None:
        if not isinstance(did, str):
            mine.add(f"{where}did is not text ({_kind(did)})")
            did = None
        else:
            match = DID.fullmatch(did)
            if match is None:
                mine.add(f"{where}did {did[:60]!r} is not xnt_NNNNNN:<type>-<hash>")
            elif (number is not None and int(match[1]) != number) or match[2] != kind:
                mine.add(f"{where}did {did[:60]!r} names another run or data type")
    rse = None
    if host == HOST_RUCIO:
        rse = location or None
        if did is None:
            mine.add(f"no {where}did")
    problems = tuple(mine.items)
    for note in problems:
        notes.add(note)
    return DataCopy(
        kind,
        host,
        status,
        location,
        None,
        rse,
        created_at,
        problem,
        problems,
        file_count=file_count,
        did=did,
    )


def nt_document_to_run(doc: Mapping[str, Any], fallback_number: int = -1) -> Run:
    """A ``Run`` from a XENONnT document; oddities go to ``malformed``."""
    notes = _Notes()
    number = _number(doc, notes)
    ident = number
    if number is None:
        value = doc.get("_id")
        if value is not None:
            notes.add(f"document _id {str(value)[:40]}")
        number = fallback_number
    name = doc.get("name")
    status = _run_status(doc, notes)
    builder = _builder(doc, notes)
    copies: list[DataCopy] = []
    data = doc.get("data")
    if data is None:
        notes.add("no data list")
    elif not isinstance(data, list):
        notes.add(f"data is not a list ({_kind(data)})")
    else:
        for index, entry in enumerate(data):
            if isinstance(entry, Mapping):
                copies.append(_copy(entry, index, ident, notes))
            else:
                notes.add(f"data[{index}] is not a document ({_kind(entry)})")
    return Run(
        number=number,
        name=name if isinstance(name, str) else f"{number:06d}",
        start=_time(doc, "start", notes, required=True) or NO_TIME,
        end=_time(doc, "end", notes, required=False),
        detector=_detector(doc, notes),
        source=_source(doc, notes),
        tags=_tags(doc, notes),
        events=None,
        raw_size_bytes=None,
        copies=tuple(copies),
        malformed=tuple(notes.items),
        status=status,
        builder=builder,
    )


# --------------------------------------------------------------- heartbeats

#: The fields of a heartbeat read (bootstrax's ``set_state`` writes more).
HEARTBEAT_PROJECTION: Mapping[str, int] = {"_id": 0, "host": 1, "time": 1, "state": 1}
#: A host's newest heartbeat documents read per poll (by ``time``, newest
#: first): the first with a date is its last heartbeat; a few garbage ones
#: before it do not hide it.
HEARTBEAT_DOCS = 5


def latest_heartbeat(host: str, docs: Sequence[Any]) -> Heartbeat:
    """A host's last heartbeat from its newest ``eb_monitor`` documents: the
    newest with a date; when none has one, a heartbeat of unknown time,
    saying why; when it has no document at all, never seen (``seen`` False:
    silent, not unknown)."""
    if not docs:
        return Heartbeat(host, None, seen=False)
    notes = _Notes()
    state = ""
    for doc in docs:
        if not isinstance(doc, Mapping):
            notes.add(f"a heartbeat is not a document ({_kind(doc)})")
            continue
        value = doc.get("state")
        if isinstance(value, str):
            state = value[:_TEXT_KEPT]
        moment = as_datetime(doc.get("time"))
        if moment is not None:
            return Heartbeat(host, moment, state if isinstance(value, str) else "")
        raw = doc.get("time")
        notes.add(
            "a heartbeat has no time"
            if raw is None
            else f"heartbeat time is not a date ({_kind(raw)})"
        )
    return Heartbeat(host, None, state, tuple(notes.items))


# ------------------------------------------------------------------ writing


def lineage(number: int, dtype: str) -> str:
    """A strax lineage hash for the simulated run (10 characters, deterministic)."""
    digest = hashlib.blake2b(f"{number}:{dtype}".encode(), digest_size=8).hexdigest()
    return digest[:10]


def file_count(run: Run) -> int:
    """Chunks of a simulated run: one per GB of raw data, at least one."""
    return max(1, (run.raw_size_bytes or 0) // 10**9)


#: The simulator's event builder failed one run in this many, and abandoned
#: one in ``ABANDONED_EVERY`` (by run number, so the same runs every time).
FAILED_EVERY = 150
ABANDONED_EVERY = 400
#: bootstrax's first wait before retrying a failed run (then 5x, 25x, ...).
RETRY_S = 60


def builder_document(run: Run, host: str) -> dict[str, Any]:
    """The ``bootstrax`` of a simulated run: ``busy`` while it is being
    taken, else ``done``, except a few runs by number: ``failed`` (1 to 3
    failures, the next retry as bootstrax's backoff puts it) or ``abandoned``."""
    end = run.end
    if end is None:
        return {"state": "busy", "host": host, "time": run.start, "n_failures": 0}
    if run.number % ABANDONED_EVERY == ABANDONED_EVERY - 1:
        return {"state": "abandoned", "host": host, "time": end, "n_failures": 0}
    if run.number % FAILED_EVERY == FAILED_EVERY - 1:
        failures = 1 + (run.number // FAILED_EVERY) % 3
        return {
            "state": "failed",
            "host": host,
            "time": end,
            "n_failures": failures,
            "next_retry": end + timedelta(seconds=RETRY_S * 5 ** (failures - 1)),
        }
    return {"state": "done", "host": host, "time": end, "n_failures": 0}


def run_to_nt_document(run: Run, user: str = "xenon-console") -> dict[str, Any]:
    """A simulated run as a XENONnT document: its raw data as ``raw_records``
    (``raw_records_mv`` for the muon veto) on an event builder while it is on
    the buffer, and in Rucio with a DID; tape copies have no XENONnT
    counterpart and are left out."""
    dtype = _NT_TYPE.get(run.detector, "raw_records")
    hash_ = lineage(run.number, dtype)
    did = make_did(run.number, dtype, hash_)
    files = file_count(run)
    builder = EVENT_BUILDERS[run.number % len(EVENT_BUILDERS)]
    data: list[dict[str, Any]] = []
    for copy in run.copies:
        if copy.type != CopyType.RAW.value:
            continue
        if copy.host == HOST_BUFFER:
            data.append(
                {
                    "type": dtype,
                    "host": builder,
                    "status": "transferred",
                    "location": f"/data/xenonnt_processed/{run.number:06d}-{dtype}-{hash_}",
                    "file_count": files,
                }
            )
        elif copy.host == HOST_RUCIO and copy.rse:
            entry: dict[str, Any] = {
                "type": dtype,
                "host": HOST_RUCIO,
                "status": copy.status,
                "location": copy.rse,
                "did": did,
                "file_count": files,
                "protocol": "rucio",
            }
            if copy.checksum_problem:
                entry["checksumproblem"] = True
            data.append(entry)
    out_of_lngs = any(
        d["host"] == HOST_RUCIO
        and d["location"] != "LNGS_USERDISK"
        and d["status"] == "transferred"
        for d in data
    )
    in_rucio = any(d["host"] == HOST_RUCIO for d in data)
    status = "transferred" if out_of_lngs else "transferring" if in_rucio else "eb_ready_to_upload"
    doc: dict[str, Any] = {
        "number": run.number,
        "detectors": [run.detector],
        "start": run.start,
        "source": run.source,
        "tags": [{"name": tag, "user": user, "date": run.start} for tag in run.tags],
        "status": status,
        "bootstrax": builder_document(run, builder),
        "data": data,
    }
    if run.end is not None:
        doc["end"] = run.end
    return doc


def nt_rule(rule: Rule) -> Rule:
    """A simulated Rucio rule as XENONnT's Rucio holds it: for the DID
    ``run_to_nt_document`` writes (``xnt_NNNNNN:<dtype>-<hash>``), with its
    locks counted in the document's files (``file_count``: an OK rule holds
    them all; a stuck one at most all but one)."""
    if rule.run_number is None:
        return rule
    detector = "muon_veto" if rule.scope.endswith("_muon_veto") else "tpc"
    dtype = _NT_TYPE[detector]
    files = max(1, rule.bytes // 10**9)
    total = max(1, rule.locks_total)
    ok = files if rule.state is RuleState.OK else min(files - 1, rule.locks_ok * files // total)
    rest = files - ok
    stuck = min(rest, -(-rule.locks_stuck * files // total)) if rule.locks_stuck else 0
    return replace(
        rule,
        scope=f"xnt_{rule.run_number:06d}",
        name=f"{dtype}-{lineage(rule.run_number, dtype)}",
        locks_ok=ok,
        locks_replicating=rest - stuck,
        locks_stuck=stuck,
    )


def nt_settled_rules(
    settled: Iterable[tuple[Any, str, str, float, float]],
) -> tuple[Rule, ...]:
    """The simulator's settled runs' rules (``Views.settled_rules``: spec,
    rule id, RSE, created, OK at) as ``nt_rule`` makes them of the rules
    the simulator shows once OK (every lock OK), made directly: tens of
    thousands at the paper's history."""
    out = []
    stamp = datetime.fromtimestamp
    did: tuple[int, str, str] = (-1, "", "")
    for spec, rule_id, rse, created, ok_at in settled:
        number = spec.number
        if did[0] != number:
            dtype = _NT_TYPE.get(spec.detector, "raw_records")
            did = (number, f"xnt_{number:06d}", f"{dtype}-{lineage(number, dtype)}")
        size = spec.size
        files = max(1, size // 10**9)
        out.append(
            Rule(
                rule_id,
                did[1],
                did[2],
                rse,
                _OK,
                files,
                0,
                0,
                size,
                stamp(created, UTC),
                stamp(ok_at, UTC),
                number,
            )
        )
    return tuple(out)


_OK = RuleState.OK


class NtRules:
    """The simulator's rules as XENONnT's (``nt_rule``), each converted once
    (the simulator keeps a rule's object until it changes)."""

    def __init__(self) -> None:
        self._memo: dict[int, tuple[Rule, Rule]] = {}

    def __call__(self, rules: Sequence[Rule]) -> tuple[Rule, ...]:
        memo = self._memo
        out = []
        seen: dict[int, tuple[Rule, Rule]] = {}
        for rule in rules:
            known = memo.get(id(rule))
            if known is None or known[0] is not rule:
                known = (rule, nt_rule(rule))
            seen[id(rule)] = known
            out.append(known[1])
        self._memo = seen
        return tuple(out)


class NtRuns(Sequence[Run]):
    """A runs sequence seen as the XENONnT runs database would hold it: each
    run written as a XENONnT document and read back (the simulator's
    ``profile = "xenonnt"``). Runs are converted when first asked for; an
    unchanged run is not converted again."""

    def __init__(self, runs: Sequence[Run], memo: dict[tuple[Any, ...], Run]) -> None:
        self._runs = runs
        self._memo = memo

    def _one(self, run: Run) -> Run:
        # Everything the document is written from (the lazy history builds
        # new run objects for unchanged runs).
        key = (run.number, run.start, run.end, run.detector, run.source, run.tags, run.copies)
        known = self._memo.get(key)
        if known is not None:
            return known
        converted = nt_document_to_run(run_to_nt_document(run))
        if len(self._memo) > MEMO_KEPT:
            self._memo.clear()
        self._memo[key] = converted
        return converted

    def __len__(self) -> int:
        return len(self._runs)

    @overload
    def __getitem__(self, index: int) -> Run: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Run]: ...
    def __getitem__(self, index: int | slice) -> Run | Sequence[Run]:
        if isinstance(index, slice):
            return [self._one(r) for r in self._runs[index]]
        return self._one(self._runs[index])

    def __iter__(self) -> Iterator[Run]:
        return (self._one(r) for r in self._runs)


#: Converted runs a simulator keeps (then forgets, and converts again).
MEMO_KEPT = 300_000

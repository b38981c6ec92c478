"""Property: no run document, however messy, gets a false "safe" or "purge allowed".

Run documents are generated from a grammar of messy copies (wrong types,
missing fields, unknown statuses and hosts, checksum flags of every type,
unknown RSE names, documents sharing a number) and read as the mongo backend
reads them. For every one, the verdicts are checked against an oracle
written here, on the raw documents, independently of ``analysis.safety``:

* ``safe`` implies that every document of the run has, for each required
  slot, one entry that passes every rule on its own;
* ``purge allowed`` implies that every document has a valid tape entry and a
  valid Rucio entry at a catalogue RSE outside LNGS, and one has the run on
  the buffer;

and no function that shows a run ever raises.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends.analysis.safety import (
    DEFAULT_POLICY,
    copies_label,
    copy_problems,
    count_malformed,
    data_safety,
    purge_verdict,
    run_problems,
    verdict_word,
)
from backends.mongo import _convert
from backends.mongo.cache import RunsCache
from backends.mongo.documents import document_to_run, run_number
from console.audit import audit_row

T0 = datetime(2017, 11, 1, tzinfo=UTC)
EUROPE = {
    "NIKHEF_USERDISK",
    "SURFSARA_USERDISK",
    "CNAF_USERDISK",
    "CCIN2P3_USERDISK",
    "WEIZMANN_USERDISK",
}
CHICAGO = "UC_OSG_USERDISK"
LNGS = "LNGS_USERDISK"
OUTSIDE_LNGS = EUROPE | {CHICAGO}

MISSING = object()  # the key is left out of the entry

odd_scalars = st.sampled_from([None, 0, 1, 5.0, True, False, "", " ", [], {}, [1], "None"])
types = st.one_of(
    st.sampled_from(["raw", "Raw", "raw ", "processed", "minitrees", MISSING]), odd_scalars
)
hosts = st.one_of(
    st.sampled_from(
        [
            "tsm-server",
            "rucio-catalogue",
            "xe1t-datamanager",
            "midway-login1",
            "login",
            "tsm-server ",
            "TSM-SERVER",
            MISSING,
        ]
    ),
    odd_scalars,
)
statuses = st.one_of(
    st.sampled_from(
        [
            "transferred",
            "Transferred",
            "transferring",
            "verifying",
            "error",
            "deleted",
            "lost-in-space",
            MISSING,
        ]
    ),
    odd_scalars,
)
checksums = st.one_of(st.sampled_from(["adler32:0badc0de", "", MISSING]), odd_scalars)
problems = st.one_of(
    st.sampled_from([True, False, MISSING, "false", "true", "no", 0, 1, None, [], "False"])
)
rse_names = st.sampled_from(
    [
        CHICAGO,
        LNGS,
        *sorted(EUROPE),
        "UC_OSG_USERDSK",
        "placeholder",
        "",
        "nikhef_userdisk",
        "SOME_OTHER_RSE",
    ]
)
rses = st.one_of(
    rse_names,
    rse_names,
    st.lists(st.one_of(rse_names, odd_scalars), max_size=3),
    odd_scalars,
    st.just(MISSING),
)
locations = st.one_of(st.sampled_from(["/data/x", "x1t:raw", MISSING]), odd_scalars)
created = st.one_of(st.just(T0), st.just("2017-11-01"), st.just(MISSING), odd_scalars)


def _entry(
    kind: Any,
    host: Any,
    status: Any,
    checksum: Any,
    problem: Any,
    rse: Any,
    location: Any,
    creation: Any,
) -> dict[str, Any]:
    fields = {
        "type": kind,
        "host": host,
        "status": status,
        "checksum": checksum,
        "checksumproblem": problem,
        "rse": rse,
        "location": location,
        "creation_time": creation,
    }
    return {k: v for k, v in fields.items() if v is not MISSING}


#: Entirely random entries: almost never near a valid copy.
random_entries = st.builds(
    _entry, types, hosts, statuses, checksums, problems, rses, locations, created
)
#: Good copies, as the tools write them ...
GOOD = [
    {"type": "raw", "host": "tsm-server", "status": "transferred", "checksum": "a"},
    {"type": "raw", "host": "rucio-catalogue", "status": "transferred", "rse": [CHICAGO]},
    {"type": "raw", "host": "rucio-catalogue", "status": "transferred", "rse": "CNAF_USERDISK"},
    {
        "type": "raw",
        "host": "rucio-catalogue",
        "status": "transferred",
        "rse": [LNGS, "NIKHEF_USERDISK"],
    },
    {"type": "raw", "host": "rucio-catalogue", "status": "transferred", "rse": LNGS},
    {"type": "raw", "host": "xe1t-datamanager", "status": "transferred"},
]
#: ... and the ways one field of a copy goes wrong.
FIELD_VALUES = {
    "type": types,
    "host": hosts,
    "status": statuses,
    "checksum": checksums,
    "checksumproblem": problems,
    "rse": rses,
    "location": locations,
    "creation_time": created,
}


@st.composite
def near_good(draw: st.DrawFn) -> dict[str, Any]:
    """A good copy with none, one or two fields spoilt: the copies that once
    passed for valid (a checksum flag on a Rucio copy, a tape copy without
    checksum, a misspelt RSE) are one change away from good ones."""
    entry = dict(draw(st.sampled_from(GOOD)))
    for key in draw(st.lists(st.sampled_from(sorted(FIELD_VALUES)), max_size=2, unique=True)):
        value = draw(FIELD_VALUES[key])
        if value is MISSING:
            entry.pop(key, None)
        else:
            entry[key] = value
    return entry


entries = st.one_of(near_good(), near_good(), random_entries)
data_lists = st.one_of(
    st.lists(st.one_of(entries, entries, entries, odd_scalars), max_size=8),
    odd_scalars,
    st.just(MISSING),
)
tag_lists = st.one_of(
    st.lists(
        st.one_of(
            st.builds(
                lambda n: {"name": n},
                st.sampled_from(["_sciencerun0", "_sciencerun1", "donotprocess", "blinded"]),
            ),
            st.sampled_from(["_sciencerun1", "blinded"]),
            odd_scalars,
        ),
        max_size=3,
    ),
    st.sampled_from(["_sciencerun1", "blinded"]),
    odd_scalars,
    st.just(MISSING),
)
numbers = st.one_of(st.integers(1, 4), st.sampled_from(["3", 2.0, None, MISSING]))


def _document(number: Any, tags: Any, data: Any, hours: int) -> dict[str, Any]:
    doc = {
        "number": number,
        "name": "171101_0000",
        "start": T0 + timedelta(hours=hours),
        "end": T0 + timedelta(hours=hours + 1),
        "detector": "tpc",
        "source": {"type": "none"},
        "tags": tags,
        "data": data,
    }
    return {k: v for k, v in doc.items() if v is not MISSING}


documents = st.builds(_document, numbers, tag_lists, data_lists, st.integers(0, 100))


# ------------------------------------------------------------------- oracle


def _names(tags: Any) -> list[str]:
    if isinstance(tags, str):
        return [tags]
    if not isinstance(tags, list):
        return []
    return [
        t["name"] if isinstance(t, dict) else t
        for t in tags
        if isinstance(t, str) or (isinstance(t, dict) and isinstance(t.get("name"), str))
    ]


def _science(doc: dict[str, Any]) -> bool:
    return any(name.startswith("_sciencerun") for name in _names(doc.get("tags")))


def _passes(entry: Any) -> bool:
    """The rules every valid copy meets, on the raw entry."""
    return (
        isinstance(entry, dict)
        and entry.get("type") == "raw"
        and entry.get("status") == "transferred"
        and entry.get("checksumproblem", False) is False
    )


def _valid_tape(doc: dict[str, Any]) -> bool:
    return any(
        _passes(e)
        and e.get("host") == "tsm-server"
        and isinstance(e.get("checksum"), str)
        and e["checksum"] != ""
        for e in (doc.get("data") if isinstance(doc.get("data"), list) else [])
    )


def _valid_rses(doc: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for e in doc.get("data") if isinstance(doc.get("data"), list) else []:
        if not (_passes(e) and e.get("host") == "rucio-catalogue"):
            continue
        rse = e.get("rse")
        if isinstance(rse, list) and not all(isinstance(n, str) and n for n in rse):
            continue  # a list with something that is not a name: ambiguous
        names = [rse] if isinstance(rse, str) else rse if isinstance(rse, list) else []
        found |= set(names)
    return found & (OUTSIDE_LNGS | {LNGS})


def _on_buffer(doc: dict[str, Any]) -> bool:
    data = doc.get("data")
    return isinstance(data, list) and any(
        isinstance(e, dict) and e.get("type") == "raw" and e.get("host") == "xe1t-datamanager"
        for e in data
    )


def oracle_safe(doc: dict[str, Any]) -> bool:
    rses = _valid_rses(doc)
    slots = [bool(rses & EUROPE), _valid_tape(doc)]
    if _science(doc):
        slots.append(CHICAGO in rses)
    return all(slots)


def oracle_purge(doc: dict[str, Any]) -> bool:
    return _valid_tape(doc) and bool(_valid_rses(doc) & OUTSIDE_LNGS)


# -------------------------------------------------------------------- tests


def _check_run(run: Any, docs: list[dict[str, Any]]) -> None:
    verdict = data_safety(run)
    purge = purge_verdict(run)
    if verdict.safe:
        assert all(oracle_safe(d) for d in docs), (verdict, docs)
        assert verdict.reason and not verdict.missing
    else:
        assert verdict.missing and verdict.reason
    if purge.allowed:
        assert all(oracle_purge(d) for d in docs), (purge, docs)
        assert any(_on_buffer(d) for d in docs)
    # Everything that shows a run works on it.
    copies_label(run)
    run_problems(run)
    verdict_word(verdict, True)
    audit_row(run, DEFAULT_POLICY, None)
    for doc_run in (run, *run.twins):
        for copy in doc_run.copies:
            copy_problems(copy)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_one_document_never_gets_a_false_verdict(doc: dict[str, Any]) -> None:
    _check_run(document_to_run(doc, -1), [doc])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(documents, min_size=1, max_size=6))
def test_documents_sharing_a_number_get_the_worst_verdict(docs: list[dict[str, Any]]) -> None:
    """Through the backend's own conversion and cache, as a full read makes
    them: one run per number, judged against every document that has it."""
    numeric, odd = _convert(docs)
    cache = RunsCache()
    cache.load_full(numeric, odd)
    runs = cache.runs
    numbers = [r.number for r in runs]
    assert numbers == sorted(set(numbers)), "each number once"
    # _convert keeps the documents' order, numeric ones and odd ones apart.
    by_number: dict[int, list[dict[str, Any]]] = defaultdict(list)
    numeric_docs = [d for d in docs if run_number(d.get("number")) is not None]
    odd_docs = [d for d in docs if run_number(d.get("number")) is None]
    for run, doc in [*zip(numeric, numeric_docs, strict=True), *zip(odd, odd_docs, strict=True)]:
        by_number[run.number].append(doc)
    for run in runs:
        assert len(run.twins) + 1 == len(by_number[run.number])
        _check_run(run, by_number[run.number])
    assert count_malformed(runs) == sum(1 for r in runs if run_problems(r))

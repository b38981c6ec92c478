"""Run documents <-> model, the tape view and the tail reads, against mongomock.

The simulator is the oracle: its runs, written as XENON1T documents and read
back, must be the same runs (to the millisecond BSON keeps), with the same
safety verdicts and tape figures. Messy documents are hand-written.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import mongomock
import pytest

from backends.analysis.safety import data_safety, purge_verdict
from backends.model import Run, TapeState
from backends.mongo import MongoBackend
from backends.mongo.documents import document_to_run, run_to_document
from backends.mongo.tape import tape_snapshot
from backends.simulator import SimulatorBackend

T0 = datetime(2017, 11, 1, 12, 0, tzinfo=UTC)


def ms(moment: datetime | None) -> datetime | None:
    """What BSON keeps of a datetime: milliseconds."""
    return None if moment is None else moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def as_stored(run: Run) -> Run:
    copies = tuple(dataclasses.replace(c, creation_time=ms(c.creation_time)) for c in run.copies)
    return dataclasses.replace(run, start=ms(run.start), end=ms(run.end), copies=copies)


def loaded(scenario: str = "nominal", **options) -> tuple[SimulatorBackend, MongoBackend, object]:
    sim = SimulatorBackend({"scenario": scenario, "speed": 0})
    client = mongomock.MongoClient(tz_aware=True)
    client.run.runs_new.insert_many([run_to_document(r) for r in sim.fetch_runs().runs])
    backend = MongoBackend(
        {"uri": "mongodb://db.example/run", **options}, client=client, clock=lambda: sim.now
    )
    return sim, backend, client.run.runs_new


#: Failed tape uploads per scenario (tape-checksum: as `check` reports it).
FAILED_TAPE = {"nominal": 0, "tape-checksum": 23, "uplink-down": 0}


@pytest.mark.parametrize("scenario", list(FAILED_TAPE))
def test_simulated_history_survives_the_round_trip(scenario: str) -> None:
    sim, backend, _ = loaded(scenario)
    expected = [as_stored(r) for r in sim.fetch_runs().runs]
    got = list(backend.fetch_runs().runs)
    assert len(got) == len(expected) == 720
    assert got == expected
    assert [data_safety(r).safe for r in got] == [data_safety(r).safe for r in expected]
    assert not any(r.malformed for r in got)

    want = sim.fetch_tape()
    tape = backend.fetch_tape()
    assert tape.verified_runs == want.verified_runs
    assert tape.verified_bytes == want.verified_bytes
    assert Counter(u.state for u in tape.uploads) == Counter(u.state for u in want.uploads)
    assert sorted(u.run_number for u in tape.uploads) == sorted(u.run_number for u in want.uploads)
    failed = [u for u in tape.uploads if u.state is TapeState.FAILED]
    assert len(failed) == FAILED_TAPE[scenario]
    assert all("checksum" in (u.message or "") for u in failed)


def _doc(number: int, **fields) -> dict:
    doc = {
        "number": number,
        "name": f"171101_{int(number):04d}",
        "start": T0 + timedelta(hours=int(number)),
        "end": T0 + timedelta(hours=int(number), minutes=59),
        "detector": "tpc",
        "source": {"type": "none"},
        "tags": [{"name": "_sciencerun1"}],
        "trigger": {"events_built": 20000},
        "raw_size_byte": 10**10,
        "data": [
            {
                "type": "raw",
                "host": "xe1t-datamanager",
                "status": "transferred",
                "location": f"/data/xenon/raw/{number}",
                "checksum": "abc",
            }
        ],
    }
    doc.update(fields)
    return {k: v for k, v in doc.items() if v is not ...}


MESSY = [
    _doc(1),
    _doc(2, data=...),  # data absent
    _doc(3, data="on tape"),  # wrong type
    _doc(4, data=[{"type": "raw", "host": "tsm-server", "status": "lost-in-space"}, 42]),
    _doc(5, start="2017-11-01T17:00:00", trigger=[1], tags="_sciencerun1", raw_size_byte=-5),
    _doc(6, source="AmBe", name=..., detector=7),
    _doc("7"),  # number as text
    {"name": "nameless"},  # no number at all
    _doc(
        9,
        data=[
            {
                "type": "raw",
                "host": "rucio-catalogue",
                "status": "transferred",
                "rse": ["UC_OSG_USERDISK", "NIKHEF_USERDISK"],
                "checksumproblem": "no",
            }
        ],
    ),
    _doc(10),
]


def messy_backend() -> tuple[MongoBackend, object]:
    client = mongomock.MongoClient(tz_aware=True)
    client.run.runs_new.insert_many([dict(d) for d in MESSY])
    backend = MongoBackend(
        {"uri": "mongodb://db.example/run"}, client=client, clock=lambda: T0 + timedelta(days=1)
    )
    return backend, client.run.runs_new


def test_messy_documents_are_shown_and_counted_never_hiding_others() -> None:
    backend, _ = messy_backend()
    runs = backend.fetch_runs().runs
    assert len(runs) == len(MESSY) == 10
    numbers = [r.number for r in runs]
    assert numbers == [-1, 1, 2, 3, 4, 5, 6, 7, 9, 10]
    by_number = {r.number: r for r in runs}
    malformed = {r.number for r in runs if r.malformed}
    assert malformed == {-1, 2, 3, 4, 5, 6, 7, 9}
    assert by_number[1].events == 20000 and by_number[1].tags == ("_sciencerun1",)
    assert by_number[2].malformed == ("no data list",)
    assert by_number[3].malformed == ("data is not a list (str)",)
    assert set(by_number[4].malformed) == {
        "unknown status 'lost-in-space' of a copy on tsm-server",
        "data[1] is not a document (int)",
    }
    five = by_number[5]
    assert five.start == datetime(2017, 11, 1, 17, 0, tzinfo=UTC)
    assert five.tags == ("_sciencerun1",) and five.science
    assert five.events is None and five.raw_size_bytes is None
    assert len(five.malformed) == 4
    six = by_number[6]
    assert (six.source, six.name, six.detector) == ("AmBe", "6", "7")
    assert by_number[7].malformed == ("number is text",)
    nameless = by_number[-1]
    assert nameless.name == "nameless" and "no run number" in nameless.malformed
    nine = by_number[9]
    assert [c.rse for c in nine.copies] == ["UC_OSG_USERDISK", "NIKHEF_USERDISK"]
    assert all(c.checksum_problem for c in nine.copies)  # "no" is truthy: reported
    assert (
        "data[0].checksumproblem is not true/false ('no'), so it counts as a problem"
        in nine.malformed
    )


def test_tape_states_from_tsm_copies() -> None:
    def run(number: int, *copies: dict, ended: bool = True) -> Run:
        buffer = {"type": "raw", "host": "xe1t-datamanager", "status": "transferred"}
        return document_to_run(
            _doc(number, end=... if not ended else T0 + timedelta(hours=1), data=[buffer, *copies])
        )

    def tsm(status: str, **more) -> dict:
        return {
            "type": "raw",
            "host": "tsm-server",
            "status": status,
            "creation_time": T0 + timedelta(hours=2),
            **more,
        }

    runs = [
        run(1, tsm("transferring")),
        run(2, tsm("verifying")),
        run(3, tsm("transferred", checksum="adler32:0badc0de")),
        run(4, tsm("transferred", checksumproblem=True)),
        run(5, tsm("error")),
        run(6),  # ended, on the buffer, no tape copy
        run(7, ended=False),  # still being written: not queued yet
        run(8, tsm("mislaid")),
        run(9, tsm("error"), tsm("transferred", checksum="adler32:0badc0de")),  # a retry
        run(10, tsm("transferred")),  # no checksum: not shown to pass the restore test
    ]
    snap = tape_snapshot(runs, T0 + timedelta(hours=3))
    states = {u.run_number: u.state for u in snap.uploads}
    assert states == {
        1: TapeState.UPLOADING,
        2: TapeState.VERIFYING,
        3: TapeState.VERIFIED,
        4: TapeState.FAILED,
        5: TapeState.FAILED,
        6: TapeState.QUEUED,
        9: TapeState.VERIFIED,
        10: TapeState.VERIFYING,
    }
    unverified = next(u for u in snap.uploads if u.run_number == 10)
    assert unverified.message == (
        "transferred, but no checksum recorded: not shown to pass the restore test"
    )
    assert snap.verified_runs == 2 and snap.verified_bytes == 2 * 10**10
    assert snap.last_success == T0 + timedelta(hours=2)
    assert len(snap.malformed) == 1 and "(runs 8)" in snap.malformed[0]
    # Finished uploads leave the list after 48 h; open ones stay.
    later = tape_snapshot(runs, T0 + timedelta(days=3))
    assert {u.run_number for u in later.uploads} == {1, 2, 6, 10}
    assert later.verified_runs == 2


def test_polls_after_the_first_read_only_the_recent_tail(monkeypatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr("backends.mongo.time.monotonic", lambda: clock[0])
    _, backend, collection = loaded(full_every=600)
    runs = backend.fetch_runs().runs
    assert backend.last_read == ("full", 720)
    newest = max(r.start for r in runs)
    recent = [r for r in runs if r.start >= newest - timedelta(days=7)]
    backend.fetch_runs()
    assert backend.last_read == ("tail", len(recent))
    assert 150 < len(recent) < 720

    # A new run, a change to a recent run and a deleted recent run are seen at once.
    last = runs[-1]
    new = run_to_document(dataclasses.replace(last, number=last.number + 1, name="new"))
    collection.insert_one(new)
    collection.update_one({"number": last.number}, {"$set": {"source.type": "LED"}})
    collection.delete_one({"number": recent[0].number + 1})
    # A change to an old run waits for the next full read.
    old = runs[10]
    collection.update_one({"number": old.number}, {"$set": {"name": "renamed"}})
    after = {r.number: r for r in backend.fetch_runs().runs}
    assert backend.last_read[0] == "tail"
    assert after[last.number + 1].name == "new"
    assert after[last.number].source == "LED"
    assert recent[0].number + 1 not in after
    assert after[old.number].name == old.name
    assert len(after) == 720

    clock[0] += 600
    before = after
    after = {r.number: r for r in backend.fetch_runs().runs}
    assert backend.last_read == ("full", 720)
    assert after[old.number].name == "renamed"
    # The full read converted only the document that changed since it was
    # last read; every other run is the same object as before.
    assert backend.last_converted == 1
    assert sum(1 for n, r in after.items() if before.get(n) is r) == 719

    # Changed again, and back: each version is the document's own.
    collection.update_one({"number": old.number}, {"$set": {"name": old.name}})
    clock[0] += 600
    again = {r.number: r for r in backend.fetch_runs().runs}
    assert backend.last_converted == 1 and again[old.number].name == old.name
    assert again[old.number] == before[old.number]

    # The tape view re-derives only what the tail read replaced, and is right.
    first = backend.fetch_tape()
    collection.update_one({"number": last.number - 30}, {"$set": {"data": []}})
    second = backend.fetch_tape()
    assert second != first
    assert second == tape_snapshot(backend.fetch_runs().runs, second.taken_at)


def test_run_detail() -> None:
    sim, backend, collection = loaded("tape-checksum")
    failed = next(u for u in sim.fetch_tape().uploads if u.state is TapeState.FAILED)
    detail = backend.fetch_run_detail(failed.run_number)
    assert detail.run is not None and detail.run.number == failed.run_number
    assert [u.state for u in detail.tape] == [TapeState.FAILED]
    assert detail.notes == ()
    missing = backend.fetch_run_detail(10**6)
    assert missing.run is None
    assert missing.notes == ("no document with number 1000000 in db.example/run.runs_new",)
    safe = next(r for r in sim.fetch_runs().runs if r.end is not None and data_safety(r).safe)
    clean = backend.fetch_run_detail(safe.number)
    assert clean.run is not None and data_safety(clean.run).safe
    collection.insert_one({"number": safe.number, "name": "twin"})
    twin = backend.fetch_run_detail(safe.number)
    # Both documents, as one run marked malformed, with the worse verdict:
    # never the clean document's alone.
    assert twin.run is not None and twin.run.copies == clean.run.copies
    assert [t.name for t in twin.run.twins] == ["twin"]
    assert twin.run.malformed[0] == f"2 documents with number {safe.number}"
    verdict = data_safety(twin.run)
    # The clean document is science data, so the twin is judged as such.
    assert not verdict.safe
    assert verdict.missing == ("UC_OSG_USERDISK", "European RSE", "tape")
    assert verdict.reason == (
        f"document 2 of 2 with number {safe.number}: science run: missing "
        "UC_OSG_USERDISK (none recorded), European RSE (none recorded), tape (none recorded)"
    )
    assert not purge_verdict(twin.run).allowed


def test_polls_from_several_threads_at_once() -> None:
    """The console polls runs and tape (and drill-downs) from separate threads."""
    _, backend, _ = loaded()
    results: list[int] = []
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for _ in range(3):
                if i % 3 == 0:
                    results.append(len(backend.fetch_runs().runs))
                elif i % 3 == 1:
                    results.append(backend.fetch_tape().verified_runs)
                else:
                    results.append(backend.fetch_run_detail(14500).run_number)
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert sorted(set(results)) == sorted({720, 718, 14500})
    assert len(results) == 18

"""Data-safety and purge verdicts of messy run documents: never a false "safe".

Each class of document that once gave a false "policy met" or "purge
allowed" is written here as a XENON1T run document and judged three ways:
read by ``document_to_run`` alone, through the mongo backend on mongomock,
and over the wire from a real server (secantusd). The verdict, the missing
slots and the reason in words are asserted, the same in all three.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import mongomock
import pymongo
import pytest

from backends.analysis.safety import data_safety, purge_verdict, run_problems
from backends.model import Run
from backends.mongo import MongoBackend
from backends.mongo.documents import document_to_run
from console.cli import main

T0 = datetime(2017, 11, 1, 12, 0, tzinfo=UTC)
#: Long after every case ended: every copy is due.
LATER = T0 + timedelta(days=30)


def buffer() -> dict[str, Any]:
    return {
        "type": "raw",
        "host": "xe1t-datamanager",
        "status": "transferred",
        "location": "/data/xenon/raw/x",
        "checksum": "abc",
    }


def tape(**more: Any) -> dict[str, Any]:
    return {
        "type": "raw",
        "host": "tsm-server",
        "status": "transferred",
        "location": "tsm:/xenon/x",
        "checksum": "adler32:0badc0de",
        **more,
    }


def rucio(rse: Any, **more: Any) -> dict[str, Any]:
    return {
        "type": "raw",
        "host": "rucio-catalogue",
        "status": "transferred",
        "location": "x1t_SR001_x_tpc:raw",
        "rse": rse,
        **more,
    }


def document(number: int, *data: Any, science: bool = True) -> dict[str, Any]:
    return {
        "number": number,
        "name": f"171101_{number:04d}",
        "start": T0 + timedelta(hours=number),
        "end": T0 + timedelta(hours=number, minutes=59),
        "detector": "tpc",
        "source": {"type": "none" if science else "LED"},
        "tags": [{"name": "_sciencerun1"}] if science else [],
        "data": list(data),
    }


@dataclass(frozen=True)
class Case:
    name: str
    docs: tuple[dict[str, Any], ...]
    safe: bool
    missing: tuple[str, ...]
    reason: str
    purge: bool
    purge_reason: str
    malformed: tuple[str, ...] = ()


EU, UC, LNGS = "SURFSARA_USERDISK", "UC_OSG_USERDISK", "LNGS_USERDISK"
CASES = [
    Case(
        "clean science run (control)",
        (document(1, buffer(), tape(), rucio([UC]), rucio([EU])),),
        True,
        (),
        "science run: 3 valid copies (UC_OSG_USERDISK, European RSE, tape)",
        True,
        "valid tape copy and Rucio copy at UC_OSG_USERDISK, SURFSARA_USERDISK",
    ),
    Case(
        "checksum problem on a Rucio copy",
        (document(2, buffer(), tape(), rucio([EU], checksumproblem=True), science=False),),
        False,
        ("European RSE",),
        "non-science run: missing European RSE "
        "(Rucio copy at SURFSARA_USERDISK has a checksum problem)",
        False,
        "no valid Rucio copy outside LNGS (Rucio copy at SURFSARA_USERDISK has a checksum problem)",
    ),
    Case(
        "transferred tape copy without a checksum",
        (document(3, buffer(), tape(checksum=None), rucio([UC]), rucio([EU])),),
        False,
        ("tape",),
        "science run: missing tape (tape copy has no checksum)",
        False,
        "no valid tape copy (tape copy has no checksum)",
    ),
    Case(
        "checksumproblem given as text 'false'",
        (document(4, buffer(), tape(checksumproblem="false"), rucio([EU]), science=False),),
        False,
        ("tape",),
        "non-science run: missing tape (tape copy has a checksum problem)",
        False,
        "no valid tape copy (tape copy has a checksum problem)",
        ("data[1].checksumproblem is not true/false ('false'), so it counts as a problem",),
    ),
    Case(
        "checksumproblem null",
        (document(5, buffer(), tape(checksumproblem=None), rucio([EU]), science=False),),
        False,
        ("tape",),
        "non-science run: missing tape (tape copy has a checksum problem)",
        False,
        "no valid tape copy (tape copy has a checksum problem)",
        ("data[1].checksumproblem is not true/false (None), so it counts as a problem",),
    ),
    Case(
        "misspelt RSE for the Chicago copy",
        (document(6, buffer(), tape(), rucio(["UC_OSG_USERDSK"]), rucio([EU])),),
        False,
        ("UC_OSG_USERDISK",),
        "science run: missing UC_OSG_USERDISK (RSE 'UC_OSG_USERDSK' is not a known RSE)",
        True,
        "valid tape copy and Rucio copy at SURFSARA_USERDISK",
        ("RSE 'UC_OSG_USERDSK' is not a known RSE",),
    ),
    Case(
        "placeholder RSE is the only copy outside LNGS",
        (document(7, buffer(), tape(), rucio([LNGS]), rucio("placeholder"), science=False),),
        False,
        ("European RSE",),
        "non-science run: missing European RSE (RSE 'placeholder' is not a known RSE)",
        False,
        "no valid Rucio copy outside LNGS (RSE 'placeholder' is not a known RSE)",
        ("RSE 'placeholder' is not a known RSE",),
    ),
    Case(
        "empty RSE name",
        (document(8, buffer(), tape(), rucio(""), science=False),),
        False,
        ("European RSE",),
        "non-science run: missing European RSE (Rucio copy names no RSE)",
        False,
        "no valid Rucio copy outside LNGS (Rucio copy names no RSE)",
    ),
    Case(
        "RSE given as a number",
        (document(9, buffer(), tape(), rucio(42), science=False),),
        False,
        ("European RSE",),
        "non-science run: missing European RSE "
        "(Rucio copy names no RSE; Rucio copy is malformed: rse is not a name (int))",
        False,
        "no valid Rucio copy outside LNGS (Rucio copy names no RSE; Rucio copy is "
        "malformed: rse is not a name (int))",
        ("rse is not a name (int)",),
    ),
    Case(
        "status with a capital letter",
        (document(10, buffer(), tape(status="Transferred"), rucio([EU]), science=False),),
        False,
        ("tape",),
        "non-science run: missing tape (tape copy is 'Transferred', not transferred)",
        False,
        "no valid tape copy (tape copy is 'Transferred', not transferred)",
        ("unknown status 'Transferred' of a copy on tsm-server",),
    ),
    Case(
        "Rucio copy without a host",
        (document(11, buffer(), tape(), {**rucio([EU]), "host": None}, science=False),),
        False,
        ("European RSE",),
        "non-science run: missing European RSE (Rucio copy at SURFSARA_USERDISK has no host)",
        False,
        "no valid Rucio copy outside LNGS (Rucio copy at SURFSARA_USERDISK has no host)",
        ("no data[2].host",),
    ),
    Case(
        "type that is not raw",
        (document(12, buffer(), tape(type="Raw"), rucio([EU]), science=False),),
        False,
        ("tape",),
        "non-science run: missing tape (tape copy is of type 'Raw', not raw)",
        False,
        "no valid tape copy (tape copy is of type 'Raw', not raw)",
    ),
    Case(
        "RSE list with something that is not a name",
        (document(13, buffer(), tape(), rucio([EU, 5]), science=False),),
        False,
        ("European RSE",),
        "non-science run: missing European RSE (Rucio copy at "
        "SURFSARA_USERDISK is malformed: rse list holds something that is not an RSE name)",
        False,
        "no valid Rucio copy outside LNGS (Rucio copy at SURFSARA_USERDISK is "
        "malformed: rse list holds something that is not an RSE name)",
        ("rse list holds something that is not an RSE name",),
    ),
    Case(
        "no copy at all",
        (document(14),),
        False,
        ("UC_OSG_USERDISK", "European RSE", "tape"),
        "science run: missing UC_OSG_USERDISK (none recorded), European RSE (none recorded), "
        "tape (none recorded)",
        False,
        "no copy recorded",
    ),
    Case(
        "no readable copy",
        (document(15, 42, "tape", None),),
        False,
        ("UC_OSG_USERDISK", "European RSE", "tape"),
        "science run: missing UC_OSG_USERDISK (none recorded), European RSE (none recorded), "
        "tape (none recorded)",
        False,
        "no copy recorded",
        (
            "data[0] is not a document (int)",
            "data[1] is not a document (str)",
            "data[2] is not a document (NoneType)",
        ),
    ),
    Case(
        "two documents with one number: the worse one decides",
        (
            document(16, buffer(), tape(), rucio([UC]), rucio([EU])),
            document(16, buffer(), tape(checksumproblem=True), rucio([UC]), rucio([EU])),
        ),
        False,
        ("tape",),
        "document 2 of 2 with number 16: science run: missing tape "
        "(tape copy has a checksum problem)",
        False,
        "document 2 of 2 with number 16: no valid tape copy (tape copy has a checksum problem)",
        ("2 documents with number 16",),
    ),
    Case(
        "a copy only at LNGS may not be purged",
        (document(17, buffer(), tape(), rucio([LNGS]), science=False),),
        False,
        ("European RSE",),
        "non-science run: missing European RSE (none recorded)",
        False,
        "no valid Rucio copy outside LNGS",
    ),
]


def check(case: Case, run: Run) -> None:
    verdict = data_safety(run)
    purge = purge_verdict(run)
    assert (verdict.safe, verdict.missing, verdict.reason) == (case.safe, case.missing, case.reason)
    assert (purge.allowed, purge.reason) == (case.purge, case.purge_reason)
    for note in case.malformed:
        assert note in run_problems(run)
    assert bool(run_problems(run)) == bool(case.malformed)


def one_run(runs: Any, case: Case) -> Run:
    number = case.docs[0]["number"]
    matching = [r for r in runs if r.number == number]
    assert len(matching) == 1, "a run is shown once, however many documents it has"
    return matching[0]


@pytest.mark.parametrize("case", [c for c in CASES if len(c.docs) == 1], ids=lambda c: c.name)
def test_verdict_of_the_document_alone(case: Case) -> None:
    check(case, document_to_run(case.docs[0]))


def test_two_documents_read_alone_would_each_look_different() -> None:
    """Why the backend joins them: alone, the clean twin says "safe"."""
    twins = next(c for c in CASES if len(c.docs) > 1)
    first, second = (document_to_run(d) for d in twins.docs)
    assert data_safety(first).safe and not data_safety(second).safe


def _backend(client: Any, database: str = "run") -> MongoBackend:
    return MongoBackend(
        {"uri": f"mongodb://db.example/{database}"}, client=client, clock=lambda: LATER
    )


def test_verdicts_through_the_backend_on_mongomock() -> None:
    client = mongomock.MongoClient(tz_aware=True)
    client.run.runs_new.insert_many([dict(d) for c in CASES for d in c.docs])
    backend = _backend(client)
    runs = backend.fetch_runs().runs
    assert len(runs) == len(CASES)
    for case in CASES:
        check(case, one_run(runs, case))
        # The drill-down reads the run's documents afresh: the same verdict.
        detail = backend.fetch_run_detail(case.docs[0]["number"])
        assert detail.run is not None
        check(case, detail.run)


def test_verdicts_over_the_wire(server_uri: str, db_name: str) -> None:
    client = pymongo.MongoClient(server_uri)
    client[db_name].runs_new.insert_many([dict(d) for c in CASES for d in c.docs])
    client.close()
    backend = MongoBackend({"uri": server_uri, "database": db_name}, clock=lambda: LATER)
    try:
        runs = backend.fetch_runs().runs
        for case in CASES:
            check(case, one_run(runs, case))
        twin = backend.fetch_run_detail(16)
        assert twin.run is not None and len(twin.run.twins) == 1
        check(CASES[-2], twin.run)
    finally:
        backend.close()


def test_report_and_audit_on_the_mongo_backend_say_no(
    server_uri: str, db_name: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """The issue's reproduction: ``report --json`` on the mongo backend once said
    "purge allowed" and "policy met" for these documents."""
    client = pymongo.MongoClient(server_uri)
    client[db_name].runs_new.insert_many([dict(d) for c in CASES for d in c.docs])
    client.close()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[backends.db]\ntype = "mongo"\nuri = "{server_uri}"\n'
        f'database = "{db_name}"\n[panes]\nruns = "db"\ntape = "db"\n'
    )
    assert main(["report", "--json", "--config", str(config)]) == 0
    data = json.loads(capsys.readouterr().out)
    rows = {row["number"]: row for row in data["runs"]["newest"]}
    assert data["runs"]["left_out"] == 0
    for case in CASES:
        row = rows[case.docs[0]["number"]]
        assert (row["safe"], row["purge_allowed"]) == (case.safe, case.purge), case.name
        assert row["safety_reason"] == case.reason

    assert main(["audit", "--json", "--config", str(config)]) == 1  # overdue and unsafe
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["number"] for line in lines] == [c.docs[0]["number"] for c in CASES]
    for case, line in zip(CASES, lines, strict=True):
        assert (line["policy_met"], line["purge_allowed"]) == (case.safe, case.purge)
        assert line["reasons"] == [case.reason, f"purge: {case.purge_reason}"]
        assert line["overdue"] is True


def test_a_twin_whose_number_is_text_is_in_the_drill_down_too() -> None:
    """The runs pane joined it; the drill-down read only numeric documents and
    showed the clean one's "safe" and "purge allowed"."""
    from backends.analysis.drilldown import merge_details
    from backends.model import RunDetail

    client = mongomock.MongoClient(tz_aware=True)
    clean = document(5, buffer(), tape(), rucio([UC]), rucio([EU]))
    text_twin = {**document(5, buffer()), "number": "5"}
    client.run.runs_new.insert_many([clean, text_twin])
    backend = _backend(client)
    pane_run = backend.fetch_runs().runs[0]
    assert len(pane_run.twins) == 1 and not data_safety(pane_run).safe
    detail = backend.fetch_run_detail(5)
    assert detail.run is not None and len(detail.run.twins) == 1
    assert not data_safety(detail.run).safe and not purge_verdict(detail.run).allowed
    # Whatever a source answers, the merged detail keeps every document.
    lonely = RunDetail(LATER, 5, run=document_to_run(clean))
    merged = merge_details([RunDetail(LATER, 5, run=pane_run), lonely])
    assert merged.run is pane_run


def test_the_tape_view_shows_a_twins_failure() -> None:
    from backends.model import TapeState

    client = mongomock.MongoClient(tz_aware=True)
    good = document(6, buffer(), tape(), rucio([EU]), science=False)
    bad = document(6, buffer(), tape(checksumproblem=True), rucio([EU]), science=False)
    client.run.runs_new.insert_many([good, bad])
    backend = MongoBackend(
        {"uri": "mongodb://db.example/run"}, client=client, clock=lambda: T0 + timedelta(days=1)
    )
    tape_snapshot = backend.fetch_tape()
    assert [u.state for u in tape_snapshot.uploads] == [TapeState.FAILED]
    assert tape_snapshot.verified_runs == 0

"""The ``xenonnt`` profile: XENONnT run documents, admix's purge rule, and a
verdict that is never "safe" without Rucio's word (issue 19).

Each document is read by ``nt_document_to_run`` and through the mongo
backend (``profile = "xenonnt"``, collection ``runs``) on mongomock, and
judged by the XENONnT policy, first as the runs database alone says
("unverified in Rucio"), then with the rules a ``rucio`` backend would
serve joined by DID and RSE (``analysis.rucio_evidence``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import mongomock
import pytest

from backends.analysis.policy import XENONNT_POLICY
from backends.analysis.rucio_evidence import rules_by_did, with_rucio
from backends.analysis.safety import data_safety, purge_verdict, run_problems
from backends.model import Rule, RuleState, Run
from backends.mongo import MongoBackend
from backends.mongo.xenonnt import make_did, nt_document_to_run
from console.config import load_config

T0 = datetime(2024, 5, 1, tzinfo=UTC)
HASH = "rfzvpzj4mf"
UC, SURF, LNGS = "UC_OSG_USERDISK", "SURFSARA_USERDISK", "LNGS_USERDISK"
UNVERIFIED = "is unverified in Rucio (no rucio backend to ask)"


def eb(dtype: str = "raw_records", n: int = 12345) -> dict[str, Any]:
    return {
        "type": dtype,
        "host": "eb3.xenon.local",
        "status": "transferred",
        "location": f"/data/xenonnt_processed/{n:06d}-{dtype}-{HASH}",
        "file_count": 40,
    }


def rucio(rse: str, dtype: str = "raw_records", n: int = 12345, **more: Any) -> dict[str, Any]:
    return {
        "type": dtype,
        "host": "rucio-catalogue",
        "status": "transferred",
        "location": rse,
        "did": make_did(n, dtype, HASH),
        "file_count": 40,
        "protocol": "rucio",
        **more,
    }


def document(*data: Any, n: int = 12345, tags: tuple[str, ...] = (), detector: str = "tpc"):
    return {
        "number": n,
        "start": T0 + timedelta(hours=n % 100),
        "end": T0 + timedelta(hours=n % 100, minutes=59),
        "detectors": [detector],
        "source": "none",
        "tags": [{"name": t, "user": "shifter"} for t in tags],
        "status": "transferred",
        "bootstrax": {"state": "done", "host": "eb3.xenon.local", "n_failures": 0},
        "data": list(data),
    }


def rule(rse: str, state: RuleState = RuleState.OK, files: int = 40, n: int = 12345) -> Rule:
    return Rule(
        f"id-{rse}", f"xnt_{n:06d}", f"raw_records-{HASH}", rse, state, files, 0, 0, 1, T0, T0
    )


@dataclass(frozen=True)
class Case:
    name: str
    doc: dict[str, Any]
    rules: tuple[Rule, ...]
    safe: bool
    reason: str
    purge: bool
    purge_reason: str


OK_RULES = (rule(LNGS), rule(UC), rule(SURF))
CLEAN = document(eb(), rucio(LNGS), rucio(UC), rucio(SURF))
CASES = [
    Case(
        "clean",
        CLEAN,
        OK_RULES,
        True,
        "TPC run: 2 valid copies (raw_records UC_OSG_USERDISK, raw_records SURFSARA_USERDISK)",
        True,
        "raw_records: valid Rucio copy at UC_OSG_USERDISK, SURFSARA_USERDISK",
    ),
    Case(
        "stuck rule",
        CLEAN,
        (rule(UC), rule(SURF, RuleState.STUCK, files=10)),
        False,
        "TPC run: missing raw_records SURFSARA_USERDISK (Rucio copy at "
        "SURFSARA_USERDISK has its rule 'STUCK' in Rucio, not OK; Rucio copy at "
        "SURFSARA_USERDISK has 10 of 40 files in Rucio)",
        True,  # clean_eb: one external RSE confirmed is enough
        "raw_records: valid Rucio copy at UC_OSG_USERDISK",
    ),
    Case(
        "file count short",
        CLEAN,
        (rule(UC, files=39), rule(SURF, files=39)),
        False,
        "TPC run: missing raw_records UC_OSG_USERDISK (Rucio copy at "
        "UC_OSG_USERDISK has 39 of 40 files in Rucio), raw_records SURFSARA_USERDISK "
        "(Rucio copy at SURFSARA_USERDISK has 39 of 40 files in Rucio)",
        False,
        "raw_records: no valid Rucio copy outside LNGS (Rucio copy at UC_OSG_USERDISK "
        "has 39 of 40 files in Rucio; Rucio copy at SURFSARA_USERDISK has 39 of 40 "
        "files in Rucio)",
    ),
    Case(
        "EB copy only",
        document(eb()),
        (),
        False,
        "TPC run: missing raw_records UC_OSG_USERDISK (none recorded), "
        "raw_records SURFSARA_USERDISK (none recorded)",
        False,
        "raw_records: no valid Rucio copy outside LNGS",
    ),
    Case(
        "only at LNGS, confirmed",
        document(eb(), rucio(LNGS)),
        (rule(LNGS),),
        False,
        "TPC run: missing raw_records UC_OSG_USERDISK (none recorded), "
        "raw_records SURFSARA_USERDISK (none recorded)",
        False,
        "raw_records: no valid Rucio copy outside LNGS",
    ),
    Case(
        # Tags that exclude a run from processing do not excuse its raw data.
        "excluded tags",
        document(eb(), rucio(UC), tags=("bad", "abandon", "messy")),
        (rule(UC),),
        False,
        "TPC run: missing raw_records SURFSARA_USERDISK (none recorded)",
        True,
        "raw_records: valid Rucio copy at UC_OSG_USERDISK",
    ),
    Case(
        "a DID of another run",
        document(eb(), rucio(UC, did=make_did(12346, "raw_records", HASH)), rucio(SURF)),
        OK_RULES,
        False,
        "TPC run: missing raw_records UC_OSG_USERDISK (Rucio copy at "
        "UC_OSG_USERDISK has no rule in Rucio for its DID; Rucio copy at UC_OSG_USERDISK "
        "is malformed: data[1].did 'xnt_012346:raw_records-rfzvpzj4mf' names another "
        "run or data type)",
        True,
        "raw_records: valid Rucio copy at SURFSARA_USERDISK",
    ),
]


def judged(run: Run, rules: tuple[Rule, ...] | None) -> tuple[Any, ...]:
    if rules is not None:
        run = with_rucio(run, rules_by_did(rules))
    safety = data_safety(run, XENONNT_POLICY)
    purge = purge_verdict(run, XENONNT_POLICY)
    return safety.safe, safety.reason, purge.allowed, purge.reason


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_verdicts_with_rucios_word(case: Case) -> None:
    run = nt_document_to_run(case.doc)
    assert judged(run, case.rules) == (case.safe, case.reason, case.purge, case.purge_reason)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_without_a_rucio_backend_nothing_is_safe_or_purged(case: Case) -> None:
    safe, reason, purge, purge_reason = judged(nt_document_to_run(case.doc), None)
    assert not safe and not purge
    if any(d["host"] == "rucio-catalogue" and d["location"] != LNGS for d in case.doc["data"]):
        assert UNVERIFIED in reason and UNVERIFIED in purge_reason


def test_the_muon_veto_rule_and_the_purge_of_any_data_type() -> None:
    doc = document(
        eb("raw_records_mv"), eb("peaklets"), rucio(UC, "raw_records_mv"), detector="muon_veto"
    )
    mv = Rule("id", "xnt_012345", f"raw_records_mv-{HASH}", UC, RuleState.OK, 40, 0, 0, 1, T0, T0)
    safe, reason, purge, purge_reason = judged(nt_document_to_run(doc), (mv,))
    assert safe and reason == "muon veto run: 1 valid copy (raw_records_mv RSE outside LNGS)"
    # The event builder also holds peaklets, which nobody uploaded: it keeps them all.
    assert not purge and purge_reason == "peaklets: no valid Rucio copy outside LNGS"


def test_odd_xenonnt_documents_are_shown_with_their_oddities() -> None:
    run = nt_document_to_run(
        {
            "number": 7,
            "start": "2024-05-01T00:00:00",
            "detectors": 3,
            "data": [
                {
                    "type": "raw_records",
                    "host": "rucio-catalogue",
                    "location": UC,
                    "status": "transferred",
                    "file_count": "forty",
                },
                {
                    "type": "raw_records",
                    "host": "rucio-catalogue",
                    "location": SURF,
                    "status": "transferred",
                    "did": "raw_records-xyz",
                    "file_count": 4,
                },
                "eb3",
            ],
        }
    )
    problems = run_problems(run, XENONNT_POLICY)
    assert "start is a string, not a date" in problems
    assert "detectors is not a list of names (int)" in problems
    assert (
        "no data[0].did" in problems and "data[0].file_count is not a count ('forty')" in problems
    )
    assert "data[1].did 'raw_records-xyz' is not xnt_NNNNNN:<type>-<hash>" in problems
    assert "data[2] is not a document (str)" in problems
    assert not data_safety(with_rucio(run, rules_by_did(OK_RULES)), XENONNT_POLICY).safe


def test_the_backend_reads_xenonnt_documents_from_runs(tmp_path: Path) -> None:
    client = mongomock.MongoClient(tz_aware=True)
    client.run.runs.insert_many([dict(c.doc, number=i + 1) for i, c in enumerate(CASES[3:4])])
    client.run.runs.insert_one(dict(CLEAN))
    backend = MongoBackend(
        {"uri": "mongodb://db.example/run", "profile": "xenonnt"},
        client=client,
        clock=lambda: T0 + timedelta(days=1),
    )
    assert backend.settings.collection == "runs"
    runs = {r.number: r for r in backend.fetch_runs().runs}
    assert set(runs) == {1, 12345}
    clean = runs[12345]
    assert [c.did for c in clean.copies] == [None, *[make_did(12345, "raw_records", HASH)] * 3]
    assert judged(clean, OK_RULES)[:1] == (True,)
    assert not data_safety(clean, XENONNT_POLICY).safe  # nobody asked Rucio
    # The config takes the policy from the runs pane's backend's profile.
    path = tmp_path / "config.toml"
    path.write_text(
        '[panes]\nruns = "rundb"\n[backends.rundb]\ntype = "mongo"\n'
        'uri = "mongodb://db.example/run"\nprofile = "xenonnt"\n'
    )
    assert load_config(path).policy == XENONNT_POLICY
    path.write_text('[policy]\nprofile = "xenonnt"\n')
    assert load_config(path).policy == XENONNT_POLICY


def test_the_simulator_with_the_xenonnt_profile(tmp_path: Path) -> None:
    from backends.simulator import SimulatorBackend
    from backends.sources import BackendConfigError

    one = SimulatorBackend({"speed": 0}).fetch_runs().runs
    nt = SimulatorBackend({"speed": 0, "profile": "xenonnt"}).fetch_runs().runs
    assert [r.number for r in nt] == [r.number for r in one] and len(nt) == 720
    types = {c.type for r in nt for c in r.copies}
    assert types == {"raw_records", "raw_records_mv"}
    hosts = {c.host for r in nt for c in r.copies}
    assert "rucio-catalogue" in hosts and hosts - {"rucio-catalogue"} <= set(
        f"eb{i}.xenon.local" for i in range(6)
    )
    assert not any(r.malformed for r in nt)
    assert not any(data_safety(r, XENONNT_POLICY).safe for r in nt)  # no Rucio to ask
    assert nt[5:7] == [nt[5], nt[6]] and list(nt)[-1] == nt[-1]
    path = tmp_path / "config.toml"
    path.write_text('[backends.simulator]\nprofile = "xenonnt"\n')
    assert load_config(path).policy == XENONNT_POLICY
    with pytest.raises(BackendConfigError, match="profile must be one of xenon1t, xenonnt"):
        SimulatorBackend({"profile": "xenon2t"})


def test_the_drill_down_hints_name_the_xenonnt_did() -> None:
    from backends.analysis.drilldown import hints
    from backends.model import RunDetail

    def found(doc: dict[str, Any]) -> dict[str, str]:
        run = nt_document_to_run(doc)
        detail = RunDetail(T0 + timedelta(days=30), run.number, run)
        return {h.problem: h.command for h in hints(detail, None, policy=XENONNT_POLICY)}

    did = make_did(12345, "raw_records", HASH)
    # From the Rucio copy's did (the LNGS upload), ...
    assert found(document(eb(), rucio(LNGS)))["no rule to SURFSARA_USERDISK for a TPC run"] == (
        f"rucio rule add {did} --copies 1 --rses SURFSARA_USERDISK"
    )
    # ... else from the event builder's location, as admix makes it.
    by_eb = found(document(eb()))
    assert by_eb["no rule to UC_OSG_USERDISK for a TPC run"] == (
        f"rucio rule add {did} --copies 1 --rses UC_OSG_USERDISK"
    )
    assert by_eb["keep on eb3.xenon.local: raw_records: no valid Rucio copy outside LNGS"] == (
        "# do not purge this run yet"
    )
    # No DID recorded anywhere: no guessed command.
    odd = dict(eb(), location="/data/somewhere")
    none = found(document(odd))
    assert none == {
        "no rule to UC_OSG_USERDISK for a TPC run (no command given: no DID of "
        "raw_records is recorded)": "",
        "no rule to SURFSARA_USERDISK for a TPC run (no command given: no DID of "
        "raw_records is recorded)": "",
        "keep on eb3.xenon.local: raw_records: no valid Rucio copy outside LNGS": (
            "# do not purge this run yet"
        ),
    }


# ------------------------------------------- admix-showrun's upload cases

DID = make_did(12345, "raw_records", HASH)


def upload_hints_of(  # type: ignore[no-untyped-def]
    doc: dict[str, Any], rules: tuple[Rule, ...] = (), replicas=(), at: datetime = T0
) -> list[tuple[str, str]]:
    from backends.analysis.drilldown import upload_hints
    from backends.model import RunDetail

    run = nt_document_to_run(doc)
    detail = RunDetail(at, run.number, run, rules=rules, replicas=tuple(replicas))
    return [(h.problem, h.command) for h in upload_hints(detail, XENONNT_POLICY)]


def test_files_uploaded_but_no_rule() -> None:
    from backends.model import Replica

    files = [
        Replica(f"xnt_{12345:06d}", f"raw_records-{HASH}-{i:06d}", LNGS, "AVAILABLE")
        for i in range(40)
    ]
    assert upload_hints_of(document(dict(eb(), status="transferring")), (), files) == [
        (
            f"{DID}: files uploaded to {LNGS} but no rule created: create it, then let the "
            "upload go on",
            f"rucio rule add {DID} --copies 1 --rses {LNGS} && admix-fix --fix_upload_db {DID}"
            f" && admix-fix --create_upload_rules {DID}",
        )
    ]
    # One file short: not this case (nothing to say yet).
    assert upload_hints_of(document(dict(eb(), status="transferring")), (), files[1:]) == []


def test_uploaded_but_the_runs_database_not_updated() -> None:
    assert upload_hints_of(document(dict(eb(), status="transferring")), (rule(LNGS),)) == [
        (
            f"{DID}: upload complete, but the runs database is not updated and no rules "
            "abroad are made",
            f"admix-fix --fix_upload_db {DID} && admix-fix --create_upload_rules {DID}",
        )
    ]


def test_uploaded_and_recorded_but_no_rules_abroad() -> None:
    doc = document(dict(eb(), status="transferring"), rucio(LNGS))
    assert upload_hints_of(doc, (rule(LNGS),)) == [
        (
            f"{DID}: upload complete and recorded, but no rules abroad are made",
            f"admix-fix --create_upload_rules {DID}",
        )
    ]


def test_an_event_builder_status_blocking_the_upload() -> None:
    doc = document(dict(eb(), status="bad; rm -rf ~"))
    [(problem, command)] = upload_hints_of(doc)
    assert problem == (
        f"{DID}: the upload never started: the event builder's status 'bad; rm -rf ~' keeps "
        "admix from uploading it"
    )
    assert command == f"admix-fix --set_eb_status {DID} eb_ready_to_upload"
    # Waiting for the upload manager: nothing wrong.
    assert upload_hints_of(document(dict(eb(), status="eb_ready_to_upload"))) == []


def test_uploaded_with_copies_abroad_but_not_flagged_transferred() -> None:
    doc = document(dict(eb(), status="transferring"), rucio(LNGS), rucio(UC))
    assert upload_hints_of(doc, (rule(LNGS), rule(UC))) == [
        (
            f"{DID}: uploaded with copies abroad, but the event builder's status is "
            "'transferring', not transferred",
            f"admix-fix --set_eb_status {DID} transferred",
        )
    ]


def test_an_upload_interrupted_during_the_copy() -> None:
    doc = document(dict(eb(), status="transferring"))
    copying = (rule(LNGS, RuleState.REPLICATING, files=17),)  # last updated at T0
    interrupted = [
        (
            f"{DID}: the upload was interrupted during the copy (17 of 40 files at {LNGS})",
            f"admix-fix --fix_upload {DID}",
        )
    ]
    # Updated 59 min ago: on its way, admix-showrun's case would be a false alarm.
    assert upload_hints_of(doc, copying, at=T0 + timedelta(minutes=59)) == []
    assert upload_hints_of(doc, copying, at=T0 + timedelta(hours=1)) == interrupted
    stuck = (rule(LNGS, RuleState.STUCK, files=17),)
    assert upload_hints_of(doc, stuck, at=T0) == interrupted


def test_a_clean_upload_has_no_upload_hint() -> None:
    assert upload_hints_of(CLEAN, OK_RULES) == []


def test_an_upload_backlog_over_100_datasets_is_an_alarm_and_a_metric() -> None:
    from backends.analysis.alarms import Thresholds, runs_alarms
    from backends.model import RunsSnapshot
    from console.metrics import runs_metrics

    LIMITS = Thresholds()

    def snapshot(waiting: int) -> RunsSnapshot:
        runs = [
            nt_document_to_run(
                document(
                    dict(eb(n=n), status="eb_ready_to_upload" if i < waiting else "transferred"),
                    n=n,
                )
            )
            for i, n in enumerate(range(20000, 20000 + 120))
        ]
        return RunsSnapshot(T0, runs)

    def backlog(waiting: int, limits: Thresholds = LIMITS) -> tuple[list[str], float]:
        snap = snapshot(waiting)
        alarms = [
            a.title
            for a in runs_alarms(snap, limits, T0, XENONNT_POLICY)
            if a.key == "runs.upload_backlog"
        ]
        [family] = [
            f
            for f in runs_metrics(snap, limits, XENONNT_POLICY, None)
            if f.name == "xenon_runs_upload_backlog"
        ]
        return alarms, family.samples[0][1]

    assert backlog(100) == ([], 100.0)
    assert backlog(101) == (["101 datasets waiting for upload"], 101.0)
    assert backlog(3, Thresholds(upload_backlog_warning=3)) == (
        ["3 datasets waiting for upload"],
        3.0,
    )


# ------------------------------------------ the run status and the event builder


def builder_of(bootstrax: Any, status: Any = "transferring") -> Run:
    return nt_document_to_run(dict(CLEAN, status=status, bootstrax=bootstrax))


def test_the_run_status_and_the_event_builders_state_are_read() -> None:
    from backends.model import BuilderState

    retry = T0 + timedelta(hours=2, minutes=40)
    run = builder_of(
        {"state": "failed", "host": "eb3.xenon.local", "n_failures": 3, "next_retry": retry}
    )
    assert run.status == "transferring"
    assert run.builder == BuilderState("failed", "eb3.xenon.local", 3, retry)
    assert run.malformed == ()
    assert nt_document_to_run(CLEAN).builder == BuilderState("done", "eb3.xenon.local", 0)


def test_a_document_without_them_has_none() -> None:
    doc = dict(CLEAN)
    del doc["status"], doc["bootstrax"]
    run = nt_document_to_run(doc)
    assert (run.status, run.builder, run.malformed) == (None, None, ())


@pytest.mark.parametrize(
    ("bootstrax", "status", "expected", "note"),
    [
        ("done", "transferred", ("unknown", None, None, None), "bootstrax is not a document (str)"),
        ({"state": 3}, "transferred", ("unknown", None, None, None), "bootstrax.state 'int'"),
        ({"state": "exploded"}, "transferred", ("unknown", None, None, None), "'exploded'"),
        ({}, "transferred", ("unknown", None, None, None), "no bootstrax.state"),
        (
            {"state": "failed", "host": ["eb1"], "n_failures": -2, "next_retry": "soon"},
            "transferred",
            ("failed", None, None, None),
            "bootstrax.next_retry is not a date (str)",
        ),
        ({"state": "done"}, 7, ("done", None, None, None), "status is not text (int)"),
        ({"state": "done"}, "", ("done", None, None, None), "status is empty"),
    ],
)
def test_malformed_states_are_unknown_with_a_note_never_a_crash(
    bootstrax: Any, status: Any, expected: tuple[Any, ...], note: str
) -> None:
    run = builder_of(bootstrax, status)
    assert run.builder is not None
    b = run.builder
    assert (b.state, b.host, b.n_failures, b.next_retry) == expected
    assert any(note in m for m in run.malformed), run.malformed
    if not isinstance(status, str) or not status:
        assert run.status == "unknown"
    # A malformed state is a note on the run, never a reason against a copy.
    assert data_safety(run, XENONNT_POLICY) == data_safety(
        nt_document_to_run(CLEAN), XENONNT_POLICY
    )


def test_a_runs_status_text_is_kept_shortened_as_untrusted_text() -> None:
    run = builder_of({"state": "done"}, "\x1b[2Jweird" + "x" * 200)
    assert run.status is not None and len(run.status) == 80 and run.malformed == ()


def test_the_drill_down_words_of_the_run_status_and_the_event_builder() -> None:
    from backends.analysis.drilldown import builder_hints, builder_text, run_status_text

    retry = T0 + timedelta(hours=12, minutes=40)
    run = builder_of(
        {"state": "failed", "host": "eb3.xenon.local", "n_failures": 3, "next_retry": retry}
    )
    assert builder_text(run, T0) == "failed (3 failures, next retry 12:40) on eb3.xenon.local"
    assert builder_text(run, T0 - timedelta(days=1)) == (
        "failed (3 failures, next retry 2024-05-01 12:40) on eb3.xenon.local"
    )
    assert run_status_text(run) == "transferring"
    assert run_status_text(builder_of({"state": "done"}, "stuck")) == "stuck (trouble)"
    assert builder_text(builder_of({"state": "busy"})) == "busy"
    assert builder_hints(run) == []
    gave_up = builder_of({"state": "failed", "n_failures": 10})
    assert builder_text(gave_up) == "failed (10 failures, no more retries)"
    [hint] = builder_hints(gave_up)
    assert hint.command == "bootstrax --process 12345   # on an event builder"
    xenon1t = Run(12345, "x", T0, None, "tpc", "none", (), None, None)
    assert (builder_text(xenon1t), run_status_text(xenon1t), builder_hints(xenon1t)) == (
        None,
        None,
        [],
    )


def test_the_simulators_xenonnt_runs_carry_a_status_and_an_event_builder_state() -> None:
    from collections import Counter

    from backends.mongo.xenonnt import run_to_nt_document
    from backends.simulator import SimulatorBackend

    runs = SimulatorBackend({"runs": 720, "speed": 0, "profile": "xenonnt"}).fetch_runs().runs
    states = Counter(r.builder.state for r in runs if r.builder is not None)
    assert set(states) == {"done", "busy", "failed", "abandoned"} and states["busy"] == 1
    assert {r.status for r in runs} <= {"eb_ready_to_upload", "transferring", "transferred"}
    failed = next(r for r in runs if r.builder is not None and r.builder.state == "failed")
    assert failed.builder is not None and failed.builder.next_retry is not None
    assert failed.builder.n_failures in (1, 2, 3) and failed.malformed == ()
    # The XENON1T runs have none of it.
    plain = SimulatorBackend({"runs": 50, "speed": 0}).fetch_runs().runs
    assert all(r.status is None and r.builder is None for r in plain)
    # What export-mongo writes is what the simulator's xenonnt profile reads.
    assert all(
        nt_document_to_run(run_to_nt_document(r)).builder is not None
        for r in SimulatorBackend({"runs": 50, "speed": 0}).fetch_runs().runs
    )


def test_the_runs_pane_says_eb_failed_or_abandoned_in_the_processing_cell() -> None:
    from backends.analysis.run_index import tabled
    from console.render.runs import build_row

    runs = [
        nt_document_to_run(dict(CLEAN, number=n, bootstrax=b))
        for n, b in (
            (1, {"state": "failed", "n_failures": 2}),
            (2, {"state": "failed", "n_failures": 5, "host": "eb5.xenon.local"}),
            (3, {"state": "abandoned"}),
            (4, {"state": "done"}),
        )
    ]
    table = tabled(runs, XENONNT_POLICY)
    facts = [table.fact(i) for i in range(4)]
    assert [f.builder for f in facts] == ["EB failed", "EB failed", "abandoned", ""]
    # Failed twice or five times, on any host: one judgement, derived once.
    assert table.codes[0] == table.codes[1] != table.codes[2]
    cells = [
        build_row(r, None, None, XENONNT_POLICY, f).cells[5]
        for r, f in zip(runs, facts, strict=True)
    ]
    assert [c.plain for c in cells] == ["EB failed", "EB failed", "abandoned", "waiting"]
    assert all(len(c.plain) <= 10 for c in cells)
    assert "eb failed" in facts[0].search and "abandoned" in facts[2].search

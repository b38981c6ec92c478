"""The mongo backend over the wire: a real server on loopback (secantusd, and
a real mongod when XENON_CONSOLE_TEST_MONGO_URI is set).

The data comes from ``xenon-console sim export-mongo``, so what the backend
reads back is compared with the simulator that wrote it.
"""

from __future__ import annotations

import hashlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bson
import pymongo
import pytest
from bson.datetime_ms import DatetimeMS
from pymongo import monitoring

from backends.model import Kind, TapeState
from backends.mongo import MongoBackend
from backends.mongo.documents import document_to_run
from backends.simulator import SimulatorBackend
from backends.sources import BackendConfigError, SourceError
from console.cli import main
from console.config import ConfigError, load_config
from console.fetching import Backends, fetch_one
from tests.mongo.server import free_port
from tests.mongo.test_documents import MESSY, as_stored

PASSWORD = "hunter2-Xq9"
#: Every command a read-only client may send: the queries, and the driver's
#: own handshakes, monitoring and clean-up.
READ_COMMANDS = {
    "find",
    "getMore",
    "killCursors",
    "endSessions",
    "ping",
    "hello",
    "isMaster",
    "ismaster",
    "buildInfo",
    "saslStart",
    "saslContinue",
}


def export(uri: str, db: str, *args: str) -> int:
    return main(["sim", "export-mongo", uri, "--database", db, *args])


def documents_digest(client: pymongo.MongoClient, db: str) -> str:
    """Everything in the database, as a digest: to prove nothing was written."""
    h = hashlib.sha256()
    for name in sorted(client[db].list_collection_names()):
        h.update(name.encode())
        coll = client[db][name]
        for index in sorted(str(i) for i in coll.list_indexes()):
            h.update(index.encode())
        for doc in coll.find({}, sort=[("_id", 1)]):
            h.update(bson.encode(doc))
    return h.hexdigest()


class Commands(monitoring.CommandListener):
    def __init__(self) -> None:
        self.names: list[str] = []
        self._lock = threading.Lock()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        with self._lock:
            self.names.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def test_export_then_read_back_what_the_simulator_wrote(
    server_uri: str, db_name: str, capsys: pytest.CaptureFixture
) -> None:
    assert export(server_uri, db_name, "--scenario", "tape-checksum") == 0
    assert capsys.readouterr().out.strip() == f"wrote 720 runs to {db_name}.runs_new"
    sim = SimulatorBackend({"scenario": "tape-checksum", "speed": 0})
    backend = MongoBackend({"uri": server_uri, "database": db_name}, clock=lambda: sim.now)
    try:
        runs = backend.fetch_runs()
        assert backend.last_read == ("full", 720)
        assert list(runs.runs) == [as_stored(r) for r in sim.fetch_runs().runs]
        assert runs.data_taking is True  # the newest run is still being written
        tape = backend.fetch_tape()
        assert backend.last_read[0] == "tail" and 150 < backend.last_read[1] < 200
        failed = [u for u in tape.uploads if u.state is TapeState.FAILED]
        assert len(failed) == 23
        assert tape.verified_runs == sim.fetch_tape().verified_runs
        detail = backend.fetch_run_detail(failed[0].run_number)
        assert detail.run is not None and detail.tape[0].state is TapeState.FAILED
    finally:
        backend.close()

    # A second export refuses to mix histories; --drop replaces the first.
    assert export(server_uri, db_name) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already holds documents; use --drop" in err
    assert export(server_uri, db_name, "--drop", "--runs", "50") == 0
    client = pymongo.MongoClient(server_uri)
    try:
        assert client[db_name].runs_new.count_documents({}) == 50
    finally:
        client.close()


def test_the_backend_only_ever_reads(server_uri: str, db_name: str) -> None:
    assert export(server_uri, db_name, "--runs", "300") == 0
    client = pymongo.MongoClient(server_uri)
    before = documents_digest(client, db_name)
    commands = Commands()
    backend = MongoBackend(
        {"uri": server_uri, "database": db_name, "full_every": 0.001},
        client_options={"event_listeners": [commands]},
    )
    try:
        for _ in range(2):
            assert len(backend.fetch_runs().runs) == 300
            backend.fetch_tape()
        backend.fetch_run_detail(backend.fetch_runs().runs[5].number)
        backend.fetch_run_detail(-7)
    finally:
        backend.close()
    assert "find" in commands.names
    assert set(commands.names) <= READ_COMMANDS, set(commands.names) - READ_COMMANDS
    assert documents_digest(client, db_name) == before
    client.close()


def test_messy_documents_over_the_wire(server_uri: str, db_name: str) -> None:
    client = pymongo.MongoClient(server_uri)
    coll = client[db_name].runs_new
    coll.insert_many([dict(d) for d in MESSY])
    # A date outside Python's range: mongod stores it, secantusd refuses it
    # (the decoding side is tested without a server below).
    try:
        coll.insert_one({"number": 11, "name": "far", "start": DatetimeMS(2**62), "data": []})
        far = [11]
    except pymongo.errors.OperationFailure:
        far = []
    client.close()
    backend = MongoBackend({"uri": server_uri, "database": db_name})
    try:
        runs = backend.fetch_runs().runs
    finally:
        backend.close()
    assert [r.number for r in runs] == [-1, 1, 2, 3, 4, 5, 6, 7, 9, 10, *far]
    assert {r.number for r in runs if r.malformed} == {-1, 2, 3, 4, 5, 6, 7, 9, *far}
    if far:
        assert "start is not a date (DatetimeMS)" in runs[-1].malformed


def test_undecodable_values_spoil_one_field_not_the_batch() -> None:
    """What the backend's client does with an out-of-range date and bad UTF-8."""
    backend = MongoBackend({"uri": "mongodb://127.0.0.1:1/"})
    codec = backend._collection().codec_options
    backend.close()
    raw = bson.encode({"number": 12, "name": "xx", "start": DatetimeMS(2**62), "data": []})
    raw = raw.replace(b"xx", b"\xff\xfe")  # not UTF-8
    run = document_to_run(bson.decode(raw, codec_options=codec))
    assert run.number == 12
    assert run.name == "\ufffd\ufffd"
    assert "start is not a date (DatetimeMS)" in run.malformed


@pytest.fixture
def closed_port() -> int:
    return free_port()


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never says a word."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def _config(tmp_path: Path, options: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f"""
[panes]
runs = "mongo"
tape = "mongo"

[backends.mongo]
type = "mongo"
{options}

[timeouts]
runs = 60
tape = 60
""")
    return path


@pytest.mark.parametrize("where", ["uri", "environment"])
def test_a_dead_server_fails_fast_and_no_password_is_ever_shown(
    tmp_path: Path, closed_port: int, where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if where == "uri":
        uri = f"mongodb://xe1t:{PASSWORD}@127.0.0.1:{closed_port}/run"
    else:
        uri = f"mongodb://xe1t@127.0.0.1:{closed_port}/run"
        monkeypatch.setenv("MONGO_PASSWORD", PASSWORD)
    config = load_config(_config(tmp_path, f'uri = "{uri}"\nserver_selection_timeout = 0.5'))
    sources = Backends(config)
    try:
        backend = sources.for_kind(Kind.RUNS)
        assert isinstance(backend, MongoBackend)
        assert backend.settings.password == PASSWORD
        assert PASSWORD not in repr(backend.settings)
        for kind in (Kind.RUNS, Kind.TAPE):
            result = fetch_one(sources, kind)
            assert result.snapshot is None
            assert result.error is not None
            # The backend's own error, well before the console's 60 s timeout.
            assert result.error.startswith(
                f"SourceError: cannot reach the runs database at 127.0.0.1:{closed_port} "
                "within 0.5 s: "
            )
            assert "Connection refused" in result.error
            assert PASSWORD not in result.error and "\n" not in result.error
        with pytest.raises(SourceError) as caught:
            backend.fetch_run_detail(1)
        assert PASSWORD not in str(caught.value)
    finally:
        sources.close()


def test_a_server_that_never_answers_fails_within_the_configured_time(silent_server: int) -> None:
    backend = MongoBackend(
        {
            "uri": f"mongodb://127.0.0.1:{silent_server}/",
            "server_selection_timeout": 0.5,
            "connect_timeout": 0.3,
        }
    )
    try:
        with pytest.raises(SourceError) as caught:
            backend.fetch_runs()
    finally:
        backend.close()
    assert str(caught.value).startswith(
        f"cannot reach the runs database at 127.0.0.1:{silent_server} within 0.5 s"
    )
    assert "timed out" in str(caught.value)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("", "uri is required"),
        ('uri = "http://db/"', "uri must start with mongodb:// or mongodb+srv://"),
        (f'uri = "mongodb://xe:{PASSWORD}@db:port/"', "uri is not valid: "),
        ('uri = "mongodb://db/"\ndatabase = 3', "database must be a MongoDB name, got 3"),
        ('uri = "mongodb://db/"\ncollection = "a b"', "collection must be a MongoDB name"),
        (
            'uri = "mongodb://db/"\nread_preference = "fastest"',
            "read_preference must be one of primary, primaryPreferred, secondary, "
            "secondaryPreferred, nearest, got 'fastest'",
        ),
        (
            'uri = "mongodb://db/"\nsocket_timeout = 0',
            "socket_timeout must be a positive number of seconds, got 0",
        ),
        (
            'uri = "mongodb://db/"\nrecent_days = "a week"',
            "recent_days must be a positive number of days, got 'a week'",
        ),
        ('uri = "mongodb://db/"\npassword = "x"', "unknown mongo option 'password'"),
    ],
)
def test_bad_config_is_one_line_naming_the_option(
    tmp_path: Path, options: str, message: str
) -> None:
    with pytest.raises((ConfigError, BackendConfigError)) as caught:
        Backends(load_config(_config(tmp_path, options)))
    text = str(caught.value)
    # The file, then the section and key: where to look (it once named no file).
    assert text.startswith(f"{tmp_path / 'config.toml'}: [backends.mongo] ")
    assert message in text
    assert "\n" not in text and PASSWORD not in text
    assert main(["--config", str(tmp_path / "config.toml"), "report"]) == 2


def test_export_xenonnt_then_read_back_with_the_xenonnt_profile(
    server_uri: str, db_name: str, daq_name: str, capsys: pytest.CaptureFixture
) -> None:
    """``sim export-mongo --profile xenonnt`` writes XENONnT documents into
    ``runs``; the backend with ``profile = "xenonnt"`` reads them back, and
    the XENONnT policy says "safe" of exactly the simulated runs with
    transferred copies at UC_OSG_USERDISK and SURFSARA_USERDISK once Rucio
    confirms them, and of none before."""
    from backends.analysis.policy import XENONNT_POLICY
    from backends.analysis.rucio_evidence import rules_by_did, with_rucio
    from backends.analysis.safety import data_safety, purge_verdict
    from backends.model import Rule, RuleState
    from backends.mongo.xenonnt import file_count

    nt = ("--profile", "xenonnt", "--heartbeat-database", daq_name)
    assert export(server_uri, db_name, *nt, "--runs", "300") == 0
    assert capsys.readouterr().out.splitlines() == [
        f"wrote 300 runs to {db_name}.runs",
        f"wrote 18 heartbeats to {daq_name}.eb_monitor",
    ]
    # The runs as the XENONnT simulation holds them (its destinations).
    sim = SimulatorBackend({"runs": 300, "speed": 0, "profile": "xenonnt"})
    simulated = {r.number: r for r in sim.simulated_runs().runs}
    backend = MongoBackend(
        {"uri": server_uri, "database": db_name, "profile": "xenonnt"}, clock=lambda: sim.now
    )
    try:
        runs = backend.fetch_runs().runs
    finally:
        backend.close()
    assert [r.number for r in runs] == sorted(simulated)
    assert all(not r.malformed for r in runs)
    by_number = {r.number: r for r in runs}
    for number in (min(simulated), max(simulated)):
        run, sim_run = by_number[number], simulated[number]
        assert (run.start, run.detector, run.source, run.tags) == (
            as_stored(sim_run).start,
            sim_run.detector,
            sim_run.source,
            sim_run.tags,
        )
    # The run status and the event builder's state round-trip (BSON keeps ms).
    nt = SimulatorBackend({"runs": 300, "speed": 0, "profile": "xenonnt"}).fetch_runs().runs

    def builder(run: Any) -> tuple[Any, ...]:
        b = run.builder
        retry = (
            b.next_retry.replace(microsecond=b.next_retry.microsecond // 1000 * 1000)
            if (b.next_retry is not None)
            else None
        )
        return (run.status, b.state, b.host, b.n_failures, retry)

    assert [builder(r) for r in runs] == [builder(r) for r in nt]
    assert {r.builder.state for r in runs if r.builder} >= {"done", "failed"}
    assert not any(data_safety(r, XENONNT_POLICY).safe for r in runs)
    assert not any(purge_verdict(r, XENONNT_POLICY).allowed for r in runs)
    on_eb = [r for r in runs if any(c.host.startswith("eb") for c in r.copies)]
    assert on_eb and all(
        purge_verdict(r, XENONNT_POLICY).on_buffer for r in on_eb
    )  # the event builders' copies are the buffer

    # Rucio confirms every copy the runs database calls transferred.
    rules = [
        Rule(
            f"id{r.number}{c.rse}",
            *str(c.did).split(":"),
            str(c.rse),
            RuleState.OK,
            file_count(simulated[r.number]),
            0,
            0,
            1,
            sim.now,
            sim.now,
        )
        for r in runs
        for c in r.copies
        if c.did and c.status == "transferred"
    ]
    confirmed = [with_rucio(r, rules_by_did(rules)) for r in runs]
    safe = {r.number for r in confirmed if data_safety(r, XENONNT_POLICY).safe}
    expected = {
        n
        for n, r in simulated.items()
        if r.detector == "tpc"
        and {"UC_OSG_USERDISK", "SURFSARA_USERDISK"}
        <= {c.rse for c in r.copies if c.host == "rucio-catalogue" and c.status == "transferred"}
    } | {
        n
        for n, r in simulated.items()
        if r.detector == "muon_veto"
        and any(
            c.host == "rucio-catalogue" and c.status == "transferred" and c.rse != "LNGS_USERDISK"
            for c in r.copies
        )
    }
    assert safe == expected and 0 < len(safe) < len(runs)


def test_xenonnt_over_the_wire_with_the_simulators_rucio_for_the_transfers_pane(
    server_uri: str, db_name: str, daq_name: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """The runs from a XENONnT runs database (``--profile xenonnt`` on the
    wire server), Rucio's word from the transfers pane (the simulator's
    Rucio, XENONnT's DIDs): ``report --json`` says "safe" of exactly the runs
    the simulator itself confirms, and of none without the transfers pane."""
    import json

    from backends.analysis.policy import XENONNT_POLICY
    from backends.analysis.rucio_evidence import evidence_of, joined_runs
    from backends.analysis.safety import data_safety

    nt = ("--profile", "xenonnt", "--heartbeat-database", daq_name)
    assert export(server_uri, db_name, *nt, "--runs", "300") == 0
    capsys.readouterr()
    sim = SimulatorBackend({"runs": 300, "speed": 0, "profile": "xenonnt"})
    expected = {
        r.number
        for r in joined_runs(sim.fetch_runs(), evidence_of(sim.fetch_transfers())).runs
        if data_safety(r, XENONNT_POLICY).safe
    }
    assert expected
    path = tmp_path / "config.toml"
    config = (
        '[panes]\nruns = "rundb"\ntape = false\ntransfers = "simulator"\n'
        f'[backends.rundb]\ntype = "mongo"\nuri = "{server_uri}"\ndatabase = "{db_name}"\n'
        f'profile = "xenonnt"\nheartbeat_database = "{daq_name}"\n'
        '[backends.simulator]\nruns = 300\nspeed = 0\nprofile = "xenonnt"\n'
    )
    path.write_text(config)
    assert main(["--config", str(path), "report", "--json"]) == 0
    newest = json.loads(capsys.readouterr().out)["runs"]["newest"]
    assert {r["number"] for r in newest if r["safe"]} == expected & {r["number"] for r in newest}
    assert any(r["safe"] for r in newest)
    path.write_text(config.replace('transfers = "simulator"', "transfers = false"))
    assert main(["--config", str(path), "report", "--json"]) == 0
    newest = json.loads(capsys.readouterr().out)["runs"]["newest"]
    assert not any(r["safe"] for r in newest)
    assert any("is unverified in Rucio (no transfers pane)" in r["safety_reason"] for r in newest)


def test_an_exported_eb_silent_database_raises_eb_silent_and_a_nominal_one_does_not(
    server_uri: str,
    db_name: str,
    daq_name: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``export-mongo --profile xenonnt`` writes each event builder's
    heartbeats into the DAQ database as the simulator has them at export
    time: from ``eb-silent``, the mongo backend (and ``check`` on it) says
    ``eb.silent`` of eb4, 20 min, as the simulator does; ``--drop`` replaces
    them with a nominal export's, which raises no ``eb.silent``; an
    event builder whose documents are gone is never seen."""
    from backends.analysis.alarms import Severity, Thresholds, runs_alarms
    from backends.analysis.policy import XENONNT_POLICY

    nt = ("--profile", "xenonnt", "--heartbeat-database", daq_name, "--runs", "200")
    assert export(server_uri, db_name, *nt, "--scenario", "eb-silent") == 0
    capsys.readouterr()
    sim = SimulatorBackend({"runs": 200, "speed": 0, "profile": "xenonnt", "scenario": "eb-silent"})
    options = {
        "uri": server_uri,
        "database": db_name,
        "profile": "xenonnt",
        "heartbeat_database": daq_name,
    }

    def read() -> Any:
        backend = MongoBackend(options, clock=lambda: sim.now)
        try:
            return backend.fetch_runs()
        finally:
            backend.close()

    def eb_silent(snap: Any) -> list[Any]:
        return [
            a
            for a in runs_alarms(snap, Thresholds(), sim.now, XENONNT_POLICY)
            if a.key == "eb.silent"
        ]

    snap = read()
    assert snap.heartbeats_error is None
    # BSON keeps milliseconds; the simulator's heartbeats are on whole seconds.
    assert snap.heartbeats == sim.fetch_runs().heartbeats
    [alarm] = eb_silent(snap)
    assert alarm.severity is Severity.WARNING and alarm.title == "1 event builder silent"
    assert alarm.detail == "no heartbeat for over 300 s: eb4.xenon.local 20 min"
    # check's backend reads at the export's time (the simulator's clock).
    monkeypatch.setattr("backends.mongo._utcnow", lambda: sim.now)
    path = tmp_path / "config.toml"
    path.write_text(
        '[panes]\nruns = "rundb"\ntape = false\ntransfers = false\nbuffer = false\n'
        "jobs = false\n"
        f'[backends.rundb]\ntype = "mongo"\nuri = "{server_uri}"\ndatabase = "{db_name}"\n'
        f'profile = "xenonnt"\nheartbeat_database = "{daq_name}"\n'
    )
    main(["--config", str(path), "check", "-v"])
    out = capsys.readouterr().out
    assert "1 event builder silent" in out and "eb4.xenon.local" in out, out

    # Without --drop, the heartbeats are not mixed either.
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(server_uri)
    try:
        client[db_name].runs.drop()
        assert export(server_uri, db_name, *nt) == 2
        assert f"{daq_name}.eb_monitor already holds documents; use --drop" in (
            capsys.readouterr().err
        )
        assert client[db_name].runs.count_documents({}) == 0
        assert export(server_uri, db_name, *nt, "--drop") == 0
        capsys.readouterr()
        assert client[daq_name].eb_monitor.count_documents({}) == 18
        snap = read()
        assert snap.heartbeats is not None and len(snap.heartbeats) == 6
        assert eb_silent(snap) == []
        # A host whose heartbeats are gone: never seen, silent.
        client[daq_name].eb_monitor.delete_many({"host": "eb5.xenon.local"})
    finally:
        client.close()
    [never] = eb_silent(read())
    assert never.detail == "never seen (no heartbeat at all): eb5.xenon.local"
    main(["--config", str(path), "check", "-v"])
    assert "never seen (no heartbeat at all): eb5.xenon.local" in capsys.readouterr().out

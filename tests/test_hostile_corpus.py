"""Hostile text from every backend field into every output (issue 14).

The fake backend puts each string of a corpus (Rich markup, CSI and OSC
sequences, OSC 52 clipboard writes, 8-bit C1 controls, DEL, bidi overrides,
newlines, a long string) into every text field it serves: errors, hold
reasons, dsmc messages, RSE and site names, a run's name and source. Nothing
of C0 (but the layout's own newlines), C1, DEL or bidi may reach the screen
(the panes, a run's drill-down, the alarms screen), ``report`` (text and
JSON) or a recording; markup is shown as text, never interpreted.
"""

from __future__ import annotations

import gzip
import io
import json
import re
from pathlib import Path

import pytest
from rich.console import Console

from backends.model import Kind
from console.app import XenonConsole
from console.config import load_config
from console.fetching import Backends, fetch_all
from console.recording import RecordingWriter
from console.report import render_report, report_data
from console.safe_text import json_text
from console.screens.run_details import RunDetailsScreen
from tests.condor_text_transport import TextTransport, parse_long
from tests.fakes import FakeBackend
from tests.screen import screen_text, wait_for
from tests.test_app_sources import CONFIG

CORPUS = {
    "markup": "[bold red]INJECTED[/] [link=http://e.vil]x[/link] [/]",
    "csi": "a\x1b[2J\x1b[31mred\x1b[0m\x1b[?1049h",
    "osc52": "b\x1b]52;c;dG91Y2ggL3RtcC94\x07\x1b]0;title\x1b\\",
    "c1": "c\x9b2J\x9d0;t\x9c\x85\x90dcs\x9c",
    "c0": "d\x00\x07\x08\x0b\x0c\r\x7fe",
    "bidi": "f\u202egnp.exe\u2066\u2069\u202a",
    "newline": "g\nRun 1 safe\n\tindented",
    "long": "h" * 5000,
}

#: What must never reach an output (the layout's own newlines aside).
FORBIDDEN = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def hostile_config(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    fake = FakeBackend()
    fake.hostile = True
    fake.hostile_text = text
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    config = load_config(path)
    return fake, config, Backends(config, factory=lambda _type, _options: fake)


async def details_and_alarms(pilot, app: XenonConsole, number: int) -> list[str]:  # type: ignore[no-untyped-def]
    """The screens of run ``number``'s drill-down and of the alarms screen."""
    app.open_run(number)
    await wait_for(pilot, lambda: isinstance(app.screen, RunDetailsScreen))
    await pilot.pause(0.3)
    shown = [screen_text(app)]
    await pilot.press("escape", "a")
    await pilot.pause()
    shown.append(screen_text(app))
    return shown


def assert_clean(screens: list[str], name: str) -> None:
    """No control character on any screen, and no line a newline faked."""
    for shown in screens:
        assert not FORBIDDEN.search(shown), (name, FORBIDDEN.findall(shown)[:5])
        assert not any(
            line.lstrip("│▲ ").startswith(("Run 1 safe", "indented")) for line in shown.splitlines()
        ), name


def hostile_runs_database(text: str):  # type: ignore[no-untyped-def]
    """The tape-checksum history as run documents on mongomock, the newest 40
    with ``text`` in their name, source, copy statuses and RSEs: (the
    simulator, the documents, the client)."""
    import mongomock

    from backends.mongo.documents import run_to_document
    from backends.simulator import SimulatorBackend

    sim = SimulatorBackend({"scenario": "tape-checksum", "speed": 0})
    docs = [run_to_document(r) for r in sim.fetch_runs().runs]
    for doc in docs[-40:]:
        doc["name"] = text
        doc["source"] = {"type": text}
        for copy in doc.get("data", []):
            copy["status"] = copy.get("status", "") + text
            copy["rse"] = [text]
    client = mongomock.MongoClient(tz_aware=True)
    client.run.runs_new.insert_many(docs)
    return sim, docs, client


def hostile_dsmc_log(text: str, run: int = 6732) -> str:
    """A failed upload's dsmc log of ``run`` with ``text`` as its error
    message and in an object path."""
    failed = (Path(__file__).parent / "fixtures" / "dsmc" / "6732_failed.log").read_text()
    return (
        failed.replace("Session rejected: TCP/IP connection failure.", text)
        .replace("XENON1T-6732-000001000", "XENON1T-6732-" + text[:200])
        .replace("6732", str(run))
    )


@pytest.mark.parametrize("name", list(CORPUS))
async def test_no_control_reaches_the_screen(name: str, tmp_path: Path) -> None:
    _, config, sources = hostile_config(tmp_path, CORPUS[name])
    app = XenonConsole(config, sources)
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_for(pilot, lambda: all(app.pane(k).snapshot is not None for k in Kind))
        await pilot.pause()
        screens = [screen_text(app)]
        # 1009: the run whose name is the hostile text
        screens += await details_and_alarms(pilot, app, 1009)
    assert_clean(screens, name)
    if name == "markup":
        assert "[bold red]INJECTED[/]" in screens[0]


@pytest.mark.parametrize("name", list(CORPUS))
def test_no_control_reaches_report_json_or_a_recording(name: str, tmp_path: Path) -> None:
    _, config, sources = hostile_config(tmp_path, CORPUS[name])
    try:
        results = fetch_all(sources, config)
    finally:
        sources.close()
    out = io.StringIO()
    render_report(results, config, Console(file=out, width=120, color_system=None))
    text = out.getvalue()
    assert not FORBIDDEN.search(text), FORBIDDEN.findall(text)[:5]
    assert not any(line.lstrip().startswith("Run 1 safe") for line in text.splitlines())
    data = report_data(results, config)
    encoded = json_text(data, indent=2)
    assert not FORBIDDEN.search(encoded)
    assert json.loads(encoded) == json.loads(json.dumps(data))  # the same values
    path = tmp_path / "night.rec"
    with RecordingWriter(path, meta={}) as writer:
        for result in results.values():
            writer.write(result, 0.0)
    raw = gzip.decompress(path.read_bytes()).decode("utf-8")
    assert not FORBIDDEN.search(raw.replace("\n", ""))


@pytest.mark.parametrize("name", list(CORPUS))
def test_hostile_documents_in_the_runs_database_reach_no_output(name: str) -> None:
    """The same corpus through the mongo backend's own parser: run names,
    sources, copy statuses, hosts and RSE names of real documents."""

    from backends.analysis.drilldown import detail_from_snapshots, hints
    from backends.mongo import MongoBackend
    from console.fetching import Result

    text = CORPUS[name]
    sim, _, client = hostile_runs_database(text)
    backend = MongoBackend(
        {"uri": "mongodb://db.example/run"}, client=client, clock=lambda: sim.now
    )
    runs, tape = backend.fetch_runs(), backend.fetch_tape()
    results = {
        Kind.RUNS: Result(Kind.RUNS, "mongo", runs, None, 0.0),
        Kind.TAPE: Result(Kind.TAPE, "mongo", tape, None, 0.0),
    }
    config = load_config(None)
    out = io.StringIO()
    render_report(results, config, Console(file=out, width=120, color_system=None))
    assert not FORBIDDEN.search(out.getvalue())
    assert not FORBIDDEN.search(json_text(report_data(results, config)))
    snaps = {Kind.RUNS: runs, Kind.TAPE: tape}
    found = 0
    for run in runs.runs[-40:]:
        detail = detail_from_snapshots(run.number, snaps, runs.taken_at)
        for hint in hints(detail, runs.taken_at):
            found += 1
            assert text not in hint.command
            assert not FORBIDDEN.search(hint.command)
    assert found  # the hostile runs are unsafe: there is something to do


@pytest.mark.parametrize("name", list(CORPUS))
def test_hostile_dsmc_logs_reach_no_output(name: str, tmp_path: Path) -> None:
    """The same corpus through the tsm backend's dsmc log parser: error
    messages and object paths of a failed upload's log."""
    from datetime import UTC, datetime

    from backends.tsm import TsmBackend
    from console.fetching import Result

    text = CORPUS[name]
    log_dir = tmp_path / "dsmc"
    log_dir.mkdir()
    (log_dir / "6732_failed.log").write_text(
        hostile_dsmc_log(text), encoding="utf-8", errors="surrogateescape"
    )
    now = datetime(2017, 11, 15, 12, 0, tzinfo=UTC)
    tape = TsmBackend({"log_dir": str(log_dir)}, clock=lambda: now).fetch_tape()
    results = {Kind.TAPE: Result(Kind.TAPE, "tsm", tape, None, 0.0)}
    config = load_config(None)
    out = io.StringIO()
    render_report(results, config, Console(file=out, width=120, color_system=None))
    assert "6732" in out.getvalue()
    # The hostile text was read into the upload (an object path, a message).
    [upload] = tape.uploads
    assert "ANS1228E" in (upload.message or "")
    if name == "markup":
        assert "XENON1T-6732-[bold red]INJECTED[/]" in (upload.message or "")
    assert not FORBIDDEN.search(out.getvalue())
    assert not FORBIDDEN.search(json_text(report_data(results, config)))


@pytest.mark.parametrize("name", list(CORPUS))
def test_hostile_rucio_records_reach_no_output(name: str) -> None:
    """The same corpus through the rucio backend's record parser: rule ids,
    scopes, RSE expressions and errors of ``list_replication_rules``, RSE
    names of ``list_rses``; into the report, JSON and the rules' hints."""
    import re as regex
    from datetime import UTC, datetime

    from backends.analysis.drilldown import Hint, hints
    from backends.model import RunDetail, TransfersSnapshot
    from backends.rucio.aggregate import RunMatcher, rse_status, rule_from_dict
    from backends.rucio.options import DEFAULT_RUN_PATTERN
    from console.fetching import Result

    text = CORPUS[name]
    now = datetime(2017, 11, 15, 12, 0, tzinfo=UTC)
    matcher = RunMatcher(regex.compile(DEFAULT_RUN_PATTERN))
    records = [
        {
            "id": rule_id,
            "scope": scope,
            "name": "raw",
            "rse_expression": rse,
            "state": "STUCK",
            "locks_ok_cnt": 1,
            "locks_replicating_cnt": 0,
            "locks_stuck_cnt": 2,
            "bytes": None,
            "created_at": "2017-11-15T06:00:00",
            "updated_at": "2017-11-15T07:00:00",
            "stuck_at": "2017-11-15T07:00:00",
            "error": text,
        }
        for rule_id, scope, rse in (
            (text, "x1t_SR001_171115_1200_tpc", "NIKHEF_USERDISK"),
            ("0" * 32, text, text),
        )
    ]
    rules = tuple(rule_from_dict(r, matcher) for r in records)
    rses = (rse_status({"rse": text}, [{"source": "storage", "used": 1, "free": 1}]),)
    snapshot = TransfersSnapshot(now, rses, rules)
    results = {Kind.TRANSFERS: Result(Kind.TRANSFERS, "rucio", snapshot, None, 0.0)}
    config = load_config(None)
    out = io.StringIO()
    render_report(results, config, Console(file=out, width=120, color_system=None))
    assert not FORBIDDEN.search(out.getvalue())
    assert not FORBIDDEN.search(json_text(report_data(results, config)))
    found: list[Hint] = hints(RunDetail(now, 1, rules=rules), now)
    assert len(found) == 2
    for hint in found:
        assert not text or text not in hint.command
        assert not FORBIDDEN.search(hint.command)


@pytest.mark.parametrize("name", list(CORPUS))
def test_hostile_condor_ads_reach_no_output(name: str) -> None:
    """The same corpus through the condor backend's ad reader: hold reasons,
    sites, owners and the schedd's name; into the report, JSON and hints."""
    from datetime import UTC, datetime

    from backends.analysis.drilldown import hints
    from backends.condor.ads import AdReader
    from backends.condor.aggregate import read_ads, snapshot
    from backends.condor.run_mapping import RunMapper
    from backends.model import RunDetail
    from console.fetching import Result

    text = CORPUS[name]
    now = datetime(2017, 11, 15, 12, 0, tzinfo=UTC)
    queued = int(now.timestamp()) - 3600
    ads = [
        {
            "ClusterId": 100 + i,
            "ProcId": 0,
            "JobStatus": 5,
            "QDate": queued,
            "EnteredCurrentStatus": queued,
            "HoldReason": text,
            "HoldReasonCode": 34,
            "Owner": text,
            "MATCH_EXP_JOB_GLIDEIN_Site": text,
            "RunNumber": 6732,
        }
        for i in range(3)
    ]
    reader = AdReader(text or "schedd", ("MATCH_EXP_JOB_GLIDEIN_Site",), RunMapper())
    read = read_ads(reader, ads)
    assert len(read.jobs) == 3, read.first_problem
    snap = snapshot(now, [text or "schedd"], {text or "schedd": read.jobs}, {})
    results = {Kind.JOBS: Result(Kind.JOBS, "condor", snap, None, 0.0)}
    config = load_config(None)
    out = io.StringIO()
    render_report(results, config, Console(file=out, width=120, color_system=None))
    assert not FORBIDDEN.search(out.getvalue())
    assert not FORBIDDEN.search(json_text(report_data(results, config)))
    found = hints(RunDetail(now, 6732, jobs=snap.jobs), now)
    assert found and all(not FORBIDDEN.search(h.command) for h in found)
    assert all(text not in h.command for h in found)


@pytest.mark.parametrize("name", list(CORPUS))
async def test_hostile_documents_and_logs_through_the_real_backends_reach_no_screen(
    name: str, tmp_path: Path
) -> None:
    """The corpus through every real backend into the TUI: mongo (run
    documents on mongomock), tsm (a failed upload's dsmc log), rucio (rule
    records and RSE names from a client that answers like rucio-clients) and
    condor (held jobs' ads from a schedd): every pane, a hostile run's
    drill-down and the alarms screen."""

    from backends.condor import CondorBackend
    from backends.condor.classad_text import queue_text
    from backends.mongo import MongoBackend
    from backends.rucio import RucioBackend
    from backends.simulator import SCHEDD, SimulatorBackend
    from backends.tsm import TsmBackend

    text = CORPUS[name]
    sim, docs, client = hostile_runs_database(text)
    hostile_number = docs[-5]["number"]
    log_dir = tmp_path / "dsmc"
    log_dir.mkdir()
    (log_dir / f"{hostile_number}_failed.log").write_text(
        hostile_dsmc_log(text, hostile_number), encoding="utf-8", errors="surrogateescape"
    )
    scope = docs[-5]["data"][1]["location"].split(":")[0]  # the hostile run's DID

    class RucioClient:
        """Answers as rucio-clients does, every text field hostile."""

        account = "xenon"
        requests_sent: dict[str, int] = {}

        def list_rses(self, expression: str):  # type: ignore[no-untyped-def]
            return [{"rse": "NIKHEF_USERDISK"}, {"rse": text or "X"}]

        def get_rse_usage(self, rse: str):  # type: ignore[no-untyped-def]
            return [{"source": "storage", "used": 10**12, "free": 10**12}]

        def list_replication_rules(self, filters):  # type: ignore[no-untyped-def]
            return [
                {
                    "id": f"{n:032x}",
                    "scope": scope,
                    "name": "raw",
                    "rse_expression": text or "X",
                    "state": "STUCK",
                    "locks_ok_cnt": 1,
                    "locks_replicating_cnt": 0,
                    "locks_stuck_cnt": 2,
                    "created_at": "2017-11-15T06:00:00",
                    "updated_at": "2017-11-15T07:00:00",
                    "stuck_at": "2017-11-15T07:00:00",
                    "error": text,
                }
                for n in range(2)
            ]

        def list_replicas(self, dids, all_states=True):  # type: ignore[no-untyped-def]
            return []

        def list_requests(self, src, dst, states):  # type: ignore[no-untyped-def]
            return []

        def list_request_by_did(self, name, rse, scope):  # type: ignore[no-untyped-def]
            return {}

    held = SimulatorBackend({"scenario": "held-jobs", "speed": 0}).fetch_jobs()
    ads = parse_long(queue_text(held))
    for ad in ads:
        for key in ("HoldReason", "Owner", "MATCH_EXP_JOB_GLIDEIN_Site"):
            if key in ad:
                ad[key] = text
    transport = TextTransport()
    transport.set_ads(SCHEDD, ads, [])
    config_path = tmp_path / "config.toml"
    config_path.write_text(
        "[panes]\nruns = 'db'\ntape = 'pdc'\ntransfers = 'rucio'\njobs = 'condor'\n"
        "[backends.db]\ntype = 'mongo'\nuri = 'mongodb://db.example/run'\n"
        f"[backends.pdc]\ntype = 'tsm'\nlog_dir = '{log_dir}'\nindex = false\n"
        "[backends.rucio]\ntype = 'rucio'\nhost = 'https://rucio.example'\n"
        f"[backends.condor]\ntype = 'condor'\nschedds = ['{SCHEDD}']\n"
    )
    config = load_config(config_path, speed=0)

    def factory(type_name: str, options):  # type: ignore[no-untyped-def]
        if type_name == "mongo":
            return MongoBackend(options, client=client, clock=lambda: sim.now)
        if type_name == "tsm":
            return TsmBackend(options, clock=lambda: sim.now)
        if type_name == "rucio":
            return RucioBackend(options, client_factory=lambda settings: RucioClient())
        if type_name == "condor":
            return CondorBackend(options, transport=transport, clock=lambda: held.taken_at)
        return SimulatorBackend({**options, "speed": 0})

    app = XenonConsole(config, Backends(config, factory=factory))
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_for(pilot, lambda: all(app.pane(k).snapshot is not None for k in Kind))
        await pilot.pause()
        screens = [screen_text(app)]
        for key in "234":
            await pilot.press(key)
            await pilot.pause()
            screens.append(screen_text(app))
        assert "2 stuck rules" in screens[1] and "Held" in screens[3]
        screens += await details_and_alarms(pilot, app, hostile_number)
    assert str(hostile_number) in screens[4]
    assert_clean(screens, name)
    if name == "markup":
        assert "[bold red]INJECTED[/]" in "\n".join(screens)

"""XENONnT: the event builders' heartbeats (bootstrax's ``eb_monitor`` in the
DAQ database) and the alarm ``eb.silent``: read from MongoDB (mongomock, and
secantusd over the wire), simulated (scenario ``eb-silent``), alarmed over
300 s, exported as ``xenon_eb_heartbeat_age_seconds``."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import mongomock
import pymongo
import pytest

from backends.analysis.alarms import Severity, Thresholds, runs_alarms
from backends.analysis.policy import XENONNT_POLICY
from backends.analysis.safety import DEFAULT_POLICY
from backends.model import Heartbeat, RunsSnapshot
from backends.mongo import MongoBackend
from backends.mongo.xenonnt import latest_heartbeat
from backends.simulator import SimulatorBackend
from backends.sources import BackendConfigError
from console.metrics import runs_metrics

T0 = datetime(2024, 5, 1, 12, tzinfo=UTC)
EB3, EB4 = "eb3.xenon.local", "eb4.xenon.local"
NT = {"uri": "mongodb://db.example/run", "profile": "xenonnt"}


def beat(host: str, age: float, state: str = "idle") -> dict[str, Any]:
    """A heartbeat as bootstrax's ``set_state`` writes it (some of its fields)."""
    return {
        "host": host,
        "pid": 4242,
        "time": T0 - timedelta(seconds=age),
        "state": state,
        "targets": ["event_info"],
        "production_mode": True,
    }


def backend(client: Any, **options: Any) -> MongoBackend:
    return MongoBackend({**NT, **options}, client=client, clock=lambda: T0)


# ------------------------------------------------------------------- reading


def test_the_last_heartbeat_of_each_event_builder_is_read() -> None:
    client = mongomock.MongoClient(tz_aware=True)
    client.daq.eb_monitor.insert_many(
        [beat(EB3, 900), beat(EB3, 4, "busy"), beat(EB3, 65), beat(EB4, 400), beat("eb9", 1)]
    )
    beats = backend(client).fetch_runs().heartbeats
    assert beats is not None and [b.host for b in beats] == [
        f"eb{i}.xenon.local" for i in range(6)
    ]  # every configured host, in order; eb9 is not one
    assert beats[3:5] == (
        Heartbeat(EB3, T0 - timedelta(seconds=4), "busy"),
        Heartbeat(EB4, T0 - timedelta(seconds=400), "idle"),
    )


def eb_silent(snap: RunsSnapshot) -> list[Any]:
    return [a for a in runs_alarms(snap, Thresholds(), T0, XENONNT_POLICY) if a.key == "eb.silent"]


def test_a_configured_event_builder_that_never_wrote_a_heartbeat_is_silent() -> None:
    """Once skipped (a host with no document had no heartbeat, so the alarm
    could not see it): never seen is silent, a WARNING naming it, neither
    UNKNOWN nor all clear, beside a host silent for 400 s."""
    client = mongomock.MongoClient(tz_aware=True)
    client.daq.eb_monitor.insert_many(
        [beat(f"eb{i}.xenon.local", 5) for i in (0, 1, 2, 3)] + [beat(EB4, 400)]
    )
    snap = backend(client).fetch_runs()
    beats = {b.host: b for b in snap.heartbeats or ()}
    assert len(beats) == 6 and beats["eb5.xenon.local"] == Heartbeat(
        "eb5.xenon.local", None, seen=False
    )
    assert not beats["eb5.xenon.local"].unreadable and beats[EB4].seen
    [alarm] = eb_silent(snap)
    assert alarm.severity is Severity.WARNING
    assert alarm.title == "2 event builders silent" and alarm.count == 2
    assert alarm.detail == (
        "no heartbeat for over 300 s: eb4.xenon.local 7 min; "
        "never seen (no heartbeat at all): eb5.xenon.local"
    )
    assert alarm.since == T0 - timedelta(seconds=400)
    # Never seen alone: still a WARNING (no time to start from).
    client.daq.eb_monitor.delete_many({"host": EB4})
    client.daq.eb_monitor.insert_one(beat(EB4, 3))
    [alone] = eb_silent(backend(client).fetch_runs())
    assert (alone.severity, alone.title, alone.since) == (
        Severity.WARNING,
        "1 event builder silent",
        None,
    )
    assert alone.detail == "never seen (no heartbeat at all): eb5.xenon.local"
    # Never seen beside an unreadable heartbeat: silent, not unknown.
    client.daq.eb_monitor.insert_one({"host": "eb0.xenon.local", "time": "x"})
    client.daq.eb_monitor.delete_many({"host": "eb0.xenon.local", "time": {"$type": "date"}})
    [both] = eb_silent(backend(client).fetch_runs())
    assert both.severity is Severity.WARNING and "eb5.xenon.local" in both.detail


def test_an_empty_or_missing_collection_is_every_event_builder_never_seen() -> None:
    """No heartbeat document at all (a wrong collection, or bootstrax never
    ran): each configured host silent, and a word on the configuration."""
    client = mongomock.MongoClient(tz_aware=True)
    snap = backend(client).fetch_runs()
    assert snap.heartbeats_error is None
    assert snap.heartbeats is not None and len(snap.heartbeats) == 6
    assert not any(b.seen for b in snap.heartbeats)
    [alarm] = eb_silent(snap)
    assert alarm.severity is Severity.WARNING and alarm.title == "6 event builders silent"
    assert alarm.detail.startswith("never seen (no heartbeat at all): eb0.xenon.local, ")
    assert alarm.detail.endswith(
        "; none has any heartbeat: check heartbeat_database and heartbeat_collection"
    )


def test_garbage_heartbeats_are_unknown_never_a_crash() -> None:
    client = mongomock.MongoClient(tz_aware=True)
    client.daq.eb_monitor.insert_many(
        [
            {"host": EB3, "time": "yesterday", "state": 7},
            {"host": EB3},
            {"host": EB4, "time": "x", "state": "\x1b[31mbusy"},
            beat(EB4, 30),  # a date sorts after text: found first
        ]
    )
    beats = {b.host: b for b in backend(client).fetch_runs().heartbeats or ()}
    assert beats[EB3].time is None and beats[EB3].state == ""
    assert "heartbeat time is not a date (str)" in beats[EB3].malformed
    assert beats[EB4] == Heartbeat(EB4, T0 - timedelta(seconds=30), "idle")
    # Whatever a document holds, the reader answers.
    for junk in ([None, 3, "x"], [{"time": 5}], [{"time": T0, "state": ["a"]}]):
        assert latest_heartbeat(EB3, junk) is not None
    assert latest_heartbeat(EB3, []) == Heartbeat(EB3, None, seen=False)


def test_the_collection_and_the_hosts_are_configurable() -> None:
    client = mongomock.MongoClient(tz_aware=True)
    client.online.bootstrax.insert_many([beat("eb7.lngs", 500), beat(EB3, 1000)])
    b = backend(
        client,
        heartbeat_database="online",
        heartbeat_collection="bootstrax",
        event_builders=["eb7.lngs"],
    )
    assert [(h.host, h.seen) for h in b.fetch_runs().heartbeats or ()] == [("eb7.lngs", True)]
    for bad in ([], "eb3", [3], ["a\nb"], [f"eb{i}" for i in range(40)]):
        with pytest.raises(BackendConfigError, match="event_builders"):
            backend(client, event_builders=bad)
    with pytest.raises(BackendConfigError, match="heartbeat_collection"):
        backend(client, heartbeat_collection="a b")


def test_the_xenon1t_profile_reads_no_heartbeats() -> None:
    client = mongomock.MongoClient(tz_aware=True)
    client.daq.eb_monitor.insert_one(beat(EB3, 1000))
    snap = MongoBackend({"uri": NT["uri"]}, client=client, clock=lambda: T0).fetch_runs()
    assert snap.heartbeats is None and snap.heartbeats_error is None


class _Failing:
    """A client whose DAQ database fails (the runs database answers)."""

    def __init__(self) -> None:
        self.real = mongomock.MongoClient(tz_aware=True)

    def __getitem__(self, name: str) -> Any:
        if name == "daq":
            raise pymongo.errors.OperationFailure("not authorized on daq", 13)
        return self.real[name]

    def close(self) -> None:
        pass


def test_a_failing_heartbeat_query_is_unknown_not_all_clear() -> None:
    snap = backend(_Failing()).fetch_runs()
    assert snap.heartbeats is None
    assert snap.heartbeats_error is not None and "not authorized on daq" in snap.heartbeats_error
    assert "reading heartbeats in daq.eb_monitor" in snap.heartbeats_error
    [alarm] = [
        a for a in runs_alarms(snap, Thresholds(), T0, XENONNT_POLICY) if a.key == "eb.silent"
    ]
    assert alarm.severity is Severity.UNKNOWN
    assert alarm.title == "event builders' heartbeats unknown"
    assert "not authorized on daq" in alarm.detail
    assert not [
        f
        for f in runs_metrics(snap, Thresholds(), XENONNT_POLICY, None)
        if f.samples and f.name == "xenon_eb_heartbeat_age_seconds"
    ]


# ----------------------------------------------------------------- the alarm


def silent(*ages: float, limits: Thresholds | None = None) -> list[Any]:
    hosts = [f"eb{i}.xenon.local" for i in range(len(ages))]
    snap = RunsSnapshot(
        T0,
        (),
        heartbeats=tuple(
            Heartbeat(h, T0 - timedelta(seconds=a)) for h, a in zip(hosts, ages, strict=True)
        ),
    )
    return [
        a
        for a in runs_alarms(snap, limits or Thresholds(), T0, XENONNT_POLICY)
        if a.key == "eb.silent"
    ]


def test_an_event_builder_silent_for_301_s_is_a_warning_not_at_299_s() -> None:
    assert silent(299, 5) == []
    assert silent(300) == []
    [alarm] = silent(301, 5)
    assert alarm.severity is Severity.WARNING
    assert alarm.title == "1 event builder silent"
    assert alarm.detail == "no heartbeat for over 300 s: eb0.xenon.local 5 min"
    assert alarm.since == T0 - timedelta(seconds=301) and alarm.count == 1
    [two] = silent(400, 7200, 3)
    assert two.title == "2 event builders silent"
    assert two.detail.endswith("eb1.xenon.local 2.0 h, eb0.xenon.local 7 min")
    assert silent(100, limits=Thresholds(eb_silent_warning_seconds=60))[0].title == (
        "1 event builder silent"
    )


def test_no_alarm_under_xenon1t() -> None:
    sim = SimulatorBackend({"runs": 100, "speed": 0, "scenario": "eb-silent"})
    snap = sim.fetch_runs()
    assert snap.heartbeats is None
    assert not [
        a
        for a in runs_alarms(snap, Thresholds(), sim.now, DEFAULT_POLICY)
        if a.key.startswith("eb.")
    ]


def test_the_exporter_metric_is_each_hosts_age() -> None:
    snap = RunsSnapshot(
        T0, (), heartbeats=(Heartbeat(EB3, T0 - timedelta(seconds=12)), Heartbeat(EB4, None))
    )
    [family] = [
        f
        for f in runs_metrics(snap, Thresholds(), XENONNT_POLICY, None)
        if f.name == "xenon_eb_heartbeat_age_seconds"
    ]
    assert family.labels == ("host",) and family.samples == ((("eb3.xenon.local",), 12.0),)
    # The unreadable one: the alarm is UNKNOWN (nothing silent is known).
    [alarm] = [
        a for a in runs_alarms(snap, Thresholds(), T0, XENONNT_POLICY) if a.key == "eb.silent"
    ]
    assert alarm.severity is Severity.UNKNOWN and "eb4.xenon.local" in alarm.detail


def test_a_never_seen_event_builder_exports_no_age_and_seen_0() -> None:
    """Prometheus: no age for a host that never wrote a heartbeat (there is
    none, and 0 or +Inf would lie), ``xenon_eb_heartbeat_seen`` 0 for it and
    1 for every host with a document (readable or not); the alert rule
    ``XenonEventBuilderNeverSeen`` fires on the 0 (tests/alerts)."""
    snap = RunsSnapshot(
        T0,
        (),
        heartbeats=(
            Heartbeat(EB3, T0 - timedelta(seconds=12)),
            Heartbeat(EB4, None, malformed=("a heartbeat has no time",)),
            Heartbeat("eb5.xenon.local", None, seen=False),
        ),
    )
    families = {f.name: f for f in runs_metrics(snap, Thresholds(), XENONNT_POLICY, None)}
    assert families["xenon_eb_heartbeat_age_seconds"].samples == ((("eb3.xenon.local",), 12.0),)
    seen = families["xenon_eb_heartbeat_seen"]
    assert seen.labels == ("host",) and seen.samples == (
        (("eb3.xenon.local",), 1.0),
        (("eb4.xenon.local",), 1.0),
        (("eb5.xenon.local",), 0.0),
    )
    # Heartbeats unknown (the query failed): neither gauge has a sample.
    failed = replace(snap, heartbeats=None, heartbeats_error="refused")
    assert not [
        f
        for f in runs_metrics(failed, Thresholds(), XENONNT_POLICY, None)
        if f.name.startswith("xenon_eb_") and f.samples
    ]


# ------------------------------------------------------------- the simulator


def test_the_simulator_beats_for_every_event_builder_and_eb_silent_stops_one() -> None:
    nominal = SimulatorBackend({"runs": 100, "speed": 0, "profile": "xenonnt"})
    snap = nominal.fetch_runs()
    assert snap.heartbeats is not None and len(snap.heartbeats) == 6
    assert all(0 <= (nominal.now - b.time).total_seconds() < 10 for b in snap.heartbeats if b.time)
    assert not [
        a
        for a in runs_alarms(snap, Thresholds(), nominal.now, XENONNT_POLICY)
        if a.key == "eb.silent"
    ]
    sim = SimulatorBackend({"runs": 100, "speed": 0, "profile": "xenonnt", "scenario": "eb-silent"})
    [alarm] = [
        a
        for a in runs_alarms(sim.fetch_runs(), Thresholds(), sim.now, XENONNT_POLICY)
        if a.key == "eb.silent"
    ]
    assert alarm.title == "1 event builder silent" and "eb4.xenon.local 20 min" in alarm.detail
    sim.advance(600)
    [later] = [
        a
        for a in runs_alarms(sim.fetch_runs(), Thresholds(), sim.now, XENONNT_POLICY)
        if a.key == "eb.silent"
    ]
    assert "eb4.xenon.local 30 min" in later.detail


def test_check_says_warning_for_eb_silent_under_xenonnt(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from console.cli import main

    path = tmp_path / "nt.toml"
    path.write_text('[backends.simulator]\nprofile = "xenonnt"\n')
    code = main(
        ["check", "--config", str(path), "--scenario", "eb-silent", "--seed", "1", "--speed", "0"]
    )
    out = capsys.readouterr().out
    # The first line names the cause (the diagnosis's eb-silent), the alarm under it.
    first = out.partition(" | ")[0]
    assert code in (1, 2) and "event builder eb4 silent: bootstrax not beating" in first, out
    main(["check", "-v", "--config", str(path), "--scenario", "eb-silent", "--seed", "1"])
    out = capsys.readouterr().out
    assert "[WARNING] 1 event builder silent: no heartbeat for over 300 s: eb4" in out, out
    code = main(["check", "--config", str(path), "--seed", "1", "--speed", "0"])
    assert "event builder" not in capsys.readouterr().out


# ------------------------------------------------------------ over the wire


def test_heartbeats_over_the_wire(server_uri: str, db_name: str) -> None:
    """secantusd: good, garbage and missing heartbeats in a DAQ database."""
    daq = f"{db_name}_daq"
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
        server_uri, serverSelectionTimeoutMS=5000, tz_aware=True
    )
    try:
        client[daq].eb_monitor.insert_many(
            [
                beat(EB3, 900),
                beat(EB3, 4, "busy"),
                beat(EB4, 400),
                {"host": "eb5.xenon.local", "time": "soon"},
            ]
        )
        b = MongoBackend(
            {
                "uri": server_uri,
                "database": db_name,
                "profile": "xenonnt",
                "heartbeat_database": daq,
            },
            clock=lambda: T0,
        )
        try:
            snap = b.fetch_runs()
        finally:
            b.close()
        beats = {h.host: h for h in snap.heartbeats or ()}
        assert snap.heartbeats_error is None and len(beats) == 6
        assert {h for h, b in beats.items() if b.seen} == {EB3, EB4, "eb5.xenon.local"}
        assert (beats[EB3].time, beats[EB3].state) == (T0 - timedelta(seconds=4), "busy")
        assert beats["eb5.xenon.local"].unreadable
        [alarm] = [
            a for a in runs_alarms(snap, Thresholds(), T0, XENONNT_POLICY) if a.key == "eb.silent"
        ]
        assert alarm.severity is Severity.WARNING and "eb4.xenon.local 7 min" in alarm.detail
        assert alarm.detail.endswith(
            "never seen (no heartbeat at all): eb0.xenon.local, eb1.xenon.local, eb2.xenon.local"
        )
    finally:
        client.drop_database(daq)
        client.close()


# ------------------------------------------------------------------ the TUI


async def test_the_console_shows_the_silent_event_builder(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Pilot, XENONnT's eb-silent: the alarm in the alarm bar, the runs
    pane's footer names the silent host, and a host never seen as such
    (silent, not unknown); a failing heartbeat query says
    unknown there, never that all is well."""
    from console.app import XenonConsole
    from console.config import load_config
    from console.fetching import Backends
    from tests.screen import screen_text, wait_for

    class Deaf(SimulatorBackend):
        deaf = False
        never = False

        def fetch_runs(self) -> RunsSnapshot:
            snap = super().fetch_runs()
            if self.deaf:
                return replace(snap, heartbeats=None, heartbeats_error="daq.eb_monitor: refused")
            if self.never:  # eb5 has no heartbeat document at all
                beats = snap.heartbeats or ()
                return replace(
                    snap,
                    heartbeats=tuple(
                        Heartbeat(b.host, None, seen=False) if b.host == "eb5.xenon.local" else b
                        for b in beats
                    ),
                )
            return snap

    path = tmp_path / "nt.toml"
    path.write_text(
        '[backends.simulator]\nprofile = "xenonnt"\nspeed = 0\n[intervals]\nruns = 0.2\n'
    )
    config = load_config(path)
    sim = Deaf({"speed": 0, "profile": "xenonnt", "scenario": "eb-silent"})
    app = XenonConsole(config, Backends(config, factory=lambda _t, _o: sim), clock=lambda: 0.0)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.press("5")
        await wait_for(
            pilot,
            lambda: "EB silent: eb4" in screen_text(app),
            "the runs pane naming eb4",
            timeout=20,
        )
        assert "event builder eb4 silent" in screen_text(app)  # the cause
        sim.never = True
        await wait_for(
            pilot,
            lambda: "EB silent: eb5 never seen, eb4" in screen_text(app),
            "the runs pane naming eb5 never seen",
            timeout=20,
        )
        await wait_for(
            pilot,
            lambda: "event builder eb5 never seen" in screen_text(app),
            "the alarm bar naming eb5 never seen",
            timeout=20,
        )
        # Two causes of one kind, both of eb.silent: the alarms screen lists
        # each (it died: two rows of one key).
        await pilot.press("a")
        await wait_for(
            pilot,
            lambda: (
                "eb5 never seen: no bootstrax heartbeat" in screen_text(app)
                and "eb4 silent: bootstrax not beating" in screen_text(app)
                and "Alarms — a acknowledge" in screen_text(app)
            ),
            "the alarms screen with both causes",
            timeout=10,
        )
        await pilot.pause(1.2)  # its every-second refresh, with both
        assert app.is_running and "eb4 silent: bootstrax not beating" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        sim.deaf = True
        await wait_for(
            pilot,
            lambda: "EB heartbeats unknown" in screen_text(app),
            "heartbeats unknown",
            timeout=20,
        )
        assert "EB silent" not in screen_text(app)
        await wait_for(
            pilot,
            lambda: "event builders' heartbeats unknown" in screen_text(app),
            "the alarm saying unknown",
            timeout=20,
        )


def test_heartbeats_and_event_builder_states_are_recorded_and_replayed() -> None:
    """The codec (recordings, NATS snapshots) keeps them."""
    from backends.codec import decode, encode

    sim = SimulatorBackend({"runs": 300, "speed": 0, "profile": "xenonnt", "scenario": "eb-silent"})
    snap = sim.fetch_runs()
    back = decode(encode(snap))
    assert back.heartbeats == snap.heartbeats and tuple(back.runs) == tuple(snap.runs)
    assert any(r.builder is not None and r.builder.state == "failed" for r in back.runs)
    failing = replace(snap, heartbeats=None, heartbeats_error="refused")
    assert decode(encode(failing)).heartbeats_error == "refused"

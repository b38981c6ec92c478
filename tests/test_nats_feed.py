"""The shared path: ``collect`` publishes to NATS JetStream, ``nats`` consoles read it.

The format (``backends.natsfeed.feed``) is tested without a server; the
collector and the backend against a real ``nats-server -js`` on loopback
(``tests/nats_testbed.py``).
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import json
import time
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backends.analysis.alarms import Alarm, Severity
from backends.model import Kind, RunsSnapshot
from backends.natsfeed import NatsBackend, feed
from backends.natsfeed.link import NatsOptions, safe_url
from backends.simulator import SimulatorBackend
from backends.sources import BackendConfigError, SourceError
from console.acks import AckStore, ack_store_for
from console.cli import main
from console.collector import Collector
from console.config import ConfigError, load_config
from console.fetching import Backends
from console.shared_acks import SharedAckStore, open_key
from tests.nats_testbed import NatsServer

# ------------------------------------------------------------ the format


def _bucket_of(writes: list[feed.RunsWrite], store: dict[str, bytes]) -> None:
    for write in writes:
        for key, value in write.puts:
            store[key] = value


STAMP = feed.Stamp("c1", 1.5e9)


def _publisher(**kw: int) -> feed.RunsPublisher:
    counter = itertools.count()
    return feed.RunsPublisher(lambda: f"e{next(counter)}", **kw)


def _roundtrip(
    publisher: feed.RunsPublisher,
    assembler: feed.RunsAssembler,
    store: dict[str, bytes],
    snapshot: RunsSnapshot,
) -> tuple[feed.RunsWrite, RunsSnapshot]:
    write = publisher.plan("sim", snapshot, STAMP)
    _bucket_of([write], store)
    publisher.done(write)
    head = feed.unpack_runs_head(store[feed.RUNS_HEAD_KEY])
    return write, assembler.assemble(head, store.get)


def test_runs_history_round_trips_as_chunks_then_small_deltas() -> None:
    sim = SimulatorBackend({"speed": 3600, "runs": 720, "seed": 3})
    publisher, assembler, store = _publisher(chunk_bytes=16 * 1024), feed.RunsAssembler(), {}
    first = sim.fetch_runs()
    write, got = _roundtrip(publisher, assembler, store, first)
    assert write.rebase and len(write.puts) > 3  # chunks of at most 16 KB, and the head
    assert all(len(v) <= 16 * 1024 for k, v in write.puts if k != feed.RUNS_HEAD_KEY)
    assert got.runs == tuple(first.runs) and got.taken_at == first.taken_at
    time.sleep(0.2)
    second = sim.fetch_runs()
    write, again = _roundtrip(publisher, assembler, store, second)
    assert not write.rebase and [k for k, _ in write.puts] == [feed.RUNS_HEAD_KEY]
    assert again.runs == tuple(second.runs)
    changed = [r for r in second.runs if r not in set(first.runs)]
    assert 0 < len(changed) < 50
    # Unchanged runs are the objects the console already held.
    unchanged = next(i for i, r in enumerate(second.runs) if r in set(first.runs))
    assert again.runs[unchanged] is got.runs[unchanged]


def test_runs_delta_removes_and_adds_runs() -> None:
    sim = SimulatorBackend({"speed": 0, "runs": 200})
    runs = tuple(sim.fetch_runs().runs)
    publisher, assembler, store = _publisher(), feed.RunsAssembler(), {}
    base = RunsSnapshot(runs[0].start, runs)
    _roundtrip(publisher, assembler, store, base)
    edited = (*runs[1:100], dataclasses.replace(runs[100], events=7), *runs[101:])
    write, got = _roundtrip(publisher, assembler, store, RunsSnapshot(runs[0].start, edited))
    assert not write.rebase
    head = feed.unpack_runs_head(store[feed.RUNS_HEAD_KEY])
    assert head.removed == [runs[0].number] and len(head.delta.runs) == 1
    assert got.runs == edited


def test_a_large_change_writes_a_new_base() -> None:
    runs = tuple(SimulatorBackend({"speed": 0, "runs": 300}).fetch_runs().runs)
    publisher, assembler, store = _publisher(), feed.RunsAssembler(), {}
    _roundtrip(publisher, assembler, store, RunsSnapshot(runs[0].start, runs))
    edited = tuple(dataclasses.replace(r, events=1) for r in runs)
    write, got = _roundtrip(publisher, assembler, store, RunsSnapshot(runs[0].start, edited))
    assert write.rebase and write.epoch == "e1"
    assert got.runs == edited


def test_twin_runs_survive_and_are_never_a_delta() -> None:
    """Two documents of one run number are a problem the runs pane shows:
    the feed must not fold them into one."""
    runs = tuple(SimulatorBackend({"speed": 0, "runs": 50}).fetch_runs().runs)
    twin = dataclasses.replace(runs[10], name="twin")
    twins = (*runs[:11], twin, *runs[11:])
    publisher, assembler, store = _publisher(), feed.RunsAssembler(), {}
    snapshot = RunsSnapshot(runs[0].start, twins)
    for _ in range(2):
        write, got = _roundtrip(publisher, assembler, store, snapshot)
        assert write.rebase and got.runs == twins


@pytest.mark.parametrize(
    "value, says",
    [
        (b"not zlib", "not a packed JSON value"),
        (zlib.compress(b"[1, 2]"), "not a JSON object"),
        (feed.pack({"v": 99}), "format version 99"),
        (feed.pack({"v": 1, "epoch": "", "chunks": 1, "count": 0, "removed": []}), "bad epoch"),
        (
            feed.pack({"v": 1, "epoch": "e", "chunks": -1, "count": 0, "removed": []}),
            "bad 'chunks'",
        ),
        (
            feed.pack(
                {"v": 1, "epoch": "e", "chunks": 0, "count": 0, "removed": [], "snapshot": 1}
            ),
            "holds a int",
        ),
        (
            feed.pack(
                {
                    "v": 1,
                    "epoch": "e",
                    "chunks": 0,
                    "count": 0,
                    "removed": [],
                    "snapshot": {"$": "Os"},
                }
            ),
            "Os",
        ),
    ],
)
def test_a_bad_head_is_one_line_of_feed_error(value: bytes, says: str) -> None:
    with pytest.raises(feed.FeedError, match=says):
        feed.unpack_runs_head(value)


def test_a_missing_chunk_or_a_wrong_count_is_said() -> None:
    runs = tuple(SimulatorBackend({"speed": 0, "runs": 100}).fetch_runs().runs)
    publisher, store = _publisher(chunk_bytes=4096), {}
    write = publisher.plan("sim", RunsSnapshot(runs[0].start, runs), STAMP)
    _bucket_of([write], store)
    head = feed.unpack_runs_head(store[feed.RUNS_HEAD_KEY])
    del store[feed.chunk_key(head.epoch, 1)]
    with pytest.raises(feed.FeedError, match=f"piece 2 of {head.chunks}"):
        feed.RunsAssembler().assemble(head, store.get)
    _bucket_of([write], store)
    lying = dataclasses.replace(head, count=head.count + 1)
    with pytest.raises(feed.FeedError, match="names 101 runs, its data holds 100"):
        feed.RunsAssembler().assemble(lying, store.get)


def test_a_decompression_bomb_stops_at_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feed, "MAX_INFLATED", 1000)
    bomb = zlib.compress(b"[" + b"0," * 100_000 + b"0]")
    with pytest.raises(feed.FeedError, match="more than 1,000 bytes"):
        feed.unpack(bomb, "runs.head")


def test_heartbeat_round_trips() -> None:
    beat = feed.Heartbeat(
        "id", "host", "user", 42, "1.0", 1.0, 2.0, 5.0,
        {"runs": feed.SourceHealth("sim", "boom", 1.5), "tape": feed.SourceHealth("t", None, None)},
    )  # fmt: skip
    assert feed.unpack_heartbeat(feed.pack_heartbeat(beat)) == beat
    with pytest.raises(feed.FeedError, match="bad 'sources'"):
        feed.unpack_heartbeat(feed.pack({"v": 1, "id": "x", "every": 5}))


# ------------------------------------------------------------ the options


@pytest.mark.parametrize(
    "options, says",
    [
        ({}, "option 'url' is required"),
        ({"url": "http://x"}, "not a nats://"),
        ({"url": "nats://x", "bucket": "a.b"}, "not a bucket name"),
        ({"url": "nats://x", "user": "u"}, "'user' and 'password' go together"),
        ({"url": "nats://x", "creds": "/nonexistent/creds"}, "no file /nonexistent/creds"),
        ({"url": "nats://x", "colour": 1}, "unknown nats option 'colour'"),
        ({"url": "nats://x", "token_file": "/nonexistent/t"}, "cannot read /nonexistent/t"),
    ],
)
def test_bad_options_are_one_line(options: dict[str, object], says: str) -> None:
    with pytest.raises(BackendConfigError, match=says):
        NatsOptions.from_options(options)


def test_credentials_stay_out_of_every_text(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("s3cr3t-token\n")
    options = NatsOptions.from_options(
        {"url": "nats://alice:hunter2@127.0.0.1:1", "token_file": str(token)}
    )
    assert options.token == "s3cr3t-token"
    for text in (options.where(), repr(options), safe_url("nats://tok@h:1")):
        assert "hunter2" not in text and "s3cr3t" not in text and "tok@" not in text
    with pytest.raises(BackendConfigError) as caught:
        NatsOptions.from_options({"url": "nats://x", "user": "u", "password": 7})
    assert "7" not in str(caught.value)


# ------------------------------------------------------ against a real server


def _config(tmp_path: Path, text: str, name: str = "c.toml"):  # type: ignore[no-untyped-def]
    path = tmp_path / name
    path.write_text(text)
    return path


def _collector(tmp_path: Path, url: str, log: io.StringIO, **sim: object) -> Collector:
    options = "\n".join(f"{k} = {json.dumps(v)}" for k, v in {"speed": 0, **sim}.items())
    path = _config(tmp_path, f"[backends.simulator]\n{options}\n", "collector.toml")
    config = load_config(path)
    collector = Collector(
        config,
        Backends(config),
        NatsOptions.from_options({"url": url}),
        heartbeat_every=0.5,
        log=log,
    )
    collector.start()
    return collector


def _feed_config(tmp_path: Path, url: str, extra: str = "") -> Path:
    panes = "\n".join(f'{k.value} = "feed"' for k in Kind)
    return _config(
        tmp_path, f'[backends.feed]\ntype = "nats"\nurl = "{url}"\n{extra}\n[panes]\n{panes}\n'
    )


def _until(what: Callable[[], object], timeout: float = 20.0) -> object:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = what()
        except SourceError as exc:
            if time.monotonic() > deadline:
                raise AssertionError(f"still failing after {timeout} s: {exc}") from exc
        else:
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"not true after {timeout} s: {value!r}")
        time.sleep(0.1)


def _error_of(backend: NatsBackend, kind: Kind) -> str:
    try:
        backend.fetch(kind)
    except SourceError as exc:
        return str(exc)
    return ""


def test_a_fed_report_equals_the_direct_one(
    nats_server: NatsServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = io.StringIO()
    collector = _collector(tmp_path, nats_server.url, log)
    try:
        _until(lambda: collector.published >= 5)
        assert main(["--speed", "0", "report", "--json"]) == 0
        direct = json.loads(capsys.readouterr().out)
        assert (
            main(["--config", str(_feed_config(tmp_path, nats_server.url)), "report", "--json"])
            == 0
        )
        fed = json.loads(capsys.readouterr().out)
    finally:
        collector.close()
    for kind in Kind:
        assert fed[kind.value].pop("source") == "feed"
        assert direct[kind.value].pop("source") == "simulator"
    assert fed == direct
    assert direct["runs"]["count"] == 720 and direct["status"] == "OK"
    assert "publishing to" in log.getvalue()


def test_silent_collector_then_back(nats_server: NatsServer, tmp_path: Path) -> None:
    log = io.StringIO()
    collector = _collector(tmp_path, nats_server.url, log)
    backend = NatsBackend({"url": nats_server.url, "silent_after": 3})
    woken: list[Kind] = []
    backend.subscribe(woken.append)
    try:
        _until(lambda: backend.fetch_runs())
        assert len(backend.fetch_runs().runs) == 720
        collector.close()
        woken.clear()
        # Three heartbeats of 0.5 s missed: every pane says so, and is told to look.
        message = _until(lambda: _error_of(backend, Kind.TAPE))
        assert "collector silent: no heartbeat since " in str(message)
        assert "pid" in str(message)
        _until(lambda: set(woken) == set(Kind), timeout=10)
        collector = _collector(tmp_path, nats_server.url, log)
        _until(lambda: not _error_of(backend, Kind.TAPE) and backend.fetch_tape())
        # The new collector's runs may come after its tape on a busy machine.
        _until(lambda: len(backend.fetch_runs().runs) == 720)
    finally:
        collector.close()
        backend.close()


def test_nats_stopped_and_restarted(nats_server: NatsServer, tmp_path: Path) -> None:
    log = io.StringIO()
    collector = _collector(tmp_path, nats_server.url, log, speed=60)
    backend = NatsBackend({"url": nats_server.url})
    try:
        _until(lambda: backend.fetch_buffer())
        nats_server.stop()
        message = _until(lambda: _error_of(backend, Kind.BUFFER))
        assert "NATS unreachable at nats://127.0.0.1" in str(message)
        _until(lambda: "NATS unreachable" in log.getvalue() or "cannot write" in log.getvalue())
        nats_server.start()
        before = backend.fetch_buffer() if not _error_of(backend, Kind.BUFFER) else None
        _until(lambda: not _error_of(backend, Kind.BUFFER), timeout=30)
        _until(lambda: backend.fetch_buffer() is not before, timeout=30)  # updates flow again
        # The runs too: they may have been pending at the stop, and are written
        # (as a new base) after the buffer's next poll on a busy machine.
        _until(lambda: len(backend.fetch_runs().runs) >= 720, timeout=30)
    finally:
        collector.close()
        backend.close()


def test_a_source_failing_at_the_collector_is_said_with_its_error(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    """The collector's own source fails: the console says so, as the
    collector saw it, without polling anything itself."""
    log = io.StringIO()
    path = _config(
        tmp_path,
        '[backends.disk]\ntype = "localdisk"\npath = "/nonexistent/buffer"\n'
        '[panes]\nbuffer = "disk"\n[backends.simulator]\nspeed = 0\n',
        "collector.toml",
    )
    config = load_config(path)
    collector = Collector(
        config,
        Backends(config),
        NatsOptions.from_options({"url": nats_server.url}),
        heartbeat_every=0.5,
        log=log,
    )
    collector.start()
    backend = NatsBackend({"url": nats_server.url})
    try:
        message = str(
            _until(
                lambda: (
                    "at the collector" in _error_of(backend, Kind.BUFFER)
                    and _error_of(backend, Kind.BUFFER)
                )
            )
        )
        assert message.startswith("stale at the collector: ")
        assert "/nonexistent/buffer" in message
        _until(lambda: backend.fetch_tape())
        assert "buffer: " in log.getvalue()
    finally:
        collector.close()
        backend.close()


def test_a_snapshot_over_the_servers_max_payload_is_said_and_blocks_nothing(
    tmp_path: Path,
) -> None:
    """A server whose max_payload (16 KB) is below the transfers snapshot
    (about 21 KB compressed): the transfers pane says why, with the last
    data published, and every other kind and the heartbeat go on; the runs'
    history is cut into chunks the server takes. Before, the refused write
    stopped every kind after it and the heartbeat: consoles saw the
    collector silent."""
    server = NatsServer(
        tmp_path,
        config='listen: 127.0.0.1:4222\nmax_payload: 16384\njetstream { store_dir: "x" }\n',
    )
    server.start()
    log = io.StringIO()
    collector = _collector(tmp_path, server.url, log)
    backend = NatsBackend({"url": server.url})
    try:
        message = str(
            _until(
                lambda: (
                    "max_payload" in _error_of(backend, Kind.TRANSFERS)
                    and _error_of(backend, Kind.TRANSFERS)
                )
            )
        )
        assert message.startswith(
            "stale at the collector: transfers not published: its snapshot is "
        )
        assert "over the NATS server's max_payload of 16,384 bytes" in message
        assert _until(lambda: backend.fetch_runs()).runs[-1].number == 14999  # type: ignore[attr-defined]
        for kind in (Kind.BUFFER, Kind.TAPE, Kind.JOBS):
            assert _until(lambda kind=kind: backend.fetch(kind))
        assert "transfers not published" in log.getvalue()
        assert "cannot write to NATS" not in log.getvalue()
    finally:
        collector.close()
        backend.close()
        server.stop()


@dataclasses.dataclass
class _Entry:
    key: str
    value: bytes
    revision: int
    operation: str | None = None


class _WatchEnded(Exception):
    pass


class _ScriptedBucket:
    """A bucket whose watch delivers ``script`` in order (None is the
    client's "every current value delivered"), noting before each step
    whether the console has taken its values as the bucket's."""

    def __init__(self, backend: NatsBackend, script: list[_Entry | None]) -> None:
        self.backend, self.script = backend, list(script)
        self.store = {e.key: e for e in script if e is not None}
        self.answered: list[bool] = []

    async def watchall(self) -> _ScriptedBucket:
        return self

    async def updates(self, timeout: float) -> _Entry | None:
        self.answered.append(self.backend._answered.is_set())
        if not self.script:
            raise _WatchEnded
        return self.script.pop(0)

    async def stop(self) -> None:
        pass

    async def get(self, key: str) -> _Entry:
        return self.store[key]  # KeyError: not in the bucket


def test_the_end_of_current_values_before_the_values_is_not_no_collector() -> None:
    """nats-py can say "every current value delivered" before the first
    value of a bucket a collector is writing (CI saw "no collector has
    written to bucket 'xenon-console' yet" on the 20-consoles test): the
    console waits for the bucket's heartbeat before it answers."""
    import asyncio

    beat = feed.Heartbeat(
        "id", "host", "user", 42, "1.0", time.time() - 5, time.time(), 5.0,
        {"tape": feed.SourceHealth("sim", None, time.time())},
    )  # fmt: skip
    backend = NatsBackend({"url": "nats://127.0.0.1:9", "connect_timeout": 1})
    try:
        bucket = _ScriptedBucket(
            backend,
            [
                None,
                _Entry("snap.tape", b"not read here", 7),
                _Entry(feed.HEARTBEAT_KEY, feed.pack_heartbeat(beat), 8),
            ],
        )
        with pytest.raises(_WatchEnded):
            asyncio.run(backend._follow(bucket))
        # Not answered after the early marker, nor after the tape's value:
        # answered once the heartbeat the bucket holds has arrived.
        assert bucket.answered == [False, False, False, True]
        assert backend._current and backend._heartbeat() == beat
    finally:
        backend.close()
    empty = NatsBackend({"url": "nats://127.0.0.1:9", "connect_timeout": 1})
    try:
        bucket = _ScriptedBucket(empty, [None])
        with pytest.raises(_WatchEnded):
            asyncio.run(empty._follow(bucket))
        assert bucket.answered == [False, True]  # no heartbeat at all: no collector, at once
        assert empty._current and empty._heartbeat() is None
    finally:
        empty.close()


def test_no_collector_yet_and_no_server(tmp_path: Path, nats_server: NatsServer) -> None:
    backend = NatsBackend({"url": nats_server.url, "connect_timeout": 1})
    try:
        assert "no bucket 'xenon-console'" in _error_of(backend, Kind.RUNS)
    finally:
        backend.close()
    port = nats_server.port
    nats_server.stop()
    gone = NatsBackend({"url": f"nats://127.0.0.1:{port}", "connect_timeout": 1})
    try:
        started = time.monotonic()
        assert "NATS unreachable" in _error_of(gone, Kind.RUNS)
        assert time.monotonic() - started < 8  # a one-shot report is not held up for long
    finally:
        gone.close()


def test_a_password_never_reaches_any_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = NatsServer(tmp_path, user="shift", password="pa55-w0rd-x")
    server.start()
    log = io.StringIO()
    try:
        url = f"nats://shift:pa55-w0rd-x@127.0.0.1:{server.port}"
        collector = _collector(tmp_path, url, log)
        try:
            config = _feed_config(
                tmp_path,
                f"nats://127.0.0.1:{server.port}",
                'user = "shift"\npassword = "pa55-w0rd-x"',
            )
            _until(lambda: collector.published >= 5)
            assert main(["--config", str(config), "report", "--json"]) == 0
            good = capsys.readouterr()
            assert json.loads(good.out)["runs"]["count"] == 720
            wrong = _feed_config(
                tmp_path, f"nats://shift:pa55-w0rd-y@127.0.0.1:{server.port}", "connect_timeout = 1"
            )
            assert main(["--config", str(wrong), "report", "--json"]) == 0
            bad = capsys.readouterr()
            assert "Authorization" in bad.out or "authorization" in bad.out
        finally:
            collector.close()
    finally:
        server.stop()
    for text in (good.out, good.err, bad.out, bad.err, log.getvalue()):
        assert "pa55-w0rd" not in text


# ------------------------------------------------------ shared acknowledgements


def _alarm(key: str = "buffer.fill", count: int | None = None) -> Alarm:
    return Alarm(key, Severity.WARNING, Kind.BUFFER, "Buffer 85% full", "d", None, "h", count)


def test_two_shifters_acking_at_once_keep_every_note(nats_server: NatsServer) -> None:
    options = NatsOptions.from_options({"url": nats_server.url})
    alice = SharedAckStore(options, name="alice")
    bob = SharedAckStore(options, name="bob")
    try:
        _until(lambda: alice._kv is not None and bob._kv is not None)
        now = datetime(2017, 11, 15, 12, tzinfo=UTC)
        alarm = dataclasses.replace(_alarm(), since=now)  # one occurrence for both
        for i in range(8):  # both at once, many times: every write races the other's
            alice.acknowledge(alarm, f"uplink {i}")
            bob.acknowledge(alarm, f"called LNGS {i}")
        expected = {f"alice: uplink {i}" for i in range(8)} | {
            f"bob: called LNGS {i}" for i in range(8)
        }

        def notes(store: SharedAckStore) -> set[str]:
            ack = store.ack_for(alarm)
            return set(ack.note.split("; ")) if ack is not None else set()

        _until(lambda: notes(alice) == expected and notes(bob) == expected)
        assert alice.lost_races + bob.lost_races > 0  # the writes did race
        bob.unacknowledge(alarm)
        _until(lambda: alice.ack_for(alarm) is None)
    finally:
        alice.close()
        bob.close()


def test_an_alarm_without_a_start_is_one_occurrence_on_every_console(
    nats_server: NatsServer,
) -> None:
    """The first console to see an alarm writes its start; a console opened
    later uses it, so an acknowledgement made on either quiets both."""
    options = NatsOptions.from_options({"url": nats_server.url})
    early = SharedAckStore(options, name="early")
    late = SharedAckStore(options, name="late")
    try:
        _until(lambda: early._kv is not None and late._kv is not None)
        alarm = _alarm()
        t0 = datetime(2017, 11, 15, 12, tzinfo=UTC)
        early.observe([alarm], t0)
        _until(lambda: open_key(alarm.key) in late._open_keys)
        late.observe([alarm], t0 + timedelta(hours=2))
        assert late.occurrence(alarm) == early.occurrence(alarm)
        early.acknowledge(alarm, "on it", at=t0)
        _until(lambda: late.ack_for(alarm) is not None)
        assert late.ack_for(alarm).note == "early: on it"  # type: ignore[union-attr]
        # Cleared and back: a new occurrence, not hidden by the old note.
        early.observe([], t0 + timedelta(hours=3))
        late.observe([], t0 + timedelta(hours=3))
        _until(lambda: open_key(alarm.key) not in late._open_keys)
        late.observe([alarm], t0 + timedelta(hours=4))
        assert late.ack_for(alarm) is None
    finally:
        early.close()
        late.close()


def test_acking_without_nats_says_it_is_not_shared(tmp_path: Path) -> None:
    store = SharedAckStore(NatsOptions.from_options({"url": "nats://127.0.0.1:1"}))
    try:
        ack = store.acknowledge(_alarm(), "local only")
        assert store.ack_for(_alarm()) == ack
        assert store.save_error is not None and "not shared: NATS unreachable" in store.save_error
    finally:
        store.close()


def test_a_console_fed_by_nats_shares_its_acknowledgements(tmp_path: Path) -> None:
    """``ack_store_for``: the bucket beside the feed's for a ``nats`` backend
    (its name from the config); a console of its own keeps its own file."""
    config = load_config(_feed_config(tmp_path, "nats://127.0.0.1:1"))
    store = ack_store_for(config, lambda: AckStore(tmp_path / "acks.json"))
    try:
        assert isinstance(store, SharedAckStore)
        assert store.bucket.endswith("-acks") and store.path is None
    finally:
        store.close()
    alone = load_config(_config(tmp_path, "[backends.simulator]\nspeed = 0\n", "alone.toml"))
    local = ack_store_for(alone, lambda: AckStore(tmp_path / "acks.json"))
    assert type(local) is AckStore and local.path == tmp_path / "acks.json"
    local.close()  # nothing to let go of


# -------------------------------------------------------- the console itself


async def test_a_fed_console_shows_the_screen_of_a_polling_one(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    """Same seed, frozen clock: the console fed by a collector draws what the
    console polling the simulator itself draws, character for character (its
    nats backend is named 'simulator' so the source names read alike)."""
    from console.app import XenonConsole
    from tests.screen import screen_text
    from tests.simapp import simulator_app, wait_settled

    collector = _collector(tmp_path, nats_server.url, io.StringIO())
    fed_config = load_config(
        _config(tmp_path, f'[backends.simulator]\ntype = "nats"\nurl = "{nats_server.url}"\n')
    )
    screens = []
    try:
        _until(lambda: collector.published >= 5)
        for app in (
            simulator_app(),
            XenonConsole(fed_config, Backends(fed_config), clock=lambda: 0.0),
        ):
            async with app.run_test(size=(120, 40)) as pilot:
                await wait_settled(pilot)
                first = screen_text(app)
                await pilot.press("5", "/", *"unsafe", "enter")
                await pilot.pause(0.3)
                screens.append((first, screen_text(app)))
    finally:
        collector.close()
    direct, fed = screens
    assert "720 of 720 runs" in direct[0] and "2 of 720 runs" in direct[1]
    for one, other in zip(direct, fed, strict=True):
        # The title alone differs: the polling console names its scenario.
        assert "simulator: nominal" in one.splitlines()[0]
        assert other.splitlines()[1:] == one.splitlines()[1:]


def test_twenty_consoles_cost_the_backends_one_collector(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    """Each fetch of the real backends is counted: twenty consoles on one
    collector add none."""
    from console.fetching import fetch_all

    calls: list[Kind] = []
    real_fetch = SimulatorBackend.fetch

    def counted(self: SimulatorBackend, kind: Kind):  # type: ignore[no-untyped-def]
        calls.append(kind)
        return real_fetch(self, kind)

    SimulatorBackend.fetch = counted  # type: ignore[method-assign]
    try:
        collector = _collector(tmp_path, nats_server.url, io.StringIO())
        _until(lambda: collector.published >= 5)
        # The collector polls no more (its next polls, due while twenty
        # consoles read on a loaded machine, are not the consoles' doing);
        # its heartbeat and the bucket stay.
        collector.poller.stop()
        polled = len(calls)
        assert polled >= 5 and set(calls) == set(Kind)  # a first poll of each kind
        config = load_config(_feed_config(tmp_path, nats_server.url))
        consoles = [Backends(config) for _ in range(20)]
        try:
            for sources in consoles:
                results = fetch_all(sources, config)
                assert all(r.error is None for r in results.values()), results
                assert len(results[Kind.RUNS].snapshot.runs) == 720  # type: ignore[union-attr]
        finally:
            for sources in consoles:
                sources.close()
        collector.close()
        assert len(calls) == polled  # the consoles asked the real backends nothing
    finally:
        SimulatorBackend.fetch = real_fetch  # type: ignore[method-assign]


def test_record_and_check_on_a_fed_console(
    nats_server: NatsServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from console.recording import RecordingWriter, read_recording

    collector = _collector(tmp_path, nats_server.url, io.StringIO(), scenario="buffer-full")
    try:
        _until(lambda: collector.published >= 5)
        config_path = _feed_config(tmp_path, nats_server.url)
        assert main(["--config", str(config_path), "check"]) == 2
        line = capsys.readouterr().out
        assert line.startswith("XENON CRITICAL - ") and "buffer" in line.lower()
        from console.fetching import fetch_all

        config = load_config(config_path)
        sources = Backends(config)
        try:
            results = fetch_all(sources, config)
        finally:
            sources.close()
        with RecordingWriter(tmp_path / "fed.rec", meta={}) as writer:
            for result in results.values():
                writer.write(result, 1.0)
        frames = read_recording(tmp_path / "fed.rec").frames
        assert {f.kind for f in frames} == set(Kind)
        assert all(f.snapshot == results[f.kind].snapshot for f in frames)
    finally:
        collector.close()


@pytest.mark.slow
def test_the_papers_whole_history_round_trips(nats_server: NatsServer, tmp_path: Path) -> None:
    """267,620 runs do not fit one NATS message (1 MB): chunks of the base,
    then a delta, reach a console whole and equal."""
    collector = _collector(tmp_path, nats_server.url, io.StringIO(), runs=267_620)
    backend = NatsBackend({"url": nats_server.url})
    try:
        snapshot = _until(lambda: backend.fetch_runs(), timeout=240)
        assert isinstance(snapshot, RunsSnapshot)
        direct = SimulatorBackend({"speed": 0, "runs": 267_620}).fetch_runs()
        assert len(snapshot.runs) == len(direct.runs) == 267_620
        for i in (0, 1, 1000, 133_810, 267_618, 267_619):
            assert snapshot.runs[i] == direct.runs[i]
        assert [r.number for r in snapshot.runs] == [r.number for r in direct.runs]
    finally:
        collector.close()
        backend.close()


def test_the_readmes_permissions_let_consoles_read_and_ack_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """examples/nats-server.conf (shown in the README) on a real server: the
    collector publishes, a console reads and acknowledges, and cannot write
    a snapshot."""
    import asyncio

    import nats

    root = Path(__file__).resolve().parents[1]
    conf = (root / "examples" / "nats-server.conf").read_text()
    assert conf.strip() in (root / "README.md").read_text()
    server = NatsServer(
        tmp_path, config=conf, env={"COLLECTOR_PASSWORD": "c-pw-1", "CONSOLE_PASSWORD": "v-pw-2"}
    )
    server.start()
    collector = _collector(
        tmp_path, f"nats://collector:c-pw-1@127.0.0.1:{server.port}", io.StringIO()
    )
    console = {"url": f"nats://127.0.0.1:{server.port}", "user": "console", "password": "v-pw-2"}
    extra = 'user = "console"\npassword = "v-pw-2"'
    try:
        _until(lambda: collector.published >= 5)
        config = _feed_config(tmp_path, console["url"], extra)
        assert main(["--config", str(config), "report", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["runs"]["count"] == 720
        options = NatsOptions.from_options(console)
        alice, bob = SharedAckStore(options, name="alice"), SharedAckStore(options, name="bob")
        try:
            _until(lambda: alice._kv is not None and bob._kv is not None)
            alarm = dataclasses.replace(_alarm(), since=datetime(2017, 11, 15, tzinfo=UTC))
            alice.acknowledge(alarm, "mine")
            _until(lambda: bob.ack_for(alarm) is not None)
        finally:
            alice.close()
            bob.close()

        async def write_a_snapshot() -> str:
            client = await nats.connect(console["url"], user="console", password="v-pw-2")
            try:
                kv = await client.jetstream(timeout=2).key_value("xenon-console")
                await kv.put("snap.buffer", b"forged")
            except Exception as exc:
                return type(exc).__name__
            finally:
                await client.close()
            return "written"

        assert asyncio.run(write_a_snapshot()) != "written"
        violations = [line for line in server.log.read_text().splitlines() if "Violation" in line]
        # The forged write, and nothing the collector or the consoles did.
        assert violations and all(
            'User "console", Subject "$KV.xenon-console.snap.buffer"' in line for line in violations
        ), violations
    finally:
        collector.close()
        server.stop()


# ------------------------------------------------------------ command line


@pytest.mark.parametrize(
    "argv, says",
    [
        (["collect"], "collect: no NATS server: give --nats URL or [collector] url"),
        (["collect", "--nats", "http://x:1"], "[collector] option 'url': 'http://x:1' is not"),
        (["collect", "--nats", "nats://x:1", "--bucket", "a b"], "not a bucket name"),
        (
            ["collect", "--nats", "nats://u:hunter2@x:1", "--bucket", "a.b"],
            "[collector] option 'bucket'",
        ),
    ],
)
def test_collect_mistakes_are_one_line(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("xenon-console: error: ") and says in err and err.count("\n") == 1
    assert "hunter2" not in err


def test_config_takes_a_collector_section_and_a_name(tmp_path: Path) -> None:
    path = _config(
        tmp_path, '[collector]\nurl = "nats://h:1"\nbucket = "b"\n[ui]\nname = " Alice (lead) "\n'
    )
    config = load_config(path)
    assert dict(config.collector) == {"url": "nats://h:1", "bucket": "b"}
    assert config.ack_name == "Alice (lead)"
    bad = _config(tmp_path, "[ui]\nname = 7\n", "bad.toml")
    with pytest.raises(ConfigError, match=r"\[ui\] name must be a name"):
        load_config(bad)


def test_tls_with_the_sites_ca(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.nats_testbed import make_certificates

    ca, cert, key = make_certificates(tmp_path)
    server = NatsServer(tmp_path, tls=(cert, key))
    server.start()
    url = f"tls://127.0.0.1:{server.port}"
    config = load_config(_config(tmp_path, "[backends.simulator]\nspeed = 0\n", "collector.toml"))
    try:
        collector = Collector(
            config,
            Backends(config),
            NatsOptions.from_options({"url": url, "tls_ca": str(ca)}),
            heartbeat_every=0.5,
            log=io.StringIO(),
        )
        collector.start()
        try:
            _until(lambda: collector.published >= 5)
            good = _feed_config(tmp_path, url, f'tls_ca = "{ca}"')
            assert main(["--config", str(good), "report", "--json"]) == 0
            runs = json.loads(capsys.readouterr().out)["runs"]
            assert runs["count"] == 720, runs["error"]
            # Without the site's CA the server's certificate is not trusted.
            untrusted = _config(
                tmp_path,
                f'[backends.simulator]\ntype = "nats"\nurl = "{url}"\nconnect_timeout = 1\n',
                "untrusted.toml",
            )
            assert main(["--config", str(untrusted), "report", "--json"]) == 0
            error = json.loads(capsys.readouterr().out)["runs"]["error"]
            assert "NATS unreachable" in error and "CERTIFICATE_VERIFY_FAILED" in error
        finally:
            collector.close()
    finally:
        server.stop()


# ------------------------------------------------- what a review broke first


@pytest.mark.parametrize(
    "url, secret",
    [
        ("nats://u:pa/ss@127.0.0.1:1", "pa/ss"),
        ("nats://u:p@ss/w0rd@h:1", "p@ss/w0rd"),
        ("nats://u:pa@ss@h:1", "pa@ss"),
        ("nats://tok3n@h:1", "tok3n"),
    ],
)
def test_no_part_of_a_password_survives_in_a_url(url: str, secret: str) -> None:
    """A password may hold "/" or "@" (nats-py takes it as it is)."""
    options = NatsOptions.from_options({"url": url})
    for text in (safe_url(url), options.where(), options.scrub(f"cannot reach {url}: {secret}")):
        for part in {secret, *secret.replace("@", "/").split("/")} - {""}:
            assert part not in text, (part, text)


def _beat(**change: object) -> bytes:
    data: dict[str, object] = {
        "v": 1, "id": "c1", "host": "h", "user": "u", "pid": 1, "version": "1",
        "started": 1.0e9, "at": 1.0e9, "every": 5.0,
        "sources": {"buffer": {"backend": "sim", "error": None, "ok_at": 1.0e9, "polls": 1}},
    }  # fmt: skip
    data.update(change)
    return zlib.compress(json.dumps(data).encode())


@pytest.mark.parametrize(
    "change, says",
    [
        ({"pid": float("inf")}, "bad 'pid'"),
        ({"pid": 10**400}, "bad 'pid'"),
        ({"at": -1e300}, "'at': not a time"),
        ({"every": 0}, "bad 'every'"),
        ({"sources": {"buffer": {"backend": "s", "ok_at": -1e300}}}, "'ok_at': not a time"),
        ({"sources": {"buffer": {"backend": "s", "ok_at": 1e9, "polls": -1}}}, "bad 'polls'"),
    ],
)
def test_a_hostile_heartbeat_is_one_line(change: dict[str, object], says: str) -> None:
    assert feed.unpack_heartbeat(_beat()).sources["buffer"].polls == 1
    with pytest.raises(feed.FeedError, match=says):
        feed.unpack_heartbeat(_beat(**change))


def test_a_snapshot_that_inflates_past_64_mb_is_refused() -> None:
    bomb = zlib.compress(b"[" + b" " * (65 << 20) + b"]", 9)
    assert len(bomb) < 200_000
    with pytest.raises(feed.FeedError, match="more than 67,108,864 bytes"):
        feed.unpack_snapshot(bomb, Kind.TAPE)


def _put(url: str, bucket: str, key: str, value: bytes) -> None:
    import asyncio

    import nats

    async def put() -> None:
        client = await nats.connect(url)
        try:
            kv = await client.jetstream().key_value(bucket)
            await kv.put(key, value)
        finally:
            await client.close()

    asyncio.run(put())


def test_hostile_values_are_pane_errors_and_the_watch_goes_on(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    collector = _collector(tmp_path, nats_server.url, io.StringIO())
    backend = NatsBackend({"url": nats_server.url})
    try:
        _until(lambda: collector.published >= 5 and backend.fetch_tape())
        _put(nats_server.url, "xenon-console", "snap.tape", b"garbage")
        assert "bad data in the bucket: snap.tape" in str(
            _until(lambda: _error_of(backend, Kind.TAPE))
        )
        assert backend.fetch_buffer()  # the other panes go on
        from backends import codec

        run = codec.encode(SimulatorBackend({"speed": 0, "runs": 5}).fetch_runs().runs[0])
        delta = {"$": "RunsSnapshot", "taken_at": run["start"], "runs": [{**run, "number": "abc"}]}
        head = feed.pack(
            {"v": 1, "epoch": "x", "chunks": 0, "count": 1, "removed": [], "by": "c",
             "at": 1e9, "snapshot": delta}
        )  # fmt: skip
        _put(nats_server.url, "xenon-console", "runs.head", head)
        message = str(_until(lambda: "runs.head" in _error_of(backend, Kind.RUNS)
                             and _error_of(backend, Kind.RUNS)))  # fmt: skip
        assert "a run numbered 'abc'" in message
        # A new tape snapshot from the collector is taken again: the watch lives.
        collector.poller.poll_now()
        _until(lambda: not _error_of(backend, Kind.TAPE))
    finally:
        collector.close()
        backend.close()


def test_silence_is_judged_on_the_consoles_clock(nats_server: NatsServer) -> None:
    """A collector whose clock is 20 s behind is not silent while its
    heartbeats come; one whose clock is an hour ahead is, once they stop."""
    import asyncio

    import nats

    from backends.natsfeed.link import open_bucket

    async def beats(offset: float, count: int) -> None:
        client = await nats.connect(nats_server.url)
        try:
            kv = await open_bucket(client, "xenon-console", "test", create=True)
            for _ in range(count):
                now = time.time() + offset
                sources = {"tape": {"backend": "sim", "error": None, "ok_at": now}}
                await kv.put("collector", _beat(at=now, every=0.5, sources=sources))
                await asyncio.sleep(0.25)
        finally:
            await client.close()

    asyncio.run(beats(0, 1))
    backend = NatsBackend({"url": nats_server.url, "silent_after": 3})
    try:
        asyncio.run(beats(-20, 12))  # 3 s of heartbeats 20 s "old"
        assert "collector silent" not in _error_of(backend, Kind.TAPE)
        asyncio.run(beats(3600, 2))
        assert "collector silent" not in _error_of(backend, Kind.TAPE)
        message = str(_until(lambda: "collector silent" in _error_of(backend, Kind.TAPE)
                             and _error_of(backend, Kind.TAPE), timeout=10))  # fmt: skip
        assert "no heartbeat since 20" in message and "more than 1.5 s" in message
    finally:
        backend.close()


def test_data_of_an_earlier_collector_is_not_shown_as_this_ones(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    """A new collector that has not polled a pane yet: the pane says so, not
    the last collector's snapshot as fresh."""
    collector = _collector(tmp_path, nats_server.url, io.StringIO())
    backend = NatsBackend({"url": nats_server.url})
    try:
        _until(lambda: collector.published >= 5 and backend.fetch_tape())
        assert backend.data_age(Kind.TAPE) < 5
        collector.close()
        now = time.time()
        sources = {"tape": {"backend": "prom", "error": None, "ok_at": None, "polls": 0}}
        _put(nats_server.url, "xenon-console", "collector", _beat(at=now, id="c2", sources=sources))
        message = str(_until(lambda: "not polled yet" in _error_of(backend, Kind.TAPE)
                             and _error_of(backend, Kind.TAPE)))  # fmt: skip
        assert "its first poll of tape is on its way" in message
    finally:
        collector.close()
        backend.close()


def test_a_collector_without_nats_says_so(tmp_path: Path) -> None:
    from tests.prometheus_testbed import free_port

    log = io.StringIO()
    collector = _collector(tmp_path, f"nats://127.0.0.1:{free_port()}", log)
    try:
        _until(lambda: "NATS unreachable at nats://127.0.0.1" in log.getvalue(), timeout=10)
        assert "Connect call failed" in log.getvalue() or "refused" in log.getvalue()
    finally:
        collector.close()


def test_a_broken_ack_value_does_not_stop_the_sharing(nats_server: NatsServer) -> None:
    options = NatsOptions.from_options({"url": nats_server.url})
    alice, bob = SharedAckStore(options, name="alice"), SharedAckStore(options, name="bob")
    try:
        _until(lambda: alice._kv is not None and bob._kv is not None)
        _put(nats_server.url, "xenon-console-acks", "ack.zzz", b"[" * 200_000)
        alarm = dataclasses.replace(_alarm(), since=datetime(2017, 11, 15, tzinfo=UTC))
        bob.acknowledge(alarm, "after the garbage")
        _until(lambda: alice.ack_for(alarm) is not None)
        bob.unacknowledge(alarm)
        _until(lambda: alice.ack_for(alarm) is None)
    finally:
        alice.close()
        bob.close()


@pytest.mark.parametrize("age, kept", [(1e300, 1e9), (float("nan"), 1e9), (-5.0, 0.0), (3.0, 3.0)])
def test_a_backends_data_age_is_bounded(age: float, kept: float) -> None:
    """An absurd age would overflow the alarms' clock: it is the oldest there is."""
    from console.fetching import fetch_one

    config = load_config(None, speed=0)
    sources = Backends(config)
    try:
        backend = sources.for_kind(Kind.TAPE)
        backend.data_age = lambda kind: age  # type: ignore[method-assign]
        assert fetch_one(sources, Kind.TAPE).age == kept
    finally:
        sources.close()


def test_a_wake_polls_only_the_kinds_its_backend_serves_here() -> None:
    """A nats backend serving one pane wakes every kind it knows: the poller
    polls only the pane it serves, not another backend's."""
    from console.polling import Poller, derive

    config = load_config(None, speed=0)
    sources = Backends(config)
    woken: list[tuple[Kind, ...]] = []
    poller = Poller(sources, config, lambda event: None, derive(config))
    poller.poll_now = lambda kinds=None: woken.append(tuple(kinds or ()))  # type: ignore[method-assign]
    try:
        poller._changed(Kind.TAPE, "simulator")
        poller._changed(Kind.TAPE, "feed")  # not the backend of tape here
        assert woken == [(Kind.TAPE,)]
    finally:
        sources.close()


def test_an_update_reaches_a_console_at_once_not_at_its_interval(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    from console.polling import Polled, Poller, derive

    collector = _collector(tmp_path, nats_server.url, io.StringIO(), speed=60)
    intervals = "\n".join(f"{k.value} = 3600" for k in Kind)
    config = load_config(_feed_config(tmp_path, nats_server.url, f"\n[intervals]\n{intervals}"))
    sources = Backends(config)
    polled: list[Polled] = []
    poller = Poller(
        sources,
        config,
        lambda e: polled.append(e) if isinstance(e, Polled) else None,
        derive(config),
    )
    poller.start()
    try:

        def good(kind: Kind) -> list[Polled]:
            return [p for p in polled if p.result.kind is kind and p.result.snapshot is not None]

        _until(lambda: good(Kind.BUFFER))
        first = good(Kind.BUFFER)[-1].result.snapshot
        collector.poller.poll_now([Kind.BUFFER])  # a new buffer snapshot is published
        _until(lambda: good(Kind.BUFFER)[-1].result.snapshot != first, timeout=10)
    finally:
        poller.stop()
        sources.close()
        collector.close()

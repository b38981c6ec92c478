"""The tsm backend's index: a new console reads only the logs that changed.

The index (``backends/tsm/index.py``) is a cache in the user's cache
directory: whatever is in it (nothing, garbage, another directory's, a
tampered entry) the snapshot is the one a full read gives; only what it costs
differs.
"""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends.model import TapeSnapshot
from backends.sources import BackendConfigError
from backends.tsm import TsmBackend, index
from backends.tsm import logdir as logdir_module
from tests.test_tsm import NOW, fixture, set_mtime

#: Finished logs (the first three copies of the success, then failures) and
#: one still being written (young, so an upload in progress).
FINISHED = 12


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    d = tmp_path / "dsmc"
    d.mkdir()
    at = datetime(2017, 11, 15, 9, 0, tzinfo=UTC)
    for n in range(FINISHED):
        run = 7000 + n
        name = "6731_success.log" if n % 3 else "6732_failed.log"
        source = "6731" if n % 3 else "6732"
        path = d / f"{run}_upload.log"
        path.write_text(fixture(name).replace(source, str(run)))
        set_mtime(path, at + timedelta(minutes=n))
    young = d / "7100_upload.log"
    young.write_text(fixture("6733_truncated.log").replace("6733", "7100"))
    set_mtime(young, NOW - timedelta(minutes=5))
    return d


def backend(log_dir: Path, **options: object) -> TsmBackend:
    return TsmBackend({"log_dir": str(log_dir), **options}, clock=lambda: NOW)


def session(log_dir: Path, **options: object) -> TapeSnapshot:
    """A console's life: its first poll, then it ends (the index is written)."""
    tsm = backend(log_dir, **options)
    try:
        return tsm.fetch_tape()
    finally:
        tsm.close()
        tsm.logs.wait_closed()


def cache_files(tmp_path: Path) -> list[Path]:
    root = Path(os.environ["XDG_CACHE_HOME"])
    return sorted(root.rglob("tsm-*.json")) if root.exists() else []


def test_a_new_console_reads_only_what_changed_since_the_index(logs: Path, tmp_path: Path) -> None:
    first = backend(logs)
    baseline = first.fetch_tape()
    assert cache_files(tmp_path) == []  # not in the first poll, the one waited for
    assert first.logs.scan().from_index == 0  # the second poll writes it
    [written] = cache_files(tmp_path)
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert written == index.default_path(logs, r"(?P<run>\d+)", UTC)

    # A new console: every finished log comes from the index, unopened; the
    # one still being written is read.
    second = backend(logs)
    scan = second.logs.scan()
    assert scan.from_index == FINISHED
    assert scan.bytes_read == (logs / "7100_upload.log").stat().st_size
    assert backend(logs).fetch_tape() == baseline

    # One log rewritten (another inode), one touched: those two are read.
    rewritten = logs / "7001_upload.log"
    text = rewritten.read_text()
    rewritten.unlink()
    rewritten.write_text(text.replace("return code 0", "return code 12"))
    set_mtime(logs / "7002_upload.log", NOW - timedelta(hours=1))
    third = backend(logs)
    scan = third.logs.scan()
    assert scan.from_index == FINISHED - 2
    assert scan.bytes_read == sum(
        (logs / name).stat().st_size
        for name in ("7001_upload.log", "7002_upload.log", "7100_upload.log")
    )
    changed = {u.run_number: u for u in third.fetch_tape().uploads}
    assert changed[7001].return_code == 12
    assert changed == {u.run_number: u for u in backend(logs, index=False).fetch_tape().uploads}


def test_a_grown_log_is_read_again_in_full(logs: Path) -> None:
    """Only an exact match is taken: across consoles an inode may have been
    reused by another file since, so a grown log is not resumed."""
    session(logs)
    path = logs / "7003_upload.log"
    extra = "ANS1228E Sending of object '/data/xenon/raw/7003/late' failed\n"
    with open(path, "a") as f:
        f.write(extra)
    grown = backend(logs)
    scan = grown.logs.scan()
    assert scan.from_index == FINISHED - 1
    assert scan.bytes_read == path.stat().st_size + (logs / "7100_upload.log").stat().st_size
    assert grown.fetch_tape() == backend(logs, index=False).fetch_tape()


def test_finished_logs_are_written_as_they_finish_and_at_close(logs: Path) -> None:
    clock = [0.0]
    tsm = backend(logs)
    tsm.logs._clock = lambda: clock[0]
    tsm.fetch_tape()
    tsm.fetch_tape()  # the second poll writes the index
    young = logs / "7100_upload.log"
    with open(young, "a") as f:
        f.write(fixture("6731_success.log").split("Total number of objects inspected", 1)[1])
    tsm.fetch_tape()  # finished now, but the index was written a moment ago
    assert (
        "7100_upload.log"
        not in index.load(tsm.logs.index_path, logs, r"(?P<run>\d+)", UTC).entries()
    )
    tsm.close()
    tsm.logs.wait_closed()
    kept = index.load(tsm.logs.index_path, logs, r"(?P<run>\d+)", UTC).entries()
    assert len(kept) == FINISHED + 1
    assert backend(logs).logs.scan().bytes_read == 0


def test_a_removed_log_leaves_the_index(logs: Path) -> None:
    tsm = backend(logs)
    tsm.fetch_tape()
    tsm.fetch_tape()
    (logs / "7004_upload.log").unlink()
    tsm.fetch_tape()
    tsm.close()
    tsm.logs.wait_closed()
    kept = index.load(tsm.logs.index_path, logs, r"(?P<run>\d+)", UTC).entries()
    assert "7004_upload.log" not in kept and len(kept) == FINISHED - 1


def test_index_off_writes_nothing_and_index_file_is_honoured(logs: Path, tmp_path: Path) -> None:
    backend(logs, index=False).fetch_tape()
    assert cache_files(tmp_path) == []
    own = tmp_path / "elsewhere" / "tape.idx"
    session(logs, index_file=str(own))
    assert own.is_file() and backend(logs, index_file=str(own)).logs.scan().from_index == FINISHED
    with pytest.raises(BackendConfigError, match="index_file"):
        backend(logs, index=False, index_file=str(own))
    with pytest.raises(BackendConfigError, match="in the log directory"):
        backend(logs, index_file=str(logs / "index.json"))
    with pytest.raises(BackendConfigError, match="'index' must be true or false"):
        backend(logs, index="yes")


def test_an_index_of_another_directory_or_pattern_is_not_used(logs: Path, tmp_path: Path) -> None:
    tsm = backend(logs)
    tsm.fetch_tape()
    tsm.close()
    tsm.logs.wait_closed()
    shared = tsm.logs.index_path
    other = tmp_path / "other"
    other.mkdir()
    for path in logs.iterdir():  # the same names, sizes and times, another directory
        (other / path.name).write_bytes(path.read_bytes())
        os.utime(other / path.name, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns))
    assert backend(other, index_file=str(shared)).logs.scan().from_index == 0
    assert (
        backend(logs, index_file=str(shared), log_pattern=r"^(?P<run>\d+)_").logs.scan().from_index
        == 0
    )


def _entries_file(logs: Path) -> tuple[Path, dict]:  # type: ignore[type-arg]
    tsm = backend(logs)
    tsm.fetch_tape()
    tsm.close()
    tsm.logs.wait_closed()
    path = tsm.logs.index_path
    assert path is not None
    return path, json.loads(path.read_text())


def field(name: str, value: object):  # type: ignore[no-untyped-def]
    """Set one summary field of an entry (entries keep the fields in order)."""
    return lambda e: e[4].__setitem__(index._FIELDS.index(name), value)


@pytest.mark.parametrize(
    "tamper",
    [
        field("objects_failed", "0"),
        field("errors", [1]),
        field("elapsed_seconds", float("nan")),
        lambda e: [field("elapsed_seconds", None)(e), field("logged_return_code", None)(e)],
        lambda e: e[4].pop(),  # a field short
        field("started_at", 1e300),
        field("error_count", -1),
        field("lines", True),
        field("warnings", ["w"] * 6),
        lambda e: e.__setitem__(3, 7999),  # another run than the name says
        lambda e: e.__setitem__(2, True),
        lambda e: e.append(0),
    ],
)
def test_an_entry_not_exactly_well_formed_is_not_used(logs: Path, tamper) -> None:  # type: ignore[no-untyped-def]
    path, data = _entries_file(logs)
    tamper(data["logs"]["7005_upload.log"])
    path.write_text(json.dumps(data))
    scan = backend(logs).logs.scan()
    assert scan.from_index == FINISHED - 1
    assert backend(logs).fetch_tape() == backend(logs, index=False).fetch_tape()


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\xff\xfe\x00garbage",
        b"[" * 100_000,
        b'{"version": 2, "key": {}, "logs": {}}',
        b'{"version": 1, "key": "x", "logs": []}',
        b"null",
    ],
)
def test_a_bad_index_file_costs_a_full_read_and_is_replaced(logs: Path, content: bytes) -> None:
    baseline = backend(logs, index=False).fetch_tape()
    path = index.default_path(logs, r"(?P<run>\d+)", UTC)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    assert session(logs) == baseline
    assert backend(logs).logs.scan().from_index == FINISHED  # rewritten, good now


def test_a_fifo_directory_or_unwritable_index_never_blocks_or_fails(
    logs: Path, tmp_path: Path
) -> None:
    baseline = backend(logs, index=False).fetch_tape()
    fifo = tmp_path / "fifo.idx"
    os.mkfifo(fifo)
    assert backend(logs, index_file=str(fifo)).fetch_tape() == baseline
    folder = tmp_path / "folder.idx"
    folder.mkdir()
    assert backend(logs, index_file=str(folder)).fetch_tape() == baseline
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        tsm = backend(logs, index_file=str(locked / "idx.json"))
        assert tsm.fetch_tape() == baseline
        tsm.close()
        tsm.logs.wait_closed()
    finally:
        locked.chmod(0o700)


def test_an_oversized_index_is_not_read(logs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path, _ = _entries_file(logs)
    monkeypatch.setattr(index, "MAX_BYTES", path.stat().st_size - 1)
    assert backend(logs).logs.scan().from_index == 0


def test_the_index_is_written_once_when_nothing_changed(logs: Path) -> None:
    session(logs)
    path = index.default_path(logs, r"(?P<run>\d+)", UTC)
    before = path.stat().st_mtime_ns, path.stat().st_ino
    again = backend(logs)
    again.fetch_tape()
    again.close()
    again.logs.wait_closed()
    assert (path.stat().st_mtime_ns, path.stat().st_ino) == before


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(noise=st.binary(max_size=400), cut=st.integers(min_value=0, max_value=100_000))
def test_any_bytes_in_the_index_give_the_full_reads_snapshot(
    logs: Path, noise: bytes, cut: int
) -> None:
    """Random bytes, or a real index cut anywhere and followed by noise."""
    baseline = backend(logs, index=False).fetch_tape()
    path = index.default_path(logs, r"(?P<run>\d+)", UTC)
    session(logs)
    good = path.read_bytes()
    path.write_bytes(good[: cut % (len(good) + 1)] + noise)
    assert backend(logs).fetch_tape() == baseline


def test_the_chunk_size_does_not_matter_with_an_index(
    logs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logdir_module, "CHUNK", 7)
    baseline = backend(logs, index=False).fetch_tape()
    session(logs)
    assert backend(logs).fetch_tape() == baseline


def test_closing_never_waits_for_a_scan_in_progress(logs: Path) -> None:
    tsm = backend(logs)
    tsm.fetch_tape()
    with tsm.logs._lock:  # a scan hanging on a slow disk
        tsm.close()  # returns at once
        tsm.logs.wait_closed()  # and gives up writing: the scan holds the index
    assert not tsm.logs.index_path.exists()
    tsm.close()
    tsm.logs.wait_closed()
    assert tsm.logs.index_path.is_file()


def test_a_write_cut_short_leaves_no_litter_for_long(logs: Path) -> None:
    """A console killed while writing (the forced exit) leaves a temporary
    file; the next write removes those older than an hour."""
    path = index.default_path(logs, r"(?P<run>\d+)", UTC)
    path.parent.mkdir(parents=True)
    old, fresh = path.parent / ".tsm-index-old", path.parent / ".tsm-index-fresh"
    old.write_text("{")
    fresh.write_text("{")
    os.utime(old, (1e9, 1e9))
    session(logs)
    assert path.is_file() and not old.exists() and fresh.exists()


def test_a_client_time_in_a_dst_gap_reads_back_the_same(tmp_path: Path) -> None:
    """02:30 on the night the clocks go forward names no instant in Rome: the
    index keeps dsmc's wall-clock time, not an instant (review)."""
    d = tmp_path / "dst"
    d.mkdir()
    text = fixture("6731_success.log")
    start = next(line for line in text.splitlines() if "Client date/time" in line)
    (d / "6731_upload.log").write_text(
        text.replace(start, "  Client date/time: 03/26/2017 02:30:00")
    )
    set_mtime(d / "6731_upload.log", NOW)
    full = backend(d, index=False, timezone="Europe/Rome").fetch_tape()
    session(d, timezone="Europe/Rome")
    again = backend(d, timezone="Europe/Rome")
    assert again.logs.scan().from_index == 1
    assert backend(d, timezone="Europe/Rome").fetch_tape() == full


def test_a_summary_json_cannot_hold_is_left_to_a_full_read(logs: Path) -> None:
    """A 400-digit rate parses to inf, which JSON cannot keep: that log is not
    indexed (and read at each start), the others are (review)."""
    path = logs / "7001_upload.log"
    text = path.read_text()
    rate = next(line for line in text.splitlines() if "Aggregate data transfer rate" in line)
    path.write_text(text.replace(rate, f"Aggregate data transfer rate: {'9' * 400} KB/sec"))
    set_mtime(path, NOW - timedelta(hours=2))
    baseline = backend(logs, index=False).fetch_tape()
    session(logs)
    again = backend(logs)
    assert again.logs.scan().from_index == FINISHED - 1
    assert backend(logs).fetch_tape() == baseline


def test_a_failed_write_waits_before_it_is_tried_again(
    logs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tries: list[int] = []

    def refuse(*args: object) -> None:
        tries.append(1)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(index, "save", refuse)
    clock = [0.0]
    tsm = backend(logs)
    tsm.logs._clock = lambda: clock[0]
    young = logs / "7100_upload.log"
    for n in range(6):  # a log that keeps growing: something to write each poll
        with open(young, "a") as f:
            f.write(f"Normal File-->  1,024 /data/xenon/raw/7100/f{n} [Sent]\n")
        os.utime(young, (NOW.timestamp() + n, NOW.timestamp() + n))
        (logs / f"{7200 + n}_upload.log").write_text(
            fixture("6731_success.log").replace("6731", str(7200 + n))
        )
        tsm.fetch_tape()
    assert len(tries) == 1  # the second poll's write, not one a poll after it
    clock[0] = logdir_module.INDEX_EVERY + 1
    tsm.fetch_tape()
    assert len(tries) == 2
    tsm.close()  # and once more when the console ends
    tsm.logs.wait_closed()
    assert len(tries) == 3


def test_an_index_written_by_someone_else_or_writable_by_others_is_not_trusted(
    logs: Path,
) -> None:
    path, _ = _entries_file(logs)
    path.chmod(0o666)
    assert backend(logs).logs.scan().from_index == 0
    path.chmod(0o600)
    assert backend(logs).logs.scan().from_index == FINISHED
    if os.getuid() == 0:
        os.chown(path, 12345, -1)  # another user's file
        assert backend(logs).logs.scan().from_index == 0


def test_closing_returns_while_the_index_is_being_written(
    logs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`q` must not wait for a 267,620-entry index (3 s): the write goes on in
    a thread of its own, and the process ends when it is done."""
    import threading

    writing, release = threading.Event(), threading.Event()
    real = index.save

    def slow(*args: object) -> None:
        writing.set()
        release.wait(10)
        real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(index, "save", slow)
    tsm = backend(logs)
    tsm.fetch_tape()
    tsm.close()  # returns although the write is held
    assert writing.wait(5) and not tsm.logs.index_path.exists()
    assert tsm.logs._closing is not None and not tsm.logs._closing.daemon
    release.set()
    tsm.logs.wait_closed(10)
    assert tsm.logs.index_path.is_file()

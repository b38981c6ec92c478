"""The model codec and the recording format (issue #7, record and replay)."""

from __future__ import annotations

import dataclasses
import enum
import gzip
import json
import subprocess
import sys
import threading
import types
import typing
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from backends import model
from backends.codec import REGISTRY, CodecError, decode, decode_json, encode
from backends.model import (
    BufferSample,
    BufferSnapshot,
    CopyStatus,
    CopyType,
    Dag,
    DagStatus,
    DataCopy,
    Job,
    JobsSnapshot,
    JobStatus,
    Kind,
    RseStatus,
    Rule,
    RuleState,
    Run,
    RunsSnapshot,
    TapeSnapshot,
    TapeState,
    TapeUpload,
    TransfersSnapshot,
)
from backends.simulator import SCENARIOS, SimulatorBackend
from console.fetching import Result
from console.recording import (
    FORMAT,
    Frame,
    RecordingError,
    RecordingWriter,
    read_recording,
)

T0 = datetime(2017, 11, 15, 12, 0, 0, 123456, tzinfo=UTC)


def comparable(snapshot: Any) -> Any:
    """A snapshot with its (maybe lazy) runs as a tuple, to compare with ==."""
    if isinstance(snapshot, RunsSnapshot):
        return dataclasses.replace(snapshot, runs=tuple(snapshot.runs))
    return snapshot


def round_trip(value: Any) -> Any:
    text = json.dumps(encode(value))
    decoded = decode(json.loads(text))
    assert comparable(decode_json(text)) == comparable(decoded)
    return decoded


def simulator(scenario: str = "nominal", runs: int = 200) -> SimulatorBackend:
    return SimulatorBackend({"seed": 1, "speed": 0, "runs": runs, "scenario": scenario})


# ---------------------------------------------------------------------- codec


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_codec_round_trips_every_kind_of_every_scenario(scenario: str) -> None:
    backend = simulator(scenario)
    for _ in range(2):
        for kind in Kind:
            snapshot = backend.fetch(kind)
            decoded = round_trip(snapshot)
            assert type(decoded) is type(snapshot)
            assert comparable(decoded) == comparable(snapshot), kind
            if kind is Kind.RUNS:
                assert tuple(decoded.runs) == tuple(snapshot.runs)
        backend.advance(3600)


def hand_built() -> list[Any]:
    """One snapshot of each kind with every optional field set."""
    sample = BufferSample(T0, 10**12)
    buffer = BufferSnapshot(
        T0,
        50 * 10**12,
        40 * 10**12,
        (sample, sample),
        1.5e8,
        False,
        "/mnt/raw",
        malformed=("sample 3 is not a number",),
    )
    rule = Rule(
        "r1",
        "x1t_SR001",
        "171115_1200_tpc:raw",
        "NIKHEF_USERDISK",
        RuleState.STUCK,
        1,
        2,
        3,
        4 * 10**9,
        T0,
        T0 + timedelta(hours=1),
        run_number=12,
        expires_at=T0 + timedelta(days=3),
        stuck_since=T0,
        error="checksum mismatch",
    )
    rse = RseStatus("NIKHEF_USERDISK", 10, 20, 3.5, available=False, region="EU")
    transfers = TransfersSnapshot(T0, (rse,), (rule,))
    upload = TapeUpload(
        12,
        TapeState.FAILED,
        5 * 10**9,
        T0,
        started_at=T0,
        finished_at=T0,
        return_code=12,
        message="ANS1228E",
        objects_inspected=3,
        objects_backed_up=2,
        objects_failed=1,
        bytes_transferred=10**9,
        transfer_rate_bps=2.5e7,
        elapsed_seconds=40.0,
    )
    tape = TapeSnapshot(
        T0,
        (upload,),
        verified_runs=7,
        verified_bytes=8,
        last_success=T0,
        rate_bps=1e7,
        malformed=("unreadable log",),
    )
    job = Job(
        "schedd",
        100,
        2,
        JobStatus.HELD,
        "xe1t",
        "Nikhef",
        T0,
        T0,
        dag_cluster_id=99,
        node_name="node_3",
        batch_name="run_12",
        num_job_starts=4,
        hold_reason="out of memory",
        hold_reason_code=34,
    )
    dag = Dag("schedd", 99, "run_12", 12, 10, 5, 1, 2, 1, DagStatus.NODE_FAILED, T0, finished=True)
    jobs = JobsSnapshot(
        T0,
        (job,),
        (dag,),
        schedds=("schedd",),
        schedd_errors=(("other", "timed out"),),
        ad_problems=("schedd: 2 ads skipped",),
    )
    copy = DataCopy(
        CopyType.RAW.value,
        model.HOST_RUCIO,
        CopyStatus.ERROR.value,
        "x1t:raw",
        "abcd",
        "NIKHEF_USERDISK",
        T0,
        checksum_problem=True,
    )
    run = Run(
        12,
        "171115_1200",
        T0,
        T0 + timedelta(hours=1),
        "tpc",
        "AmBe",
        ("_sciencerun1", "blinded"),
        1000,
        10**9,
        (copy,),
        malformed=("no end",),
    )
    runs = RunsSnapshot(T0, (run,), data_taking=True)
    return [buffer, transfers, tape, jobs, runs]


@pytest.mark.parametrize("snapshot", hand_built(), ids=lambda s: type(s).__name__)
def test_codec_round_trips_a_hand_built_snapshot_with_every_optional_field(snapshot) -> None:
    decoded = round_trip(snapshot)
    assert decoded == snapshot
    assert json.dumps(encode(decoded)) == json.dumps(encode(snapshot))


def synthesize(annotation: Any, default: Any = dataclasses.MISSING, depth: int = 0) -> Any:
    """A value of ``annotation`` that differs from ``default``: every field set.

    A class that holds itself (``Run.twins``) is nested one level deep.
    """
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if depth > 1 and origin in (tuple, Sequence):
        return ()
    if origin in (typing.Union, types.UnionType):
        return synthesize(next(a for a in args if a is not type(None)), depth=depth)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return (synthesize(args[0], depth=depth), synthesize(args[0], depth=depth))
        return tuple(synthesize(a, depth=depth) for a in args)
    if origin is Sequence:
        return (synthesize(args[0], depth=depth),)
    if annotation is bool:
        return default is not True
    if annotation is int:
        return 7 if default != 7 else 8
    if annotation is float:
        return 2.5 if default != 2.5 else 3.5
    if annotation is str:
        return "text" if default != "text" else "other"
    if annotation is datetime:
        return T0
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return next(m for m in reversed(list(annotation)) if m != default)
    if dataclasses.is_dataclass(annotation):
        hints = typing.get_type_hints(annotation, vars(model))
        return annotation(
            **{
                f.name: synthesize(hints[f.name], f.default, depth + 1)
                for f in dataclasses.fields(annotation)
                if f.init
            }
        )
    raise AssertionError(f"synthesize: no rule for {annotation!r}")


@pytest.mark.parametrize(
    "cls", [c for c in REGISTRY.values() if dataclasses.is_dataclass(c)], ids=lambda c: c.__name__
)
def test_codec_round_trips_every_model_class_with_every_field_set(cls: type) -> None:
    value = synthesize(cls)
    assert round_trip(value) == value


def test_recording_modules_load_no_ui() -> None:
    code = (
        "import sys, console.recording\n"
        "print(sorted(n for n in sys.modules if n.split('.')[0] in ('textual', 'rich')))\n"
    )
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_codec_registry_holds_the_model() -> None:
    for cls in (RunsSnapshot, Run, DataCopy, JobStatus, Kind, RuleState, model.RunDetail):
        assert REGISTRY[cls.__name__] is cls


def test_codec_leaves_out_defaults_and_fills_them_back() -> None:
    rse = RseStatus("A", 1, None)
    data = encode(rse)
    assert data == {"$": "RseStatus", "name": "A", "used_bytes": 1, "total_bytes": None}
    assert decode(data) == rse


def test_codec_ignores_unknown_fields_with_a_note() -> None:
    data = encode(RseStatus("A", 1, 2, available=False))
    data["colour"] = "green"
    notes: set[str] = set()
    assert decode(data, notes) == RseStatus("A", 1, 2, available=False)
    assert notes == {"ignored unknown field RseStatus.colour (written by a newer version?)"}
    assert decode(data) == RseStatus("A", 1, 2, available=False)  # no notes asked for


def test_codec_errors_are_clear() -> None:
    with pytest.raises(CodecError, match="unknown type 'Quasar'"):
        decode({"$": "Quasar", "x": 1})
    with pytest.raises(CodecError, match=r"RseStatus lacks required field.*total_bytes"):
        decode({"$": "RseStatus", "name": "A", "used_bytes": 1})
    with pytest.raises(CodecError, match="unknown JobStatus value 42"):
        decode({"$enum": "JobStatus", "value": 42})
    with pytest.raises(CodecError, match="bad datetime"):
        decode({"$dt": "yesterday"})
    with pytest.raises(CodecError, match="without a type tag"):
        decode({"name": "A"})
    with pytest.raises(CodecError, match=r"not a backends\.model type"):
        encode(Frame(0.0, Kind.RUNS, "s", None, None))
    with pytest.raises(CodecError, match="type object"):
        encode(object())


def test_codec_keeps_plain_values_enums_tuples_and_datetimes() -> None:
    value = (None, 1, 2.5, "s", True, JobStatus.HELD, Kind.RUNS, T0, (1, (2,)), {"k": (T0,)})
    decoded = round_trip(value)
    assert decoded == value
    assert type(decoded[5]) is JobStatus and type(decoded[6]) is Kind
    assert isinstance(decoded[8], tuple) and isinstance(decoded[8][1], tuple)


# ------------------------------------------------------------------ recording


def record_session(
    path: Path, *, polls: int = 4, runs: int = 300, advance: float = 1800.0
) -> tuple[list[Result], list[int]]:
    """Record ``polls`` rounds of every kind (plus an error); return what was
    written and the file size after each record (each write is flushed)."""
    backend = simulator(runs=runs)
    written: list[Result] = []
    sizes: list[int] = []
    with RecordingWriter(path, meta={"config": "test", "seed": 1}) as writer:
        sizes.append(path.stat().st_size)
        for poll in range(polls):
            for kind in Kind:
                result = Result(kind, "sim", backend.fetch(kind), None, 0.01)
                writer.write(result, poll * 10.0 + 0.5)
                written.append(result)
                sizes.append(path.stat().st_size)
            if poll == 1:
                failed = Result(Kind.TAPE, "sim", None, "TimeoutError: timed out", 5.0)
                writer.write(failed, poll * 10.0 + 1.0)
                written.append(failed)
                sizes.append(path.stat().st_size)
            backend.advance(advance)
        assert writer.records == len(written)
    return written, sizes


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Result], list[int]]:
    path = tmp_path_factory.mktemp("rec") / "session.xrec.gz"
    written, sizes = record_session(path)
    return path, written, sizes


def assert_frames_match(frames: list[Frame], written: list[Result]) -> None:
    assert len(frames) <= len(written)
    for frame, result in zip(frames, written, strict=False):
        assert (frame.kind, frame.source, frame.error) == (result.kind, result.source, result.error)
        assert comparable(frame.snapshot) == comparable(result.snapshot)


def records(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt") as f:
        return [json.loads(line) for line in f]


def test_recorded_session_replays_the_snapshots_fetched(session) -> None:
    path, written, _ = session
    recording = read_recording(path)
    assert recording.damage is None and recording.notes == ()
    assert recording.version == 1 and recording.meta == {"config": "test", "seed": 1}
    assert recording.created and datetime.fromisoformat(recording.created)
    assert len(recording.frames) == len(written)
    assert_frames_match(recording.frames, written)
    assert [f.t for f in recording.frames][:6] == [0.5] * 5 + [10.5]
    assert recording.duration == 30.5
    header = records(path)[0]
    assert header["format"] == FORMAT and header["version"] == 1


def test_runs_frames_share_unchanged_run_objects(session) -> None:
    path, _, _ = session
    runs_frames = [f for f in read_recording(path).frames if f.kind is Kind.RUNS]
    first, second = (f.snapshot.runs for f in runs_frames[:2])
    shared = sum(a is b for a, b in zip(first, second, strict=False))
    assert shared >= len(first) - 20
    assert first != second  # and yet they differ where the runs changed


def test_later_runs_records_are_small_deltas(session) -> None:
    path, written, _ = session
    lines = [r for r in records(path)[1:] if r["kind"] == "runs"]
    sizes = [len(json.dumps(r)) for r in lines]
    assert "delta" not in lines[0] and all("delta" in r for r in lines[1:])
    assert len(lines[0]["snapshot"]["runs"]) == len(written[4].snapshot.runs)
    for later in lines[1:]:
        assert len(later["snapshot"]["runs"]) < 20
        assert later["delta"]["count"] >= len(lines[0]["snapshot"]["runs"])
    assert max(sizes[1:]) * 20 < sizes[0]


def test_unchanged_runs_are_an_empty_delta(tmp_path: Path) -> None:
    backend = simulator(runs=100)
    snapshot = backend.fetch_runs()
    path = tmp_path / "r.xrec.gz"
    with RecordingWriter(path, meta={}) as writer:
        writer.write(Result(Kind.RUNS, "sim", snapshot, None, 0.0), 0.0)
        writer.write(Result(Kind.RUNS, "sim", snapshot, None, 0.0), 1.0)
    last = records(path)[-1]
    assert last["snapshot"]["runs"] == [] and last["delta"] == {"count": 100, "removed": []}
    frames = read_recording(path).frames
    assert frames[1].snapshot.runs is frames[0].snapshot.runs


def run(number: int, detector: str = "tpc") -> Run:
    return Run(number, f"run{number}", T0, None, detector, "none", (), None, None)


def test_runs_deltas_handle_removals_insertions_and_disorder(tmp_path: Path) -> None:
    base = [run(n) for n in range(0, 100, 2)]
    sequences = [
        base,
        [r for r in base if r.number not in (10, 50)] + [run(200)],  # removed, appended
        sorted([*base[:40], run(33), run(1, "muon_veto")], key=lambda r: r.number),  # inserted
        [run(5), run(3), run(4)],  # not ascending: written in full
        [run(3), run(4), run(5)],
        [run(3), run(3)],  # duplicate numbers: in full
        [run(n, "muon_veto") for n in range(100)],  # most changed: in full
        [],
        [run(1)],  # all changed (1 of 1): in full
        [run(1), run(2)],
    ]
    path = tmp_path / "r.xrec.gz"
    with RecordingWriter(path, meta={}) as writer:
        for i, runs in enumerate(sequences):
            writer.write(Result(Kind.RUNS, "a", RunsSnapshot(T0, tuple(runs)), None, 0.0), i)
            # A second source keeps its own base.
            other = RunsSnapshot(T0, (run(i),), data_taking=bool(i % 2))
            writer.write(Result(Kind.RUNS, "b", other, None, 0.0), i)
    recording = read_recording(path)
    assert recording.damage is None
    got = [f.snapshot.runs for f in recording.frames if f.source == "a"]
    assert got == [tuple(s) for s in sequences]
    deltas = ["delta" in r for r in records(path)[1:] if r["source"] == "a"]
    assert deltas == [False, True, True, False, False, False, False, True, False, True]
    other = [f.snapshot for f in recording.frames if f.source == "b"]
    assert other == [RunsSnapshot(T0, (run(i),), bool(i % 2)) for i in range(len(sequences))]


def test_truncated_recordings_replay_up_to_the_cut(session, tmp_path: Path) -> None:
    path, written, sizes = session
    data = path.read_bytes()
    cut_path = tmp_path / "cut.xrec.gz"
    # Cuts at record boundaries, inside records, and inside the gzip trailer.
    cuts = [
        sizes[1],
        sizes[3],
        sizes[5] - 3,
        (sizes[5] + sizes[6]) // 2,
        sizes[-2] + 1,
        sizes[-1],
        len(data) - 4,
    ]
    for cut in cuts:
        cut_path.write_bytes(data[:cut])
        recording = read_recording(cut_path)
        complete = sum(1 for size in sizes[1:] if size <= cut)
        assert complete <= len(recording.frames) <= complete + 1, cut
        assert_frames_match(recording.frames, written)
        assert recording.damage is not None, cut
        assert recording.damage.startswith(f"recording truncated after {len(recording.frames)} ")
        assert "unexpected end of gzip stream" in recording.damage
    recording = read_recording(tmp_path / "cut.xrec.gz")
    assert "(at 00:00:30)" in recording.damage  # the time of the last good record


def test_a_recording_never_closed_is_read_up_to_its_last_record(tmp_path: Path) -> None:
    path = tmp_path / "crash.xrec.gz"
    backend = simulator(runs=50)
    writer = RecordingWriter(path, meta={})
    results = [Result(kind, "sim", backend.fetch(kind), None, 0.0) for kind in Kind]
    for i, result in enumerate(results):
        writer.write(result, 3600.0 + i)
    recording = read_recording(path)  # as if the process died here
    assert_frames_match(recording.frames, results)
    assert len(recording.frames) == len(results)
    assert recording.damage == (
        "recording truncated after 5 records (at 01:00:04): unexpected end of gzip stream"
    )
    writer.close()
    assert read_recording(path).damage is None


def test_a_cut_inside_the_header_is_no_recording(session, tmp_path: Path) -> None:
    path, _, sizes = session
    cut_path = tmp_path / "cut.xrec.gz"
    cut_path.write_bytes(b"")
    with pytest.raises(RecordingError, match="not a xenon-console recording"):
        read_recording(cut_path)
    for cut in (2, 10, 40):
        cut_path.write_bytes(path.read_bytes()[:cut])
        with pytest.raises(RecordingError, match=r"ends inside its header \(truncated\?\)"):
            read_recording(cut_path)
    # Cut in the flush marker after the header: the header is whole, no record.
    cut_path.write_bytes(path.read_bytes()[: sizes[0] - 2])
    recording = read_recording(cut_path)
    assert recording.frames == [] and recording.damage is not None
    assert recording.damage.startswith("recording truncated after 0 records (at 00:00:00)")


def rewrite(path: Path, lines: list[bytes]) -> None:
    with gzip.open(path, "wb") as f:
        f.write(b"".join(line + b"\n" for line in lines))


def test_a_corrupt_record_ends_the_replay_with_a_message(session, tmp_path: Path) -> None:
    path, written, _ = session
    with gzip.open(path, "rb") as f:
        lines = f.read().splitlines()
    bad = tmp_path / "bad.xrec.gz"
    for garbage, reason in [
        (b'{"t": 1, "kind": "runs", "sour', "corrupt record 4: Unterminated string"),
        (b"[1, 2]", "corrupt record 4: not a JSON object"),
        (b'{"t": "soon", "kind": "tape", "source": "s"}', "corrupt record 4: bad time 'soon'"),
        (
            b'{"t": 1, "kind": "tape", "source": "s", "snapshot": {"$": "Nope"}}',
            "corrupt record 4: unknown type 'Nope'",
        ),
        (
            b'{"t": 1, "kind": "tape", "source": "s", "snapshot": {"$": "RseStatus", '
            b'"name": "a", "used_bytes": 1, "total_bytes": 2}}',
            "corrupt record 4: tape record holds a RseStatus",
        ),
    ]:
        rewrite(bad, [*lines[:4], garbage, *lines[4:]])
        recording = read_recording(bad)
        assert len(recording.frames) == 3
        assert_frames_match(recording.frames, written)
        assert recording.damage is not None and recording.damage.startswith(reason)
        assert "\n" not in recording.damage


def test_a_runs_delta_without_its_base_is_corrupt(session, tmp_path: Path) -> None:
    path, _, _ = session
    with gzip.open(path, "rb") as f:
        lines = f.read().splitlines()
    bad = tmp_path / "bad.xrec.gz"
    rewrite(bad, [lines[0], *lines[6:]])  # drops the first round, with the full runs record
    recording = read_recording(bad)
    assert recording.damage is not None
    assert "runs delta without a full runs record before it" in recording.damage


def test_damaged_gzip_data_is_reported(session, tmp_path: Path) -> None:
    path, _, sizes = session
    data = bytearray(path.read_bytes())
    for i in range(sizes[-4], sizes[-4] + 16):
        data[i] ^= 0x5A
    bad = tmp_path / "bad.xrec.gz"
    bad.write_bytes(bytes(data))
    recording = read_recording(bad)
    assert recording.damage is not None and "\n" not in recording.damage
    assert len(recording.frames) >= len(sizes) - 5


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a xenon-console recording (an empty file)"),
        (b"hello world\n", "not a xenon-console recording (not gzip-compressed JSON Lines)"),
        (
            gzip.compress(b'{"format": "something-else"}\n', mtime=0),
            "not a xenon-console recording",
        ),
        (gzip.compress(b"\x00\x01garbage\n", mtime=0), "not a xenon-console recording"),
        (b"\x1f\x8bnot really gzip", "not a xenon-console recording"),
        (
            gzip.compress(
                b'{"format": "xenon-console-recording", "version": 2, "meta": {}}\n', mtime=0
            ),
            "is a version 2 recording; this xenon-console reads version 1 and older",
        ),
        (
            gzip.compress(b'{"format": "xenon-console-recording", "version": "1"}\n', mtime=0),
            "bad recording version '1'",
        ),
    ],
)
def test_files_that_are_not_readable_recordings_raise(tmp_path: Path, content, message) -> None:
    path = tmp_path / "file"
    path.write_bytes(content)
    with pytest.raises(RecordingError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_recording(path)


def test_a_missing_file_raises_recording_error(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="cannot open"):
        read_recording(tmp_path / "nope.xrec.gz")


def test_newer_fields_and_kinds_are_skipped_with_notes(tmp_path: Path) -> None:
    header = {"format": FORMAT, "version": 1, "meta": {}, "future": True}
    snapshot = encode(RseStatus("a", 1, 2))
    buffer = encode(BufferSnapshot(T0, 10, 5))
    buffer["humidity"] = 0.4
    lines = [
        header,
        {"t": 0, "kind": "buffer", "source": "s", "error": None, "snapshot": buffer, "x": 1},
        {"t": 1, "kind": "weather", "source": "s", "error": None, "snapshot": snapshot},
        {"t": 2, "kind": "buffer", "source": "s", "error": "down", "snapshot": None},
    ]
    path = tmp_path / "new.xrec.gz"
    rewrite(path, [json.dumps(line).encode() for line in lines])
    recording = read_recording(path)
    assert recording.damage is None
    assert [f.t for f in recording.frames] == [0.0, 2.0]
    assert recording.frames[0].snapshot == BufferSnapshot(T0, 10, 5)
    assert recording.notes == (
        "ignored unknown field BufferSnapshot.humidity (written by a newer version?)",
        "skipped 1 record(s) of unknown kind 'weather' (written by a newer version?)",
    )


def test_an_uncompressed_recording_is_read_too(session, tmp_path: Path) -> None:
    path, written, _ = session
    plain = tmp_path / "plain.jsonl"
    with gzip.open(path, "rb") as f:
        plain.write_bytes(f.read())
    recording = read_recording(plain)
    assert recording.damage is None
    assert_frames_match(recording.frames, written)


def test_state_at_gives_the_latest_frame_of_each_kind(session) -> None:
    path, _, _ = session
    recording = read_recording(path)
    assert recording.state_at(0.0) == {}
    state = recording.state_at(0.5)  # at the time itself counts
    assert set(state) == set(Kind) and {f.t for f in state.values()} == {0.5}
    state = recording.state_at(10.9)
    assert {k: f.t for k, f in state.items()} == dict.fromkeys(Kind, 10.5)
    failed = recording.state_at(11.0)[Kind.TAPE]
    assert failed.t == 11.0 and failed.snapshot is None and failed.error
    assert recording.state_at(11.0, with_snapshot=True)[Kind.TAPE].t == 10.5
    last = recording.state_at(1e9)
    assert all(
        f is max((g for g in recording.frames if g.kind is k), key=lambda g: g.t)
        for k, f in last.items()
    )
    assert last[Kind.RUNS] is [f for f in recording.frames if f.kind is Kind.RUNS][-1]


def test_writer_clamps_time_refuses_after_close_and_is_thread_safe(tmp_path: Path) -> None:
    path = tmp_path / "threads.xrec.gz"
    snapshot = BufferSnapshot(T0, 10, 5)
    writer = RecordingWriter(path, meta={"when": T0})  # not JSON: written as str
    writer.write(Result(Kind.BUFFER, "s", snapshot, None, 0.0), 5.0)
    writer.write(Result(Kind.BUFFER, "s", snapshot, None, 0.0), 2.0)  # clock went back

    def work(i: int) -> None:
        for j in range(20):
            writer.write(Result(Kind.BUFFER, f"s{i}", snapshot, None, 0.0), 10.0 + j)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.close()
    writer.close()
    assert writer.closed and writer.records == 82
    with pytest.raises(RecordingError, match="closed"):
        writer.write(Result(Kind.BUFFER, "s", snapshot, None, 0.0), 99.0)
    recording = read_recording(path)
    assert recording.damage is None and len(recording.frames) == 82
    assert recording.meta == {"when": str(T0)}
    assert [f.t for f in recording.frames[:2]] == [5.0, 5.0]
    times = [f.t for f in recording.frames]
    assert times == sorted(times)


def test_writer_rejects_what_it_cannot_encode_and_stays_readable(tmp_path: Path) -> None:
    path = tmp_path / "bad.xrec.gz"
    good = BufferSnapshot(T0, 10, 5)
    with RecordingWriter(path, meta={}) as writer:
        writer.write(Result(Kind.BUFFER, "s", good, None, 0.0), 0.0)
        with pytest.raises(CodecError):
            writer.write(Result(Kind.BUFFER, "s", BufferSnapshot(T0, 10, object()), None, 0.0), 1)
        writer.write(Result(Kind.BUFFER, "s", good, None, 0.0), 2.0)
    recording = read_recording(path)
    assert recording.damage is None and [f.t for f in recording.frames] == [0.0, 2.0]


def test_a_drivers_own_numbers_and_strings_are_recorded(tmp_path: Path) -> None:
    """pymongo hands back bson.Int64 for 64-bit integers: a mongo-fed
    console's recording (and the collector's snapshots) must take them."""
    import dataclasses as dc

    from bson.int64 import Int64

    class Name(str):
        pass

    assert type(encode(Int64(2**40))) is int and encode(Int64(2**40)) == 2**40
    assert type(encode(Name("x"))) is str
    runs = SimulatorBackend({"speed": 0, "runs": 5}).fetch_runs()
    first = dc.replace(runs.runs[0], events=Int64(22084), name=Name("140908_0811"))
    snapshot = dc.replace(runs, runs=(first, *runs.runs[1:]))
    with RecordingWriter(tmp_path / "m.rec", meta={}) as writer:
        writer.write(Result(Kind.RUNS, "db", snapshot, None, 0.1), 1.0)
    [frame] = read_recording(tmp_path / "m.rec").frames
    assert frame.snapshot == snapshot

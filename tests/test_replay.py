"""Record a session, play it back: same screens; pause, step, seek, speed; damage."""

from __future__ import annotations

from pathlib import Path

import pytest

from backends.model import Kind
from backends.simulator import SimulatorBackend
from console.app import XenonConsole
from console.cli import main
from console.config import load_config
from console.fetching import Result
from console.recording import Recording, RecordingWriter, read_recording
from console.replay import ReplayDriver
from tests.screen import screen_lines
from tests.simapp import simulator_app, wait_settled


def write_session(path: Path, polls: int = 4, step: float = 10.0) -> None:
    """A recording of a frozen simulator polled every `step` seconds."""
    sim = SimulatorBackend({"scenario": "tape-checksum", "seed": 1, "speed": 0})
    with RecordingWriter(path, meta={"title": "test"}) as writer:
        for i in range(polls):
            for kind in Kind:
                writer.write(Result(kind, "simulator", sim.fetch(kind), None, 0.0), i * step)
            sim.advance(step)


def test_driver_plays_pauses_steps_seeks(tmp_path: Path) -> None:
    path = tmp_path / "s.rec"
    write_session(path)
    recording = read_recording(path)
    driver = ReplayDriver(recording, speed=2.0)
    assert [f.t for f in driver.advance(0)] == [0.0] * 5  # the first poll of every kind
    assert driver.advance(4.0) == []  # 8 s of recording: nothing due yet
    due = driver.advance(1.0)  # now at 10 s
    assert {f.kind for f in due} == set(Kind) and driver.position == 10.0
    driver.toggle()
    assert not driver.playing and driver.advance(100) == []
    stepped = driver.step()
    assert [f.t for f in stepped] == [20.0] * 5 and driver.position == 20.0
    state = driver.seek(5.0)
    assert driver.position == 5.0 and {f.t for f in state.values()} == {0.0}
    assert driver.index == 5
    driver.seek(1e9)
    assert driver.position == driver.end == 30.0
    driver.faster()
    assert driver.speed == 4.0
    driver.slower()
    driver.slower()
    assert driver.speed == 1.0


async def test_a_recorded_session_replays_to_the_same_screens(tmp_path: Path) -> None:
    path = tmp_path / "live.rec"
    recorder = RecordingWriter(path, meta={"title": "t"})
    live = simulator_app("held-jobs")
    live.recorder = recorder
    async with live.run_test(size=(160, 50)) as pilot:
        await wait_settled(pilot)
        await pilot.pause(0.3)  # the recorder writes after the alarms
        live_lines = screen_lines(live)
    recording = read_recording(path)
    assert recording.damage is None
    assert {f.kind for f in recording.frames} == set(Kind)
    config = load_config(None)
    replay = XenonConsole(config, None, replay=ReplayDriver(recording, paused=True))
    async with replay.run_test(size=(160, 50)) as pilot:
        while not replay.settled:
            await pilot.pause(0.05)
        await pilot.pause()
        replay_lines = screen_lines(replay)
        assert "REPLAY" in replay_lines[3]
        # The replay has its bar as one more line: the alarms and the first row
        # of panes are the same to the character...
        assert replay_lines[1:3] == live_lines[1:3]
        assert replay_lines[4:16] == live_lines[3:15]
        # ...and every pane holds the same data, status and alarms.
        for kind in Kind:
            assert replay.pane(kind).snapshot == live.pane(kind).snapshot, kind
            assert replay.pane(kind).error == live.pane(kind).error
        assert replay.alarms == live.alarms
        assert replay.runs_pane.query_one("VirtualTable").row_count == 720


async def test_a_damaged_recording_replays_up_to_the_damage(tmp_path: Path) -> None:
    path = tmp_path / "s.rec"
    write_session(path, polls=3)
    data = path.read_bytes()
    cut = tmp_path / "cut.rec"
    cut.write_bytes(data[: int(len(data) * 0.8)])
    recording = read_recording(cut)
    assert recording.damage and 0 < len(recording.frames) < 15
    replay = XenonConsole(load_config(None), None, replay=ReplayDriver(recording))
    async with replay.run_test(size=(160, 50)) as pilot:
        await pilot.pause(0.5)
        text = "\n".join(screen_lines(replay))
        assert "DAMAGED" in text
        assert replay.pane(Kind.BUFFER).snapshot is not None


def test_replay_command_errors_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", str(tmp_path / "missing.rec")]) == 2
    assert "cannot open" in capsys.readouterr().err
    empty = tmp_path / "empty.rec"
    with RecordingWriter(empty, meta={}):
        pass
    assert main(["replay", str(empty)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds no snapshots" in err
    assert main(["replay", str(empty), "--speed", "0"]) == 2


def test_record_option_checks_its_directory(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--record", "/nonexistent-dir/x.rec"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_recording_type_is_what_the_reader_returns(tmp_path: Path) -> None:
    path = tmp_path / "s.rec"
    write_session(path, polls=1)
    assert isinstance(read_recording(path), Recording)


def test_record_refuses_to_overwrite_and_reports_unwritable_paths(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # As if on a terminal: the recording is opened before the app starts.
    monkeypatch.setattr("console.cli._no_terminal", lambda: None)
    existing = tmp_path / "night.rec"
    existing.write_bytes(b"last night")
    assert main(["--record", str(existing)]) == 2
    assert "never overwritten" in capsys.readouterr().err
    assert existing.read_bytes() == b"last night"
    assert main(["--record", "/proc/nope.rec"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--record /proc/nope.rec" in err
    assert main(["--record", str(tmp_path / "x.rec"), "report"]) == 2
    assert "not with a subcommand" in capsys.readouterr().err


async def test_seeking_back_shows_only_what_was_known_then(tmp_path: Path) -> None:
    path = tmp_path / "s.rec"
    sim = SimulatorBackend({"scenario": "nominal", "seed": 1, "speed": 0})
    with RecordingWriter(path, meta={}) as writer:
        # buffer from the start; the runs only from t=30 on; then a runs error
        writer.write(Result(Kind.BUFFER, "sim", sim.fetch(Kind.BUFFER), None, 0.0), 0.0)
        sim.advance(3600)
        writer.write(Result(Kind.RUNS, "sim", sim.fetch(Kind.RUNS), None, 0.0), 30.0)
        writer.write(Result(Kind.BUFFER, "sim", sim.fetch(Kind.BUFFER), None, 0.0), 30.0)
        writer.write(Result(Kind.RUNS, "sim", None, "ConnectionError: db down", 0.0), 60.0)
    driver = ReplayDriver(read_recording(path), paused=True)
    app = XenonConsole(load_config(None), None, replay=driver)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause(0.3)
        await pilot.press("right_curly_bracket")  # +10 min: to the end (60 s)
        await pilot.pause(0.3)
        runs = app.pane(Kind.RUNS)
        assert runs.snapshot is not None and runs.error == "ConnectionError: db down"
        late_buffer = app.pane(Kind.BUFFER).snapshot
        await pilot.press("left_curly_bracket")  # back to the start
        await pilot.pause(0.3)
        assert driver.position == 0.0
        assert app.pane(Kind.RUNS).snapshot is None  # not known yet at t=0
        assert app.pane(Kind.RUNS).error is None
        assert app.pane(Kind.BUFFER).snapshot != late_buffer
        assert app.pane(Kind.BUFFER).snapshot.taken_at < late_buffer.taken_at

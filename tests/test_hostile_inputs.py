"""Input that is accepted but cannot work, or that has no bound (issue 14).

A FIFO as ``--config`` hung the start, ``/dev/zero`` was read until memory
ran out, ``[timeouts] buffer = 1e10`` gave OverflowError tracebacks in
``check``, ``--speed 1e300`` spun a thread, ``</dev/null`` drew the TUI and
spun a core, thousands of nested arrays gave 3,000-line RecursionError
tracebacks. Each is one line and exit 2 now (``check``: UNKNOWN, 3).
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.cli import main
from console.config import ConfigError, load_config
from console.recording import RecordingError, read_recording

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _no_user_config(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


def one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str], code: int = 2) -> str:
    assert main(argv) == code
    out = capsys.readouterr()
    text = (out.err or out.out).strip()
    assert len(text.splitlines()) == 1, text
    return text


def test_a_fifo_as_config_is_refused_not_waited_for(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    fifo = tmp_path / "console.toml"
    os.mkfifo(fifo)
    result: list[str] = []
    worker = threading.Thread(
        target=lambda: result.append(one_line_error(capsys, ["--config", str(fifo), "report"]))
    )
    worker.start()
    worker.join(10)
    if worker.is_alive():  # unblock the reader before failing
        with open(fifo, "w"):
            pass
        worker.join(5)
        pytest.fail("--config on a FIFO hangs")
    assert "not a regular file" in result[0]


def test_a_device_or_a_huge_file_as_config_is_refused(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert "not a regular file" in one_line_error(capsys, ["--config", "/dev/zero", "report"])
    big = tmp_path / "big.toml"
    big.write_text("# x\n" * 300_000)
    assert "larger than 1024 kB" in one_line_error(capsys, ["--config", str(big), "report"])


def test_deeply_nested_toml_is_one_line(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "deep.toml"
    path.write_text("x = " + "[" * 20_000 + "]" * 20_000 + "\n")
    assert "nested too deep" in one_line_error(capsys, ["--config", str(path), "report"])
    text = one_line_error(capsys, ["--config", str(path), "check"], code=3)
    assert text.startswith("XENON UNKNOWN")


def test_numbers_out_of_range_are_one_line(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "console.toml"
    path.write_text("[timeouts]\nbuffer = 1e10\n")
    assert "at most 86,400" in one_line_error(capsys, ["--config", str(path), "report"])
    assert one_line_error(capsys, ["--config", str(path), "check"], code=3).startswith(
        "XENON UNKNOWN"
    )
    assert "at most 31,536,000" in one_line_error(capsys, ["--speed", "1e300", "report"])
    path.write_text("[backends.simulator]\nspeed = 1e300\n")
    assert "speed must be between 0 and" in one_line_error(
        capsys, ["--config", str(path), "report"]
    )
    path.write_text("[thresholds]\nrule_stuck_warning_hours = 1e300\n")
    assert "of at most 1,000,000" in one_line_error(capsys, ["--config", str(path), "report"])
    path.write_text(
        '[panes]\nbuffer = "p"\n[backends.p]\ntype = "prometheus"\n'
        'url = "http://127.0.0.1:1"\nhistory_hours = 1e300\n'
    )
    assert "and at most 1,000,000" in one_line_error(capsys, ["--config", str(path), "report"])
    recording = tmp_path / "x.rec"
    recording.write_bytes(b"")
    assert "at most 100,000" in one_line_error(
        capsys, ["replay", str(recording), "--speed", "1e300"]
    )


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(content=st.binary(max_size=3000))
def test_any_bytes_as_config_load_or_give_a_config_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "any.toml"
    path.write_bytes(content)
    try:
        load_config(path)
    except ConfigError as exc:
        assert len(str(exc).splitlines()) == 1


def write_recording(path: Path, lines: list[bytes]) -> None:
    header = json.dumps({"format": "xenon-console-recording", "version": 1}).encode()
    with gzip.open(path, "wb") as out:
        out.write(b"\n".join([header, *lines]) + b"\n")


def test_a_recording_nested_too_deep_or_too_long_is_damage(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from console import recording as recording_module

    path = tmp_path / "deep.rec"
    write_recording(path, [b"[" * 100_000 + b"]" * 100_000])
    assert read_recording(path).damage == "corrupt record 1: nested too deep"
    monkeypatch.setattr(recording_module, "MAX_RECORD_BYTES", 1 << 20)
    path = tmp_path / "long.rec"
    write_recording(path, [b'{"x": "' + b"y" * (3 << 20) + b'"}'])
    damage = read_recording(path).damage
    assert damage is not None and "a record longer than 1 MB" in damage


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(content=st.binary(max_size=3000), gzipped=st.booleans())
def test_any_bytes_as_recording_read_or_give_a_recording_error(
    tmp_path: Path, content: bytes, gzipped: bool
) -> None:
    path = tmp_path / "any.rec"
    path.write_bytes(gzip.compress(content) if gzipped else content)
    try:
        read_recording(path)
    except RecordingError as exc:
        assert len(str(exc).splitlines()) == 1


def test_the_console_without_a_terminal_on_stdin_refuses_to_start() -> None:
    """``xenon-console </dev/null`` drew the TUI and spun a core."""
    done = subprocess.run(
        [sys.executable, "-m", "console.cli", "--speed", "0"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "CONDOR_CONFIG": "/dev/null"},
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "xenon-console: error: the console needs a terminal on stdin (it is not one here); "
        "for scripts use `xenon-console report` or `xenon-console check`"
    ]


def test_an_empty_record_name_is_refused(capsys) -> None:  # type: ignore[no-untyped-def]
    """``--record ""`` recorded nothing, silently."""
    assert "--record needs a file name" in one_line_error(capsys, ["--record", ""])


def test_json_output_escapes_c1_del_and_bidi() -> None:
    from console.safe_text import json_text

    value = {"name": "a\x85b\x7fc\u202ed\u2066e\u2028f\x1b[2Jg"}
    text = json_text(value)
    assert json.loads(text) == value
    assert not any(ch in text for ch in "\x85\x7f\u202e\u2066\u2028\x1b")


def test_a_secret_echoed_in_any_encoding_is_masked() -> None:
    """A server that echoes the request's headers put the base64 of
    user:password on screen."""
    import base64

    import httpx

    from backends.prometheus import PrometheusBackend
    from backends.sources import BackendConfigError, SourceError

    def echo(request: httpx.Request) -> httpx.Response:
        header = request.headers.get("authorization", "")
        body = {"status": "error", "errorType": "bad_data", "error": f"you sent {header}"}
        return httpx.Response(400, json=body)

    backend = PrometheusBackend(
        {"url": "http://prom:9090", "username": "shifter", "password": "hunter2-pw"},
        transport=httpx.MockTransport(echo),
    )
    with pytest.raises(SourceError) as caught:
        backend.fetch_buffer()
    message = str(caught.value)
    assert "you sent Basic ***" in message
    assert base64.b64encode(b"shifter:hunter2-pw").decode() not in message
    with pytest.raises(BackendConfigError, match="give one of them"):
        PrometheusBackend({"url": "http://u:p@prom:9090", "token": "t0ken"})

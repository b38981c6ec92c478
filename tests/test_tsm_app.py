"""The tape pane and ``report --json`` served by the tsm backend from dsmc logs.

The fixture logs are copied with their dsmc session times moved to the last
hours (the console's clock is the real one), next to a buffer directory with
one run not uploaded yet.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backends.model import Kind
from console.app import XenonConsole
from console.cli import main
from console.config import load_config
from console.fetching import Backends
from tests.screen import screen_text

FIXTURES = Path(__file__).parent / "fixtures" / "dsmc"


def _dsmc_time(at: datetime) -> str:
    return at.strftime("%m/%d/%Y %H:%M:%S")


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    now = datetime.now(UTC).replace(microsecond=0)
    logs = tmp_path / "dsmc"
    logs.mkdir()
    for name, old, start in (
        ("6731_success.log", "11/15/2017 10:00:05", now - timedelta(hours=3)),
        ("6732_failed.log", "11/15/2017 11:00:03", now - timedelta(hours=2)),
        ("6733_truncated.log", "11/15/2017 11:30:02", now - timedelta(minutes=5)),
    ):
        text = (FIXTURES / name).read_text().replace(old, _dsmc_time(start))
        (logs / name).write_text(text)
        end = start + timedelta(seconds=90)
        os.utime(logs / name, (end.timestamp(), end.timestamp()))
    shutil.copy(FIXTURES / "6731_success.log", logs / "uploader-notes.log")  # names no run
    buffer = tmp_path / "raw"
    for run in (6731, 6732, 6733, 6734):
        (buffer / str(run)).mkdir(parents=True)
        (buffer / str(run) / "chunk.zip").write_bytes(b"x" * 2500)
    path = tmp_path / "config.toml"
    path.write_text(f"""
[panes]
tape = "pdc"

[backends.pdc]
type = "tsm"
log_dir = "{logs}"
log_pattern = '^(?P<run>\\d+)_'
buffer_dir = "{buffer}"

[backends.simulator]
speed = 0

[intervals]
tape = 0.2

[ui]
bell_on_critical = false
""")
    return path


def test_report_json_tape_block(config_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["--config", str(config_path), "report", "--json"])
    tape = json.loads(capsys.readouterr().out)["tape"]
    assert tape["source"] == "pdc" and tape["error"] is None
    assert tape["verified_runs"] == 1
    assert tape["verified_bytes"] == int(3.5 * 1024**3)
    assert tape["in_progress"] == 1  # 6733, written 5 minutes ago
    assert (tape["queued"], tape["queued_bytes"]) == (1, 2500)  # 6734 on the buffer only
    assert tape["failed_recent"] == 1
    assert tape["rate_bps"] == pytest.approx(3.5 * 1024**3 / 84, rel=1e-6)
    [failed] = tape["failed_uploads"]
    assert failed["run"] == 6732 and failed["return_code"] == 12
    assert failed["message"].startswith("ANS1228E Sending of object '/data/xenon/raw/6732/")
    # the dsmc summary of the failed upload: 5 inspected, 4 backed up, 1 failed
    assert (failed["objects_inspected"], failed["objects_backed_up"], failed["objects_failed"]) == (
        5,
        4,
        1,
    )
    assert tape["malformed"] == ["1 file(s) in the log directory name no run: 'uploader-notes.log'"]


async def test_tape_pane_shows_the_dsmc_figures(config_path: Path) -> None:
    config = load_config(config_path)
    app = XenonConsole(config, Backends(config))
    async with app.run_test(size=(200, 50)) as pilot:
        pane = app.pane(Kind.TAPE)
        for _ in range(200):
            if pane.snapshot is not None:
                break
            await pilot.pause(0.05)
        await pilot.pause()
        text = screen_text(app)
        assert "Queue 1 runs" in text
        assert "Failed 24h 1" in text
        assert "4/5 obj · 1 failed · 2.1 GB sent · 23.9 MB/s" in text
        assert "uploading" in text and "6733" in text
        assert "Unreadable 1: 1 file(s) in the log directory name no run" in text

"""The localdisk backend: fill level from statvfs, rate from its own samples."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backends.analysis.buffer import buffer_forecast
from backends.localdisk import LocalDiskBackend
from backends.model import TB
from backends.sources import BackendConfigError, SourceError

T0 = datetime(2017, 11, 15, 0, 0, tzinfo=UTC)
BLOCK = 4096


class FakeDisk:
    """A 50 TB disk whose use and clock the test moves."""

    def __init__(self) -> None:
        self.now = T0
        self.used = 20 * TB
        self.fail: OSError | None = None

    def statvfs(self, path: str) -> os.statvfs_result:
        if self.fail is not None:
            raise self.fail
        blocks = 50 * TB // BLOCK
        free = blocks - self.used // BLOCK
        # (bsize, frsize, blocks, bfree, bavail, files, ffree, favail, flag, namemax)
        return os.statvfs_result((BLOCK, BLOCK, blocks, free + 1000, free, 0, 0, 0, 0, 255))


def make(disk: FakeDisk, **options: object) -> LocalDiskBackend:
    return LocalDiskBackend(
        {"path": "/data/xenon/raw", **options}, clock=lambda: disk.now, statvfs=disk.statvfs
    )


def test_fill_level_uses_space_available_to_writers() -> None:
    disk = FakeDisk()
    snap = make(disk).fetch_buffer()
    assert snap.total_bytes == 50 * TB // BLOCK * BLOCK
    assert snap.used_bytes == 20 * TB // BLOCK * BLOCK  # root's reserve not counted as free
    assert snap.mount == "/data/xenon/raw"
    assert snap.taken_at == T0


def test_rate_and_time_to_full_from_successive_samples() -> None:
    disk = FakeDisk()
    backend = make(disk, sample_seconds=60)
    assert buffer_forecast(backend.fetch_buffer()).fill_rate_bps is None  # one sample: no rate
    for _ in range(30):  # 10 GB a minute for half an hour, polled every 10 s
        for _ in range(6):
            disk.now += timedelta(seconds=10)
            disk.used += 10**10 // 6
            snap = backend.fetch_buffer()
    assert len(snap.history) == 31  # one sample a minute, not one per poll
    forecast = buffer_forecast(snap)
    assert forecast.fill_rate_bps == pytest.approx(10**10 / 60, rel=1e-3)
    free = snap.free_bytes
    assert forecast.time_to_full is not None
    assert forecast.time_to_full.total_seconds() == pytest.approx(free / (10**10 / 60), rel=1e-3)


def test_history_is_bounded_by_the_window() -> None:
    disk = FakeDisk()
    backend = make(disk, history_hours=1, sample_seconds=60)
    for _ in range(600):  # ten hours
        disk.now += timedelta(minutes=1)
        snap = backend.fetch_buffer()
    assert len(snap.history) == 61
    assert snap.history[0].at == disk.now - timedelta(hours=1)


def test_a_clock_that_goes_back_starts_the_history_again() -> None:
    disk = FakeDisk()
    backend = make(disk, sample_seconds=0)
    for _ in range(3):
        disk.now += timedelta(minutes=1)
        backend.fetch_buffer()
    disk.now = T0 - timedelta(hours=1)
    assert len(backend.fetch_buffer().history) == 1


def test_a_missing_path_is_one_line_and_recovers() -> None:
    disk = FakeDisk()
    backend = make(disk)
    disk.fail = FileNotFoundError(2, "No such file or directory")
    with pytest.raises(SourceError) as err:
        backend.fetch_buffer()
    assert str(err.value) == (
        "cannot read the disk of '/data/xenon/raw': No such file or directory"
    )
    disk.fail = None
    assert backend.fetch_buffer().used_bytes > 0


def test_a_real_path(tmp_path: Path) -> None:
    snap = LocalDiskBackend({"path": str(tmp_path)}).fetch_buffer()
    st = os.statvfs(tmp_path)
    assert snap.total_bytes == st.f_blocks * st.f_frsize
    assert 0 <= snap.used_bytes <= snap.total_bytes
    with pytest.raises(SourceError, match="No such file or directory"):
        LocalDiskBackend({"path": str(tmp_path / "gone")}).fetch_buffer()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "option 'path' is required"),
        ({"path": 5}, "option 'path' must be a non-empty string"),
        ({"path": "/d", "history_hours": 0}, "option 'history_hours' must be a number > 0"),
        ({"path": "/d", "sample_seconds": -1}, "option 'sample_seconds' must be a number >= 0"),
        ({"path": "/d", "interval": 5}, "unknown localdisk option 'interval'"),
    ],
)
def test_bad_options_give_one_line_naming_the_option(options: dict, message: str) -> None:
    with pytest.raises(BackendConfigError) as err:
        LocalDiskBackend(options)
    assert message in str(err.value)

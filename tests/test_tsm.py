"""The tsm backend over logs in ``dsmc incremental``'s real output format.

tests/fixtures/dsmc/ holds a successful incremental (run 6731), one with a
failed object (6732, ANS1228E / ANS1802E, rc 12) and one cut off mid-write
(6733). The numbers asserted are the ones printed in those files.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backends.analysis.tape import summarize_tape
from backends.model import TapeState
from backends.sources import BackendConfigError, SourceError
from backends.tsm import TsmBackend
from backends.tsm import logdir as logdir_module
from backends.tsm.dsmc_log import DsmcLogParser

FIXTURES = Path(__file__).parent / "fixtures" / "dsmc"
NOW = datetime(2017, 11, 15, 12, 0, tzinfo=UTC)
GIB = 1024**3


def parse(text: str):  # type: ignore[no-untyped-def]
    parser = DsmcLogParser(UTC)
    parser.feed(text)
    return parser.result()


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def set_mtime(path: Path, at: datetime) -> None:
    os.utime(path, (at.timestamp(), at.timestamp()))


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    """The three fixtures, written when dsmc would have finished (or stopped) them."""
    d = tmp_path / "dsmc"
    d.mkdir()
    for name, at in (
        ("6731_success.log", datetime(2017, 11, 15, 10, 1, 29, tzinfo=UTC)),
        ("6732_failed.log", datetime(2017, 11, 15, 11, 1, 33, tzinfo=UTC)),
        ("6733_truncated.log", datetime(2017, 11, 15, 11, 31, 0, tzinfo=UTC)),
    ):
        shutil.copy(FIXTURES / name, d / name)
        set_mtime(d / name, at)
    return d


def backend(log_dir: Path, now: datetime = NOW, **options) -> TsmBackend:  # type: ignore[no-untyped-def]
    return TsmBackend({"log_dir": str(log_dir), **options}, clock=lambda: now)


# --------------------------------------------------------------------- parser


def test_successful_incremental_figures() -> None:
    s = parse(fixture("6731_success.log"))
    assert s.complete
    assert s.started_at == datetime(2017, 11, 15, 10, 0, 5, tzinfo=UTC)
    assert s.volumes == ("/data/xenon/raw/6731/",)
    assert (s.objects_inspected, s.objects_backed_up, s.objects_failed) == (6, 6, 0)
    assert s.bytes_inspected == s.bytes_transferred == int(3.5 * GIB)
    assert s.transfer_time_seconds == pytest.approx(30.12)
    assert s.network_rate_bps == pytest.approx(121_899.35 * 1024)
    assert s.aggregate_rate_bps == pytest.approx(43_690.67 * 1024)
    assert s.elapsed_seconds == 84
    assert s.logged_return_code == 0 and s.return_code == 0
    assert s.error_count == 0 and s.warning_count == 0


def test_incremental_with_a_failed_object() -> None:
    s = parse(fixture("6732_failed.log"))
    assert (s.objects_inspected, s.objects_backed_up, s.objects_failed) == (5, 4, 1)
    assert s.bytes_transferred == 2 * GIB
    assert s.return_code == 12
    assert s.error_count == 3
    assert s.errors[0].startswith("ANS1228E Sending of object '/data/xenon/raw/6732/")
    assert s.errors[2] == (
        "ANS1802E Incremental backup of '/data/xenon/raw/6732/*' finished with 1 failure(s)"
    )


def test_truncated_log_is_incomplete_and_has_no_return_code() -> None:
    s = parse(fixture("6733_truncated.log"))
    assert not s.complete
    assert s.return_code is None
    assert s.started_at == datetime(2017, 11, 15, 11, 30, 2, tzinfo=UTC)
    assert s.objects_inspected is None


@pytest.mark.parametrize("name", ["6731_success.log", "6732_failed.log"])
def test_feeding_in_pieces_gives_the_same_summary(name: str) -> None:
    text = fixture(name)
    whole = parse(text)
    parser = DsmcLogParser(UTC)
    for i in range(0, len(text), 7):  # cuts through lines and numbers
        parser.feed(text[i : i + 7])
    assert parser.result() == whole


def test_return_code_follows_dsmcs_rule_when_the_uploader_did_not_log_it() -> None:
    def without_rc(name: str) -> str:
        return "".join(
            line for line in fixture(name).splitlines(keepends=True) if "return code" not in line
        )

    assert parse(without_rc("6731_success.log")).return_code == 0
    assert parse(without_rc("6732_failed.log")).return_code == 12
    warned = without_rc("6731_success.log").replace(
        "Successful incremental", "ANS1898W ***** Processed 500 files *****\nSuccessful incremental"
    )
    assert parse(warned).return_code == 8


def test_last_line_without_newline_still_counts() -> None:
    text = fixture("6731_success.log").replace("uploader: dsmc return code 0\n", "")
    assert text.endswith("00:01:24\n")
    s = parse(text.rstrip("\n"))
    assert s.elapsed_seconds == 84 and s.complete


# -------------------------------------------------------------------- backend


def test_per_run_status_from_the_three_logs(logs: Path) -> None:
    snap = backend(logs).fetch_tape()
    by_run = {u.run_number: u for u in snap.uploads}
    assert set(by_run) == {6731, 6732, 6733}

    ok = by_run[6731]
    assert ok.state is TapeState.VERIFIED and ok.return_code == 0
    assert ok.bytes == int(3.5 * GIB)
    assert (ok.objects_inspected, ok.objects_backed_up, ok.objects_failed) == (6, 6, 0)
    assert ok.elapsed_seconds == 84
    assert ok.started_at == datetime(2017, 11, 15, 10, 0, 5, tzinfo=UTC)
    assert ok.finished_at == datetime(2017, 11, 15, 10, 1, 29, tzinfo=UTC)

    failed = by_run[6732]
    assert failed.state is TapeState.FAILED and failed.return_code == 12
    assert failed.message is not None and failed.message.startswith("ANS1228E")
    assert "(+2 more errors)" in failed.message
    assert failed.objects_failed == 1

    # 29 minutes without a new line: still within stale_minutes (60): running
    assert by_run[6733].state is TapeState.UPLOADING

    assert snap.verified_runs == 1 and snap.verified_bytes == int(3.5 * GIB)
    assert snap.last_success == datetime(2017, 11, 15, 10, 1, 29, tzinfo=UTC)
    assert snap.rate_bps == pytest.approx(3.5 * GIB / 84)
    assert snap.malformed == ()
    s = summarize_tape(snap, NOW)
    assert (s.in_progress, s.failed_recent, s.queued) == (1, 1, 0)


def test_a_log_that_stopped_growing_before_the_summary_is_a_failure(logs: Path) -> None:
    later = NOW + timedelta(hours=1)  # 89 minutes after the last line
    snap = backend(logs, later).fetch_tape()
    cut = next(u for u in snap.uploads if u.run_number == 6733)
    assert cut.state is TapeState.FAILED
    assert cut.return_code is None
    assert "ends before dsmc's summary" in (cut.message or "")
    assert "6733_truncated.log" in (cut.message or "")
    assert summarize_tape(snap, later).failed_recent == 2


def test_reads_only_what_changed(logs: Path) -> None:
    tsm = backend(logs)
    first = tsm.logs.scan()
    assert first.bytes_read == sum(p.stat().st_size for p in logs.iterdir())
    assert tsm.logs.scan().bytes_read == 0  # nothing changed: nothing read

    # dsmc finishes the cut-off upload: only the new bytes are read
    full = (
        fixture("6731_success.log")
        .replace("6731", "6733")
        .replace("10:00:05", "11:30:02")
        .replace("09:01:12", "11:00:03")
    )
    path = logs / "6733_truncated.log"
    head = path.read_text()
    assert full.startswith(head)
    rest = full[len(head) :]
    with open(path, "a") as f:
        f.write(rest)
    set_mtime(path, NOW)
    assert tsm.logs.scan().bytes_read == len(rest.encode())
    done = next(u for u in tsm.fetch_tape().uploads if u.run_number == 6733)
    assert done.state is TapeState.VERIFIED
    assert done.objects_backed_up == 6 and done.return_code == 0


def test_a_rewritten_log_is_read_again_from_the_start(logs: Path) -> None:
    tsm = backend(logs)
    tsm.fetch_tape()
    path = logs / "6732_failed.log"
    path.write_text(fixture("6731_success.log").replace("6731", "6732"))  # smaller
    set_mtime(path, NOW)
    again = next(u for u in tsm.fetch_tape().uploads if u.run_number == 6732)
    assert again.state is TapeState.VERIFIED and again.objects_failed == 0


def test_the_newest_upload_of_a_run_counts_and_details_list_every_try(logs: Path) -> None:
    retry = (
        fixture("6731_success.log")
        .replace("6731", "6732")
        .replace("11/15/2017 10:00:05", "11/15/2017 11:40:00")
    )
    (logs / "6732_retry.log").write_text(retry)
    set_mtime(logs / "6732_retry.log", datetime(2017, 11, 15, 11, 41, 24, tzinfo=UTC))
    tsm = backend(logs)
    snap = tsm.fetch_tape()
    assert next(u for u in snap.uploads if u.run_number == 6732).state is TapeState.VERIFIED
    assert snap.verified_runs == 2
    detail = tsm.fetch_run_detail(6732)
    assert [u.state for u in detail.tape] == [TapeState.FAILED, TapeState.VERIFIED]


def test_unreadable_and_garbage_logs_are_reported_not_fatal(
    logs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (logs / "6740.log").write_bytes(b"\x00\xff\xfe garbage \x1b[2J not dsmc at all")
    set_mtime(logs / "6740.log", NOW - timedelta(hours=3))
    (logs / "notes.txt").write_text("no run number in this name")
    (logs / "6741.log").write_text("whatever")
    real_open = open

    def deny(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if str(path).endswith("6741.log"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(logdir_module, "open", deny, raising=False)
    snap = backend(logs).fetch_tape()
    by_run = {u.run_number: u for u in snap.uploads}
    assert {6731, 6732, 6733, 6740} <= set(by_run)  # the good logs are all there
    assert 6741 not in by_run
    assert by_run[6740].state is TapeState.FAILED
    assert "ends before dsmc's summary" in (by_run[6740].message or "")
    assert any("'6741.log' unreadable: Permission denied" in p for p in snap.malformed)
    assert any("name no run: 'notes.txt'" in p for p in snap.malformed)
    # the next scan tries the unreadable log again
    monkeypatch.setattr(logdir_module, "open", real_open, raising=False)
    snap = backend(logs).fetch_tape()
    assert 6741 in {u.run_number for u in snap.uploads}


def test_queue_is_the_runs_on_the_buffer_without_an_upload(logs: Path, tmp_path: Path) -> None:
    buffer = tmp_path / "raw"
    for run, sizes in {6731: [100], 6732: [50], 6734: [1000, 24], 6735: [7]}.items():
        d = buffer / str(run)
        d.mkdir(parents=True)
        for i, size in enumerate(sizes):
            (d / f"chunk{i}.zip").write_bytes(b"x" * size)
    (buffer / "README").write_text("not a run")
    snap = backend(logs, buffer_dir=str(buffer)).fetch_tape()
    queued = {u.run_number: u.bytes for u in snap.uploads if u.state is TapeState.QUEUED}
    assert queued == {6734: 1024, 6735: 7}
    s = summarize_tape(snap, NOW)
    assert (s.queued, s.queued_bytes) == (2, 1031)


def test_a_missing_log_directory_fails_the_fetch_and_recovers(tmp_path: Path) -> None:
    d = tmp_path / "not-yet"
    tsm = backend(d)
    with pytest.raises(SourceError, match=r"cannot read the dsmc log directory .*not-yet"):
        tsm.fetch_tape()
    d.mkdir()
    shutil.copy(FIXTURES / "6731_success.log", d / "6731.log")
    assert [u.run_number for u in tsm.fetch_tape().uploads] == [6731]


def test_the_backend_never_writes_to_the_log_or_buffer_directories(
    logs: Path, tmp_path: Path
) -> None:
    buffer = tmp_path / "raw"
    (buffer / "6734").mkdir(parents=True)
    (buffer / "6734" / "a.zip").write_bytes(b"abc")

    def state() -> dict[str, tuple[int, str]]:
        return {
            str(p): (
                p.stat().st_mtime_ns,
                hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "",
            )
            for root in (logs, buffer)
            for p in [root, *root.rglob("*")]
        }

    before = state()
    tsm = backend(logs, buffer_dir=str(buffer))
    for _ in range(2):
        tsm.fetch_tape()
        tsm.fetch_run_detail(6731)
    assert state() == before


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "option 'log_dir' is required"),
        ({"log_dir": ""}, "option 'log_dir' must be a non-empty string"),
        ({"log_dir": "/x", "log_pattern": "(?P<run>\\d+"}, "option 'log_pattern' is not a valid"),
        ({"log_dir": "/x", "log_pattern": "\\d+"}, "option 'log_pattern' needs a"),
        ({"log_dir": "/x", "timezone": "Mars/Olympus"}, "option 'timezone': unknown time zone"),
        ({"log_dir": "/x", "stale_minutes": -1}, "option 'stale_minutes' must be a number > 0"),
        ({"log_dir": "/x", "ok_return_codes": 0}, "option 'ok_return_codes' must be a list"),
        ({"log_dir": "/x", "buffer_pattern": "(?P<run>\\d+)"}, "'buffer_pattern' needs"),
        ({"log_dir": "/x", "logdir": "/y"}, "unknown tsm option 'logdir'"),
    ],
)
def test_bad_options_give_one_line_naming_the_option(options: dict, message: str) -> None:
    with pytest.raises(BackendConfigError) as err:
        TsmBackend(options)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_ok_return_codes_can_accept_warnings(logs: Path) -> None:
    text = fixture("6731_success.log").replace("return code 0", "return code 8")
    (logs / "6731_success.log").write_text(text)
    strict = {u.run_number: u for u in backend(logs).fetch_tape().uploads}
    assert strict[6731].state is TapeState.FAILED
    assert strict[6731].message == "dsmc return code 8 (warnings)"
    lenient = {u.run_number: u for u in backend(logs, ok_return_codes=[0, 8]).fetch_tape().uploads}
    assert lenient[6731].state is TapeState.VERIFIED

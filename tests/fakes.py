"""A backend for tests whose data and failures the test controls.

It serves small hand-built snapshots with known numbers, and per kind can be
told to raise, to hang until released, or to return hostile text (Rich
markup and terminal escape sequences) in every string field.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from backends.model import (
    TB,
    BufferSample,
    BufferSnapshot,
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
from backends.sources import (
    Backend,
    BufferSource,
    JobsSource,
    RunsSource,
    TapeSource,
    TransfersSource,
)

NOW = datetime(2017, 11, 15, 12, 0, tzinfo=UTC)
HOSTILE = "[bold red]INJECTED[/] \x1b[2J\x1b]0;pwned\x07end"


class FakeBackend(Backend, BufferSource, TransfersSource, TapeSource, JobsSource, RunsSource):
    name = "fake"

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options or {})
        self.fail: dict[Kind, Exception] = {}
        self.hang: dict[Kind, threading.Event] = {}
        self.hostile = False
        #: What every string field holds when ``hostile``.
        self.hostile_text = HOSTILE
        self.calls: dict[Kind, int] = dict.fromkeys(Kind, 0)
        self.fill_fraction = 0.42
        #: Runs the window of ten has moved on: the oldest left, newer came.
        self.shift = 0

    def _enter(self, kind: Kind) -> None:
        self.calls[kind] += 1
        event = self.hang.get(kind)
        if event is not None:
            event.wait(30)
        if kind in self.fail:
            raise self.fail[kind]

    def _text(self, text: str) -> str:
        return self.hostile_text if self.hostile else text

    def fetch_buffer(self) -> BufferSnapshot:
        self._enter(Kind.BUFFER)
        total = 50 * TB
        used = int(self.fill_fraction * total)
        history = tuple(
            BufferSample(NOW - timedelta(hours=h), used - int(h * 0.1 * TB))
            for h in range(6, -1, -1)
        )
        return BufferSnapshot(NOW, total, used, history, daq_write_bps=300e6, uplink_up=True)

    def fetch_transfers(self) -> TransfersSnapshot:
        self._enter(Kind.TRANSFERS)
        rules = (
            Rule(
                "r1",
                "xe1t",
                "raw_1000",
                "UC_OSG_USERDISK",
                RuleState.OK,
                10,
                0,
                0,
                10**10,
                NOW - timedelta(days=1),
                NOW - timedelta(hours=20),
                run_number=1000,
            ),
            Rule(
                "r2",
                "xe1t",
                "raw_1001",
                "CNAF_USERDISK",
                RuleState.STUCK,
                3,
                0,
                7,
                10**10,
                NOW - timedelta(hours=12),
                NOW - timedelta(hours=9),
                run_number=1001,
                stuck_since=NOW - timedelta(hours=9),
                error=self._text("Connection timed out"),
            ),
        )
        rses = (
            RseStatus("UC_OSG_USERDISK", 100 * TB, 400 * TB, 2e8, True, "US"),
            RseStatus("CNAF_USERDISK", 50 * TB, 200 * TB, 0.0, True, "EU"),
        )
        return TransfersSnapshot(NOW, rses, rules)

    def fetch_tape(self) -> TapeSnapshot:
        self._enter(Kind.TAPE)
        uploads = (
            TapeUpload(
                1001,
                TapeState.FAILED,
                10**10,
                NOW - timedelta(hours=1),
                return_code=12,
                message=self._text("ANS1228E Sending of object failed"),
            ),
            TapeUpload(1002, TapeState.QUEUED, 10**10, NOW),
        )
        return TapeSnapshot(
            NOW,
            uploads,
            verified_runs=1000,
            verified_bytes=1000 * 10**10,
            last_success=NOW - timedelta(hours=2),
            rate_bps=1.5e8,
        )

    def fetch_jobs(self) -> JobsSnapshot:
        self._enter(Kind.JOBS)
        jobs = (
            Job(
                "schedd",
                10,
                0,
                JobStatus.HELD,
                "xenon",
                self._text("MWT2"),
                NOW,
                NOW,
                hold_reason=self._text("Job has gone over memory limit"),
                hold_reason_code=34,
            ),
            Job("schedd", 11, 0, JobStatus.RUNNING, "xenon", "MWT2", NOW, NOW),
        )
        return JobsSnapshot(NOW, jobs, (), ("schedd",))

    def fetch_runs(self) -> RunsSnapshot:
        self._enter(Kind.RUNS)
        safe = (
            DataCopy("raw", "rucio-catalogue", "transferred", rse="UC_OSG_USERDISK"),
            DataCopy("raw", "rucio-catalogue", "transferred", rse="CNAF_USERDISK"),
            DataCopy("raw", "tsm-server", "transferred", checksum="abc"),
        )
        runs = tuple(
            Run(
                number=1000 + self.shift + i,
                name=self._text(f"171115_{i:04d}") if i == 9 else f"171115_{i:04d}",
                start=NOW - timedelta(hours=10 - i),
                end=NOW - timedelta(hours=9 - i),
                detector="tpc",
                source=self._text("none"),
                tags=("_sciencerun1",),
                events=20000,
                raw_size_bytes=10**10,
                copies=safe if i % 2 == 0 else safe[1:],
            )
            for i in range(10)
        )
        return RunsSnapshot(NOW, runs, data_taking=True)

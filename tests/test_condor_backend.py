"""The condor backend over the simulator's jobs as condor_q/condor_history text.

The seam is the transport only: the simulator's JobsSnapshot is written as
``-long`` text (DAGMan ads included), parsed by the real classad2, and the
backend's own reading, history window, aggregation and run mapping must give
back exactly what the simulator holds. Then schedds fail, hang and recover.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import threading
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from backends.analysis.jobs import dag_for_run, hold_reasons, jobs_by_site
from backends.condor import CondorBackend
from backends.condor.classad_text import history_text, queue_text
from backends.model import Dag, Job, JobsSnapshot, JobStatus
from backends.simulator import SCHEDD, SimulatorBackend
from backends.sources import SourceError
from tests.condor_text_transport import TextTransport

SECOND = "submit-2.xenon.example"


def _second(at: datetime) -> datetime:
    return at.replace(microsecond=0)


def as_text(job_or_dag: Job | Dag) -> Job | Dag:
    """What survives -long text: times in whole seconds, and a hold reason only
    while the job is held (HTCondor drops HoldReason on release; the simulator
    keeps it on a released job)."""
    if isinstance(job_or_dag, Job):
        job = job_or_dag
        held = job.status is JobStatus.HELD
        return replace(
            job,
            entered_status_at=_second(job.entered_status_at),
            submitted_at=_second(job.submitted_at),
            hold_reason=job.hold_reason if held else None,
            hold_reason_code=job.hold_reason_code if held else None,
        )
    return replace(job_or_dag, submitted_at=_second(job_or_dag.submitted_at))


def serve(transport: TextTransport, snap: JobsSnapshot, name: str = SCHEDD) -> None:
    transport.set_text(name, queue_text(snap), history_text(snap))


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture(scope="module")
def held_jobs() -> JobsSnapshot:
    return SimulatorBackend({"scenario": "held-jobs", "speed": 0}).fetch_jobs()


@pytest.mark.parametrize("scenario", ["nominal", "held-jobs"])
def test_round_trip_gives_the_simulators_jobs_and_dags(scenario: str) -> None:
    sim = SimulatorBackend({"scenario": scenario, "speed": 0}).fetch_jobs()
    transport = TextTransport()
    serve(transport, sim)
    backend = CondorBackend(
        {"schedds": [SCHEDD], "history_hours": 48}, transport=transport, clock=Clock(sim.taken_at)
    )
    snap = backend.fetch_jobs()
    assert snap.schedd_errors == () and snap.ad_problems == ()
    assert snap.jobs == tuple(as_text(j) for j in sim.jobs)
    assert snap.dags == tuple(as_text(d) for d in sim.dags)
    # So every figure of the pane is the simulator's.
    assert jobs_by_site(snap) == jobs_by_site(sim)
    assert hold_reasons(snap) == hold_reasons(sim)
    assert dag_for_run(snap).keys() == dag_for_run(sim).keys()


def test_held_jobs_numbers(held_jobs: JobsSnapshot) -> None:
    transport = TextTransport()
    serve(transport, held_jobs)
    snap = CondorBackend(
        {"schedds": [SCHEDD], "history_hours": 48},
        transport=transport,
        clock=Clock(held_jobs.taken_at),
    ).fetch_jobs()
    assert sum(j.status is JobStatus.HELD for j in snap.jobs) == 770
    assert sum(d.nodes_held for d in snap.dags) == 770
    assert len(snap.dags) == 8


def test_history_reads_only_what_is_new() -> None:
    sim = SimulatorBackend({"scenario": "nominal", "speed": 0})
    first = sim.fetch_jobs()
    transport = TextTransport()
    serve(transport, first)
    clock = Clock(first.taken_at)
    backend = CondorBackend(
        {"schedds": [SCHEDD], "history_hours": 3}, transport=transport, clock=clock
    )
    backend.fetch_jobs()
    (_, _, read_first, since_first) = transport.calls[-1]
    cutoff = int((first.taken_at - timedelta(hours=3)).timestamp())
    assert since_first == f"EnteredCurrentStatus < {cutoff}"
    # Every job that left within the window (the simulator keeps 3 h too), and
    # the DAGs whose last node left within it; older DAGs are not read.
    in_window = [
        ad for ad in transport.schedds[SCHEDD].history if ad["EnteredCurrentStatus"] >= cutoff
    ]
    assert read_first == len(in_window)
    completed = sum(j.status is JobStatus.COMPLETED for j in first.jobs)
    assert completed == 743
    assert completed < read_first <= completed + sum(d.finished for d in first.dags)

    sim.advance(1800)
    second = sim.fetch_jobs()
    serve(transport, second)
    clock.at = second.taken_at
    snap = backend.fetch_jobs()
    (_, _, read_second, since_second) = transport.calls[-1]
    assert since_second is not None and since_second.startswith("(ClusterId == ")
    newest = transport.schedds[SCHEDD].history
    marker = next(
        i
        for i, ad in enumerate(newest)
        if f"(ClusterId == {ad['ClusterId']} && ProcId == {ad['ProcId']})" in since_second
    )
    # Exactly the ads recorded after the newest one of the first poll.
    assert read_second == marker
    assert 0 < read_second < read_first
    # And the result is still the whole picture: queue now plus what left.
    left_now = {
        j.job_id
        for j in second.jobs
        if j.status is JobStatus.COMPLETED and j.entered_status_at.timestamp() >= cutoff + 1800 + 1
    }
    assert left_now <= {j.job_id for j in snap.jobs if j.status is JobStatus.COMPLETED}
    queued = {j.job_id for j in second.jobs if j.status is not JobStatus.COMPLETED}
    assert queued == {j.job_id for j in snap.jobs if j.status is not JobStatus.COMPLETED}


def two_schedds(held_jobs: JobsSnapshot) -> tuple[TextTransport, CondorBackend]:
    transport = TextTransport()
    serve(transport, held_jobs, SCHEDD)
    nominal = SimulatorBackend({"scenario": "nominal", "speed": 0}).fetch_jobs()
    serve(transport, nominal, SECOND)
    backend = CondorBackend(
        {"schedds": [SCHEDD, SECOND], "history_hours": 48, "timeout": 2},
        transport=transport,
        clock=Clock(held_jobs.taken_at),
    )
    return transport, backend


def test_unreachable_schedd_keeps_its_last_data_and_recovers(held_jobs: JobsSnapshot) -> None:
    transport, backend = two_schedds(held_jobs)
    good = backend.fetch_jobs()
    assert good.schedds == (SCHEDD, SECOND)
    per_schedd = {name: sum(j.schedd == name for j in good.jobs) for name in good.schedds}
    assert per_schedd == {SCHEDD: 1284, SECOND: 789}

    transport.fail[SECOND] = RuntimeError("Failed to connect to <10.0.0.7:9618>")
    stale = backend.fetch_jobs()
    assert stale.schedd_errors == (
        (SECOND, "RuntimeError: Failed to connect to <10.0.0.7:9618> (showing data from 0 s ago)"),
    )
    assert stale.jobs == good.jobs and stale.dags == good.dags

    del transport.fail[SECOND]
    back = backend.fetch_jobs()
    assert back.schedd_errors == () and back.jobs == good.jobs


def test_schedd_down_from_the_start_has_no_data_yet(held_jobs: JobsSnapshot) -> None:
    transport, backend = two_schedds(held_jobs)
    transport.fail[SECOND] = RuntimeError("Unable to connect to schedd")
    snap = backend.fetch_jobs()
    assert snap.schedd_errors == (
        (SECOND, "RuntimeError: Unable to connect to schedd (no data yet)"),
    )
    assert {j.schedd for j in snap.jobs} == {SCHEDD} and len(snap.jobs) == 1284


def test_every_schedd_down_raises_one_line_then_recovers(held_jobs: JobsSnapshot) -> None:
    transport, backend = two_schedds(held_jobs)
    transport.fail[SCHEDD] = RuntimeError("down")
    transport.fail[SECOND] = RuntimeError("also\ndown")
    with pytest.raises(SourceError) as info:
        backend.fetch_jobs()
    assert str(info.value) == (
        f"no schedd could be read: {SCHEDD}: RuntimeError: down (no data yet); "
        f"{SECOND}: RuntimeError: also down (no data yet)"
    )
    transport.fail.clear()
    assert len(backend.fetch_jobs().jobs) == 1284 + 789


def test_a_hanging_schedd_blocks_nobody(held_jobs: JobsSnapshot) -> None:
    transport, backend = two_schedds(held_jobs)
    release = threading.Event()
    transport.hang[SECOND] = release
    try:
        snap = backend.fetch_jobs()
        assert snap.schedd_errors == ((SECOND, "no answer within 2 s (no data yet)"),)
        assert len(snap.jobs) == 1284
        # Still hanging: not queried a second time, still reported.
        again = backend.fetch_jobs()
        assert again.schedd_errors == snap.schedd_errors
        assert sum(1 for c in transport.calls if c[1] == SECOND) == 0
    finally:
        release.set()
        del transport.hang[SECOND]
    for _ in range(50):  # the late answer lands; the next poll starts afresh
        snap = backend.fetch_jobs()
        if not snap.schedd_errors:
            break
    assert snap.schedd_errors == () and len(snap.jobs) == 1284 + 789


def test_errors_never_carry_secrets(held_jobs: JobsSnapshot) -> None:
    transport, backend = two_schedds(held_jobs)
    transport.fail[SECOND] = RuntimeError(
        "GET https://xenon:hunter2@collector.example/ads failed; token=s3cr3t-tok "
        "IDTOKEN eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl"
    )
    ((_, error),) = backend.fetch_jobs().schedd_errors
    for secret in ("hunter2", "s3cr3t-tok", "eyJhbGciOi"):
        assert secret not in error
    assert "https://xenon:***@collector.example" in error
    transport.fail[SCHEDD] = transport.fail[SECOND]
    with pytest.raises(SourceError) as info:
        backend.fetch_jobs()
    assert "hunter2" not in str(info.value) and "s3cr3t" not in str(info.value)


def test_schedds_from_the_collector_and_a_collector_outage(held_jobs: JobsSnapshot) -> None:
    transport = TextTransport()
    serve(transport, held_jobs, SCHEDD)
    serve(transport, held_jobs, SECOND)
    transport.collector_fail = RuntimeError("Failed communication with collector.")
    backend = CondorBackend(
        {"pool": "cm.xenon.example:9618", "history_hours": 48},
        transport=transport,
        clock=Clock(held_jobs.taken_at),
    )
    expected = re.escape("collector cm.xenon.example:9618: RuntimeError")
    with pytest.raises(SourceError, match=expected):
        backend.fetch_jobs()
    transport.collector_fail = None
    snap = backend.fetch_jobs()
    assert snap.schedds == (SECOND, SCHEDD) and snap.schedd_errors == ()
    # The collector goes away: the schedds it named are still read.
    transport.collector_fail = RuntimeError("Failed communication with collector.")
    snap = backend.fetch_jobs()
    assert snap.schedds == (SECOND, SCHEDD) and len(snap.jobs) == 2 * 1284
    assert snap.schedd_errors == (
        ("collector cm.xenon.example:9618", "RuntimeError: Failed communication with collector."),
    )


def test_a_hanging_collector_blocks_nobody(held_jobs: JobsSnapshot) -> None:
    transport = TextTransport()
    serve(transport, held_jobs, SCHEDD)
    backend = CondorBackend(
        {"pool": "cm.xenon.example", "history_hours": 48, "timeout": 1},
        transport=transport,
        clock=Clock(held_jobs.taken_at),
    )
    assert len(backend.fetch_jobs().jobs) == 1284
    release = threading.Event()
    transport.collector_hang = release
    try:
        snap = backend.fetch_jobs()
    finally:
        release.set()
    assert snap.schedd_errors == (("collector cm.xenon.example", "no answer within 1 s"),)
    assert len(snap.jobs) == 1284
    backend.close()


def test_run_detail_gives_the_runs_dag_and_held_jobs_first(held_jobs: JobsSnapshot) -> None:
    transport = TextTransport()
    serve(transport, held_jobs)
    backend = CondorBackend(
        {"schedds": [SCHEDD], "history_hours": 48},
        transport=transport,
        clock=Clock(held_jobs.taken_at),
    )
    dag = max(held_jobs.dags, key=lambda d: d.nodes_held)
    assert dag.run_number is not None
    detail = backend.fetch_run_detail(dag.run_number)
    assert detail.run_number == dag.run_number and detail.dags == (as_text(dag),)
    nodes = [j for j in held_jobs.jobs if j.dag_cluster_id == dag.cluster_id]
    assert len(detail.jobs) == len(nodes)
    held = [j for j in detail.jobs if j.status is JobStatus.HELD]
    assert len(held) == dag.nodes_held > 0
    assert list(detail.jobs[: len(held)]) == held
    assert all(j.hold_reason for j in held)
    empty = backend.fetch_run_detail(1)
    assert empty.dags == () and empty.jobs == ()
    # The first detail polled; the next ones use that poll, not the schedd.
    assert [c[0] for c in transport.calls] == ["query", "history"]


# -------------------------------------------------------------- read-only


WRITES = {
    "act",
    "edit",
    "submit",
    "transaction",
    "retrieve",
    "reschedule",
    "spool",
    "export_jobs",
    "import_exported_job_results",
    "unexport_jobs",
    "refreshGSIProxy",
    "advertise",
    "setUserMaxJobRetirementTime",
}


def test_backend_source_calls_nothing_that_writes() -> None:
    called: set[str] = set()
    for path in Path("backends/condor").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                receiver = node.func.value
                if isinstance(receiver, ast.Attribute) and receiver.attr == "_pool":
                    continue  # the thread pool's submit
                called.add(node.func.attr)
    assert not called & WRITES
    assert {"query", "history", "locateAll", "locate"} <= called


def test_real_transport_only_queries(
    monkeypatch: pytest.MonkeyPatch, held_jobs: JobsSnapshot
) -> None:
    import htcondor2

    used: list[str] = []

    class RecordingSchedd:
        """Stands in for htcondor2.Schedd: records every method the backend touches."""

        def __init__(self, location: object) -> None:
            used.append("__init__")

        def __getattr__(self, name: str) -> object:
            used.append(name)
            return lambda *args, **kwargs: []

    monkeypatch.setattr(htcondor2, "Schedd", RecordingSchedd)
    backend = CondorBackend({"schedds": ["<127.0.0.1:9618>"]})
    snap = backend.fetch_jobs()
    backend.close()
    assert snap.jobs == () and snap.schedd_errors == ()
    assert set(used) == {"__init__", "query", "history"}


def test_jobs_that_changed_are_read_again_and_the_others_reused() -> None:
    sim = SimulatorBackend({"scenario": "held-jobs", "speed": 0})
    first = sim.fetch_jobs()
    transport = TextTransport()
    serve(transport, first)
    clock = Clock(first.taken_at)
    backend = CondorBackend(
        {"schedds": [SCHEDD], "history_hours": 48}, transport=transport, clock=clock
    )
    before = {j.job_id: j for j in backend.fetch_jobs().jobs}
    sim.advance(900)
    second = sim.fetch_jobs()
    serve(transport, second)
    clock.at = second.taken_at
    after = backend.fetch_jobs()
    queued = [as_text(j) for j in second.jobs if j.status is not JobStatus.COMPLETED]
    assert [j for j in after.jobs if j.status is not JobStatus.COMPLETED] == queued
    changed = same = 0
    for job in queued:
        old = before.get(job.job_id)
        if old is not None and (old.status, old.entered_status_at) == (
            job.status,
            job.entered_status_at,
        ):
            same += 1
            # Not read again: the very same object as in the first poll.
            assert next(j for j in after.jobs if j.job_id == job.job_id) is old
        else:
            changed += 1
    assert same > 0 and changed > 0


def test_a_read_stuck_forever_does_not_keep_the_console_from_exiting() -> None:
    script = """
import threading
from backends.condor import CondorBackend
from tests.condor_text_transport import TextTransport

transport = TextTransport()
transport.set_text("stuck", "")
transport.hang["stuck"] = threading.Event()  # never set
transport.hang["stuck"].wait = lambda timeout=None: threading.Event().wait()  # forever
backend = CondorBackend({"schedds": ["stuck"], "timeout": 0.5}, transport=transport)
try:
    backend.fetch_jobs()
except Exception as exc:
    print(exc)
backend.close()
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout.strip() == "no schedd could be read: stuck: no answer within 0.5 s "
        "(no data yet)"
    )

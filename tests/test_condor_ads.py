"""Reading job ads: hand-written ``condor_q -long`` text parsed by the real classad2.

Known numbers: one DAG of run 6789 (found from its batch name), four node
jobs (running after a retry, held, idle, transferring), one plain job; then
garbage ads that are counted without hiding the others.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from backends.analysis.jobs import hold_reasons, jobs_by_site, jobs_total
from backends.condor import CondorBackend
from backends.condor.ads import MAX_TEXT, AdReader, projection
from backends.condor.aggregate import read_ads
from backends.condor.classad_text import quote
from backends.condor.run_mapping import RunMapper
from backends.model import DagStatus, JobStatus
from backends.sources import BackendConfigError
from tests.condor_text_transport import TextTransport, parse_long

SCHEDD = "submit-1.xenon.example"
NOW = datetime(2017, 11, 15, 12, 0, tzinfo=UTC)
T0 = 1510740000  # 2017-11-15 10:00:00 UTC

HELD_REASON = (
    "Error from slot1_3@node042.unl.edu: Job has gone over memory limit of 2048 "
    "megabytes. Peak usage: 2300 megabytes."
)
QUEUE = f"""\
ClusterId = 500
ProcId = 0
JobStatus = 2
Owner = "xenon"
JobUniverse = 7
Cmd = "/usr/bin/condor_dagman"
JobBatchName = "xe1t_run_6789"
QDate = {T0}
EnteredCurrentStatus = {T0}
DAG_NodesTotal = 10
DAG_NodesDone = 6
DAG_NodesFailed = 0
DAG_NodesQueued = 4
DAG_Status = 0

ClusterId = 501
ProcId = 0
JobStatus = 2
Owner = "xenon"
JobBatchName = "xe1t_run_6789"
DAGManJobId = 500
DAGNodeName = "chunk_0006"
QDate = {T0 + 60}
EnteredCurrentStatus = {T0 + 600}
NumJobStarts = 2
MATCH_EXP_JOB_GLIDEIN_Site = "MWT2"
HoldReason = undefined

ClusterId = 502
ProcId = 0
JobStatus = 5
Owner = "xenon"
JobBatchName = "xe1t_run_6789"
DAGManJobId = 500
DAGNodeName = "chunk_0007"
QDate = {T0 + 60}
EnteredCurrentStatus = {T0 + 900}
NumJobStarts = 1
MATCH_EXP_JOB_GLIDEIN_Site = "Nebraska"
HoldReason = "{HELD_REASON}"
HoldReasonCode = 34

ClusterId = 503
ProcId = 0
JobStatus = 1
Owner = "xenon"
JobBatchName = "xe1t_run_6789"
DAGManJobId = 500
DAGNodeName = "chunk_0008"
QDate = {T0 + 60}
NumJobStarts = 0
MATCH_EXP_JOB_GLIDEIN_Site = "LeftBehind"

ClusterId = 504
ProcId = 0
JobStatus = 6
Owner = "xenon"
JobBatchName = "xe1t_run_6789"
DAGManJobId = 500
DAGNodeName = "chunk_0009"
QDate = {T0 + 60}
EnteredCurrentStatus = {T0 + 1200}
NumJobStarts = 1
MATCH_EXP_JOB_GLIDEIN_Site = "MWT2"

ClusterId = 600
ProcId = 3
JobStatus = 2
Owner = "shifter"
Cmd = "/bin/sleep"
QDate = {T0}
EnteredCurrentStatus = {T0 + 30}
NumJobStarts = 1
MATCH_EXP_JOB_GLIDEIN_Site = "MWT2"
"""

GARBAGE = f"""\
ProcId = 0
JobStatus = 2
QDate = {T0}

ClusterId = 701
ProcId = 0
JobStatus = "banana"
QDate = {T0}

ClusterId = 702
ProcId = 0
JobStatus = 42
QDate = {T0}

ClusterId = 703
ProcId = 0
JobStatus = 1
"""


def backend(transport: TextTransport, **options: object) -> CondorBackend:
    return CondorBackend({"schedds": [SCHEDD], **options}, transport=transport, clock=lambda: NOW)


def test_jobs_and_dag_from_condor_q_text() -> None:
    transport = TextTransport()
    transport.set_text(SCHEDD, QUEUE)
    snap = backend(transport).fetch_jobs()

    assert snap.schedds == (SCHEDD,)
    assert snap.schedd_errors == () and snap.ad_problems == ()
    assert [j.job_id for j in snap.jobs] == ["501.0", "502.0", "503.0", "504.0", "600.3"]
    running, held, idle, xfer, plain = snap.jobs
    assert running.status is JobStatus.RUNNING and running.num_job_starts == 2
    assert running.site == "MWT2" and running.dag_cluster_id == 500
    assert running.node_name == "chunk_0006" and running.hold_reason is None
    assert held.hold_reason_code == 34 and held.hold_reason is not None
    assert held.hold_reason.startswith("Error from slot1_3@node042.unl.edu")
    assert held.entered_status_at == datetime(2017, 11, 15, 10, 15, tzinfo=UTC)
    # No EnteredCurrentStatus: the time it was queued stands in; an idle job
    # is at no site, whatever an earlier match left in its ad.
    assert idle.site is None and idle.entered_status_at == idle.submitted_at
    assert xfer.status is JobStatus.TRANSFERRING_OUTPUT
    assert plain.dag_cluster_id is None and plain.owner == "shifter"

    (dag,) = snap.dags
    assert (dag.cluster_id, dag.run_number, dag.batch_name) == (500, 6789, "xe1t_run_6789")
    assert (dag.nodes_total, dag.nodes_done, dag.nodes_failed, dag.nodes_queued) == (10, 6, 0, 4)
    # DAG_JobsHeld not published: held nodes counted in the queue.
    assert dag.nodes_held == 1
    assert dag.status is DagStatus.OK and not dag.finished

    total = jobs_total(snap)
    assert (total.idle, total.running, total.held, total.transferring, total.retried) == (
        1,
        2,
        1,
        1,
        1,
    )
    by_site = {c.site: c for c in jobs_by_site(snap)}
    assert set(by_site) == {"MWT2", "Nebraska", "unmatched"}
    assert (by_site["MWT2"].running, by_site["MWT2"].transferring) == (2, 1)
    assert hold_reasons(snap) == [
        (
            "Error from <slot>: Job has gone over memory limit of 2048 megabytes. "
            "Peak usage: N megabytes.",
            1,
        )
    ]


def test_query_asks_only_for_the_attributes_it_reads() -> None:
    transport = TextTransport()
    transport.set_text(SCHEDD, QUEUE)
    backend(transport).fetch_jobs()
    asked = transport.projections[0]
    assert {
        "ClusterId",
        "JobStatus",
        "DAGManJobId",
        "HoldReason",
        "DAG_NodesDone",
        "MATCH_EXP_JOB_GLIDEIN_Site",
        "RunNumber",
    } <= set(asked)
    assert "Requirements" not in asked and len(asked) < 30
    assert asked == projection(("MATCH_EXP_JOB_GLIDEIN_Site", "MATCH_GLIDEIN_Site"), "RunNumber")


def test_garbage_ads_are_counted_and_hide_nothing() -> None:
    transport = TextTransport()
    transport.set_text(SCHEDD, QUEUE + "\n" + GARBAGE)
    snap = backend(transport).fetch_jobs()
    assert len(snap.jobs) == 5 and len(snap.dags) == 1
    (line,) = snap.ad_problems
    assert line.startswith(f"{SCHEDD}: 4 job ads skipped (")
    assert "ClusterId missing" in line


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            f'ClusterId = 1\nJobStatus = "banana"\nQDate = {T0}\n',
            "JobStatus is not a number: 'banana'",
        ),
        (f"ClusterId = 1\nJobStatus = 42\nQDate = {T0}\n", "JobStatus 42 unknown"),
        ("ClusterId = 1\nJobStatus = 1\n", "QDate missing"),
        (
            f"ClusterId = 1\nJobStatus = 1\nQDate = {T0}\nDAG_NodesTotal = 3\nDAG_Status = 99\n",
            "DAG_Status 99 unknown",
        ),
    ],
)
def test_each_kind_of_garbage_is_named(text: str, problem: str) -> None:
    reader = AdReader(SCHEDD, ("MATCH_EXP_JOB_GLIDEIN_Site",), RunMapper())
    read = read_ads(reader, parse_long(text))
    assert read.skipped == 1 and read.jobs == [] and read.dags == []
    assert read.first_problem == f"job 1.0: {problem}"


def test_hostile_and_long_text_survives_the_round_trip_literally() -> None:
    hostile = 'quote " backslash \\ [bold]markup[/] \x1b[2J\x07 end'
    text = (
        f"ClusterId = 1\nProcId = 0\nJobStatus = 5\nQDate = {T0}\n"
        f"HoldReason = {quote(hostile)}\nOwner = {quote('x' * 5000)}\n"
    )
    (ad,) = parse_long(text)
    job = AdReader(SCHEDD, (), RunMapper()).read(ad)
    assert job.hold_reason == hostile  # type: ignore[union-attr]
    # -long text holds one attribute per line: line breaks arrive as spaces.
    two_lines = quote("a\nb")
    (ad,) = parse_long(f"ClusterId = 1\nJobStatus = 1\nQDate = 1\nOwner = {two_lines}\n")
    assert ad["Owner"] == "a b"
    assert len(job.owner) == MAX_TEXT and job.owner.endswith("…")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("ad", "mapper", "run"),
    [
        ({"RunNumber": 1234}, RunMapper(), 1234),
        ({"RunNumber": 1234}, RunMapper(attribute=None), 6789),
        ({}, RunMapper(), 6789),
        ({"RunNumber": "oops"}, RunMapper(), 6789),
        ({}, RunMapper(pattern=r"^pax_(\d+)$"), None),
        ({}, RunMapper(pattern=None), None),
    ],
)
def test_run_mapping(ad: dict, mapper: RunMapper, run: int | None) -> None:
    assert mapper.run_of(ad, "xe1t_run_6789") == run


@pytest.mark.parametrize(
    "name", ["xe1t_run_6789", "pax_v6.8.0_run6789", "run-006789.dag+123", "RUN_6789"]
)
def test_default_pattern_finds_the_run_in_batch_names(name: str) -> None:
    assert RunMapper(attribute=None).run_of({}, name) == 6789


@pytest.mark.parametrize("name", ["pax_171115_1200", "rerun_tests", "xe1t_6789.dag+4"])
def test_default_pattern_does_not_guess(name: str) -> None:
    assert RunMapper(attribute=None).run_of({}, name) is None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"schedd": ["a"]}, "unknown condor option 'schedd'"),
        ({"schedds": "  "}, "schedds must be a list of non-empty strings"),
        ({"schedds": ["a", "a"]}, "schedds lists a schedd twice"),
        ({"timeout": 0}, "timeout must be > 0"),
        ({"timeout": "5"}, "timeout must be a number"),
        ({"history_hours": -1}, "history_hours must be > 0"),
        ({"pool": 7}, "pool must be a non-empty string"),
        ({"run_pattern": "run_(\\d+"}, "run_pattern is not a regular expression"),
        ({"run_pattern": "run_\\d+"}, "run_pattern needs a group"),
        ({"run_attribute": "1 + 1"}, "run_attribute must be an attribute name"),
        ({"site_attributes": ["GLIDEIN Site"]}, "site_attributes: 'GLIDEIN Site'"),
        ({"constraint": ""}, "constraint must be a non-empty string"),
    ],
)
def test_bad_options_give_one_line_naming_the_option(options: dict, message: str) -> None:
    with pytest.raises(BackendConfigError) as info:
        CondorBackend(options, transport=TextTransport())
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_option_echo_hides_a_password() -> None:
    with pytest.raises(BackendConfigError) as info:
        CondorBackend({"pool": ["https://admin:hunter2@collector"]}, transport=TextTransport())
    assert "hunter2" not in str(info.value)


def test_the_readme_example_config_is_valid() -> None:
    import tomllib
    from pathlib import Path

    readme = Path(__file__).resolve().parent.parent.joinpath("README.md").read_text()
    section = readme[readme.index("### condor:") :]
    block = section[section.index("```toml") + len("```toml") :]
    config = tomllib.loads(block[: block.index("```")])
    options = dict(config["backends"]["condor"])
    assert options.pop("type") == "condor" and config["panes"]["jobs"] == "condor"
    backend = CondorBackend(options, transport=TextTransport())
    assert [r.name for r in backend.config.schedds] == ["xenon-submit", "<192.170.227.10:9618>"]
    assert backend.config.schedds[1].address == "<192.170.227.10:9618>"
    assert backend.config.schedds[0].address is None
    assert backend._reader_mapper.run_of({}, "xe1t_run_6789") == 6789

"""Run drill-down: the right verdicts and hints for a run in each scenario."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import pytest
from textual.widgets import DataTable

from backends.analysis.drilldown import detail_from_snapshots, did_of, hints, merge_details
from backends.analysis.safety import data_safety, purge_verdict
from backends.model import Job, JobStatus, Kind, Replica, RuleState, RunDetail, TapeState
from backends.simulator import SimulatorBackend
from console.screens.run_details import RunDetailsScreen
from tests.screen import screen_text
from tests.simapp import simulator_app, wait_settled


def snapshots(scenario: str) -> dict:
    sim = SimulatorBackend({"scenario": scenario, "seed": 1, "speed": 0})
    return {kind: sim.fetch(kind) for kind in Kind}


def detail(snaps: dict, number: int) -> RunDetail:
    return detail_from_snapshots(number, snaps, snaps[Kind.RUNS].taken_at)


def test_nominal_settled_run_is_safe_with_nothing_to_do() -> None:
    snaps = snapshots("nominal")
    old = snaps[Kind.RUNS].runs[-200]  # about 8 days old: settled
    d = detail(snaps, old.number)
    assert d.run is old
    assert data_safety(old).safe
    assert hints(d) == []


def test_rse_outage_stuck_rule_hint_names_the_rule() -> None:
    snaps = snapshots("rse-outage")
    stuck = [r for r in snaps[Kind.TRANSFERS].rules if r.state is RuleState.STUCK]
    assert stuck
    rule = stuck[0]
    d = detail(snaps, rule.run_number)
    assert rule in d.rules
    found = [h for h in hints(d) if rule.id in h.command]
    assert found and found[0].command.startswith(f"rucio rule show {rule.id}")
    assert found[0].command.endswith(f"rucio rule update {rule.id} --boost-rule")
    assert "STUCK" in found[0].problem and rule.rse in found[0].problem
    # when the RSE itself is down, the hint is to move the copy elsewhere
    moved = [h for h in hints(d, unavailable_rses=frozenset({rule.rse})) if rule.id in h.command]
    assert moved[0].command.startswith(f"rucio rule move {rule.id} --rses '")
    assert rule.rse not in moved[0].command.split("--rses")[1]
    assert did_of(d) == f"{rule.scope}:{rule.name}"


def test_a_rule_stuck_at_an_rse_the_xenonnt_policy_names_is_not_moved_away() -> None:
    """XENONnT's TPC rule needs SURFSARA_USERDISK itself: with it down, a
    copy moved elsewhere counts for nothing, and the hint said moving it
    made the run safe."""
    from backends import kinds
    from backends.analysis.policy import XENONNT_POLICY
    from backends.analysis.rucio_evidence import evidence_of, joined_runs
    from backends.simulator import SimulatorBackend

    sim = SimulatorBackend({"scenario": "rse-outage", "seed": 1, "speed": 0, "profile": "xenonnt"})
    snaps = {kind: kinds.fetch(sim, kind) for kind in kinds.kinds()}
    snaps[Kind.RUNS] = joined_runs(snaps[Kind.RUNS], evidence_of(snaps[Kind.TRANSFERS]))
    stuck = [r for r in snaps[Kind.TRANSFERS].rules if r.state is RuleState.STUCK]
    rule = next(r for r in stuck if r.rse == "SURFSARA_USERDISK")
    d = detail(snaps, rule.run_number)
    found = [
        h
        for h in hints(d, unavailable_rses=frozenset({rule.rse}), policy=XENONNT_POLICY)
        if rule.id in h.command
    ]
    assert [h.command for h in found] == [f"rucio rule show {rule.id}"]
    assert "needs its copy at SURFSARA_USERDISK itself" in found[0].problem
    assert "stays unsafe until SURFSARA_USERDISK is back" in found[0].problem
    assert "becomes safe" not in found[0].problem


def test_tape_checksum_run_is_unsafe_and_hint_reuploads() -> None:
    snaps = snapshots("tape-checksum")
    failed = [u for u in snaps[Kind.TAPE].uploads if u.state is TapeState.FAILED]
    assert failed
    d = detail(snaps, failed[0].run_number)
    verdict = data_safety(d.run)
    assert not verdict.safe and "tape" in verdict.missing
    assert "checksum" in verdict.reason
    assert not purge_verdict(d.run).allowed
    commands = [h.command for h in hints(d)]
    # a checksum mismatch: the files did not change, so only a full backup resends them
    assert any(c.startswith("dsmc selective -subdir=yes") and d.run.name in c for c in commands)
    assert not any(c.startswith("dsmc incremental") for c in commands)
    assert any("do not purge" in c for c in commands)


def selected_jobs(selector: str, jobs: list[Job]) -> set[Job]:
    """The jobs a condor_q/condor_release selector of a hint selects."""
    found = re.fullmatch(r"-constraint 'DAGManJobId == (\d+)'", selector)
    if found:
        return {j for j in jobs if j.dag_cluster_id == int(found.group(1))}
    clusters = {int(c) for c in selector.split()}
    return {j for j in jobs if j.cluster_id in clusters}


def selectors(command: str) -> tuple[str, str]:
    """What the hint's condor_q and its condor_release select."""
    found = re.fullmatch(
        r"condor_q(?: -name \S+)? -hold (.+?)   # fix the cause, then: "
        r"condor_release(?: -name \S+)? (.+)",
        command,
    )
    assert found, command
    return found.group(1), found.group(2)


@pytest.mark.parametrize("scenario", ["held-jobs", "nominal"])
def test_every_held_jobs_hint_covers_every_job_it_names(scenario: str) -> None:
    """On held-jobs a DAG holds dozens of jobs; the hint once named 20 clusters.
    Now each hint selects exactly the held jobs it counts, and together the
    hints of a run cover all its held jobs."""
    snaps = snapshots(scenario)
    checked = 0
    for dag in snaps[Kind.JOBS].dags:
        if dag.run_number is None:
            continue
        d = detail(snaps, dag.run_number)
        held = [j for j in d.jobs if j.status is JobStatus.HELD]
        held_hints = [h for h in hints(d) if "held jobs" in h.problem]
        covered: set[Job] = set()
        for hint in held_hints:
            shown, released = selectors(hint.command)
            assert shown == released  # what is released is what was shown
            chosen = selected_jobs(shown, held)
            assert len(chosen) == int(hint.problem.split()[0]), (hint.problem, hint.command)
            covered |= chosen
        assert covered == set(held)
        checked += len(held)
    if scenario == "held-jobs":
        most = max(
            sum(
                1
                for j in snaps[Kind.JOBS].jobs
                if j.dag_cluster_id == dag.cluster_id and j.status is JobStatus.HELD
            )
            for dag in snaps[Kind.JOBS].dags
        )
        assert most > 20 and checked > 20  # more than the 20 the hint once named


def test_uplink_down_runs_need_rules_only_once_overdue() -> None:
    snaps = snapshots("uplink-down")
    run = snaps[Kind.RUNS].runs[-10]  # taken while the uplink was down
    d = detail(snaps, run.number)
    assert not data_safety(run).safe
    now = snaps[Kind.RUNS].taken_at
    # still within 48 h of its end: its copies are on their way, no rule by hand
    young = hints(d, overdue_before=now - timedelta(hours=48))
    assert not any("rucio rule add" in h.command for h in young)
    # two days later with nothing changed: add the rules
    late = " ".join(h.command for h in hints(d, overdue_before=now + timedelta(days=2)))
    assert f"rucio rule add {did_of(d)} --copies 1 --rses UC_OSG_USERDISK" in late
    assert "--copies 1 --rses 'NIKHEF_USERDISK|" in late


def test_merge_details_unions_and_later_sources_win() -> None:
    snaps = snapshots("rse-outage")
    rule = next(r for r in snaps[Kind.TRANSFERS].rules if r.state is RuleState.STUCK)
    local = detail(snaps, rule.run_number)
    later = RunDetail(
        local.taken_at + timedelta(seconds=5),
        rule.run_number,
        rules=(replace(rule, error="newer error"),),
        replicas=(Replica(rule.scope, "raw.0001", rule.rse, "UNAVAILABLE", 10),),
        notes=("from rucio",),
    )
    merged = merge_details([local, later])
    assert merged.run is local.run
    assert [r.error for r in merged.rules if r.id == rule.id] == ["newer error"]
    assert len(merged.rules) == len(local.rules)
    assert merged.replicas == later.replicas
    assert merged.notes == ("from rucio",)
    with pytest.raises(ValueError):
        merge_details([])


async def test_enter_on_a_stuck_rse_opens_its_oldest_stuck_run() -> None:
    app = simulator_app("rse-outage")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_settled(pilot)
        await pilot.press("2")
        table = app.pane(Kind.TRANSFERS).query_one("#rse-table", DataTable)
        names = [key.value for key in table.rows]
        table.move_cursor(row=names.index("NIKHEF_USERDISK"))
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, RunDetailsScreen)
        text = screen_text(app)
        # NIKHEF is down in this scenario: move the copy to another RSE
        assert "rucio rule move" in text and "STUCK" in text


async def test_enter_on_a_held_dag_shows_its_held_jobs() -> None:
    app = simulator_app("held-jobs")
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_settled(pilot)
        await pilot.press("4")
        table = app.pane(Kind.JOBS).query_one("#dag-table", DataTable)
        table.focus()
        table.move_cursor(row=0)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, RunDetailsScreen)
        text = screen_text(app)
        assert "held jobs" in text and "condor_release" in text
        assert "memory limit" in text  # a hold reason in the jobs table


async def test_enter_on_a_failed_tape_upload_opens_the_run() -> None:
    app = simulator_app("tape-checksum")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_settled(pilot)
        await pilot.press("3")
        table = app.pane(Kind.TAPE).query_one("#tape-table", DataTable)
        table.focus()
        first_run = int(next(iter(table.rows)).value.split(":")[0])
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, RunDetailsScreen)
        assert app.screen.run_number == first_run
        assert "NOT SAFE" in screen_text(app)


def test_rules_named_only_by_run_name_join_the_run() -> None:
    """XENON1T's Rucio scopes carry the run's name, not its number."""
    snaps = snapshots("nominal")
    run = snaps[Kind.RUNS].runs[-3]
    theirs = [r for r in snaps[Kind.TRANSFERS].rules if r.run_number == run.number]
    assert theirs
    by_name = tuple(replace(r, run_number=None, run_name=run.name) for r in theirs)
    transfers = replace(snaps[Kind.TRANSFERS], rules=by_name)
    d = detail({**snaps, Kind.TRANSFERS: transfers}, run.number)
    assert set(d.rules) == set(by_name)


def test_every_run_detail_source_takes_the_run_name() -> None:
    """The interface declares ``run_name`` (Rucio finds XENON1T runs by name:
    its scopes carry no number), so the drill-down passes it to every backend."""
    import inspect

    from backends.registry import available, load_backend_class
    from backends.sources import RunDetailSource

    sources = [
        cls for name in available() if issubclass(cls := load_backend_class(name), RunDetailSource)
    ]
    assert len(sources) >= 4
    for cls in sources:
        parameters = inspect.signature(cls.fetch_run_detail).parameters
        assert "run_name" in parameters, cls.__name__


async def test_the_drill_down_of_a_xenonnt_run_shows_its_event_builder(tmp_path) -> None:
    """Pilot: `:` and a run number on the XENONnT simulator: the drill-down
    says the run's status and what its event builder made of it."""
    from console.app import XenonConsole
    from console.config import load_config
    from console.fetching import Backends
    from tests.screen import wait_for

    path = tmp_path / "nt.toml"
    path.write_text('[backends.simulator]\nprofile = "xenonnt"\nspeed = 0\n')
    config = load_config(path)
    sim = SimulatorBackend({"speed": 0, "profile": "xenonnt"})
    runs = sim.fetch_runs().runs
    failed = next(r for r in reversed(runs) if r.builder and r.builder.state == "failed")
    assert failed.builder is not None and failed.builder.next_retry is not None
    app = XenonConsole(config, Backends(config, factory=lambda _t, _o: sim), clock=lambda: 0.0)
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_for(pilot, lambda: app.runs_pane.table is not None, "the runs table", timeout=20)
        await pilot.press("colon", *str(failed.number), "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailsScreen), "drill-down")
        text = screen_text(app)
        n = failed.builder.n_failures
        retry = failed.builder.next_retry
        assert f"Event builder: failed ({n} failure" in text
        assert f"next retry {retry:%Y-%m-%d %H:%M}) on {failed.builder.host}" in text
        assert f"Run status: {failed.status}" in text

"""Rucio's word in the verdicts of every front end (issue 19): a XENONnT
console whose transfers pane gives the rules (here the simulator's own, as
XENONnT's Rucio holds them) says "safe" of a run only with an OK rule for
each copy's DID holding its ``file_count`` files; a stuck rule or a short
file count keeps it unsafe with the reason; without transfers data every
Rucio copy is "unverified in Rucio" again.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from backends.analysis.policy import XENONNT_POLICY
from backends.analysis.rucio_evidence import Evidence, evidence_of, joined_runs
from backends.analysis.run_index import RunIndex, RunTable
from backends.analysis.safety import data_safety
from backends.model import Kind, RuleState, Run, TransfersSnapshot
from backends.simulator import SimulatorBackend
from console.app import XenonConsole
from console.cli import main
from console.config import load_config
from console.fetching import Backends, fetch_all, fetch_one
from console.polling import derive
from console.screens.run_details import RunDetailsScreen
from console.widgets.virtual_table import VirtualTable
from tests.screen import screen_text, wait_for

NO_DATA = "is unverified in Rucio (no transfers data)"
STUCK = "has its rule 'STUCK' in Rucio, not OK"
CONFIG = """
[backends.simulator]
profile = "xenonnt"
speed = 0

[intervals]
transfers = 0.2

[ui]
bell_on_critical = false
"""


class Tampered(SimulatorBackend):
    """The simulator, whose Rucio can be told to fail, or to hold one rule
    STUCK and another one file short."""

    fail = False
    stuck: str | None = None
    short: str | None = None

    def fetch_transfers(self) -> TransfersSnapshot:
        if self.fail:
            raise RuntimeError("Rucio server unreachable")
        snapshot = super().fetch_transfers()
        rules = []
        for rule in snapshot.rules:
            if rule.id == self.stuck:
                rule = replace(rule, state=RuleState.STUCK, locks_ok=rule.locks_ok - 1)
                rule = replace(rule, locks_stuck=1)
            elif rule.id == self.short:
                rule = replace(rule, locks_ok=rule.locks_ok - 1)
            rules.append(rule)
        return replace(snapshot, rules=tuple(rules))


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    return path


def _confirmed() -> tuple[list[Run], list[Run], TransfersSnapshot]:
    """The simulated XENONnT runs with Rucio's word, and which are safe."""
    sim = SimulatorBackend({"speed": 0, "profile": "xenonnt"})
    transfers = sim.fetch_transfers()
    runs = list(joined_runs(sim.fetch_runs(), evidence_of(transfers)).runs)
    safe = [r for r in runs if data_safety(r, XENONNT_POLICY).safe]
    return runs, safe, transfers


def _safe_rows(table: RunTable) -> list[int]:
    return [i for i in range(len(table)) if table.judged_at(i).verdict.safe]


def _rule_of(run: Run, rse: str, transfers: TransfersSnapshot) -> Any:
    did = next(c.did for c in run.copies if c.rse == rse)
    return next(r for r in transfers.rules if f"{r.scope}:{r.name}" == did and r.rse == rse)


def test_the_xenonnt_simulator_lists_every_rule_of_every_run() -> None:
    """As XENONnT's Rucio: the rules of every run of the history, so every
    settled run (and every run whose rules are OK) is safe; each safe TPC run
    has an OK rule at UC_OSG_USERDISK and SURFSARA_USERDISK with the copy's
    files (the destinations the xenonnt policy requires)."""
    runs, safe, transfers = _confirmed()
    assert transfers.rules and all(r.scope.startswith("xnt_") for r in transfers.rules)
    settled = SimulatorBackend({"speed": 0, "profile": "xenonnt"}).engine.first_rec
    assert settled > 500 and len(transfers.rules) > 2 * settled
    assert {r.number for r in runs[:settled]} <= {r.number for r in safe}
    assert len(runs) - len(safe) <= 3  # the newest, on their way
    for run in [r for r in safe if r.detector == "tpc"][:20] + [r for r in safe][-20:]:
        for rse in ("UC_OSG_USERDISK", "SURFSARA_USERDISK"):
            copy = next(c for c in run.copies if c.rse == rse)
            rule = _rule_of(run, rse, transfers)
            assert rule.state is RuleState.OK and rule.locks_ok == copy.file_count
    # The oldest run's verdict cites the copies its OK rules confirm.
    oldest = runs[0]
    assert oldest.detector == "tpc"
    assert data_safety(oldest, XENONNT_POLICY).reason == (
        "TPC run: 2 valid copies (raw_records UC_OSG_USERDISK, raw_records SURFSARA_USERDISK)"
    )
    assert {c.rucio_state for c in oldest.copies if c.did} == {"OK"}


def test_the_xenonnt_simulators_muon_veto_goes_where_admix_sends_it() -> None:
    sim = SimulatorBackend({"speed": 0, "profile": "xenonnt", "runs": 3000})
    runs = list(joined_runs(sim.fetch_runs(), evidence_of(sim.fetch_transfers())).runs)
    veto = [r for r in runs[:-10] if r.detector == "muon_veto"]
    assert veto
    for run in veto:
        rses = {c.rse for c in run.copies if c.did} - {"LNGS_USERDISK"}  # the upload's, for 4 days
        assert rses == {"UC_OSG_USERDISK", "CCIN2P3_USERDISK"}
        assert {c.type for c in run.copies} == {"raw_records_mv"}
        assert data_safety(run, XENONNT_POLICY).safe


def test_the_xenonnt_destinations_can_be_overridden() -> None:
    from backends.sources import BackendConfigError

    options = {"speed": 0, "profile": "xenonnt", "runs": 300}
    nikhef = {"raw_records": ["UC_OSG_USERDISK", "NIKHEF_USERDISK"]}
    sim = SimulatorBackend({**options, "destinations": nikhef})
    runs = list(joined_runs(sim.fetch_runs(), evidence_of(sim.fetch_transfers())).runs)
    tpc = [r for r in runs[:-10] if r.detector == "tpc"]
    wanted = set(nikhef["raw_records"])
    assert tpc
    assert all({c.rse for c in r.copies if c.did} - {"LNGS_USERDISK"} == wanted for r in tpc)
    # Where the xenonnt policy does not want them: not safe, and it says why.
    verdict = data_safety(tpc[0], XENONNT_POLICY)
    assert not verdict.safe and "missing raw_records SURFSARA_USERDISK" in verdict.reason
    for bad, says in (
        ({"raw_records": ["UC_OSG_USERDISK"]}, "one European RSE"),
        ({"raw_records": ["SURFSARA_USERDISK", "NIKHEF_USERDISK"]}, "one European RSE"),
        ({"raw_records": ["NOWHERE_DISK"]}, "not an RSE the simulator replicates to"),
        ({"peaklets": ["SURFSARA_USERDISK"]}, "unknown data type 'peaklets'"),
        ({"raw_records": "SURFSARA_USERDISK"}, "must be a list of RSE names"),
        (["SURFSARA_USERDISK"], "must be a table"),
    ):
        with pytest.raises(BackendConfigError, match=says):
            SimulatorBackend({**options, "destinations": bad})
    with pytest.raises(BackendConfigError, match="XENONnT's"):
        SimulatorBackend({"destinations": nikhef})


def test_a_stuck_rule_of_an_old_run_keeps_it_unsafe() -> None:
    _, safe, transfers = _confirmed()
    old = safe[0]
    sim = Tampered({"speed": 0, "profile": "xenonnt"})
    sim.stuck = _rule_of(old, "SURFSARA_USERDISK", transfers).id
    runs = joined_runs(sim.fetch_runs(), evidence_of(sim.fetch_transfers())).runs
    verdict = data_safety(runs[0], XENONNT_POLICY)
    assert runs[0].number == old.number
    assert not verdict.safe and STUCK in verdict.reason
    assert all(data_safety(r, XENONNT_POLICY).safe for r in runs[1:100])


def test_the_incremental_join_gives_the_full_joins_verdicts() -> None:
    """``evidence_of(..., previous=...)`` joins only the rules that are other
    objects than last time; the verdicts are the ones a full join gives,
    and only the runs whose rules changed are derived again."""
    sim = SimulatorBackend({"speed": 0, "profile": "xenonnt"})
    runs = sim.fetch_runs().runs
    transfers = sim.fetch_transfers()
    first = evidence_of(transfers)
    index = RunIndex(XENONNT_POLICY, first)
    index.update(runs)
    # An old run's rule STUCK, another old run's rule gone, a second rule
    # (not OK) for a third one's DID, and the simulator's next poll.
    rules = list(transfers.rules)
    # (gone: a rule of a recent run, as a live rule goes: the rules after it
    # move up one place, few enough to be joined again one by one)
    at = next(
        i
        for i in range(len(rules) - 300, len(rules))
        if rules[i].rse != "LNGS_USERDISK"
        and rules[i].state is RuleState.OK
        and rules[i].name.startswith("raw_records-")  # a TPC run's: it needs both copies
    )
    stuck, gone, twin = rules[3], rules[at], rules[80]
    rules[3] = replace(stuck, state=RuleState.STUCK, locks_ok=stuck.locks_ok - 1, locks_stuck=1)
    del rules[at]
    rules.append(replace(twin, id="f" * 32, state=RuleState.REPLICATING))
    changed = replace(transfers, rules=tuple(rules))
    joined = evidence_of(changed, previous=first)
    full = evidence_of(changed)
    assert joined.rules == full.rules and joined.changed is not None
    assert len(joined.changed) == 3
    table = index.with_evidence(joined)
    fresh = RunIndex(XENONNT_POLICY, full).update(runs)
    assert table is not None and table.derived == 3
    assert not table.judged_at(table.index_of(gone.run_number) or 0).verdict.safe
    verdicts = [table.judged_at(i).verdict for i in range(len(table))]
    assert verdicts == [fresh.judged_at(i).verdict for i in range(len(fresh))]
    unsafe = {table.int_at(0, i) for i, _ in table.unsafe()}
    assert {stuck.run_number, gone.run_number, twin.run_number} <= unsafe
    # Back to the simulator's own rules, incrementally again.
    back = evidence_of(transfers, previous=joined)
    assert back.rules == first.rules and back.changed is not None
    again = index.with_evidence(back)
    assert again is not None and again.derived == 3
    before = RunIndex(XENONNT_POLICY, first).update(runs)
    assert [again.judged_at(i).verdict for i in range(len(again))] == [
        before.judged_at(i).verdict for i in range(len(before))
    ]
    # Every rule made anew (as a full listing of Rucio makes them): joined
    # all at once, to the same rules.
    anew = tuple(replace(r) for r in transfers.rules)
    rejoined = evidence_of(replace(transfers, rules=anew), previous=back)
    assert rejoined.changed is None and rejoined.rules == first.rules
    assert index.with_evidence(rejoined) is None  # no run's word changed


def test_incremental_evidence_equals_a_full_join_whatever_changes() -> None:
    """Property: random listings (rules changed, dropped, added, doubled,
    reordered), each joined from the last one: the rules by (DID, RSE) are
    those of a full join of the same listing."""
    import random

    sim = SimulatorBackend({"speed": 0, "profile": "xenonnt", "runs": 200})
    base = list(sim.fetch_transfers().rules)
    rng = random.Random(7)
    listing = tuple(base)
    evidence = evidence_of(replace(sim.fetch_transfers(), rules=listing))
    states = list(RuleState)
    for step in range(60):
        rules = list(listing)
        for _ in range(rng.randint(0, 6)):
            what = rng.random()
            i = rng.randrange(len(rules)) if rules else 0
            if what < 0.3 and rules:
                rules[i] = replace(rules[i], state=rng.choice(states))
            elif what < 0.5 and rules:
                del rules[i]
            elif what < 0.7:
                rules.insert(i, replace(rng.choice(base), id=f"{step:04d}{rng.random()}"))
            elif what < 0.85 and rules:
                rules.append(rules[i])  # the same object twice
            elif rules:
                j = rng.randrange(len(rules))
                rules[i], rules[j] = rules[j], rules[i]
        listing = tuple(rules)
        snapshot = replace(sim.fetch_transfers(), rules=listing)
        evidence = evidence_of(snapshot, previous=evidence)
        assert evidence.rules == evidence_of(snapshot).rules, step


def test_the_run_index_derives_only_the_runs_whose_evidence_changed() -> None:
    sim = SimulatorBackend({"speed": 0, "profile": "xenonnt"})
    runs = sim.fetch_runs().runs
    index = RunIndex(XENONNT_POLICY, Evidence(None))
    first = index.update(runs)
    assert first.derived == len(runs) and not _safe_rows(first)
    assert NO_DATA in first.fact(-200).verdict.reason
    assert index.update(sim.fetch_runs().runs).derived == 0
    transfers = sim.fetch_transfers()
    confirmed = index.with_evidence(evidence_of(transfers))
    assert confirmed is not None and 0 < confirmed.derived < len(runs)
    assert len(_safe_rows(confirmed)) == len(_confirmed()[1])
    # The same rules again: nothing to derive; the next runs poll neither.
    assert index.with_evidence(evidence_of(sim.fetch_transfers())) is None
    assert index.update(sim.fetch_runs().runs).derived == 0
    # One rule changed: one run derived again.
    stuck = next(r for r in transfers.rules if r.state is RuleState.OK)
    rules = tuple(replace(r, state=RuleState.STUCK) if r is stuck else r for r in transfers.rules)
    again = index.with_evidence(evidence_of(replace(transfers, rules=rules)))
    assert again is not None and again.derived == 1


def test_the_xenon1t_default_never_asks_rucio(tmp_path: Path) -> None:
    config = load_config(None, speed=0)
    assert not config.policy.rucio_check
    sources = Backends(config)
    try:
        run = derive(config, sources.kinds())
        for kind in sources.kinds():
            assert run(fetch_one(sources, kind)).then is None
        results = fetch_all(sources, config)
    finally:
        sources.close()
    assert fetch_all.__module__ == "console.fetching"
    assert results[Kind.RUNS].snapshot is not None
    # The runs as the simulator gave them: not joined, not copied.
    assert type(results[Kind.RUNS].snapshot.runs).__name__ != "tuple"  # type: ignore[union-attr]


def test_a_transfers_poll_derives_the_runs_again_with_their_alarms(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path))
    sim = Tampered({"speed": 0, "profile": "xenonnt"})
    sources = Backends(config, factory=lambda _t, _o: sim)
    try:
        run = derive(config, sources.kinds())
        runs = run(fetch_one(sources, Kind.RUNS))
        assert runs.table is not None and runs.alarms is not None
        assert not _safe_rows(runs.table)
        derived = run(fetch_one(sources, Kind.TRANSFERS))
        then = derived.then
        assert then is not None and then.kind is Kind.RUNS and then.snapshot is runs.snapshot
        assert then.table is not None and then.table.newer_than(runs.table)
        assert then.alarms is not None
        unsafe = [a for a in runs.alarms if a.key == "runs.unsafe"]
        unsafe_then = [a for a in then.alarms if a.key == "runs.unsafe"]
        # Every rule of every run listed: no overdue run is unsafe any more.
        assert unsafe and not unsafe_then
        # The transfers source fails: the copies are unverified again.
        sim.fail = True
        failed = run(fetch_one(sources, Kind.TRANSFERS))
        assert failed.snapshot is None and failed.then is not None
        table = failed.then.table
        assert table is not None and not _safe_rows(table)
        assert NO_DATA in table.fact(-200).verdict.reason
        # Still failing: nothing new to derive.
        assert run(fetch_one(sources, Kind.TRANSFERS)).then is None
    finally:
        sources.close()


def test_without_a_transfers_pane_the_copies_say_so(tmp_path: Path) -> None:
    path = _config(tmp_path)
    path.write_text(CONFIG + "\n[panes]\ntransfers = false\n")
    config = load_config(path)
    sources = Backends(config)
    try:
        assert Kind.TRANSFERS not in sources.kinds()
        table = derive(config, sources.kinds())(fetch_one(sources, Kind.RUNS)).table
        results = fetch_all(sources, config)
    finally:
        sources.close()
    pane = "is unverified in Rucio (no transfers pane)"
    assert table is not None and pane in table.fact(-200).verdict.reason
    runs = results[Kind.RUNS].snapshot.runs  # type: ignore[union-attr]
    assert pane in data_safety(runs[-200], XENONNT_POLICY).reason


def test_report_json_check_and_audit_use_rucios_word(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    _, safe, _ = _confirmed()
    path = _config(tmp_path)
    assert main(["--config", str(path), "report", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    newest = {r["number"]: r for r in data["runs"]["newest"]}
    shown_safe = {n for n, r in newest.items() if r["safe"]}
    assert shown_safe and shown_safe == {r.number for r in safe} & set(newest)
    main(["--config", str(path), "audit", "--json"])
    audit = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert {r["number"] for r in audit if r["policy_met"]} == {r.number for r in safe}
    main(["--config", str(path), "check"])
    confirmed = _unsafe_figure(capsys.readouterr().out)
    # Without transfers data nothing is safe, and the report says why.
    path.write_text(CONFIG + "\n[panes]\ntransfers = false\n")
    assert main(["--config", str(path), "report", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert not any(r["safe"] for r in data["runs"]["newest"])
    assert any("(no transfers pane)" in r["safety_reason"] for r in data["runs"]["newest"])
    main(["--config", str(path), "check"])
    # check's figure counts the overdue unsafe runs: Rucio's word made some safe.
    assert confirmed < _unsafe_figure(capsys.readouterr().out)


def _unsafe_figure(line: str) -> int:
    return int(line.split(" runs_unsafe=")[1].split(";")[0])


async def test_the_console_shows_rucios_word(tmp_path: Path) -> None:
    """Pilot: safe on screen with OK rules, not safe with a stuck rule or a
    file short (the reason on screen), unverified when Rucio fails."""
    _, safe, transfers = _confirmed()
    ok, stuck, short = [r for r in safe if r.detector == "tpc"][-3:]
    config = load_config(_config(tmp_path))
    sim = Tampered({"speed": 0, "profile": "xenonnt"})
    sim.stuck = _rule_of(stuck, "SURFSARA_USERDISK", transfers).id
    sim.short = _rule_of(short, "UC_OSG_USERDISK", transfers).id
    app = XenonConsole(config, Backends(config, factory=lambda _t, _o: sim), clock=lambda: 0.0)

    def verdict(number: int) -> Any:
        table = app.runs_pane.table
        assert table is not None
        index = table.index_of(number)
        assert index is not None
        return table.fact(index).verdict

    def confirmed() -> bool:
        table = app.runs_pane.table
        return table is not None and table.evidence is not None and verdict(ok.number).safe

    async with app.run_test(size=(160, 50)) as pilot:
        await wait_for(pilot, confirmed, "run confirmed by Rucio", timeout=20)
        assert not verdict(stuck.number).safe and STUCK in verdict(stuck.number).reason
        files = next(c.file_count for c in short.copies if c.rse == "UC_OSG_USERDISK")
        short_reason = f"has {files - 1} of {files} files in Rucio"
        assert short_reason in verdict(short.number).reason
        app.open_run(ok.number)
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailsScreen), "drill-down")
        await wait_for(
            pilot,
            lambda: "Data safety: safe" in screen_text(app),
            "the drill-down saying safe",
        )
        await pilot.press("escape")
        app.open_run(stuck.number)
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, RunDetailsScreen) and "STUCK" in screen_text(app),
            "the drill-down naming the stuck rule",
        )
        assert "Data safety: safe" not in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        # The cursor on the confirmed run: its detail line says safe.
        pane = app.runs_pane
        rows = pane.query_one(VirtualTable)
        rows.move_cursor(
            next(i for i in range(rows.row_count) if pane.run_at(i).number == ok.number)
        )
        detail = pane.query_one(".row-detail")
        assert str(detail.render()).startswith(f"{ok.number} ") and " safe " in str(detail.render())
        # Rucio fails: the copies are unverified again, nothing is safe.
        sim.fail = True
        await wait_for(pilot, lambda: not verdict(ok.number).safe, "unverified again", timeout=10)
        assert NO_DATA in verdict(ok.number).reason
        # With its row, not a runs poll later (the detail line said safe).
        assert "unverified in Rucio" in str(detail.render()), str(detail.render())
        table = app.runs_pane.table
        assert table is not None and not _safe_rows(table)


def test_the_exporter_counts_with_rucios_word(tmp_path: Path) -> None:
    from console.exporter import Exporter

    def overdue(path: Path) -> float:
        config = load_config(path)
        sources = Backends(config)
        try:
            exporter = Exporter(config, sources)
            exporter.poll_once(sources)
            families = {f.name: f for f in exporter.families()}
        finally:
            sources.close()
        return families["xenon_runs_unsafe_overdue"].samples[0][1]

    path = _config(tmp_path)
    confirmed = overdue(path)
    path.write_text(CONFIG + "\n[panes]\ntransfers = false\n")
    assert confirmed < overdue(path)


async def test_a_runs_table_older_than_rucios_new_word_does_not_bring_back_its_alarms(
    tmp_path: Path,
) -> None:
    """The runs poll's table (derived before the transfers poll's rules came)
    may reach the screen after the transfers poll's newer one: neither its
    table nor its alarms replace the newer ones."""
    from console.fetching import Result

    config = load_config(_config(tmp_path))
    sources = Backends(config)
    app = XenonConsole(config, sources, clock=lambda: 0.0)

    def unsafe_count() -> int | None:
        found = [a.count for a in app.alarms if a.key == "runs.unsafe"]
        return found[0] if found else None

    async with app.run_test(size=(160, 50)) as pilot:
        await wait_for(
            pilot,
            lambda: (
                app.runs_pane.table is not None
                and app.runs_pane.table.evidence is not None
                and app.runs_pane.table.evidence.rules is not None
            ),
            "the runs judged with Rucio's rules",
            timeout=20,
        )
        snapshot = app.states[Kind.RUNS].snapshot
        run = derive(config, sources.kinds())
        older = run(Result(Kind.RUNS, "simulator", snapshot, None, 0.0))  # no rules yet
        newer = run(fetch_one(sources, Kind.TRANSFERS)).then
        assert newer is not None and newer.table is not None and older.table is not None
        app.apply_event(newer)
        confirmed = unsafe_count()
        app.apply_event(older)
        await pilot.pause()
        assert app.runs_pane.table is newer.table
        assert unsafe_count() == confirmed
        # (with every rule listed no overdue run is unsafe: no such alarm)
        assert (confirmed or 0) < next(
            a.count or 0 for a in older.alarms or [] if a.key == "runs.unsafe"
        )


def test_report_and_check_find_every_settled_xenonnt_run_safe(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """The nominal XENONnT simulator at its default history: `report --json`
    counts as unsafe only the newest runs (on their way), `check` is OK."""
    runs, safe, _ = _confirmed()
    path = _config(tmp_path)
    assert main(["--config", str(path), "report", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)["runs"]
    assert data["count"] == len(runs) == 720
    assert data["unsafe"] == len(runs) - len(safe) <= 3 and data["unsafe_old"] == 0
    assert main(["--config", str(path), "check"]) == 0
    assert capsys.readouterr().out.startswith("XENON OK")


def test_an_old_xenonnt_runs_drill_down_cites_its_ok_rules() -> None:
    from backends.analysis.drilldown import detail_from_snapshots
    from console.screens.run_details import copy_rows

    sim = SimulatorBackend({"speed": 0, "profile": "xenonnt"})
    snapshots = {Kind.RUNS: sim.fetch_runs(), Kind.TRANSFERS: sim.fetch_transfers()}
    old = snapshots[Kind.RUNS].runs[5]  # type: ignore[union-attr]
    detail = detail_from_snapshots(old.number, snapshots, sim.now)
    assert {(r.rse, r.state) for r in detail.rules} == {
        ("UC_OSG_USERDISK", RuleState.OK),
        ("SURFSARA_USERDISK", RuleState.OK),
    }
    files = {c.file_count for c in old.copies}
    assert {r.locks_ok for r in detail.rules} == files
    joined = replace(detail, run=evidence_of(snapshots[Kind.TRANSFERS]).join(old))
    shown = [row for _, row in copy_rows(joined, XENONNT_POLICY)]
    assert [str(row[5]) for row in shown] == ["valid copy", "valid copy"]
    assert joined.run is not None and data_safety(joined.run, XENONNT_POLICY).safe


def test_a_run_asking_about_another_runs_did_is_keyed_again_when_that_rule_changes() -> None:
    """A copy whose DID names another run (a runs database's garbage) asks
    Rucio about that run's rule: when only that rule changes, the
    incremental join still judges the stray run anew, as a full join does,
    even on an index that started without Rucio's word."""
    sim = SimulatorBackend({"speed": 0, "profile": "xenonnt", "runs": 50})
    runs = list(sim.fetch_runs().runs)
    transfers = sim.fetch_transfers()
    donor, stray = runs[0], runs[1]
    did = next(c.did for c in donor.copies if c.rse == "SURFSARA_USERDISK")
    copies = tuple(replace(c, did=did) if c.rse == "SURFSARA_USERDISK" else c for c in stray.copies)
    runs[1] = replace(stray, copies=copies)
    index = RunIndex(XENONNT_POLICY)  # no evidence yet
    index.update(runs)
    first = evidence_of(transfers)
    assert index.with_evidence(first) is not None
    rule = _rule_of(donor, "SURFSARA_USERDISK", transfers)
    stuck = tuple(replace(r, state=RuleState.STUCK) if r is rule else r for r in transfers.rules)
    changed = evidence_of(replace(transfers, rules=stuck), previous=first)
    assert changed.changed is not None and len(changed.changed) == 1
    table = index.with_evidence(changed)
    assert table is not None and table.derived == 2
    assert STUCK in table.fact(1).verdict.reason
    fresh = RunIndex(XENONNT_POLICY, evidence_of(replace(transfers, rules=stuck))).update(runs)
    assert [table.judged_at(i) for i in range(len(runs))] == [
        fresh.judged_at(i) for i in range(len(runs))
    ]

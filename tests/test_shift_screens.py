"""What a shift member saw that was untrue or partial, one test each (issue 12).

Each reproduces a defect found driving the console at 80x24 and 120x40: the
test failed before the fix.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from textual.widgets import DataTable

from backends.model import JobStatus, Kind
from console.acks import AckStore
from console.app import XenonConsole
from console.config import load_config
from console.fetching import Backends
from console.screens.run_details import RunDetailsScreen
from console.widgets.fitted_table import FittedTable
from tests.fakes import FakeBackend
from tests.screen import screen_lines, screen_text, wait_for
from tests.simapp import simulator_app, wait_settled


async def test_the_copied_held_jobs_command_covers_the_whole_dag() -> None:
    """1. Enter on a DAG with 74 held jobs once gave (and `c` copied) 20 clusters."""
    app = simulator_app("held-jobs")
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_settled(pilot)
        jobs = app.pane(Kind.JOBS).snapshot
        counts = {
            d.cluster_id: sum(
                1
                for j in jobs.jobs
                if j.dag_cluster_id == d.cluster_id and j.status is JobStatus.HELD
            )
            for d in jobs.dags
        }
        dag = max(jobs.dags, key=lambda d: counts[d.cluster_id])
        assert counts[dag.cluster_id] > 20
        app.open_run(dag.run_number)
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailsScreen), "the drill-down")
        await pilot.press("c")
        await pilot.pause()
        copied = app.clipboard
        assert f"{counts[dag.cluster_id]} held jobs of DAG {dag.cluster_id}" in screen_text(app)
        assert f"-hold -constraint 'DAGManJobId == {dag.cluster_id}'" in copied
        assert (
            "condor_release -name " in copied
            and copied.count(f"'DAGManJobId == {dag.cluster_id}'") == 2
        )


def failing_config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    panes = "".join(f'{k.value} = "lab"\n' for k in Kind)
    path.write_text(
        f'[backends.lab]\ntype = "fake"\n[panes]\n{panes}[intervals]\n'
        + "".join(f"{k.value} = 0.2\n" for k in Kind)
    )
    return path


async def test_stale_ages_move_on_when_every_source_fails(tmp_path: Path) -> None:
    """2. With every source failing the panes said STALE 47 s and the alarms
    "showing data from 0 s ago": the age came from the newest snapshot."""
    backend = FakeBackend()
    config = load_config(failing_config(tmp_path))
    app = XenonConsole(config, Backends(config, lambda t, o: backend), acks=AckStore(None))
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_for(pilot, lambda: app.settled, "every source's first data")
        for kind in Kind:
            backend.fail[kind] = ConnectionError("refused")
        await wait_for(
            pilot,
            lambda: len([a for a in app.alarms if a.key.endswith(".stale")]) == 5,
            "every source stale",
            timeout=10,
        )
        await pilot.pause(2.2)  # ages grow on the console's clock
        stale = [a for a in app.alarms if a.key.endswith(".stale")]
        ages = [
            int(m.group(1))
            for a in stale
            if (m := re.search(r"showing data from (\d+) s ago", a.detail))
        ]
        assert len(ages) == 5 and min(ages) >= 2, [a.detail for a in stale]
        shown = [int(n) for n in re.findall(r"STALE (\d+) s", screen_text(app))]
        assert shown and min(shown) >= 2


async def test_an_acknowledgement_covers_no_more_than_was_acknowledged(tmp_path: Path) -> None:
    """3. Acked at 24 failed tape copies, the alarm stayed quiet at 25; its Since was -."""
    app = simulator_app("tape-checksum")
    app.acks = AckStore(tmp_path / "acks.json")
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_settled(pilot)
        alarm = next(a for a in app.alarms if a.key == "tape.checksum")
        assert alarm.since is not None and alarm.count == 23
        app.acks.acknowledge(alarm, "on it")
        await pilot.pause(1.1)
        assert app.is_acked(next(a for a in app.alarms if a.key == "tape.checksum"))
        sim = app.sources.for_kind(Kind.RUNS)
        sim.advance(3 * 3600)  # more restore tests fail
        app.action_refresh_all()
        await wait_for(
            pilot,
            lambda: next(a for a in app.alarms if a.key == "tape.checksum").count > 23,
            "a new failed tape copy",
            timeout=10,
        )
        grown = next(a for a in app.alarms if a.key == "tape.checksum")
        assert not app.is_acked(grown)  # loud again
        await pilot.press("a")
        await pilot.pause()
        row = next(
            line for line in screen_lines(app) if "failed checksum" in line and "ACTIVE" in line
        )
        assert re.search(r"20\d\d-\d\d-\d\d \d\d:\d\d", row), row  # every alarm has a Since


async def test_acknowledged_critical_alarms_are_never_all_clear(tmp_path: Path) -> None:
    """4. With every alarm acked the strip read green "OK All clear"."""
    app = simulator_app("held-jobs")
    app.acks = AckStore(tmp_path / "acks.json")
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_settled(pilot)
        for alarm in app.alarms:
            app.acks.acknowledge(alarm, "on it")
        await pilot.pause(1.2)
        strip = "\n".join(screen_lines(app)[1:3])
        assert "All clear" not in strip
        assert "CRITICAL  1 (acked)" in strip and "WARNING  1 (acked)" in strip


def figure(text: str, label: str) -> float:
    found = re.search(rf"{label} ([\d.]+) d", text)
    assert found, (label, text)
    return float(found.group(1))


@pytest.mark.parametrize("scenario", ["buffer-full", "nominal"])
async def test_autonomy_never_promises_more_than_the_time_to_full(scenario: str) -> None:
    """5. On buffer-full: "Full in 2.6 d" beside "Autonomy if uplink down 7.9 d"."""
    app = simulator_app(scenario)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_settled(pilot)
        text = screen_text(app)
        assert figure(text, "Autonomy if uplink down") <= figure(text, "Full in")


async def test_with_the_uplink_down_the_buffer_says_when_it_is_full() -> None:
    app = simulator_app("uplink-down")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_settled(pilot)
        text = screen_text(app)
        assert "Autonomy if uplink down" not in text
        assert re.search(r"Full in [\d.]+ d at the fill rate", text)


async def test_a_failed_tape_checksum_is_red_at_once_in_the_runs_pane() -> None:
    """6. A failed checksum once read yellow "wait: tape" for 48 h."""
    app = simulator_app("tape-checksum")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_settled(pilot)
        pane = app.runs_pane
        for index in range(40):
            row = pane.row_for(pane.run_at(index))
            if "tape!" in row.cells[6].plain:
                assert row.cells[4].plain.startswith("FAIL: tape")
                assert "red" in str(row.cells[4].style)


async def test_counts_units_times_and_hints_agree() -> None:
    """7. "5 rules stuck" in the strip beside 7 in the pane; times without a
    zone; the alarms screen's deprecated `rucio rule-info`."""
    app = simulator_app("rse-outage")
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_settled(pilot)
        stuck = sum(
            1
            for r in app.pane(Kind.TRANSFERS).snapshot.rules
            if r.rse == "NIKHEF_USERDISK" and r.state.value == "STUCK"
        )
        text = screen_text(app)
        assert f"{stuck} stuck rules · oldest" in text
        assert re.search(r"as of \d{4}-\d\d-\d\d \d\d:\d\d UTC", text)
        # The strip names the cause; the alarm, folded under it, on the alarms screen.
        assert "◆ RSE NIKHEF_USERDISK down" in text
        await pilot.press("a")
        await pilot.pause()
        assert f"└ {stuck} rules stuck at NIKHEF_USERDISK" in screen_text(app)
        alarm = next(a for a in app.alarms if a.key == "rse.NIKHEF_USERDISK.stuck")
        assert alarm.hint.startswith("rucio rule show ") and "rule-info" not in alarm.hint


async def test_every_stuck_rule_is_listed_and_opens_its_run() -> None:
    """Stuck rules like the Rucio web UI: every one, its error in full below."""
    app = simulator_app("rse-outage")
    async with app.run_test(size=(80, 40)) as pilot:
        await wait_settled(pilot)
        await pilot.press("2")
        pane = app.pane(Kind.TRANSFERS)
        table = pane.query_one("#stuck-table", DataTable)
        stuck = [r for r in pane.snapshot.rules if r.state.value == "STUCK"]
        assert table.row_count == len(stuck)
        table.focus()
        await pilot.pause()
        detail = screen_text(app)
        assert "Error TRANSFER [" in detail  # the full error, under the table
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailsScreen), "the run")


async def test_the_runs_table_fits_80_columns_and_w_shows_every_column() -> None:
    """At 80x24 the header did not scroll with the rows and the copies were cut."""
    app = simulator_app("rse-outage")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_settled(pilot)
        await pilot.press("5")
        await pilot.pause()
        lines = screen_lines(app)
        header = next(line for line in lines if " Run " in line and "Safety" in line)
        for title in ("Safety", "Copies", "Processing"):
            assert title in header
        assert "Source" not in header  # the least important left out at 80
        assert any("buf tape UC EU" in line for line in lines)  # copies not cut
        await pilot.press("w")
        await pilot.pause()
        header = next(line for line in screen_lines(app) if " Run " in line and "SR" in line)
        assert "Source" in header
        assert "events" in screen_text(app)  # the detail line has what is left out


async def test_sparklines_say_what_they_span() -> None:
    app = simulator_app("nominal")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_settled(pilot)
        assert re.search(r"Fill over [\d.]+ h: [\d.]+%\.\.[\d.]+%", screen_text(app))


async def test_zoom_at_80x24_gives_the_pane_more_rows() -> None:
    app = simulator_app("tape-checksum")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_settled(pilot)
        await pilot.press("3")
        before = sum(1 for line in screen_lines(app) if " failed " in line)
        await pilot.press("z")
        await pilot.pause()
        after = sum(1 for line in screen_lines(app) if " failed " in line)
        assert after > before


def test_the_help_explains_every_abbreviation() -> None:
    from console.screens.help import help_text
    from console.specs import pane_specs

    text = help_text(pane_specs())
    for word in (
        "`buf`",
        "`tape!`",
        "`tape?`",
        "`UC`",
        "`EU2`",
        "`LN`",
        "`Exp`",
        "`Repl`",
        "`MISS`",
        "`FAIL`",
        "`wait`",
        "`Xfer`",
        "`RC`",
        "`STALE`",
        "`w`",
        "`t`",
        "`✗` after an RSE",
        "`MWT2 +3`",
        "`rr`",
        "`EB failed`",
        "`EB silent: eb4`",
        "`never seen`",
    ):
        assert word in text, word
    keys = text[: text.index("## What the abbreviations mean")]
    assert "| `w` |" in keys and "| `t` |" in keys  # in the key table, not among the words
    # The sparklines span what they say (5 min, 2.0 h...), not always 24 h.
    assert "last 24 h" not in text


async def test_the_small_words_of_the_jobs_are_true() -> None:
    """A DAG of 74 held jobs read "74 queued, 74 held" (DAGMan's queued holds
    the held ones) beside a table row of Idle 0; its Site was "-" although the
    site table put its held jobs at MWT2."""
    app = simulator_app("held-jobs")
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_settled(pilot)
        jobs = app.pane(Kind.JOBS).snapshot
        dag = max(jobs.dags, key=lambda d: d.nodes_held)
        held_at = {
            j.site
            for j in jobs.jobs
            if j.dag_cluster_id == dag.cluster_id and j.status is JobStatus.HELD
        }
        assert held_at and None not in held_at
        table = app.pane(Kind.JOBS).query_one("#dag-table", DataTable)
        from console.render.jobs import dag_key

        assert isinstance(table, FittedTable)
        titles = [table.titles[i] for i in table.shown]
        site = str(table.get_row(dag_key(dag))[titles.index("Site")]).strip()
        assert site.split(" ")[0] in held_at, site
        app.open_run(dag.run_number)
        await pilot.pause()
        text = screen_text(app)
        assert f"{dag.nodes_queued} in the queue (of them {dag.nodes_held} held)" in text
        assert "queued," not in text


def test_report_json_alarms_say_how_many() -> None:
    from console.fetching import fetch_all
    from console.report.data import report_data

    config = load_config(None, scenario="held-jobs", speed=0)
    sources = Backends(config)
    try:
        data = report_data(fetch_all(sources, config), config)
    finally:
        sources.close()
    held = next(a for a in data["alarms"] if a["key"] == "jobs.held")
    assert held["count"] == 770 and held["title"].startswith("770 ")


async def test_a_pane_without_a_source_draws_no_empty_table(tmp_path: Path) -> None:
    """An unassigned pane said "no source configured" above empty table headers."""
    path = tmp_path / "console.toml"
    path.write_text("[panes]\ntape = false\n[backends.simulator]\nspeed = 0\n")
    config = load_config(path)
    app = XenonConsole(config, Backends(config), clock=lambda: 0.0)
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_for(pilot, lambda: app.settled, "the assigned panes settled")
        await pilot.pause()
        tape = app.pane(Kind.TAPE)
        assert "no source configured" in screen_text(app)
        assert not any(t.display for t in tape.query(DataTable))
        assert not any(line for line in screen_lines(app) if "Run" in line and "RC" in line)


async def test_a_tick_that_changes_nothing_updates_no_widget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every second the tick re-sent the alarms strip, the five status lines
    and the footers although nothing on them changed (issue 13): the terminal
    got kilobytes a second of the same text."""
    from textual.widgets import Static

    app = simulator_app("held-jobs")  # its clock is frozen: ages do not move
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_settled(pilot)
        updated: list[str] = []
        real = Static.update

        def update(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            updated.append(f"{type(self).__name__}#{self.id}")
            return real(self, *args, **kwargs)

        monkeypatch.setattr(Static, "update", update)
        for _ in range(3):
            app._tick()
        await pilot.pause()
        assert updated == []
        # A change is still shown: an alarm acknowledged mutes the strip.
        alarm = app.alarms[0]
        app.acks.acknowledge(alarm, "on it")
        app._tick()
        assert updated == ["AlarmsStrip#alarms"]


async def test_fresh_ages_step_by_ten_seconds() -> None:
    """Five status lines redrawn every second for "1 s ago", "2 s ago"... were
    most of what the console wrote to the terminal at rest (issue 13). Fresh
    data's age steps by 10 s; stale data says STALE and its age."""
    from textual.widgets import Static

    clock = [0.0]
    config = load_config(None, speed=0)
    app = XenonConsole(config, Backends(config), clock=lambda: clock[0])
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_settled(pilot)
        assert app.poller is not None
        app.poller.stop()  # no poll may make the data fresh again
        pane = app.pane(Kind.BUFFER)
        status = pane.query_one(".pane-status", Static)

        def line_at(seconds: float) -> str:
            clock[0] = seconds
            app._tick()
            return str(status.render())

        assert "· <10 s ago" in line_at(1.0)
        assert line_at(9.0) == line_at(2.0)
        assert "· 10 s ago" in line_at(14.0) and line_at(19.0) == line_at(10.5)
        assert "· 50 s ago" in line_at(59.0)
        assert "STALE 1 min" in line_at(61.0) and " ago" not in line_at(62.0)


async def test_new_data_redraws_only_the_rows_that_changed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every runs and jobs poll redrew every visible row and the header,
    changed or not: kilobytes a poll to the terminal (issue 13)."""
    from dataclasses import replace

    from console.widgets.virtual_table import HEADER, VirtualTable

    app = simulator_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_settled(pilot)
        await pilot.press("5")
        await pilot.pause()
        pane = app.runs_pane
        assert pane.query_one(VirtualTable).row_count == 720
        lines: list[int] = []
        full: list[object] = []
        real_line, real_refresh = VirtualTable.refresh_line, VirtualTable.refresh

        def refresh_line(self, y):  # type: ignore[no-untyped-def]
            lines.append(y)
            return real_line(self, y)

        def refresh(self, *regions, **kwargs):  # type: ignore[no-untyped-def]
            if not regions:
                full.append(kwargs)
            return real_refresh(self, *regions, **kwargs)

        monkeypatch.setattr(VirtualTable, "refresh_line", refresh_line)
        monkeypatch.setattr(VirtualTable, "refresh", refresh)
        snapshot = pane.snapshot
        assert snapshot is not None
        pane.set_table(pane._table)  # the same facts again
        pane.show(snapshot)  # a poll that changed nothing
        await pilot.pause()
        assert lines == [] and full == []
        # The second row's run gets more events: that line alone is redrawn.
        runs = list(snapshot.runs)
        second = len(runs) - 2  # newest first on screen
        runs[second] = replace(runs[second], events=(runs[second].events or 0) + 1)
        pane.show(replace(snapshot, runs=tuple(runs)))
        await pilot.pause()
        assert lines == [1 + HEADER] and full == []


async def test_a_late_runs_table_does_not_replace_the_newer_one_with_dags() -> None:
    """The runs poll derives its table, then its alarms; meanwhile the jobs
    poll made a newer table from it with the DAGs, which reached the pane
    first. The runs poll's then replaced it: runs being processed read
    "waiting" until the next jobs poll (a snapshot test flaked on it)."""
    from backends.analysis.jobs import dag_for_run
    from backends.analysis.run_index import RunIndex

    app = simulator_app("held-jobs")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_settled(pilot)
        pane = app.runs_pane
        runs = pane.snapshot.runs  # type: ignore[union-attr]
        jobs = app.pane(Kind.JOBS).snapshot
        index = RunIndex(app.config.policy)
        first = index.update(runs)
        with_dags = index.with_dags(dag_for_run(jobs))  # type: ignore[arg-type]
        assert with_dags is not None and with_dags.newer_than(first)
        pane.set_table(with_dags)
        pane.set_table(first)  # arrives late
        assert pane._table is with_dags
        await pilot.press("5")
        await pilot.pause()
        assert "processing" in screen_text(app)


async def test_facts_arriving_while_the_console_leaves_raise_nothing() -> None:
    """A runs table delivered as the app was exiting raised NoMatches from
    the runs pane (a flaky failure of the suite under load)."""
    from backends.analysis.run_index import RunIndex

    app = simulator_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_settled(pilot)
        pane = app.runs_pane
        runs = pane.snapshot.runs  # type: ignore[union-attr]
        late = RunIndex().update(runs)
        for child in list(pane.query("VirtualTable")):
            await child.remove()  # as the teardown does
        pane.set_table(late)
        pane.set_dags({})
        assert pane._table is late


async def test_the_wrapped_detail_line_shows_its_last_words() -> None:
    """At 73x24 the runs pane's detail line wraps; its height was guessed
    from the text's length and a last line went missing ("tape)" of
    "3 valid copies (UC_OSG_USERDISK, European RSE, tape)")."""
    app = simulator_app()
    async with app.run_test(size=(73, 24)) as pilot:
        await wait_settled(pilot)
        await pilot.press("5", "colon", *"14970", "enter")
        await pilot.pause()
        await pilot.press("escape")  # from the drill-down back to the runs
        await pilot.pause()
        detail = app.runs_pane.query_one(".row-detail")
        checked = 0
        for _ in range(30):
            await pilot.press("down")
            await pilot.pause()
            plain = str(detail.render())
            width = detail.content_size.width
            if not plain or len(plain) > 2.5 * width:  # cut by max-height: 3 (ellipsis)
                continue
            shown = " ".join(line.strip(" │") for line in screen_lines(app))
            assert plain.split()[-1] in shown, plain
            checked += 1
        assert checked > 15


async def test_tab_and_digits_over_a_screen_switch_no_pane_beneath() -> None:
    """Tab and the pane digits are priority bindings: over the alarms screen
    they switched the pane hidden beneath instead of moving the focus."""
    app = simulator_app("held-jobs")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_settled(pilot)
        await pilot.press("2")
        assert app.active_kind is Kind.TRANSFERS
        await pilot.press("a")
        await pilot.pause()
        await pilot.press("tab", "4", "shift+tab")
        await pilot.pause()
        assert app.active_kind is Kind.TRANSFERS
        await pilot.press("escape", "tab")
        await pilot.pause()
        assert app.active_kind is not Kind.TRANSFERS  # on the panes, Tab still cycles


async def test_the_layout_follows_a_resized_terminal() -> None:
    """120x40 to 80x24: one pane at a time with the pane bar, as a console
    started at 80x24 shows it; back to 120x40: the grid. The layout read the
    size before Textual had set it, and stayed what it was."""
    app = simulator_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_settled(pilot)
        await pilot.press("5")
        assert not app.screen.has_class("-narrow")
        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.2)
        assert app.screen.has_class("-narrow")
        from console.panes.base import SourcePane

        shown = [p for p in app.query(SourcePane) if p.display]
        assert shown == [app.runs_pane]
        assert "of 720 runs" in " ".join(screen_lines(app))
        await pilot.resize_terminal(120, 40)
        await pilot.pause(0.2)
        assert not app.screen.has_class("-narrow")
        assert all(p.display for p in app.query(SourcePane))

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
        assert re.search(r"Full in [\d.]+ d at the current rate", text)


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
        assert f"{stuck} rules stuck at NIKHEF_USERDISK" in text
        assert f"{stuck} stuck rules · oldest" in text
        assert re.search(r"as of \d{4}-\d\d-\d\d \d\d:\d\d UTC", text)
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
    ):
        assert word in text, word


async def test_the_detail_line_follows_new_data_under_the_cursor() -> None:
    """The detail line changed only when the cursor moved: after a refresh it
    described a row that no longer said that."""
    from dataclasses import replace

    from console.fetching import Result
    from console.polling import Polled
    from console.widgets.fitted_table import FittedTable

    app = simulator_app("tape-checksum")
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_settled(pilot)
        await pilot.press("3", "down")
        pane = app.pane(Kind.TAPE)
        table = pane.query_one("#tape-table", FittedTable)
        key = table.cursor_key()
        snapshot = pane.snapshot
        number = next(u.run_number for u in snapshot.uploads if str(u.run_number) in str(key))
        before = next(u for u in snapshot.uploads if u.run_number == number)
        assert before.message
        # The same length: the table updates the cell in place.
        message = "Z" * len(before.message)
        uploads = tuple(
            replace(u, message=message) if u.run_number == number else u for u in snapshot.uploads
        )
        later = replace(snapshot, uploads=uploads)
        app.apply_event(Polled(Result(Kind.TAPE, "simulator", later, None, 0.0), 0.0))
        await pilot.pause()
        assert table.cursor_key() == key
        detail = str(pane.query_one(".row-detail").render())
        assert "ZZZZZZZZ" in detail, detail


@pytest.mark.parametrize(
    ("scenario", "size", "key", "kind", "table"),
    [
        ("held-jobs", (80, 24), "4", Kind.JOBS, "#dag-table"),
        ("held-jobs", (120, 40), "4", Kind.JOBS, "#dag-table"),
        ("rse-outage", (80, 24), "2", Kind.TRANSFERS, "#stuck-table"),
        ("rse-outage", (120, 40), "2", Kind.TRANSFERS, "#stuck-table"),
    ],
)
async def test_the_table_enter_acts_on_shows_rows(
    scenario: str, size: tuple[int, int], key: str, kind: Kind, table: str
) -> None:
    """At 80x24 the DAG table showed its header and no row, and in the
    120x40 grid neither it nor the stuck rules were on screen at all, while
    Enter, s and the detail line acted on their rows."""
    app = simulator_app(scenario)
    async with app.run_test(size=size) as pilot:
        await wait_settled(pilot)
        await pilot.press(key)
        await pilot.pause()
        pane = app.pane(kind)
        shown = pane.query_one(table).region.intersection(pane.content_region)
        assert shown.height >= 3, f"{table}: {shown.height} lines on screen"  # header + 2 rows


async def test_go_to_run_from_another_pane_at_80x24_shows_the_run() -> None:
    """`:` from the jobs pane at 80x24 moved the cursor of the hidden runs
    table without scrolling it: back from the details, the run was not shown."""
    app = simulator_app("held-jobs")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_settled(pilot)
        await pilot.press("4", "colon", *"14500", "enter")
        await pilot.pause()
        assert isinstance(app.screen, RunDetailsScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert app.active_kind is Kind.RUNS
        # Table rows (a number, then the start date), not the detail line.
        rows = [
            line for line in screen_lines(app) if re.match(r"│\s*\d{5} .*\d\d-\d\d-\d\d ", line)
        ]
        assert rows and any(re.match(r"│\s*14500 ", line) for line in rows), rows


async def test_t_moves_between_the_tables_of_a_pane() -> None:
    """Tab switches panes, so the stuck-rules table could be focused only with
    the mouse: its Enter and sideways scrolling were out of keyboard reach."""
    from console.widgets.fitted_table import FittedTable

    app = simulator_app("rse-outage")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_settled(pilot)
        await pilot.press("2")
        pane = app.pane(Kind.TRANSFERS)
        assert app.focused is pane.query_one("#rse-table", FittedTable)
        await pilot.press("t")
        stuck = pane.query_one("#stuck-table", FittedTable)
        assert app.focused is stuck
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, RunDetailsScreen)
        await pilot.press("escape", "t")
        assert app.focused is pane.query_one("#rse-table", FittedTable)


async def test_the_detail_line_wraps_a_long_message_whole() -> None:
    """The detail line was one row with an ellipsis: a dsmc message or a
    stuck rule's error was cut where the table cuts it."""
    app = simulator_app("tape-checksum")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_settled(pilot)
        await pilot.press("3")
        await pilot.pause()
        upload = max(
            (u for u in app.pane(Kind.TAPE).snapshot.uploads if u.message),
            key=lambda u: (u.finished_at or u.updated_at, u.run_number),
        )
        assert upload.message is not None and len(upload.message) > 60
        squeezed = "".join(screen_lines(app)).replace(" ", "").replace("│", "")
        assert upload.message.replace(" ", "") in squeezed

"""The renderers: the rows and lines each pane shows and ``report`` prints.

A seeded simulator scenario gives known numbers; each renderer's output is
checked against the analysis' figures (and ``report --json``), then the pane
and the Rich report are checked to show exactly the renderer's text.
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from rich.console import Console
from textual.widgets import Static

from backends.analysis.jobs import jobs_total
from backends.analysis.tape import summarize_tape
from backends.model import Kind, RuleState
from backends.simulator import SimulatorBackend
from console.config import load_config
from console.fetching import Result
from console.render import buffer, jobs, runs, tape, transfers
from console.render.common import Context
from console.report import render_report
from console.widgets.fitted_table import FittedTable
from tests.simapp import simulator_app, wait_settled


@pytest.fixture(scope="module")
def rse_outage() -> SimulatorBackend:
    return SimulatorBackend({"scenario": "rse-outage", "speed": 0})


def plain(cells) -> list[str]:  # type: ignore[no-untyped-def]
    return [cell.plain.strip() for cell in cells]


def test_transfers_rows_count_rules_per_rse(rse_outage: SimulatorBackend) -> None:
    snapshot = rse_outage.fetch_transfers()
    rows = dict(transfers.rse_rows(snapshot, snapshot.taken_at))
    for rse in snapshot.rses:
        rules = [r for r in snapshot.rules if r.rse == rse.name]
        cells = plain(rows[rse.name])
        ok, repl, stuck = (int(c) for c in cells[2:5])
        assert ok == sum(r.state is RuleState.OK for r in rules)
        assert repl == sum(r.state is RuleState.REPLICATING for r in rules)
        assert stuck == sum(r.state is RuleState.STUCK for r in rules)
    assert plain(rows["NIKHEF_USERDISK"])[0] == "NIKHEF_USERDISK ✗"
    assert plain(rows["NIKHEF_USERDISK"])[5].endswith("h")  # stuck for hours
    line = transfers.stuck_line(snapshot).plain
    stuck = sum(r.state is RuleState.STUCK for r in snapshot.rules)
    assert stuck > 1
    assert line.startswith(f"{stuck} stuck rules · oldest: run ") and "→ NIKHEF_USERDISK: " in line


def test_jobs_rows_total_every_site() -> None:
    snapshot = SimulatorBackend({"scenario": "held-jobs", "speed": 0}).fetch_jobs()
    view = jobs.aggregate(snapshot)
    rows = dict(jobs.site_rows(view))
    total = jobs_total(snapshot)
    assert plain(rows[jobs.TOTAL_KEY])[1:7] == [
        str(n)
        for n in (
            total.idle,
            total.running,
            total.held,
            total.transferring,
            total.completed,
            total.retried,
        )
    ]
    assert jobs.hold_lines(view)[0].plain.startswith("Held   273 Error from <slot>:")
    dag = view.dags[0]
    first = plain(jobs.dag_rows_of(view, snapshot.taken_at)[0][1])
    queue = view.dag_jobs[(dag.schedd, dag.cluster_id)]
    assert first[1:4] == [str(queue.idle), str(queue.running), str(max(queue.held, dag.nodes_held))]
    assert first[7].endswith(f"{100 * dag.nodes_done // dag.nodes_total}%")


def test_tape_figures_and_uploads() -> None:
    snapshot = SimulatorBackend({"scenario": "tape-checksum", "speed": 0}).fetch_tape()
    config = load_config(None)
    figures = tape.figures(snapshot, config.thresholds).plain
    summary = summarize_tape(snapshot, snapshot.taken_at, timedelta(hours=24))
    assert f"Verified {summary.verified_runs} runs" in figures
    assert f"Failed 24h {summary.failed_recent}" in figures
    rows = tape.upload_rows(snapshot)
    assert plain(rows[0][1])[1] == "failed"  # failures first
    assert tape.run_of_row(rows[0][0]) == int(plain(rows[0][1])[0])


def test_buffer_figures_read_as_the_forecast() -> None:
    snapshot = SimulatorBackend({"scenario": "buffer-full", "speed": 0}).fetch_buffer()
    config = load_config(None)
    head = buffer.head(snapshot, config.thresholds).plain
    assert head.startswith(f"{100 * snapshot.fill_fraction:.1f}% ")
    body = buffer.body(snapshot, config.thresholds).plain.splitlines()
    assert body[0].startswith("Used ") and "Full in 2.6 d" in body[1]


def test_runs_rows_are_the_panes_and_the_reports() -> None:
    sim = SimulatorBackend({"scenario": "tape-checksum", "speed": 0})
    snapshot = sim.fetch_runs()
    context = Context(now=snapshot.taken_at, snapshots={Kind.JOBS: sim.fetch_jobs()})
    listed = runs.newest_rows(snapshot, context)
    assert len(listed) == runs.NEWEST_RUNS
    assert [run.number for run, _ in listed] == sorted(
        (r.number for r in snapshot.runs), reverse=True
    )[: runs.NEWEST_RUNS]
    words = {row.cells[4].plain.split(":")[0] for _, row in listed}
    assert words <= {"safe", "wait", "MISS", "FAIL"} and "FAIL" in words


def report_text(scenario: str, width: int = 200) -> str:
    config = load_config(None, scenario=scenario, speed=0)
    sim = SimulatorBackend({"scenario": scenario, "speed": 0})
    results = {kind: Result(kind, "simulator", sim.fetch(kind), None, 0.0) for kind in Kind}
    out = io.StringIO()
    render_report(results, config, Console(file=out, width=width, color_system=None))
    return out.getvalue()


@pytest.mark.parametrize("width", [80, 120])
def test_the_report_never_cuts_a_number_and_names_what_it_leaves_out(width: int) -> None:
    """Piped (120 columns) the runs table read `14…` and `5.0 …`; at 80 the
    Run, SR and Events columns were blank."""
    text = report_text("tape-checksum", width)
    assert max(len(line) for line in text.splitlines()) <= width
    sim = SimulatorBackend({"scenario": "tape-checksum", "speed": 0})
    snapshot = sim.fetch_runs()
    context = Context(now=snapshot.taken_at, snapshots={Kind.JOBS: sim.fetch_jobs()})
    section = text[text.index("newest 20 runs") : text.index("ALARMS")]
    header = next(line for line in section.splitlines() if "Run" in line and "┃" in line)
    titles = [t.strip() for t in header.strip("┃ ").split("┃")]
    caption = next((line for line in section.splitlines() if "left out" in line), "")
    for column in runs.COLUMNS:
        assert column.title in titles or column.title in caption, column.title
    for run, row in runs.newest_rows(snapshot, context):
        line = next(line for line in section.splitlines() if f"│ {run.number} │" in line)
        cells = [c.strip() for c in line.strip("│ ").split("│")]
        shown = dict(zip(titles, cells, strict=True))
        for index, column in enumerate(runs.COLUMNS):
            if column.title in shown:
                assert shown[column.title] == row.cells[index].plain.strip(), column.title


def test_the_rich_report_prints_the_renderers_text() -> None:
    text = report_text("rse-outage")
    sim = SimulatorBackend({"scenario": "rse-outage", "speed": 0})
    config = load_config(None)
    for line in buffer.body(sim.fetch_buffer(), config.thresholds).plain.splitlines():
        assert line in text
    snapshot = sim.fetch_transfers()
    assert transfers.stuck_line(snapshot).plain in text
    section = text[text.index("RSEs") : text.index(transfers.stuck_line(snapshot).plain)]
    caption = next((line for line in section.splitlines() if "left out" in line), "")
    left_out = {c.strip() for c in caption.partition(":")[2].split(",")}
    for key, cells in transfers.rse_rows(snapshot, snapshot.taken_at):
        shown = [
            cell
            for cell, c in zip(cells, transfers.COLUMNS, strict=True)
            if c.title not in left_out
        ]
        assert all(cell.plain.strip() in text for cell in shown), key


async def test_the_panes_draw_the_renderers_rows() -> None:
    app = simulator_app("rse-outage")
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_settled(pilot)
        snapshot = app.pane(Kind.TRANSFERS).snapshot
        table = app.pane(Kind.TRANSFERS).query_one("#rse-table", FittedTable)
        # The pane's trends add a sparkline to In/s (and its range): left out here.
        compared = [
            i
            for i in table.shown
            if transfers.COLUMNS[i].title in ("RSE", "Used", "OK", "Repl", "Stuck", "Oldest", "Exp")
        ]
        assert len(compared) >= 5  # at 160x50 most columns fit
        for key, cells in transfers.rse_rows(snapshot, snapshot.taken_at):
            row = dict(zip(table.shown, table.get_row(key), strict=True))
            assert [str(row[i]).strip() for i in compared] == [plain(cells)[i] for i in compared]
        buffer_pane = app.pane(Kind.BUFFER)
        shown = buffer_pane.query_one("#buffer-figures", Static).render()
        body = buffer.body(buffer_pane.snapshot, app.config.thresholds)
        assert str(shown) == body.plain


def test_the_buffer_says_over_what_time_each_rate_is_and_what_autonomy_counts() -> None:
    """buffer-full showed 'Fill rate +679 GB/day' beside 'DAQ writes 2.6 MB/s'
    (225 GB/day) and an autonomy that followed from neither, with nothing to
    say the rates span different times or which one the autonomy used."""
    config = load_config(None, scenario="buffer-full", speed=0)
    snapshot = SimulatorBackend({"scenario": "buffer-full", "speed": 0}).fetch_buffer()
    figures = buffer.forecast(snapshot, config.thresholds)
    assert snapshot.daq_write_bps is not None and figures.fill_rate_bps is not None
    assert figures.fill_rate_bps > snapshot.daq_write_bps  # the case that confused
    assert figures.autonomy_basis == "fill rate"
    assert figures.autonomy is not None and figures.time_to_full is not None
    assert abs((figures.autonomy - figures.time_to_full).total_seconds()) < 1
    text = buffer.body(snapshot, config.thresholds).plain
    assert "/day over 6.0 h" in text and "MB/s now" in text
    assert "Autonomy if uplink down 2.6 d at the fill rate" in text
    nominal = SimulatorBackend({"scenario": "nominal", "speed": 0}).fetch_buffer()
    assert buffer.forecast(nominal, config.thresholds).autonomy_basis == "DAQ rate"
    assert "at the fill rate" not in buffer.body(nominal, config.thresholds).plain


def test_a_policys_slots_are_short_in_the_runs_table() -> None:
    """XENONnT's verdicts name a data type per slot: the runs table once read
    `wait: raw_records UC_OSG_USERDISK raw_records SURFSARA_USERDISK`."""
    from console.format import format_verdict

    assert format_verdict(
        "wait", ["raw_records UC_OSG_USERDISK", "raw_records SURFSARA_USERDISK"]
    ) == ("wait: rr UC SURFSARA", "yellow")
    assert (
        format_verdict("miss", ["raw_records UC_OSG_USERDISK", "raw_records_mv RSE outside LNGS"])[
            0
        ]
        == "MISS: rr UC rr_mv abroad"
    )
    assert (
        format_verdict(
            "fail",
            ["raw_records SURFSARA_USERDISK", "peaklets RSE outside LNGS"],
            ["raw_records SURFSARA_USERDISK"],
        )[0]
        == "FAIL: rr SURFSARA +peaklets abroad"
    )
    # XENON1T's as they always were.
    assert format_verdict("fail", ["UC_OSG_USERDISK", "European RSE", "tape"], ["tape"])[0] == (
        "FAIL: tape +UC EU"
    )

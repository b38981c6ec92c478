"""Shift drills: the scenario a seed picks, its name hidden, a diagnosis scored and logged."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backends.analysis.diagnosis import CAUSES as DIAGNOSIS_CAUSES
from backends.simulator import CAUSES, SCENARIOS, XENONNT_ONLY
from console.cli import main
from console.config import load_config
from console.drill import (
    CAUSE_TEXT,
    Drill,
    append_log,
    clean_action,
    default_log_path,
    format_taken,
    log_record,
    pick_drill,
    score,
)
from console.drill_app import DrillConsole
from console.fetching import Backends
from console.screens.drill import NOTHING, DiagnosisScreen, DrillResultScreen
from tests.screen import screen_lines, screen_text, wait_for
from tests.simapp import wait_settled

T0 = 1000.0
WALL = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
#: The options of the diagnosis screen, in their order on screen.
OPTIONS = (NOTHING, *CAUSE_TEXT)


# ------------------------------------------------------------ picking


def test_the_same_seed_plays_the_same_drill() -> None:
    assert pick_drill(42) == pick_drill(42)
    assert [pick_drill(s) for s in range(50)] == [pick_drill(s) for s in range(50)]


def test_over_many_seeds_every_scenario_comes_up_on_a_seed_that_injects_it() -> None:
    drills = [pick_drill(seed) for seed in range(400)]
    # Every scenario of XENON1T's chain (a drill runs the default profile).
    assert {d.scenario for d in drills} == set(SCENARIOS) - XENONNT_ONLY
    assert "nominal" in SCENARIOS and {d.scenario for d in drills} >= {
        "rse-outage+held-jobs",
        "uplink-down+buffer-full",
    }
    for d in drills:
        assert 1 <= d.sim_seed <= 20  # the seeds the diagnosis is tested on
        assert d.injected == CAUSES[d.scenario]


def test_every_cause_the_diagnosis_names_can_be_picked() -> None:
    assert tuple(CAUSE_TEXT) == DIAGNOSIS_CAUSES
    assert all(CAUSE_TEXT.values())


# ------------------------------------------------------------ scoring


def test_scoring_counts_correct_wrong_and_missed_causes() -> None:
    right = score(("rse-down", "site-holding-jobs"), ("site-holding-jobs", "rse-down"), 192.4)
    assert right.right and right.correct == ("site-holding-jobs", "rse-down")
    assert right.summary == "2 of 2 causes, 0 wrong, 3 min 12 s"
    wrong = score(("uplink-down",), ("rse-down",), 45)
    assert not wrong.right
    assert (wrong.correct, wrong.wrong, wrong.missed) == ((), ("rse-down",), ("uplink-down",))
    assert wrong.summary == "0 of 1 cause, 1 wrong, 45 s"
    nothing = score((), (), 30)
    assert nothing.right and nothing.summary == "nothing was wrong and you said so, 30 s"
    imagined = score((), ("purge-stopped",), 30)
    assert not imagined.right and imagined.wrong == ("purge-stopped",)
    missed = score(("purge-stopped",), (), 30)
    assert not missed.right and missed.missed == ("purge-stopped",)


def test_time_taken_reads_plainly() -> None:
    assert [format_taken(s) for s in (0, 44.6, 60, 192, 3725, -5)] == [
        "0 s",
        "45 s",
        "1 min 0 s",
        "3 min 12 s",
        "1 h 2 min",
        "0 s",
    ]


def test_the_log_line_escapes_what_the_trainee_typed(tmp_path: Path) -> None:
    action = clean_action("  \x1b[2Jrestart\x1b]0;pwned\x07 the purge\u202e  ")
    assert "\x1b" not in action and "\x07" not in action and action.startswith("restart")
    path = tmp_path / "deep" / "drills.jsonl"
    drill = Drill(7, "buffer-full", 3)
    record = log_record(drill, score(drill.injected, ("purge-stopped",), 61), action, [], WALL)
    append_log(path, record)
    append_log(path, record)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    assert all(ord(c) < 0x7F or c.isprintable() for c in lines[0])
    assert json.loads(lines[0])["action"] == action


def test_the_log_is_in_the_data_home() -> None:
    assert default_log_path({"XDG_DATA_HOME": "/d"}) == Path("/d/xenon-console/drills.jsonl")
    assert default_log_path({}).name == "drills.jsonl"


# ------------------------------------------------------------ the app


def drill_app(
    drill: Drill, log: Path, clock: list[float] | None = None
) -> tuple[DrillConsole, list[float]]:
    now = clock if clock is not None else [T0]
    config = load_config(None, scenario=drill.scenario, seed=drill.sim_seed, speed=0)
    app = DrillConsole(
        config, Backends(config), drill, log, clock=lambda: now[0], wall_clock=lambda: WALL
    )
    return app, now


async def diagnose(pilot, causes: tuple[str, ...], action: str = "") -> None:  # type: ignore[no-untyped-def]
    """Press `d`, pick ``causes`` with the keyboard, type the action, Enter."""
    await pilot.press("d")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, DiagnosisScreen), "the form")
    for cause in causes:
        await pilot.press("home", *["down"] * OPTIONS.index(cause), "space")
    await pilot.press("tab")
    if action:
        await pilot.press(*action)
    await pilot.press("enter")


def logged(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize(
    "scenario", ["rse-outage+held-jobs", "uplink-down+buffer-full", "tape-checksum", "nominal"]
)
async def test_the_scenario_name_is_on_no_screen_of_the_drill(
    scenario: str, tmp_path: Path
) -> None:
    app, _ = drill_app(Drill(1, scenario, 2), tmp_path / "drills.jsonl")
    parts = scenario.split("+")
    seen: list[str] = []
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_settled(pilot)
        assert app.sub_title == "drill"
        seen.append(screen_text(app))
        for key in "12345":  # every pane, zoomed: each one's text in full
            await pilot.press(key, "z")
            seen.append(screen_text(app))
            await pilot.press("z")
        await pilot.press("question_mark")
        await pilot.pause()
        seen.append(screen_text(app))
        await pilot.press("escape", "a")
        await pilot.pause()
        seen.append(screen_text(app))
        await pilot.press("escape", "ctrl+p")
        await pilot.pause(0.3)
        seen.append(screen_text(app))
        await pilot.press("escape")
        seen += [str(n.message) + str(n.title) for n in app._notifications]
        # Nor what the diagnosis would name: the strip shows symptoms only.
        titles = [c.title for c in app.engine_diagnosis()]
        assert app.causes == [] and len(titles) == len(CAUSES[scenario])
    for text in seen:
        for title in titles:
            assert title not in text, (title, text)
        for name in (scenario, *parts):
            # Symptoms are shown ("770 held jobs"): the name itself never.
            assert name == "uplink-down" or name not in text, (name, text)
        # uplink-down is also a cause's name, listed in every drill; the
        # scenario must still not be named as such.
        assert f"scenario {scenario}" not in text and "simulator:" not in text
    assert "Diagnose" in seen[0]  # the key is in the footer


async def test_picking_exactly_the_injected_causes_scores_right(tmp_path: Path) -> None:
    log = tmp_path / "drills.jsonl"
    drill = Drill(11, "rse-outage+held-jobs", 1)
    app, now = drill_app(drill, log)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_settled(pilot)
        now[0] = T0 + 192.4
        await diagnose(pilot, ("rse-down", "site-holding-jobs"), "ask the site")
        await wait_for(pilot, lambda: isinstance(app.screen, DrillResultScreen), "the result")
        await pilot.pause()
        text = screen_text(app)
        assert "Right — 2 of 2 causes, 0 wrong, 3 min 12 s" in text
        assert "Your answer: rse-down, site-holding-jobs" in text
        assert "First action: ask the site" in text
        assert "Injected: scenario rse-outage+held-jobs (simulator seed 1)" in text
        # What the engine said: its causes' titles and actions.
        assert "RSE NIKHEF_USERDISK down" in text and "holds its jobs" in text
        assert "check the site's status page" in text
        assert f"Logged to {log}" in text and "drill --seed 11" in text
        assert app.sub_title == "drill over: rse-outage+held-jobs"
        # `d` again shows the result; no second diagnosis of the same drill.
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.diagnosed and bool(app.causes), "the causes")
        await pilot.pause()
        # Once answered, the strip names the causes as the console does.
        assert "◆ site MWT2 holds its jobs" in screen_lines(app)[1]
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, DrillResultScreen)
    [line] = logged(log)
    assert line == {
        "time": "2026-12-02T01:00:00+00:00",
        "seed": 11,
        "scenario": "rse-outage+held-jobs",
        "sim_seed": 1,
        "injected": ["rse-down", "site-holding-jobs"],
        "picked": ["rse-down", "site-holding-jobs"],
        "action": "ask the site",
        "correct": ["rse-down", "site-holding-jobs"],
        "wrong": [],
        "missed": [],
        "right": True,
        "seconds": 192.4,
        "engine": ["rse-down", "site-holding-jobs"],
    }


async def test_a_wrong_cause_and_a_missed_one_are_named(tmp_path: Path) -> None:
    log = tmp_path / "drills.jsonl"
    app, now = drill_app(Drill(5, "uplink-down", 2), log)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_settled(pilot)
        now[0] = T0 + 45
        await diagnose(pilot, ("rse-down",))
        await wait_for(pilot, lambda: isinstance(app.screen, DrillResultScreen), "the result")
        await pilot.pause()
        text = screen_text(app)
        assert "Not quite — 0 of 1 cause, 1 wrong, 45 s" in text
        assert "wrong (not injected): rse-down" in text
        assert "missed: uplink-down" in text
        assert "First action: (none given)" in text
        assert "LNGS uplink down" in text  # the engine's title
    [line] = logged(log)
    assert (line["correct"], line["wrong"], line["missed"]) == ([], ["rse-down"], ["uplink-down"])
    assert line["right"] is False and line["action"] == "" and line["seconds"] == 45


async def test_nothing_is_wrong_on_nominal_scores_right(tmp_path: Path) -> None:
    log = tmp_path / "drills.jsonl"
    app, now = drill_app(Drill(2, "nominal", 3), log)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_settled(pilot)
        now[0] = T0 + 30
        await diagnose(pilot, (NOTHING,))
        await wait_for(pilot, lambda: isinstance(app.screen, DrillResultScreen), "the result")
        await pilot.pause()
        text = screen_text(app)
        assert "Right — nothing was wrong and you said so, 30 s" in text
        assert "Your answer: nothing is wrong" in text
        assert "no fault: nothing was wrong" in text and "no cause: nothing is wrong" in text
    [line] = logged(log)
    assert line["picked"] == [] and line["right"] is True and line["engine"] == []


async def test_an_empty_or_contradicting_answer_is_refused_and_the_form_stays(
    tmp_path: Path,
) -> None:
    app, _ = drill_app(Drill(2, "nominal", 3), tmp_path / "drills.jsonl")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_settled(pilot)
        await diagnose(pilot, ())
        await pilot.pause()
        assert isinstance(app.screen, DiagnosisScreen)
        await pilot.press("shift+tab")  # back to the list
        await pilot.press("home", "space", "down", "space", "tab", "enter")
        await pilot.pause()
        assert isinstance(app.screen, DiagnosisScreen)
        messages = [n.message for n in app._notifications]
        assert any("Pick the causes" in m for m in messages)
        assert any("pick one or the other" in m for m in messages)
        await pilot.press("escape")  # back to the console: the drill goes on
        await pilot.pause()
        assert not isinstance(app.screen, DiagnosisScreen) and app.outcome is None
    assert not (tmp_path / "drills.jsonl").exists()


async def test_a_log_that_cannot_be_written_is_a_notification_and_the_result_shows(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    log = blocker / "drills.jsonl"
    app, _ = drill_app(Drill(2, "nominal", 3), log)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_settled(pilot)
        await diagnose(pilot, (NOTHING,))
        await wait_for(pilot, lambda: isinstance(app.screen, DrillResultScreen), "the result")
        await pilot.pause()
        assert "Not logged: " in screen_text(app)
        [toast] = [n for n in app._notifications if "not logged" in n.message]
        assert toast.severity == "error" and "\n" not in toast.message
        assert "Not a directory" in toast.message


# ------------------------------------------------------------ the command line


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("xenon-console: error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(
    "argv, says",
    [
        (["drill", "--seed", "abc"], "not a whole number: 'abc'"),
        (["--seed", "abc", "drill"], "not a whole number: 'abc'"),
        (["--scenario", "nominal", "drill"], "a drill picks its own scenario"),
        (["drill", "--log", ""], "--log needs a file name"),
        (["drill", "--speed", "-1"], "--speed"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv: list[str], says: str, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(argv) == 2
    assert says in one_error_line(capsys.readouterr().err)


def test_an_unwritable_log_is_one_line_and_exit_2(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["drill", "--seed", "3", "--log", str(blocker / "drills.jsonl")]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "cannot write the drills log" in line and "Not a directory" in line
    assert main(["drill", "--seed", "3", "--log", str(tmp_path)]) == 2
    assert "Is a directory" in one_error_line(capsys.readouterr().err)


def test_a_drill_needs_the_simulator_on_every_pane(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "c.toml"
    config.write_text('[backends.disk]\ntype = "localdisk"\npath = "/"\n[panes]\nbuffer = "disk"\n')
    assert main(["drill", "--config", str(config), "--log", str(tmp_path / "d.jsonl")]) == 2
    assert "needs the simulator on every pane" in one_error_line(capsys.readouterr().err)


def test_without_a_terminal_the_drill_says_so(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    # pytest's stdin is not a terminal: the TUI would spin on end-of-file.
    log = tmp_path / "data" / "drills.jsonl"
    assert main(["drill", "--seed", "3", "--log", str(log)]) == 2
    assert "needs a terminal" in one_error_line(capsys.readouterr().err)
    assert log.parent.is_dir()  # the log's directory is made


def test_the_default_log_goes_to_the_data_home(
    _isolated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["drill", "--seed", "3"]) == 2  # no terminal, but the log is ready
    capsys.readouterr()
    assert (_isolated_home / "data" / "xenon-console" / "drills.jsonl").is_file()

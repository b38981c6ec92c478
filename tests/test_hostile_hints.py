"""A hint is a command someone will paste: hostile names must not run (issue 14).

A run named ``171115_1301;touch /tmp/x;x`` in the runs database, Enter on it,
`c`, paste into a shell: the ``touch`` ran. Each hint's command is pasted
here into a real ``bash`` whose PATH holds only stand-ins for the tools
(``rucio``, ``dsmc``, ``condor_*``: they record their arguments); nothing
else may run, and every value the tool gets is the one the console named.
A value that cannot be what the tool takes gets no command, and says why.
"""

from __future__ import annotations

import shlex
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from backends.analysis.drilldown import Hint, detail_from_snapshots, hints
from backends.model import Kind, RuleState, RunDetail, TapeState
from backends.simulator import SimulatorBackend
from console.screens.run_details import copied_commands, hints_text

TOOLS = ("rucio", "dsmc", "condor_q", "condor_release", "condor_submit_dag")

#: Payloads that would run ``touch $MARK`` (or worse) if pasted unquoted.
HOSTILE = (
    "171115_1301;touch $MARK;x",
    "x'$(touch $MARK)'",
    "x`touch $MARK`",
    "x$(touch $MARK)",
    "x && touch $MARK",
    "x|touch $MARK",
    "x\ntouch $MARK",
    "x\rtouch $MARK",
    "x\x1b]52;c;dG91Y2ggL3RtcC94\x07",
    "x\u202etouch $MARK",
    "-rf",
    "x y",
    "",
    '"; touch $MARK; "',
    "x>$MARK",
    "[red]x[/]",
    "a" * 300,
)


def snapshots(scenario: str) -> dict:
    sim = SimulatorBackend({"scenario": scenario, "seed": 1, "speed": 0})
    return {kind: sim.fetch(kind) for kind in Kind}


def hostile_details(value: str) -> list[RunDetail]:
    """Runs of several scenarios whose hints have commands, with ``value`` as
    the run name, every rule's id and scope, and every DAG's batch name."""
    out = []
    for scenario, pick in (
        (
            "tape-checksum",
            lambda s: next(
                u.run_number for u in s[Kind.TAPE].uploads if u.state is TapeState.FAILED
            ),
        ),
        (
            "rse-outage",
            lambda s: next(
                r.run_number for r in s[Kind.TRANSFERS].rules if r.state is RuleState.STUCK
            ),
        ),
        (
            "held-jobs",
            lambda s: next(
                g.run_number for g in s[Kind.JOBS].dags if g.run_number is not None and g.nodes_held
            ),
        ),
    ):
        snaps = snapshots(scenario)
        d = detail_from_snapshots(pick(snaps), snaps, snaps[Kind.RUNS].taken_at)
        assert d.run is not None
        out.append(
            replace(
                d,
                run=replace(d.run, name=value),
                rules=tuple(replace(r, id=value or r.id, scope=value) for r in d.rules),
                jobs=tuple(replace(j, schedd=value) for j in d.jobs),
                dags=tuple(
                    replace(g, batch_name=value, nodes_failed=max(1, g.nodes_failed), finished=True)
                    for g in d.dags
                ),
            )
        )
    return out


def paste(command: str, tmp_path: Path) -> list[list[str]]:
    """Run ``command`` as a pasted line in bash; the tools' argument lists."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    log = tmp_path / "calls"
    for tool in TOOLS:
        script = bin_dir / tool
        script.write_text(
            '#!/bin/bash\nprintf "%s\\0" "${0##*/}" "$@" >> "$LOG"\nprintf "\\n" >> "$LOG"\n'
        )
        script.chmod(0o755)
    log.write_bytes(b"")
    (tmp_path / "MARK").unlink(missing_ok=True)
    # The real tools after the stand-ins: a payload that escaped would run.
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "LOG": str(log), "MARK": str(tmp_path / "MARK")}
    assert subprocess.run(["/bin/bash", "-n", "-c", command], env=env).returncode == 0, command
    subprocess.run(["/bin/bash", "-c", command], env=env, cwd=tmp_path, timeout=10)
    assert not (tmp_path / "MARK").exists(), f"the pasted hint ran a payload: {command!r}"
    calls = []
    for line in log.read_bytes().split(b"\n"):
        if line:
            calls.append([a.decode() for a in line.rstrip(b"\0").split(b"\0")])
    return calls


@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: repr(v)[:24])
def test_a_hostile_value_never_runs_when_a_hint_is_pasted(value: str, tmp_path: Path) -> None:
    found: list[Hint] = []
    for d in hostile_details(value):
        found += hints(d, d.run.end if d.run else None)
    assert found
    for hint in found:
        command = hint.command
        if not command:
            assert "no command given" in hint.problem
            continue
        # The value is never in a command, quoted or not: it is none of the
        # things a tool takes, so its hint says why instead.
        assert value == "" or value not in command, command
        for call in paste(command, tmp_path):
            assert call[0] in TOOLS
            # What a tool gets is exactly what shlex reads from the command.
            assert call[1:] == shlex.split(command.split("#")[0])[1 : len(call)]


def test_valid_names_still_give_commands_and_refused_ones_say_why() -> None:
    [tape, stuck, held] = hostile_details("171115_1301")
    commands = [h.command for h in hints(tape)]
    assert "dsmc selective -subdir=yes '/data/xenon/raw/171115_1301/*'" in commands
    [bad] = [h for h in hints(hostile_details("x;touch y")[0]) if "restore test" in h.problem]
    assert bad.command == ""
    assert "no command given: run name 'x;touch y' is not one a command can take" in bad.problem
    # A rule id that is not a Rucio rule id gives no rucio command.
    assert not any(h.command.startswith("rucio rule show") for h in hints(stuck))
    assert any("rule id '171115_1301' is not one" in h.problem for h in hints(stuck))
    # DAG constraints are numbers: the held-jobs hint is whole.
    assert any(
        h.command.startswith("condor_q") and "DAGManJobId ==" in h.command for h in hints(held)
    )


def test_the_clipboard_gets_exactly_the_commands_shown() -> None:
    found = [*hints(hostile_details("x\x1b[31m;y")[0]), Hint("p", "echo \x1b[2Jhi\x07")]
    shown = [
        line.removeprefix("  $ ")
        for line in hints_text(found).plain.splitlines()
        if line.startswith("  $ ")
    ]
    copied = copied_commands(found)
    assert copied == shown and copied[-1] == "echo hi\N{REPLACEMENT CHARACTER}"
    assert not any(c < " " for text in copied for c in text)


def test_a_newline_in_a_name_fakes_no_line_in_the_drilldown_header() -> None:
    from console.screens.run_details import describe_run

    d = hostile_details("x\nRun 1 safe: nothing to do")[0]
    before = describe_run(replace(d, run=replace(d.run, name="x")), None).plain.count("\n")
    text = describe_run(d, None).plain
    assert text.count("\n") == before
    assert "x\N{REPLACEMENT CHARACTER}Run 1 safe" in text


def test_the_fake_tools_record_what_they_get(tmp_path: Path) -> None:
    """The harness itself: an unquoted payload is caught."""
    with pytest.raises(AssertionError, match="ran a payload"):
        paste("dsmc x;touch $MARK", tmp_path)
    assert paste("rucio rule show 'a b'", tmp_path) == [["rucio", "rule", "show", "a b"]]

"""Shift drills: a hidden scenario, the trainee's diagnosis, its score, the log.

Pure functions, no Textual (the screens are ``console/screens/drill.py``):
which scenario and simulator seed a drill seed gives, how an answer is
scored against what the simulator injected (``backends.simulator.CAUSES``,
the ground truth, not the diagnosis engine), and the JSON line appended to
the drills log.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import platformdirs

from backends.analysis.diagnosis import CAUSES as DIAGNOSIS_CAUSES
from backends.simulator import CAUSES as INJECTED
from backends.simulator import SCENARIOS, XENONNT_ONLY
from console.safe_text import json_text, strip_controls

#: What each cause the trainee can pick means, in one line.
CAUSE_TEXT: dict[str, str] = {
    "source-down": "a source does not answer: some panes are blind",
    "uplink-down": "the LNGS uplink is down: nothing leaves the buffer",
    "rse-down": "one RSE is down: its rules are stuck, the others are fine",
    "purge-stopped": "the buffer purge is not running: purge-safe runs fill the buffer",
    "tape-restore-failing": "TSM uploads or restore tests fail for many runs",
    "tape-run-failed": "the tape copy of one run failed",
    "site-holding-jobs": "one compute site holds most of the jobs",
    "dag-failing": "one run's DAG fails, its jobs held at several sites",
    "rundb-lagging": "the runs database lags behind Rucio (Ruciax not updating it)",
    "eb-silent": "an event builder's bootstrax is silent (XENONnT)",
}
assert tuple(CAUSE_TEXT) == DIAGNOSIS_CAUSES, "a cause of the diagnosis has no description"

#: First actions offered as the trainee types (the runbook's, any text goes).
ACTIONS: tuple[str, ...] = (
    "call LNGS IT about the network",
    "check the site's status page and the Rucio RSE attributes",
    "restart the purge tool on the datamanager",
    "read the dsmc log and re-upload the runs to tape",
    "ask the site about the holds, then condor_release",
    "fix the DAG's cause, then condor_release",
    "check that Ruciax runs on the datamanager",
    "check the backend's connection settings and the service it reads",
    "nothing: keep watching",
)

#: Simulator seeds a drill plays: those the diagnosis is tested on
#: (tests/test_diagnosis.py), so every scenario shows what it injects.
SIM_SEEDS = range(1, 21)
#: The longest first action kept (a paste of a whole log is cut).
MAX_ACTION = 500
LOG_NAME = "drills.jsonl"


@dataclass(frozen=True, slots=True)
class Drill:
    """What a drill plays: its own seed, the scenario and the simulator's seed."""

    seed: int
    scenario: str
    sim_seed: int

    @property
    def injected(self) -> tuple[str, ...]:
        """The causes the scenario injects (the ground truth)."""
        return INJECTED[self.scenario]


def new_seed() -> int:
    """A drill seed when none is given (logged, so the drill can be replayed)."""
    return random.SystemRandom().randrange(1, 2**31)


#: The scenarios a drill picks from: XENON1T's chain (a drill runs the
#: simulator's default profile), so not those only XENONnT's shows.
DRILL_SCENARIOS = tuple(s for s in SCENARIOS if s not in XENONNT_ONLY)


def pick_drill(seed: int, scenarios: Sequence[str] = DRILL_SCENARIOS) -> Drill:
    """The scenario and simulator seed of drill ``seed`` (the same seed, the same drill)."""
    rng = random.Random(seed)
    scenario = rng.choice(list(scenarios))
    return Drill(seed, scenario, rng.choice(SIM_SEEDS))


@dataclass(frozen=True, slots=True)
class Score:
    injected: tuple[str, ...]
    picked: tuple[str, ...]
    #: Picked and injected / picked but not injected / injected but not picked.
    correct: tuple[str, ...]
    wrong: tuple[str, ...]
    missed: tuple[str, ...]
    seconds: float

    @property
    def right(self) -> bool:
        """Every injected cause found and nothing else ("nothing" when nothing was)."""
        return not self.wrong and not self.missed

    @property
    def summary(self) -> str:
        """The score in words: '2 of 2 causes, 0 wrong, 3 min 12 s'."""
        taken = format_taken(self.seconds)
        if not self.injected and not self.picked:
            return f"nothing was wrong and you said so, {taken}"
        return (
            f"{len(self.correct)} of {len(self.injected)} cause"
            f"{'' if len(self.injected) == 1 else 's'}, {len(self.wrong)} wrong, {taken}"
        )


def score(injected: Iterable[str], picked: Iterable[str], seconds: float) -> Score:
    """Score an answer: ``picked`` empty means "nothing is wrong"."""
    truth = tuple(dict.fromkeys(injected))
    answer = tuple(dict.fromkeys(picked))
    return Score(
        injected=truth,
        picked=answer,
        correct=tuple(c for c in answer if c in truth),
        wrong=tuple(c for c in answer if c not in truth),
        missed=tuple(c for c in truth if c not in answer),
        seconds=max(0.0, seconds),
    )


def format_taken(seconds: float) -> str:
    """'45 s', '3 min 12 s', '1 h 2 min': how long the drill took."""
    total = round(max(0.0, seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


def clean_action(text: str) -> str:
    """The first action as typed, safe to show and log: one line, no controls."""
    return strip_controls(text).strip()[:MAX_ACTION]


def default_log_path(environ: Mapping[str, str] = os.environ) -> Path:
    """``$XDG_DATA_HOME/xenon-console/drills.jsonl`` (``~/.local/share`` without it)."""
    data_home = environ.get("XDG_DATA_HOME", "")
    if os.path.isabs(data_home):
        return Path(data_home) / "xenon-console" / LOG_NAME
    return Path(platformdirs.user_data_dir("xenon-console")) / LOG_NAME


def log_record(
    drill: Drill,
    result: Score,
    action: str,
    engine_causes: Sequence[str] | None,
    at: datetime,
) -> dict[str, object]:
    """The drill's line in the log (``engine_causes`` None: the engine failed)."""
    return {
        "time": at.isoformat(timespec="seconds"),
        "seed": drill.seed,
        "scenario": drill.scenario,
        "sim_seed": drill.sim_seed,
        "injected": list(result.injected),
        "picked": list(result.picked),
        "action": action,
        "correct": list(result.correct),
        "wrong": list(result.wrong),
        "missed": list(result.missed),
        "right": result.right,
        "seconds": round(result.seconds, 1),
        "engine": None if engine_causes is None else list(engine_causes),
    }


def prepare_log(path: Path) -> None:
    """Make sure the log can be appended to (its directory made): OSError if not."""
    if path.is_dir():
        raise IsADirectoryError(21, "Is a directory", str(path))
    _make_parent(path)
    with open(path, "a", encoding="utf-8"):
        pass


def _make_parent(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:  # a file where a directory should be
        raise NotADirectoryError(20, "Not a directory", str(path.parent)) from None


def append_log(path: Path, record: Mapping[str, object]) -> None:
    """Append one JSON line (terminal-safe, see ``json_text``); OSError if it cannot."""
    _make_parent(path)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json_text(record, sort_keys=False) + "\n")

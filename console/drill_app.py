"""The console playing a shift drill: the scenario hidden, `d` to diagnose.

The normal console (every key, pane and screen) on the simulator on the
drill's scenario, whose name nothing shows until the diagnosis is in: the
title says "drill". `d` opens the diagnosis screen; the answer is scored
against what the simulator injected, shown with what the diagnosis engine
says, and appended to the drills log (``console/drill.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

from textual.app import SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Input

from backends.analysis.diagnosis import Cause
from console.acks import AckStore
from console.app import XenonConsole
from console.config import Config
from console.drill import Drill, append_log, log_record, score
from console.fetching import Backends, Result, describe_error
from console.screens.drill import Answer, DiagnosisScreen, DrillResultScreen, Outcome

DRILL_HELP = """\
## Shift drill

A fault (or none) is hidden in this console: explore with every key, then
press `d` to give your diagnosis: pick the causes (space), or "nothing is
wrong", optionally type the first action, and submit. The score (causes
found, wrong, missed, time taken), what was injected and what the diagnosis
engine says follow, and the result is logged.
"""


class DrillConsole(XenonConsole):
    BINDINGS = [Binding("d", "diagnose", "Diagnose")]

    def __init__(
        self,
        config: Config,
        sources: Backends,
        drill: Drill,
        log_path: Path,
        *,
        clock: Callable[[], float] = time.monotonic,
        watchdog: bool = False,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        # Acknowledgements stay in memory: a drill must not touch the live
        # console's state file.
        super().__init__(config, sources, clock=clock, watchdog=watchdog, acks=AckStore(None))
        self.drill = drill
        self.log_path = log_path
        self.wall_clock = wall_clock
        self.started = self.clock()
        #: The result, once the diagnosis is in (one per drill).
        self.outcome: Outcome | None = None

    def _scenario_label(self) -> str:
        return "drill"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "diagnose":
            # In a text box `d` is a character.
            return not isinstance(self.focused, Input)
        return super().check_action(action, parameters)

    def action_diagnose(self) -> None:
        if any(isinstance(s, DiagnosisScreen | DrillResultScreen) for s in self.screen_stack):
            return
        if self.outcome is not None:
            self.push_screen(DrillResultScreen(self.outcome))
            return
        self.push_screen(DiagnosisScreen(), self._answered)

    def _diagnose(self) -> None:
        """The strip and the alarms screen name no cause until the answer is
        in: the trainee diagnoses from the symptoms."""
        if self.outcome is not None:
            super()._diagnose()
            return
        self.causes = []
        self._diagnosis_of = self._diagnosis_done = ()

    def _answered(self, answer: Answer | None) -> None:
        if answer is None:
            return
        taken = self.clock() - self.started
        result = score(self.drill.injected, answer.causes, taken)
        engine: list[Cause] | None
        try:
            engine, engine_error = self.engine_diagnosis(), None
        except Exception as exc:  # the engine's failure must not lose the drill
            engine, engine_error = None, describe_error(exc)
        record = log_record(
            self.drill,
            result,
            answer.action,
            None if engine is None else [c.cause for c in engine],
            self.wall_clock(),
        )
        log_error = None
        try:
            append_log(self.log_path, record)
        except OSError as exc:
            log_error = f"{self.log_path}: {exc.strerror or exc}"
            self.notify(f"drill not logged: {log_error}", severity="error", timeout=15)
        self.outcome = Outcome(
            self.drill,
            result,
            answer.action,
            engine,
            engine_error,
            str(self.log_path),
            log_error,
        )
        self.sub_title = f"drill over: {self.drill.scenario}"
        self._update_alarms()  # the causes on the strip now
        self.push_screen(DrillResultScreen(self.outcome))

    def engine_diagnosis(self) -> list[Cause]:
        """What the diagnosis engine says of the data on screen, as ``report`` asks it."""
        from console.report.common import alarms_for, diagnosis_for

        results = {
            kind: Result(kind, state.backend or "", state.snapshot, state.error, 0.0)
            for kind, state in self.states.items()
            if state.assigned
        }
        return diagnosis_for(results, self.config, alarms_for(results, self.config))

    def action_help(self) -> None:
        from console.screens.help import HelpScreen

        self.push_screen(HelpScreen(self.specs, DRILL_HELP))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand(
            "Diagnose (drill)",
            "Give your diagnosis: the causes and the first action (d)",
            self.action_diagnose,
        )


def drill_app(config: Config, drill: Drill, log_path: Path) -> int:
    """Play a drill in the terminal."""
    app = DrillConsole(config, Backends(config), drill, log_path, watchdog=True)
    result = app.run()
    return int(result or 0)

"""The screens of a shift drill: the trainee's diagnosis (`d`), then the result.

The logic (scoring, the log) is ``console/drill.py``; the app that plays a
drill is ``console/drill_app.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, SelectionList, Static
from textual.widgets.selection_list import Selection

from backends.analysis.diagnosis import Cause
from console.drill import ACTIONS, CAUSE_TEXT, Drill, Score, clean_action
from console.safe_text import strip_controls

#: The value of "nothing is wrong" in the list (no cause is called that).
NOTHING = "nothing"


@dataclass(frozen=True, slots=True)
class Answer:
    """The trainee's diagnosis: the causes (none: "nothing is wrong") and the first action."""

    causes: tuple[str, ...]
    action: str


def answer_problem(selected: Sequence[str]) -> str | None:
    """Why these picks cannot be submitted, or None."""
    if not selected:
        return "Pick the causes, or 'nothing is wrong'"
    if NOTHING in selected and len(selected) > 1:
        return "'nothing is wrong' and a cause: pick one or the other"
    return None


class DiagnosisScreen(ModalScreen[Answer | None]):
    """Pick the causes (space), optionally the first action, then submit."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Back to the console")]
    DEFAULT_CSS = """
    DiagnosisScreen { align: center middle; }
    DiagnosisScreen > Vertical {
        width: 100%; max-width: 96; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    DiagnosisScreen SelectionList { height: auto; max-height: 13; }
    DiagnosisScreen #drill-buttons { height: auto; }
    DiagnosisScreen #drill-buttons Static { width: 1fr; padding: 1 0 0 1; color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        options: list[Selection[str]] = [Selection(Text("nothing is wrong", style="bold"), NOTHING)]
        options += [
            Selection(Text.assemble((cause, "bold"), " — ", text), cause)
            for cause, text in CAUSE_TEXT.items()
        ]
        with Vertical():
            yield Static(
                Text.assemble(
                    ("Your diagnosis", "bold"),
                    ": what is wrong? (space picks, Tab moves on)",
                )
            )
            yield SelectionList[str](*options, id="drill-causes")
            yield Static("First action (optional; suggestions complete with →):")
            yield Input(
                placeholder="what you would do first",
                id="drill-action",
                suggester=SuggestFromList(ACTIONS, case_sensitive=False),
            )
            with Horizontal(id="drill-buttons"):
                yield Button("Submit", variant="primary", id="drill-submit")
                yield Static("Enter in the action box submits too; Esc goes back")

    def on_mount(self) -> None:
        self.query_one(SelectionList).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#drill-submit")
    def _submit(self) -> None:
        selected = list(self.query_one(SelectionList).selected)
        problem = answer_problem(selected)
        if problem is not None:
            self.app.notify(problem, severity="warning", timeout=4)
            return
        causes = tuple(c for c in CAUSE_TEXT if c in selected)
        self.dismiss(Answer(causes, clean_action(self.query_one(Input).value)))


@dataclass(frozen=True, slots=True)
class Outcome:
    """Everything the result screen shows."""

    drill: Drill
    score: Score
    action: str
    #: What the diagnosis engine said (None: it failed, ``engine_error`` says why).
    engine: Sequence[Cause] | None
    engine_error: str | None
    #: Where the result was logged, or why it was not.
    logged_to: str | None
    log_error: str | None


def result_text(outcome: Outcome) -> Group:
    """The result screen's text (every user-typed or backend string as plain text)."""
    score, drill = outcome.score, outcome.drill
    text = Text()
    verdict = ("Right", "bold green") if score.right else ("Not quite", "bold red")
    text.append_text(Text.assemble(verdict, f" — {score.summary}\n\n"))
    picked = ", ".join(score.picked) if score.picked else "nothing is wrong"
    text.append("Your answer: ", style="bold")
    text.append(f"{picked}\n")
    text.append("First action: ", style="bold")
    text.append(f"{strip_controls(outcome.action) or '(none given)'}\n")
    for label, causes, style in (
        ("correct", score.correct, "green"),
        ("wrong (not injected)", score.wrong, "red"),
        ("missed", score.missed, "red"),
    ):
        if causes:
            text.append(f"  {label}: ", style=style)
            text.append(", ".join(f"{c} ({CAUSE_TEXT.get(c, c)})" for c in causes) + "\n")
    text.append("\nInjected: ", style="bold")
    text.append(f"scenario {drill.scenario} (simulator seed {drill.sim_seed}): ")
    text.append((", ".join(drill.injected) or "no fault: nothing was wrong") + "\n")
    text.append("\nThe diagnosis engine said:", style="bold")
    # A grid, so that a long title or action wraps under itself.
    engine = Table.grid(padding=(0, 1))
    engine.add_column(width=3, justify="right")
    engine.add_column(ratio=1)
    if outcome.engine is None:
        engine.add_row("", f"it could not tell: {strip_controls(outcome.engine_error or '')}")
    elif not outcome.engine:
        engine.add_row("", "no cause: nothing is wrong")
    for cause in outcome.engine or ():
        title = Text.assemble((cause.cause, "bold"), f": {strip_controls(cause.title)}")
        engine.add_row("•", title)
        engine.add_row("→", Text(strip_controls(cause.action), style="cyan"))
    tail = Text("\n")
    if outcome.log_error is not None:
        tail.append("Not logged: ", style="bold red")
        tail.append(f"{strip_controls(outcome.log_error)}\n")
    else:
        tail.append("Logged to ", style="dim")
        tail.append(f"{strip_controls(outcome.logged_to or '')}\n", style="dim")
    tail.append(f"Play this drill again: xenon-console drill --seed {drill.seed}", style="dim")
    return Group(text, engine, tail)


class DrillResultScreen(ModalScreen[None]):
    """The score, what was injected and what the diagnosis engine said."""

    BINDINGS = [Binding("escape,q", "dismiss", "Close")]
    DEFAULT_CSS = """
    DrillResultScreen { align: center middle; }
    DrillResultScreen > VerticalScroll {
        width: 90%; max-width: 100; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    DrillResultScreen #drill-result { height: auto; }
    """

    def __init__(self, outcome: Outcome) -> None:
        super().__init__()
        self.outcome = outcome

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = "Drill result (Esc closes)"
            yield Static(result_text(self.outcome), id="drill-result")

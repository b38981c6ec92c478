"""The Textual app: the panes composed from their specs, and the actions.

What the console knows lives outside the widgets (``console/state``): one
``SourceState`` per kind and the ``AlarmBook``. Live data comes from the
polling core (``console/polling.py``), a recording from the replay controller
(``console/replay.py``); both deliver the same events, which reach the main
thread here as ``PollEvent`` messages: the state is updated, then the pane
redraws from it. Every second the ages, STALE marks and alarms move on.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import RenderableType
from rich.text import Text
from textual import events, on
from textual._compositor import CompositorUpdate
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Container
from textual.dom import DOMNode
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Header, Input, Static

from backends.analysis.alarms import Alarm
from backends.analysis.diagnosis import Cause, diagnose
from backends.analysis.jobs import dag_for_run
from backends.analysis.rucio_evidence import Evidence
from backends.analysis.run_index import RunTable
from backends.foreground import FOREGROUND
from backends.model import JobsSnapshot, Kind, RunDetail, Snapshot
from backends.sources import RunDetailSource
from console.acks import AckStore, ack_store_for
from console.acks import default_path as default_ack_path
from console.config import Config, ConfigError
from console.fetching import Backends
from console.panes.base import PaneSettings, SourcePane
from console.panes.runs import RunsPane
from console.polling import Derived, Event, Polled, Poller, PollStarted, derive
from console.safe_text import strip_controls
from console.screen_diff import DiffedUpdate, ScreenDiff
from console.specs import PaneSpec, pane_specs, record_trends
from console.state.alarms import AlarmBook, current_time
from console.state.source import SourceState
from console.trends import Trends
from console.watchdog import leave_soon, watch_stdin
from console.widgets.alarms_strip import AlarmsStrip
from console.widgets.footer import SteadyFooter
from console.widgets.quiet import show_text

if TYPE_CHECKING:
    # Imported where used: the drill-down, the alarms screen and the
    # recordings are not needed for the first frame, and their imports cost
    # a shifter's start-up.
    from console.recording import Recording, RecordingWriter
    from console.replay import ReplayController, ReplayDriver
    from console.widgets.replay_bar import ReplayBar

REPLAY_ACTIONS = frozenset({"replay_toggle", "replay_step", "replay_seek", "replay_speed"})
#: Below this size one pane is shown at a time, chosen with its number or Tab.
WIDE_MIN_WIDTH = 120
WIDE_MIN_HEIGHT = 36
#: Seconds the screen waits, after a poll brought new data to a pane that
#: had some, for the polls that come with it: a burst of polls (tape,
#: transfers, jobs and buffer come back within ~100 ms of each other) is one
#: frame, not one per kind. A key, a click or a resize ends the wait at once.
FRAME_HOLD = 0.15
#: Where each built-in pane sits in the wide grid, in reading order (the
#: small ones on top); a pane added later goes after them.
GRID_ORDER = (Kind.BUFFER, Kind.TAPE, Kind.TRANSFERS, Kind.JOBS, Kind.RUNS)


class PollEvent(Message):
    """An event of the polling core or the replay, on the main thread."""

    def __init__(self, event: Event, shown: threading.Event | None = None) -> None:
        super().__init__()
        self.event = event
        #: Set once a new snapshot is on screen (the polling thread waits for it).
        self.shown = shown


class PaneBar(Static):
    """The pane selector shown when only one pane fits."""


class XenonConsole(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "xenon-console"

    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help"),
        # Priority, as `/`: a pane's number acts as it arrives, so the keys
        # typed right after it (`5/unsafe` in one burst) reach that pane.
        # In a text box a digit is a character (see check_action).
        *(
            Binding(str(n), f"show_number({n})", f"Pane {n}", show=False, priority=True)
            for n in range(1, 10)
        ),
        Binding("tab", "cycle_pane(1)", "Next pane", priority=True),
        Binding("shift+tab", "cycle_pane(-1)", "Previous pane", show=False, priority=True),
        Binding("z", "zoom", "Zoom"),
        Binding("w", "wide", "Wide", show=False),
        Binding("r", "refresh_all", "Refresh"),
        # Priority: acted on as the key arrives, so the keys typed right after
        # it reach the box it opens, not the bindings (see check_action).
        Binding("slash", "filter", "Filter", priority=True),
        Binding("colon", "goto_run", "Go to run", priority=True),
        Binding("a", "alarms", "Alarms"),
        Binding("space", "replay_toggle", "Play/pause"),
        Binding("n", "replay_step", "Step"),
        Binding("left_square_bracket", "replay_seek(-60)", "-1 min"),
        Binding("right_square_bracket", "replay_seek(60)", "+1 min"),
        Binding("left_curly_bracket", "replay_seek(-600)", "-10 min", show=False),
        Binding("right_curly_bracket", "replay_seek(600)", "+10 min", show=False),
        Binding("plus", "replay_speed(2)", "Faster"),
        Binding("minus", "replay_speed(0.5)", "Slower"),
    ]

    active_kind: reactive[Kind] = reactive(Kind.BUFFER, init=False)

    def __init__(
        self,
        config: Config,
        sources: Backends | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        watchdog: bool = False,
        acks: AckStore | None = None,
        recorder: RecordingWriter | None = None,
        replay: ReplayDriver | None = None,
    ) -> None:
        super().__init__()
        #: What the terminal was sent: each update sends only what changed.
        self.screen_diff = ScreenDiff()
        self.config = config
        self.sources = sources
        self.recorder = recorder
        self.watchdog = watchdog
        self._record_t0 = clock()
        if replay is not None:
            # Ages and STALE marks read in the recording's time.
            clock = lambda: replay.position  # noqa: E731
        self.clock = clock
        self.specs: tuple[PaneSpec, ...] = pane_specs()
        self.trends = Trends(timedelta(hours=config.trend_hours))
        self.states = {spec.kind: self._state(spec.kind, replay) for spec in self.specs}
        self.book = AlarmBook(
            acks if acks is not None else AckStore(default_ack_path()),
            bell_on_critical=config.bell_on_critical,
        )
        self._derive = derive(config, sources.kinds() if sources is not None else None)
        self.poller: Poller | None = None
        if sources is not None and replay is None:
            self.poller = Poller(
                sources,
                config,
                self._deliver,
                self._derive,
                prepare=self._prepare,
                clock=self.clock,
            )
        self.replay: ReplayController | None = None
        self._replay_bar: ReplayBar | None = None
        if replay is not None:
            from console.replay import ReplayController
            from console.widgets.replay_bar import ReplayBar

            self.replay = ReplayController(replay, self.apply_event, self._post, self._derive)
            self._replay_bar = ReplayBar(replay, id="replay-bar")
        self._panes: dict[Kind, SourcePane] = {}
        #: Every column in full (``w``), the tables scrolling sideways.
        self.wide = False
        self._alarms_strip = AlarmsStrip(id="alarms")
        #: What the diagnosis names behind the alarms (``backends.analysis.diagnosis``).
        self.causes: list[Cause] = []
        #: What the last diagnosis started from: the alarms and each snapshot.
        self._diagnosis_of: tuple[object, ...] | None = None
        #: What the causes shown are of (``_diagnosis_of`` once its diagnosis is in).
        self._diagnosis_done: tuple[object, ...] | None = None
        #: The terminal went away and the console is on its way out.
        self._leaving = False
        self._pane_bar = PaneBar(id="pane-bar")
        self.sub_title = self._scenario_label()
        #: See ``FRAME_HOLD`` (0: every poll drawn as it comes).
        self.frame_hold = FRAME_HOLD
        self._frames_held: Timer | None = None

    def _state(self, kind: Kind, replay: ReplayDriver | None) -> SourceState:
        if replay is not None:
            recorded = replay.recording.meta.get("panes")
            backend = recorded.get(kind.value) if isinstance(recorded, dict) else None
            name: str | None = backend if isinstance(backend, str) else "recording"
        else:
            name = self.sources.backend_name(kind) if self.sources is not None else None
        return SourceState(
            kind,
            name,
            self.config.intervals[kind],
            self.config.timeouts[kind],
            self.config.thresholds,
        )

    def _scenario_label(self) -> str:
        if self.replay is not None or self.sources is None:
            return "replay"
        parts = []
        for name in sorted({self.config.panes[k] for k in self.sources.kinds()}):
            spec = self.config.backends.get(name)
            if spec is not None and spec.type == "simulator":
                parts.append(f"{name}: {spec.options.get('scenario', 'nominal')}")
            else:
                parts.append(str(name))
        return " · ".join(parts)

    # ------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="◆")
        yield self._alarms_strip
        if self._replay_bar is not None:
            yield self._replay_bar
        yield self._pane_bar
        with Container(id="panes"):
            for spec in sorted(self.specs, key=_grid_place):
                settings = PaneSettings(
                    spec.title, spec.number, self.config.thresholds, self.config.policy, self.trends
                )
                pane = spec.load_pane()(self.states[spec.kind], settings)
                self._panes[spec.kind] = pane
                yield pane
        yield SteadyFooter()

    def pane(self, kind: Kind) -> SourcePane:
        """The pane of a kind, wherever the user is (queries see only the top screen)."""
        return self._panes[kind]

    @property
    def runs_pane(self) -> RunsPane:
        pane = self._panes[Kind.RUNS]
        assert isinstance(pane, RunsPane)
        return pane

    @property
    def acks(self) -> AckStore:
        """Where acknowledgements are kept (the alarm book's)."""
        return self.book.acks

    @acks.setter
    def acks(self, store: AckStore) -> None:
        self.book.acks = store

    @property
    def alarms(self) -> list[Alarm]:
        """Every active alarm, most severe first."""
        return self.book.alarms

    @property
    def settled(self) -> bool:
        """Every assigned source has answered and its alarms are in."""
        return self.book.ready(self.states)

    def _display(self, screen: Screen[object], renderable: RenderableType | None) -> None:
        """Textual's write of an update, with only the cells that changed
        (``console/screen_diff.py``)."""
        driver = self._driver
        if isinstance(renderable, CompositorUpdate) and driver is not None and not driver.is_inline:
            renderable = DiffedUpdate(renderable, self.screen_diff)
        super()._display(screen, renderable)
        FOREGROUND.done()

    def post_message(self, message: Message) -> bool:
        """A key from the terminal (the driver's input thread posts it): the
        polling threads' long work waits while the screen answers it
        (``backends/foreground.py``), until the next write."""
        if isinstance(message, events.Key) and not message.is_forwarded:
            # (a key the screen did not take bubbles back up here, answered)
            FOREGROUND.busy()
        return super().post_message(message)

    def _terminal_unknown(self, _app: object = None) -> None:
        """Another program had the terminal: the next update is sent whole."""
        self.screen_diff.forget()

    def on_mount(self) -> None:
        if self.is_headless:
            # No terminal to spare: a Pilot test reads the screen as the data
            # arrive (tests/test_app_simulator.py turns the hold on to test it).
            self.frame_hold = 0.0
        # At once, not posted: the repaint after a resume must not be diffed
        # against what the terminal showed before the other program.
        self.app_suspend_signal.subscribe(self, self._terminal_unknown, immediate=True)
        self.app_resume_signal.subscribe(self, self._terminal_unknown, immediate=True)
        extra = len(self.specs) - len(GRID_ORDER)
        if extra > 0:  # panes added to the built-ins: more rows in the wide grid
            rows = -(-extra // 2)
            self.query_one("#panes").set_styles(
                f"grid-size: 2 {3 + rows}; grid-rows: 12 3fr 2fr {' '.join(['10'] * rows)};"
            )
        self._alarms_strip.show([])
        self._layout_for(self.size.width, self.size.height)
        first = self.specs[0].kind
        self.action_show_pane(first.value)
        self.watch_active_kind(first)
        for kind, pane in self._panes.items():
            pane.update_status(self.clock())
            if not self.states[kind].assigned:
                pane.set_unassigned()
        if self.poller is not None:
            self.poller.start()
        if self.replay is not None:
            damage = self.replay.driver.recording.damage
            if damage:
                self.notify(f"Replaying up to the damage: {damage}", severity="warning", timeout=20)
            self.replay.advance(0.0)
            self.set_interval(0.1, self._replay_tick)
        self.set_interval(1.0, self._tick)
        if self.watchdog:
            loop = asyncio.get_running_loop()
            watch_stdin(self.set_interval, self._terminal_gone, loop.call_soon_threadsafe)
        if self.acks.load_error:
            self.notify(self.acks.load_error, severity="warning", timeout=15)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """A toast, shown as plain text: messages carry file names, notes and
        backend text, and ``[/]`` or ``[link=...]`` in them crashed Textual's
        markup parser (issue 14)."""
        super().notify(
            strip_controls(message),
            title=strip_controls(title),
            severity=severity,
            timeout=timeout,
            markup=markup,
        )

    def on_resize(self, event: events.Resize) -> None:
        # The event's size: this runs before Textual's own handler has set
        # ``self.size`` to it (the layout followed the size before last).
        self._layout_for(event.size.width, event.size.height)

    def _layout_for(self, width: int, height: int) -> None:
        narrow = width < WIDE_MIN_WIDTH or height < WIDE_MIN_HEIGHT
        self.screen.set_class(narrow, "-narrow")

    def watch_active_kind(self, kind: Kind) -> None:
        for other, pane in self._panes.items():
            pane.set_class(other is kind, "-active")
        text = Text(no_wrap=True)
        for spec in self.specs:
            label = f" {spec.number} {spec.title.split(' (')[0]} "
            stale = self.pane(spec.kind).has_class("-stale")
            style = "reverse bold" if spec.kind is kind else ("red" if stale else "")
            text.append(label, style=style)
            text.append(" ")
        show_text(self._pane_bar, text)

    # -------------------------------------------------- events from polls

    def _deliver(self, event: Event) -> None:
        """The polling core's callback, in a polling thread."""
        if isinstance(event, Polled):
            shown = threading.Event()
            self.post_message(PollEvent(event, shown))
            # Let the main thread draw the new data before the heavy part
            # (the alarms) starts: both need the GIL, and the screen comes first.
            shown.wait(timeout=2.0)
            self._record(event)
        else:
            self.post_message(PollEvent(event))

    def _post(self, event: Event) -> None:
        """Deliver from any thread (the replay's derivations)."""
        self.post_message(PollEvent(event))

    def _prepare(self, kind: Kind, snapshot: object) -> object | None:
        return self._panes[kind].prepare(snapshot) if kind in self._panes else None  # type: ignore[arg-type]

    def _record(self, event: Polled) -> None:
        if self.recorder is None:
            return
        try:
            self.recorder.write(event.result, self.clock() - self._record_t0)
        except Exception as exc:  # a full disk must not stop the console
            from console.fetching import describe_error

            self.recorder = None
            self.call_from_thread(
                self.notify, f"recording stopped: {describe_error(exc)}", severity="error"
            )

    @on(PollEvent)
    def _poll_event(self, message: PollEvent) -> None:
        if isinstance(message.event, Polled):
            self._hold_frames(message.event.result.kind)
        try:
            self.apply_event(message.event)
        finally:
            if message.shown is not None:
                self.call_after_refresh(message.shown.set)

    def _hold_frames(self, kind: Kind) -> None:
        """Hold the screen's next frame for ``frame_hold`` seconds. Until
        every pane has answered and its alarms are in, and for a pane's
        first data, frames are drawn as they come, held ones too: the first
        screen is not kept waiting."""
        state = self.states.get(kind)
        if state is None:
            return
        if state.snapshot is None or not self.settled:
            self._release_frames()
            return
        if self._frames_held is not None or self.frame_hold <= 0:
            return
        self._begin_batch()
        self._frames_held = self.set_timer(self.frame_hold, self._release_frames, name="frame hold")

    def _release_frames(self) -> None:
        """Draw what the held polls changed, in one frame."""
        held, self._frames_held = self._frames_held, None
        if held is None:
            return
        held.stop()
        self._end_batch()
        if self._screen_stack:  # (none once the console is on its way out)
            self.screen.check_idle()  # the screen resumes its updates when idle

    async def on_event(self, event: events.Event) -> None:
        # A key, a click or a resize is answered at once, held frames or not.
        if self._frames_held is not None and isinstance(event, (events.InputEvent, events.Resize)):
            self._release_frames()
        await super().on_event(event)

    def apply_event(self, event: Event) -> None:
        """Apply an event to the state, then redraw what it touched (main thread)."""
        if isinstance(event, PollStarted):
            self.states[event.kind].started(event.at)
        elif isinstance(event, Polled):
            self._polled(event)
        elif isinstance(event, Derived):
            self._derived(event)
        self._update_alarms()

    def _polled(self, event: Polled) -> None:
        result = event.result
        state = self.states[result.kind]
        pane = self.pane(result.kind)
        prepared = event.prepared
        if result.snapshot is not None:
            try:
                record_trends(self.trends, result.snapshot)
            except Exception as exc:  # garbage figures must not stop the pane
                self.log.warning(f"trend of {result.kind.value}: {exc!r}")
        state.finished(
            result.snapshot,
            result.error,
            event.at,
            prepared,
            source=result.source,
            age=result.age,
        )
        try:
            pane.redraw(event.at)
        except Exception as exc:  # a snapshot the pane cannot draw: say so, keep going
            from console.fetching import describe_error

            state.finished(None, f"cannot show data: {describe_error(exc)}", event.at)
            pane.redraw(event.at)
        if result.kind is Kind.JOBS and isinstance(result.snapshot, JobsSnapshot):
            self.runs_pane.set_dags(dag_for_run(result.snapshot))
        self.watch_active_kind(self.active_kind)

    def _derived(self, event: Derived) -> None:
        state = self.states[event.kind]
        if event.error is not None:
            state.finished(None, event.error, self.clock())
            self.pane(event.kind).redraw(self.clock())
        table = event.table
        runs = Kind.RUNS in self._panes
        shown = self.runs_pane.table if runs else None
        # A runs table older than the one shown, which the transfers poll
        # derived with Rucio's new word meanwhile: its alarms are older too
        # (a newer table of the jobs' DAGs has the same word: they stand).
        older = (
            event.kind is Kind.RUNS
            and table is not None
            and shown is not None
            and not table.newer_than(shown)
            and shown.evidence is not table.evidence
        )
        if event.alarms is not None and event.snapshot is state.snapshot and not older:
            self.book.set_content(event.kind, event.alarms)
        if table is not None and runs:
            self.runs_pane.set_table(table)
        if event.then is not None:
            self._derived(event.then)

    @property
    def _evidence(self) -> Evidence | None:
        """Rucio's word the runs' facts were last derived with (None: the runs as they are)."""
        table = self.runs_pane.table if Kind.RUNS in self._panes else None
        if table is None:
            return Evidence(None) if self.config.policy.rucio_check else None
        return table.evidence

    def _tick(self) -> None:
        """Every second: ages and STALE marks move on even without new data."""
        now = self.clock()
        for pane in self._panes.values():
            pane.update_status(now)
        self._update_alarms()

    def _update_alarms(self) -> None:
        ring = self.book.update(self.states, self.clock())
        self._diagnose()
        self._alarms_strip.show(self.book.alarms, self.book.is_acked, self.causes)
        if ring:
            self.bell()  # once per new critical occurrence

    def _diagnose(self) -> None:
        """Diagnose again when the alarms or a snapshot changed: in a thread
        (the rules may read every run), the strip redrawn when it is done."""
        alarms = list(self.book.alarms)
        snapshots: dict[Kind, Snapshot | None] = {k: s.snapshot for k, s in self.states.items()}
        of = (tuple((a.key, a.severity) for a in alarms), *snapshots.values())
        last = self._diagnosis_of
        if (
            last is not None
            and len(last) == len(of)
            and of[0] == last[0]
            and all(a is b for a, b in zip(of[1:], last[1:], strict=True))
        ):
            return
        self._diagnosis_of = of
        if not alarms:
            self.causes = []
            self._diagnosis_done = of
            return
        clock = self.clock()
        errors = {k: s.current_error(clock) for k, s in self.states.items()}
        table = self.runs_pane.table if Kind.RUNS in self._panes else None
        now = current_time(self.states, clock)
        job = partial(self._diagnosis, of, snapshots, errors, alarms, now, table)
        self.run_worker(job, thread=True, exclusive=True, group="diagnosis", exit_on_error=False)

    def _diagnosis(
        self,
        of: tuple[object, ...],
        snapshots: dict[Kind, Snapshot | None],
        errors: dict[Kind, str | None],
        alarms: list[Alarm],
        now: datetime,
        table: RunTable | None,
    ) -> None:
        limits, policy = self.config.thresholds, self.config.policy
        try:
            causes = diagnose(snapshots, errors, alarms, limits, now, policy, table)
        except Exception as exc:  # garbage no rule foresaw: the alarms stay symptoms
            self.log.warning(f"diagnosis: {exc!r}")
            causes = []
        with contextlib.suppress(RuntimeError):  # the app left meanwhile
            self.call_from_thread(self._diagnosed, of, causes)

    def _diagnosed(self, of: tuple[object, ...], causes: list[Cause]) -> None:
        if of is not self._diagnosis_of:
            return  # the alarms or the data moved on: a newer diagnosis is coming
        self.causes = causes
        self._diagnosis_done = of
        self._alarms_strip.show(self.book.alarms, self.book.is_acked, causes)

    @property
    def diagnosed(self) -> bool:
        """The causes shown are those of the alarms and data now (none in flight)."""
        return self._diagnosis_of is not None and self._diagnosis_done is self._diagnosis_of

    def is_acked(self, alarm: Alarm) -> bool:
        return self.book.is_acked(alarm)

    # ------------------------------------------------------------ actions

    def action_show_pane(self, kind_name: str) -> None:
        kind = Kind(kind_name)
        self.active_kind = kind
        pane = self.pane(kind)
        # The table Enter and `s` work on (the DAGs, not the sites, in the
        # jobs pane), else the first thing that takes focus.
        target = None
        if pane.SORT_TABLE is not None:
            target = pane.query_one(f"#{pane.SORT_TABLE}")
        if target is None or not target.focusable:
            target = next((w for w in pane.query("*") if w.focusable), None)
        # At once, on the panes' screen: ``focus()`` would wait its turn, and
        # a screen pushed meanwhile (`:` opens the run) would come back to no
        # focus at all. A pane with nothing to focus takes it from the others:
        # their keys (`/`, Enter) must not act on a pane not shown.
        pane.screen.set_focus(target)

    def action_show_number(self, number: int) -> None:
        spec = next((s for s in self.specs if s.number == number), None)
        if spec is not None:
            self.action_show_pane(spec.kind.value)

    def action_cycle_pane(self, step: int) -> None:
        order = [spec.kind for spec in self.specs]
        index = order.index(self.active_kind)
        self.action_show_pane(order[(index + step) % len(order)].value)

    def action_zoom(self) -> None:
        """The current pane alone, full size; the alarms strip stays in view."""
        self.screen.set_class(not self.screen.has_class("-zoomed"), "-zoomed")

    def action_wide(self) -> None:
        """Every column of every table in full (they scroll sideways), or back."""
        self.wide = not self.wide
        for pane in self._panes.values():
            pane.set_wide(self.wide)
        self.notify(
            "Wide: every column (scroll sideways)" if self.wide else "Columns that fit",
            timeout=2,
        )

    def action_refresh_all(self) -> None:
        if self.poller is None:
            self.notify("Replaying a recording: nothing to poll", timeout=2)
            return
        self.poller.poll_now()
        self.notify("Polling every source now", timeout=2)

    def action_alarms(self) -> None:
        from console.screens.alarms import AlarmsScreen

        self.push_screen(
            AlarmsScreen(
                lambda: self.book.alarms,
                lambda: list(self.book.recent),
                self.acks,
                lambda: self.causes,
            )
        )

    def action_help(self) -> None:
        # Imported when first asked for: the Markdown widget costs ~80 ms of
        # start-up that a shifter should not wait for.
        from console.screens.help import HelpScreen

        notes = ""
        if self.replay is not None and self.replay.driver.recording.damage:
            damage = strip_controls(self.replay.driver.recording.damage)
            notes = f"## This recording\n\nIt is damaged; it plays up to the damage: {damage}"
        self.push_screen(HelpScreen(self.specs, notes))

    def action_goto_run(self) -> None:
        def go(number: int | None) -> None:
            if number is None:
                return
            self.action_show_pane(Kind.RUNS.value)
            self.runs_pane.jump_to_run(number)
            self.open_run(number)

        from console.screens.run_details import GoToRunScreen

        self.push_screen(GoToRunScreen(), go)

    def open_run(self, number: int) -> None:
        """The drill-down screen of one run, from every source that knows it."""
        from backends.analysis.drilldown import detail_from_snapshots
        from console.screens.run_details import RunDetailsScreen

        snapshots = {kind: state.snapshot for kind, state in self.states.items()}
        now = current_time(self.states, self.clock())
        local = detail_from_snapshots(number, snapshots, now)
        run_name = local.run.name if local.run is not None else None
        backends = self.sources.instances() if self.sources is not None else {}
        fetchers: list[tuple[str, Callable[[int], RunDetail]]] = [
            (name, partial(backend.fetch_run_detail, run_name=run_name))
            for name, backend in backends.items()
            if isinstance(backend, RunDetailSource)
        ]
        if local.run is None and not fetchers:
            self.notify(f"Run {number} is not known to any source", severity="warning")
            return
        transfers = snapshots.get(Kind.TRANSFERS)
        unavailable = frozenset(r.name for r in getattr(transfers, "rses", ()) if not r.available)
        overdue_before = now - timedelta(hours=self.config.thresholds.unsafe_after_hours)
        self.push_screen(
            RunDetailsScreen(
                local,
                fetchers,
                overdue_before=overdue_before,
                unavailable_rses=unavailable,
                policy=self.config.policy,
                evidence=self._evidence,
            )
        )

    @on(events.DescendantFocus)
    def _pane_focused(self, event: events.DescendantFocus) -> None:
        node: DOMNode | None = event.widget
        while node is not None and not isinstance(node, SourcePane):
            node = node.parent
        if isinstance(node, SourcePane) and node.KIND is not self.active_kind:
            self.active_kind = node.KIND

    @on(SourcePane.RunRequested)
    def _run_requested(self, event: SourcePane.RunRequested) -> None:
        self.open_run(event.run_number)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for spec in self.specs:
            yield SystemCommand(
                f"Show {spec.title}",
                f"Key {spec.number}",
                partial(self.action_show_pane, spec.kind.value),
            )
        yield SystemCommand(
            "Refresh all sources", "Poll every source now (r)", self.action_refresh_all
        )
        yield SystemCommand(
            "Zoom current pane", "Toggle full screen for the pane (z)", self.action_zoom
        )
        yield SystemCommand(
            "Wide tables", "Every column in full, scrolling sideways (w)", self.action_wide
        )
        yield SystemCommand("Filter runs", "Filter the runs table (/)", self._filter_runs)
        yield SystemCommand("Go to run", "Jump to a run by number (:)", self.action_goto_run)
        yield SystemCommand(
            "Alarms", "Active and recent alarms; acknowledge (a)", self.action_alarms
        )
        yield SystemCommand("Help", "Keys and panes (?)", self.action_help)

    def _filter_runs(self) -> None:
        self.action_show_pane(Kind.RUNS.value)
        self.runs_pane.action_filter()

    def action_filter(self) -> None:
        """`/`: the filter box of the pane shown."""
        self.pane(self.active_kind).action_filter()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in REPLAY_ACTIONS:
            return self.replay is not None
        if action in ("filter", "goto_run"):
            # On the panes only, and never while typing: in a text box the
            # key is a character.
            if self.screen is not self.screen_stack[0] or isinstance(self.focused, Input):
                return False
            return action == "goto_run" or self.pane(self.active_kind).FILTERABLE
        if action in ("show_number", "cycle_pane") and self.screen is not self.screen_stack[0]:
            # Over the panes (the alarms, a run, a form) Tab moves the focus
            # and a digit is the screen's: no pane switches unseen beneath.
            return False
        if action == "show_number":
            if isinstance(self.focused, Input):
                return False
            return any(spec.number == parameters[0] for spec in self.specs)
        return True

    # ---------------------------------------------------- terminal, exit

    def _terminal_gone(self) -> None:
        """The SSH session dropped: leave (see console/watchdog.py), once."""
        if self._leaving:
            return
        self._leaving = True
        self.log.warning("terminal gone: exiting")
        if self.recorder is not None:
            self.recorder.close()  # before anything can block on the terminal
        self.exit(0)
        leave_soon()

    def on_unmount(self) -> None:
        if self.poller is not None:
            self.poller.stop()
        if self.sources is not None:
            self.sources.close()
        if self.recorder is not None:
            self.recorder.close()

    # ------------------------------------------------------------- replay

    def _replay_tick(self) -> None:
        assert self.replay is not None
        self.replay.advance(0.1)
        self._refresh_replay_bar()

    def _refresh_replay_bar(self) -> None:
        if self._replay_bar is not None:
            self._replay_bar.refresh_bar()

    def action_replay_toggle(self) -> None:
        assert self.replay is not None
        self.replay.driver.toggle()
        self._refresh_replay_bar()

    def action_replay_step(self) -> None:
        assert self.replay is not None
        self.replay.step()
        self._refresh_replay_bar()

    async def action_replay_seek(self, seconds: float) -> None:
        """Jump in the recording: every pane shows what it showed at that time.

        Everything known is forgotten first, so seeking back never leaves data
        from the future on screen; then the controller feeds what was known at
        the new position.
        """
        assert self.replay is not None
        self.trends = Trends(self.trends.window)
        self.book.clear()
        for kind, state in self.states.items():
            state.reset()
            pane = self._panes[kind]
            pane.trends = self.trends
            await pane.reset()
        self.replay.seek(seconds)
        for frame in self.replay.frames_before():
            if frame.snapshot is not None:
                try:
                    record_trends(self.trends, frame.snapshot)
                except Exception:  # a recording's garbage figures: no trend point
                    continue
        self.replay.feed_position()
        self._update_alarms()
        self._refresh_replay_bar()

    def action_replay_speed(self, factor: float) -> None:
        assert self.replay is not None
        if factor > 1:
            self.replay.driver.faster()
        else:
            self.replay.driver.slower()
        self._refresh_replay_bar()


def _grid_place(spec: PaneSpec) -> tuple[int, int]:
    """Where a pane goes in the wide grid: the built-ins' places, then the others."""
    if spec.kind in GRID_ORDER:
        return (GRID_ORDER.index(spec.kind), 0)
    return (len(GRID_ORDER), spec.number)


def run_app(config: Config, sources: Backends | None = None, *, record: Path | None = None) -> int:
    """Start the TUI (recording every snapshot to ``record`` if given)."""
    if sources is None:
        sources = Backends(config)
    recorder = None
    if record is not None:
        from console.recording import RecordingWriter

        try:
            recorder = RecordingWriter(record, meta=recording_meta(config))
        except OSError as exc:
            sources.close()
            raise ConfigError(f"--record {record}: {exc.strerror or exc}") from None
    acks = ack_store_for(config, lambda: AckStore(default_ack_path()))
    app = XenonConsole(config, sources, watchdog=True, recorder=recorder, acks=acks)

    def tell(message: str) -> None:
        with contextlib.suppress(Exception):  # the app has stopped meanwhile
            app.call_from_thread(app.notify, message, severity="error", timeout=15)

    acks.on_error = tell
    try:
        result = app.run()
    finally:
        acks.close()
    # A crash (Textual printed its traceback) is not a clean exit: 1, as
    # Textual's return code says, for the shell and a supervisor.
    return int(result or 0) or (app.return_code or 0)


def replay_app(
    config: Config, recording: Recording, *, speed: float = 1.0, paused: bool = False
) -> int:
    """Play a recording back in the same screens."""
    from console.replay import ReplayDriver

    driver = ReplayDriver(recording, speed, paused=paused)
    # Acknowledgements made while replaying stay in memory: a replay must not
    # touch the live console's state file.
    app = XenonConsole(config, None, watchdog=True, replay=driver, acks=AckStore(None))
    app.sub_title = f"REPLAY {recording.meta.get('title', '')}".strip()
    result = app.run()
    return int(result or 0)


def recording_meta(config: Config) -> dict[str, object]:
    """What a recording says about where it came from (no secrets: names only)."""
    panes = {kind.value: name for kind, name in config.panes.items()}
    scenarios = {
        name: spec.options.get("scenario")
        for name, spec in config.backends.items()
        if spec.type == "simulator"
    }
    return {
        "title": "xenon-console session",
        "panes": panes,
        "scenarios": scenarios,
        "started": datetime.now(UTC).isoformat(),
    }

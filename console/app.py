"""The Textual app: five panes, an alarms strip, one poller per source.

Each source is fetched in its own thread worker. When a fetch returns, its
result is posted to the main thread, the pane is redrawn and the next poll
is scheduled, so polls of one source never overlap (a tick that comes while
one is running is dropped) and a slow source never holds up another. A
failing source backs off: its interval doubles with each failure, up to two
minutes, and returns to normal on the first success.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from rich.text import Text
from textual import events, on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Container
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Header, Static

from backends.analysis.alarms import (
    Alarm,
    Severity,
    content_alarms,
    data_time,
    sort_alarms,
    source_alarm,
)
from backends.analysis.drilldown import detail_from_snapshots
from backends.analysis.jobs import dag_for_run
from backends.analysis.safety import count_malformed
from backends.model import JobsSnapshot, Kind, RunsSnapshot, Snapshot
from backends.sources import RunDetailSource
from console.acks import AckStore
from console.acks import default_path as default_ack_path
from console.collect import Result, Sources, describe_error, fetch_one
from console.config import Config, ConfigError
from console.panes.base import SourcePane
from console.panes.buffer import BufferPane
from console.panes.jobs import JobsPane
from console.panes.runs import RunsPane
from console.panes.tape import TapePane
from console.panes.transfers import TransfersPane
from console.recording import Frame, Recording, RecordingWriter
from console.replay import ReplayDriver
from console.screens.alarms import AlarmsScreen
from console.screens.run_details import GoToRunScreen, RunDetailsScreen
from console.trends import Trends
from console.watchdog import TerminalWatch
from console.widgets.alarms_strip import AlarmsStrip
from console.widgets.replay_bar import ReplayBar

REPLAY_ACTIONS = frozenset({"replay_toggle", "replay_step", "replay_seek", "replay_speed"})

#: The panes in the order of their number keys.
PANE_ORDER: tuple[Kind, ...] = (Kind.BUFFER, Kind.TRANSFERS, Kind.TAPE, Kind.JOBS, Kind.RUNS)
PANE_CLASSES: dict[Kind, type[SourcePane]] = {
    Kind.BUFFER: BufferPane,
    Kind.TRANSFERS: TransfersPane,
    Kind.TAPE: TapePane,
    Kind.JOBS: JobsPane,
    Kind.RUNS: RunsPane,
}
#: Below this size one pane is shown at a time, chosen with 1-5 or Tab.
WIDE_MIN_WIDTH = 120
WIDE_MIN_HEIGHT = 36
MAX_BACKOFF = 120.0


class SourceResult(Message):
    """A poll finished (posted from the worker thread)."""

    def __init__(
        self,
        result: Result,
        received_at: float,
        shown: threading.Event | None = None,
        prepared: object | None = None,
    ) -> None:
        super().__init__()
        self.result = result
        self.received_at = received_at
        #: Set once the result is on screen (the worker waits for it).
        self.shown = shown
        #: The pane's figures computed in the worker (SourcePane.prepare).
        self.prepared = prepared


class PollDone(Message):
    """The alarms derived from a poll's snapshot are ready (from the worker)."""

    def __init__(
        self,
        kind: Kind,
        snapshot: Snapshot | None,
        alarms: list[Alarm] | None,
        malformed: int,
        schedule: bool = True,
    ) -> None:
        super().__init__()
        self.kind = kind
        self.snapshot = snapshot
        self.alarms = alarms
        self.malformed = malformed
        #: Whether to schedule the next poll (not when replaying).
        self.schedule = schedule


class PaneBar(Static):
    """The pane selector shown when only one pane fits."""


class XenonConsole(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "xenon-console"

    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help"),
        Binding("1", "show_pane('buffer')", "Buffer", show=False),
        Binding("2", "show_pane('transfers')", "Transfers", show=False),
        Binding("3", "show_pane('tape')", "Tape", show=False),
        Binding("4", "show_pane('jobs')", "Jobs", show=False),
        Binding("5", "show_pane('runs')", "Runs", show=False),
        Binding("tab", "cycle_pane(1)", "Next pane", priority=True),
        Binding("shift+tab", "cycle_pane(-1)", "Previous pane", show=False, priority=True),
        Binding("z", "zoom", "Zoom"),
        Binding("r", "refresh_all", "Refresh"),
        Binding("colon", "goto_run", "Go to run"),
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
        sources: Sources | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        watchdog: bool = False,
        acks: AckStore | None = None,
        recorder: RecordingWriter | None = None,
        replay: ReplayDriver | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.sources = sources
        self.recorder = recorder
        self.replay = replay
        self._replay_bar = ReplayBar(replay, id="replay-bar") if replay is not None else None
        self._record_t0 = clock()
        if replay is not None:
            # Ages and STALE marks read in the recording's time.
            clock = lambda: replay.position  # noqa: E731
        self.clock = clock
        self.watchdog = watchdog
        self.alarms: list[Alarm] = []
        self._in_flight: set[Kind] = set()
        self._failures: dict[Kind, int] = dict.fromkeys(Kind, 0)
        self._poll_timers: dict[Kind, Timer] = {}
        self._critical_seen: set[str] = set()
        self.acks = acks if acks is not None else AckStore(default_ack_path())
        self.trends = Trends(timedelta(hours=config.trend_hours))
        #: Alarms that cleared in this session, newest first, with when.
        self.recent_alarms: deque[tuple[Alarm, datetime]] = deque(maxlen=100)
        self._panes: dict[Kind, SourcePane] = {}
        self._content_alarms: dict[Kind, list[Alarm]] = {}
        self._alarms_strip = AlarmsStrip(id="alarms")
        self._pane_bar = PaneBar(id="pane-bar")
        scenario = self._scenario_label()
        self.sub_title = scenario

    def _scenario_label(self) -> str:
        if self.replay is not None or self.sources is None:
            return "replay"
        names = {self.sources.backend_name(kind) for kind in Kind}
        parts = []
        for name in sorted(names):
            spec = self.config.backends.get(name)
            if spec is not None and spec.type == "simulator":
                scenario = spec.options.get("scenario", "nominal")
                parts.append(f"{name}: {scenario}")
            else:
                parts.append(name)
        return " · ".join(parts)

    # ------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="◆")
        yield self._alarms_strip
        if self._replay_bar is not None:
            yield self._replay_bar
        yield self._pane_bar
        with Container(id="panes"):
            for kind in (Kind.BUFFER, Kind.TAPE, Kind.TRANSFERS, Kind.JOBS, Kind.RUNS):
                pane = PANE_CLASSES[kind](interval=self.config.intervals[kind])
                pane.timeout = self.config.timeouts[kind]
                if self.sources is not None:
                    pane.source_name = self.sources.backend_name(kind)
                pane.trends = self.trends
                pane.thresholds = self.config.thresholds
                pane.policy = self.config.policy
                self._panes[kind] = pane
                yield pane
        yield Footer()

    def pane(self, kind: Kind) -> SourcePane:
        """The pane of a kind, wherever the user is (queries see only the top screen)."""
        return self._panes[kind]

    @property
    def runs_pane(self) -> RunsPane:
        pane = self._panes[Kind.RUNS]
        assert isinstance(pane, RunsPane)
        return pane

    def on_mount(self) -> None:
        self._alarms_strip.show([])
        self._layout_for(self.size.width, self.size.height)
        self.action_show_pane(Kind.BUFFER.value)
        self.watch_active_kind(Kind.BUFFER)
        if self.replay is None:
            for kind in Kind:
                self._poll(kind)
        else:
            self._start_replay()
        self.set_interval(1.0, self._tick)
        if self.watchdog:
            self._install_watchdog()
        if self.acks.load_error:
            self.notify(self.acks.load_error, severity="warning", timeout=15)

    def on_resize(self) -> None:
        self._layout_for(self.size.width, self.size.height)

    def _layout_for(self, width: int, height: int) -> None:
        narrow = width < WIDE_MIN_WIDTH or height < WIDE_MIN_HEIGHT
        self.screen.set_class(narrow, "-narrow")

    def watch_active_kind(self, kind: Kind) -> None:
        for other in Kind:
            self.pane(other).set_class(other is kind, "-active")
        bar = self._pane_bar
        text = Text(no_wrap=True)
        for number, pane_kind in enumerate(PANE_ORDER, start=1):
            label = f" {number} {PANE_CLASSES[pane_kind].TITLE.split(' (')[0]} "
            stale = self.pane(pane_kind).has_class("-stale")
            style = "reverse bold" if pane_kind is kind else ("red" if stale else "")
            text.append(label, style=style)
            text.append(" ")
        bar.update(text)

    # ------------------------------------------------------------ polling

    def _poll(self, kind: Kind) -> None:
        if kind in self._in_flight:
            return  # a fetch is still running: drop this tick
        self._in_flight.add(kind)
        self.pane(kind).waiting_since = self.clock()
        self._fetch(kind)

    @work(thread=True, exit_on_error=False, group="poll")
    def _fetch(self, kind: Kind) -> None:
        """In a worker thread: fetch, show it, then derive its alarms.

        The snapshot goes to the pane first so it appears at once; the
        alarms over it (for the runs, a verdict on every run) are computed
        here, off the main thread, and follow in a second message.
        """
        assert self.sources is not None
        result = fetch_one(self.sources, kind)
        prepared = None
        if result.snapshot is not None:
            try:
                prepared = PANE_CLASSES[kind].prepare(result.snapshot)
            except Exception as exc:  # the pane will try again and say what is wrong
                self.log.warning(f"preparing {kind.value}: {describe_error(exc)}")
        shown = threading.Event()
        self.post_message(SourceResult(result, self.clock(), shown, prepared))
        # Let the main thread draw the new data before the heavy part starts:
        # both need the GIL, and the screen comes first.
        shown.wait(timeout=2.0)
        self._derive_and_report(result)
        if self.recorder is not None:
            try:
                self.recorder.write(result, self.clock() - self._record_t0)
            except Exception as exc:  # a full disk must not stop the console
                self.recorder = None
                self.call_from_thread(
                    self.notify, f"recording stopped: {describe_error(exc)}", severity="error"
                )

    def _derive_and_report(self, result: Result, *, schedule: bool = True) -> None:
        """The alarms of a result's snapshot (worker thread), posted as PollDone."""
        derived: list[Alarm] | None = None
        malformed = 0
        if result.snapshot is not None:
            try:
                policy = self.config.policy
                derived = content_alarms(
                    result.snapshot, self.config.thresholds, result.snapshot.taken_at, policy
                )
                if isinstance(result.snapshot, RunsSnapshot):
                    malformed = count_malformed(result.snapshot.runs, policy)
            except Exception as exc:  # garbage from a backend must not kill the poller
                derived = []
                bad = Result(
                    result.kind, result.source, None, f"bad data: {describe_error(exc)}", 0
                )
                self.post_message(SourceResult(bad, self.clock()))
        self.post_message(PollDone(result.kind, result.snapshot, derived, malformed, schedule))

    @on(SourceResult)
    def _on_result(self, message: SourceResult) -> None:
        result = message.result
        pane = self.pane(result.kind)
        if result.snapshot is not None:
            try:
                self.trends.record(result.snapshot)
            except Exception as exc:  # garbage figures must not stop the pane
                self.log.warning(f"trend of {result.kind.value}: {describe_error(exc)}")
        try:
            pane.accept(
                result.source, result.snapshot, result.error, message.received_at, message.prepared
            )
        except Exception as exc:  # a snapshot the pane cannot draw: say so, keep going
            pane.accept(
                result.source, None, f"cannot show data: {describe_error(exc)}", message.received_at
            )
        if result.kind is Kind.JOBS and isinstance(result.snapshot, JobsSnapshot):
            self.runs_pane.set_dags(dag_for_run(result.snapshot))
        self._update_alarms()
        self.watch_active_kind(self.active_kind)
        if message.shown is not None:
            self.call_after_refresh(message.shown.set)

    @on(PollDone)
    def _on_poll_done(self, message: PollDone) -> None:
        kind = message.kind
        self._in_flight.discard(kind)
        pane = self.pane(kind)
        if message.alarms is not None and message.snapshot is pane.snapshot:
            self._content_alarms[kind] = message.alarms
            if kind is Kind.RUNS:
                self.runs_pane.set_malformed(message.malformed)
        if not message.schedule:
            self._update_alarms()
            return
        if pane.error is None:
            self._failures[kind] = 0
            delay = self.config.intervals[kind]
        else:
            self._failures[kind] += 1
            delay = min(MAX_BACKOFF, self.config.intervals[kind] * 2 ** (self._failures[kind] - 1))
        self._poll_timers[kind] = self.set_timer(delay, partial(self._poll, kind))
        self._update_alarms()

    def _tick(self) -> None:
        """Every second: ages and STALE marks move on even without new data."""
        now = self.clock()
        for kind in Kind:
            self.pane(kind).update_status(now)
        self._update_alarms()

    def _errors(self) -> dict[Kind, str | None]:
        now = self.clock()
        errors: dict[Kind, str | None] = {}
        for kind in Kind:
            pane = self.pane(kind)
            error = pane.error
            if error is None and pane.timed_out(now):
                assert pane.waiting_since is not None
                error = f"no answer for {now - pane.waiting_since:.0f} s"
            errors[kind] = error
        return errors

    def _update_alarms(self) -> None:
        """Cached alarms of each pane's data plus the health of each source."""
        snapshots = {kind: self.pane(kind).snapshot for kind in Kind}
        now = data_time(snapshots.values())
        errors = self._errors()
        alarms = [a for kind_alarms in self._content_alarms.values() for a in kind_alarms]
        for kind in Kind:
            alarm = source_alarm(kind, snapshots[kind], errors[kind], now, None)
            if alarm is not None:
                alarms.append(alarm)
        alarms = sort_alarms(alarms)
        # Occurrences open and close only once every source has spoken, so a
        # restart does not close (and forget) what is merely not polled yet.
        if all(self.pane(k).snapshot is not None or self.pane(k).error for k in Kind) and all(
            k in self._content_alarms or self.pane(k).snapshot is None for k in Kind
        ):
            self.acks.observe(alarms, now)
        if alarms != self.alarms:
            keys = {a.key for a in alarms}
            for old in self.alarms:
                if old.key not in keys:
                    self.recent_alarms.appendleft((old, now))
            self.alarms = alarms
        self._alarms_strip.show(alarms, self.is_acked)
        critical = {
            self.acks.occurrence(a)
            for a in alarms
            if a.severity is Severity.CRITICAL and not self.is_acked(a)
        }
        if critical - self._critical_seen and self.config.bell_on_critical:
            self.bell()  # once per new critical occurrence
        self._critical_seen = critical

    def is_acked(self, alarm: Alarm) -> bool:
        return self.acks.ack_for(alarm) is not None

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
        (target or pane).focus()

    def action_cycle_pane(self, step: int) -> None:
        index = PANE_ORDER.index(self.active_kind)
        self.action_show_pane(PANE_ORDER[(index + step) % len(PANE_ORDER)].value)

    def action_zoom(self) -> None:
        """The current pane alone, full size; the alarms strip stays in view."""
        zoomed = not self.screen.has_class("-zoomed")
        self.screen.set_class(zoomed, "-zoomed")

    def action_refresh_all(self) -> None:
        if self.replay is not None:
            self.notify("Replaying a recording: nothing to poll", timeout=2)
            return
        for kind in Kind:
            timer = self._poll_timers.pop(kind, None)
            if timer is not None:
                timer.stop()
            self._poll(kind)
        self.notify("Polling every source now", timeout=2)

    def action_alarms(self) -> None:
        self.push_screen(
            AlarmsScreen(lambda: self.alarms, lambda: list(self.recent_alarms), self.acks)
        )

    def action_help(self) -> None:
        # Imported when first asked for: the Markdown widget costs ~80 ms of
        # start-up that a shifter should not wait for.
        from console.screens.help import HelpScreen

        self.push_screen(HelpScreen())

    def action_goto_run(self) -> None:
        def go(number: int | None) -> None:
            if number is None:
                return
            self.action_show_pane(Kind.RUNS.value)
            self.runs_pane.jump_to_run(number)
            self.open_run(number)

        self.push_screen(GoToRunScreen(), go)

    def open_run(self, number: int) -> None:
        """The drill-down screen of one run, from every source that knows it."""
        snapshots = {kind: self.pane(kind).snapshot for kind in Kind}
        now = data_time(snapshots.values())
        local = detail_from_snapshots(number, snapshots, now)
        run_name = local.run.name if local.run is not None else None
        fetchers = [
            (name, _detail_fetcher(backend, run_name))
            for name, backend in (self.sources.instances() if self.sources else {}).items()
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
            )
        )

    @on(events.DescendantFocus)
    def _pane_focused(self, event: events.DescendantFocus) -> None:
        node = event.widget
        while node is not None and not isinstance(node, SourcePane):
            node = node.parent
        if isinstance(node, SourcePane) and node.KIND is not self.active_kind:
            self.active_kind = node.KIND

    @on(SourcePane.RunRequested)
    def _run_requested(self, event: SourcePane.RunRequested) -> None:
        self.open_run(event.run_number)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for number, kind in enumerate(PANE_ORDER, start=1):
            title = PANE_CLASSES[kind].TITLE
            yield SystemCommand(
                f"Show {title}", f"Key {number}", partial(self.action_show_pane, kind.value)
            )
        yield SystemCommand(
            "Refresh all sources", "Poll every source now (r)", self.action_refresh_all
        )
        yield SystemCommand(
            "Zoom current pane", "Toggle full screen for the pane (z)", self.action_zoom
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

    # ----------------------------------------------------------- watchdog

    def _install_watchdog(self) -> None:
        """Exit when the terminal is gone (see console/watchdog.py)."""
        try:
            watch = TerminalWatch(sys.__stdin__.fileno())
        except (AttributeError, ValueError, OSError):
            return  # no stdin to watch
        watch.install_sighup()

        def check() -> None:
            if watch.terminal_gone():
                self.log.warning("terminal gone: exiting")
                if self.recorder is not None:
                    self.recorder.close()  # before anything can block on the terminal
                self.exit(0)
                # Leaving cleanly means writing to the terminal, which may
                # block or fail once it is gone: do not wait long for it.
                deadline = threading.Timer(3.0, os._exit, args=(0,))
                deadline.daemon = True
                deadline.start()

        self.set_interval(1.0, check)

    def on_unmount(self) -> None:
        if self.sources is not None:
            self.sources.close()
        if self.recorder is not None:
            self.recorder.close()

    # ------------------------------------------------------------- replay

    def _start_replay(self) -> None:
        assert self.replay is not None
        damage = self.replay.recording.damage
        if damage:
            self.notify(f"Replaying up to the damage: {damage}", severity="warning", timeout=20)
        for frame in self.replay.advance(0.0):
            self._apply_frame(frame)
        self.set_interval(0.1, self._replay_tick)

    def _replay_tick(self) -> None:
        assert self.replay is not None
        for frame in self.replay.advance(0.1):
            self._apply_frame(frame)
        self._refresh_replay_bar()

    def _refresh_replay_bar(self) -> None:
        if self._replay_bar is not None:
            self._replay_bar.refresh_bar()

    def _apply_frame(self, frame: Frame) -> None:
        """Show a recorded poll as if it had just come in."""
        result = Result(frame.kind, frame.source, frame.snapshot, frame.error, 0.0)
        self._on_result(SourceResult(result, frame.t))
        self._derive_replayed(result)

    @work(thread=True, exit_on_error=False, group="replay")
    def _derive_replayed(self, result: Result) -> None:
        self._derive_and_report(result, schedule=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in REPLAY_ACTIONS:
            return self.replay is not None
        return True

    def action_replay_toggle(self) -> None:
        assert self.replay is not None
        self.replay.toggle()
        self._refresh_replay_bar()

    def action_replay_step(self) -> None:
        assert self.replay is not None
        for frame in self.replay.step():
            self._apply_frame(frame)
        self._refresh_replay_bar()

    async def action_replay_seek(self, seconds: float) -> None:
        """Jump in the recording: every pane shows what it showed at that time.

        Panes are emptied first, so seeking back never leaves data from the
        future on screen; then each gets its last good snapshot before the
        new position, and its last error if a failed poll came after it.
        """
        assert self.replay is not None
        driver = self.replay
        latest = driver.seek(driver.position + seconds)
        good = driver.recording.state_at(driver.position, with_snapshot=True)
        self.trends = Trends(self.trends.window)
        self._content_alarms.clear()
        self.recent_alarms.clear()
        self.alarms = []
        for pane in self._panes.values():
            pane.trends = self.trends
            await pane.reset()
        for frame in driver.frames_until(driver.position):
            if frame.snapshot is not None:
                with contextlib.suppress(Exception):
                    self.trends.record(frame.snapshot)
        for kind, frame in good.items():
            result = Result(kind, frame.source, frame.snapshot, None, 0.0)
            self._on_result(SourceResult(result, frame.t))
            self._derive_replayed(result)
        for kind, frame in latest.items():
            if frame.error is not None:
                failed = Result(kind, frame.source, None, frame.error, 0.0)
                self._on_result(SourceResult(failed, frame.t))
        self._update_alarms()
        self._refresh_replay_bar()

    def action_replay_speed(self, factor: float) -> None:
        assert self.replay is not None
        if factor > 1:
            self.replay.faster()
        else:
            self.replay.slower()
        self._refresh_replay_bar()


def _detail_fetcher(backend: RunDetailSource, run_name: str | None) -> Callable[[int], object]:
    """The backend's fetch_run_detail, given the run's name where it takes one
    (Rucio finds XENON1T runs by name: its scopes carry no number)."""
    fetch = backend.fetch_run_detail
    try:
        takes_name = "run_name" in inspect.signature(fetch).parameters
    except (TypeError, ValueError):
        takes_name = False
    return partial(fetch, run_name=run_name) if takes_name and run_name else fetch


def run_app(config: Config, sources: Sources | None = None, *, record: Path | None = None) -> int:
    """Start the TUI (recording every snapshot to ``record`` if given)."""
    if sources is None:
        sources = Sources(config)
    recorder = None
    if record is not None:
        try:
            recorder = RecordingWriter(record, meta=recording_meta(config))
        except OSError as exc:
            sources.close()
            raise ConfigError(f"--record {record}: {exc.strerror or exc}") from None
    app = XenonConsole(config, sources, watchdog=True, recorder=recorder)
    result = app.run()
    return int(result or 0)


def replay_app(
    config: Config, recording: Recording, *, speed: float = 1.0, paused: bool = False
) -> int:
    """Play a recording back in the same screens."""
    driver = ReplayDriver(recording, speed, paused=paused)
    # Acknowledgements made while replaying stay in memory: a replay must not
    # touch the live console's state file.
    app = XenonConsole(config, None, watchdog=True, replay=driver, acks=AckStore(None))
    app.sub_title = f"REPLAY {recording.meta.get('title', '')}".strip()
    result = app.run()
    return int(result or 0)


def recording_meta(config: Config) -> dict[str, object]:
    """What a recording says about where it came from (no secrets: names only)."""
    panes = {kind.value: config.panes[kind] for kind in Kind}
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

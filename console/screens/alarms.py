"""The alarms screen: active and recent alarms, with acknowledgements.

Acknowledging an alarm (with a note) keeps it listed but quiet: it leaves the
alarms strip's counts and rings no bell. The note and the acknowledgement
survive a restart (see console/acks.py).

The causes the diagnosis names come first, each with the alarms it explains
folded under it (``└``); acknowledging a cause acknowledges those alarms with
one note. An alarm no cause explains is listed on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Static

from backends.analysis.alarms import Alarm, Severity
from backends.analysis.diagnosis import Cause, explained_by, headlines, severity_of
from console.acks import AckStore
from console.format import format_time
from console.safe_text import strip_controls
from console.widgets.alarms_strip import severity_badge
from console.widgets.tables import sync_rows


class NoteScreen(ModalScreen[str | None]):
    """Asks for the acknowledgement's note."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]
    DEFAULT_CSS = """
    NoteScreen { align: center middle; }
    NoteScreen > Vertical { width: 80; height: auto; border: round $accent;
                            background: $surface; padding: 0 1; }
    """

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text.assemble(("Acknowledge: ", "bold"), strip_controls(self.title_text)))
            yield Input(placeholder="note (who is on it, ticket, why) — Enter to acknowledge")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)


class AlarmsScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q", "dismiss", "Close"),
        Binding("a", "acknowledge", "Acknowledge"),
        Binding("u", "unacknowledge", "Un-acknowledge"),
    ]

    DEFAULT_CSS = """
    AlarmsScreen { align: center middle; }
    AlarmsScreen > Vertical {
        width: 96%; max-width: 170; height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    AlarmsScreen DataTable { height: 1fr; }
    AlarmsScreen #alarm-detail { height: auto; max-height: 12; margin-top: 1; }
    """

    def __init__(
        self,
        active: Callable[[], Sequence[Alarm]],
        recent: Callable[[], Sequence[tuple[Alarm, datetime]]],
        store: AckStore,
        causes: Callable[[], Sequence[Cause]] = lambda: (),
    ) -> None:
        super().__init__()
        self._active = active
        self._recent = recent
        self._causes = causes
        self.store = store
        self._rows: dict[str, Alarm] = {}
        #: The cause rows, by row key; the alarm rows are in ``_rows``.
        self._cause_rows: dict[str, Cause] = {}
        self._table: DataTable = DataTable(id="alarms-table", cursor_type="row")
        self._table.add_columns("Severity", "Since (UTC)", "Alarm", "State", "Note / detail")
        self._detail = Static(id="alarm-detail")

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                Text("Alarms — a acknowledge · u un-acknowledge · Esc close", style="bold")
            )
            yield self._table
            yield self._detail

    def on_mount(self) -> None:
        self.refresh_rows()
        self.set_interval(1.0, self.refresh_rows)
        self._table.focus()

    def _alarm_row(
        self, key: str, alarm: Alarm, under: bool = False
    ) -> tuple[str, tuple[Text | str, ...]]:
        self._rows[key] = alarm
        ack = self.store.ack_for(alarm)
        badge = severity_badge(alarm.severity)
        if ack is not None:
            badge.stylize("dim")
        title = Text("  └ " if under else "", style="dim")
        title.append(strip_controls(alarm.title), style="dim" if ack else "bold")
        return (
            key,
            (
                badge,
                format_time(self.store.started(alarm)),
                title,
                Text("acknowledged", style="dim") if ack else Text("ACTIVE", style="bold red"),
                Text(strip_controls(ack.note or "(no note)"), style="dim")
                if ack
                else Text(strip_controls(alarm.detail)),
            ),
        )

    def _cause_row(self, cause: Cause, alarms: list[Alarm]) -> tuple[str, tuple[Text | str, ...]]:
        # Named by its title too: causes of one kind may explain the same
        # alarms (an eb-silent per silent event builder, all of eb.silent).
        key = f"cause:{cause.cause}:{cause.title}:{','.join(cause.explains)}"
        self._cause_rows[key] = cause
        loud = [a for a in alarms if self.store.ack_for(a) is None]
        badge = severity_badge(severity_of(cause, alarms))
        if alarms and not loud:
            badge.stylize("dim")
        title = Text("◆ ", style="bold")
        title.append(strip_controls(cause.title), style="bold" if loud or not alarms else "dim")
        state = f"cause of {len(alarms)}" if alarms else "cause"
        return (
            key,
            (
                badge,
                "",
                title,
                Text(state, style="bold" if loud else "dim"),
                Text(strip_controls(cause.consequence)),
            ),
        )

    def refresh_rows(self) -> None:
        rows = []
        self._rows = {}
        self._cause_rows = {}
        active = list(self._active())
        causes = list(self._causes())
        named = headlines(causes, active)
        for item in named:
            if isinstance(item, Cause):
                folded = explained_by(active, item)
                cause_row = self._cause_row(item, folded)
                rows.append(cause_row)
                for alarm in sorted(folded, key=lambda a: self.store.ack_for(a) is not None):
                    key = f"active:{cause_row[0]}:{self.store.occurrence(alarm)}"
                    rows.append(self._alarm_row(key, alarm, under=True))
        lone = [a for a in named if isinstance(a, Alarm)]
        for alarm in sorted(lone, key=lambda a: self.store.ack_for(a) is not None):
            rows.append(self._alarm_row(f"active:{self.store.occurrence(alarm)}", alarm))
        for alarm, cleared in self._recent():
            key = f"recent:{self.store.occurrence(alarm)}:{cleared.isoformat()}"
            self._rows[key] = alarm
            rows.append(
                (
                    key,
                    (
                        Text(f" {alarm.severity.name} ", style="dim"),
                        format_time(self.store.started(alarm)),
                        Text(strip_controls(alarm.title), style="dim"),
                        Text(f"cleared {format_time(cleared, zone=True)}", style="green"),
                        Text(strip_controls(alarm.detail), style="dim"),
                    ),
                )
            )
        sync_rows(self._table, rows)
        self._show_detail()

    def _selected_key(self) -> str | None:
        if not self._table.row_count:
            return None
        key = self._table.coordinate_to_cell_key(self._table.cursor_coordinate).row_key.value
        return key or None

    def _selected(self) -> tuple[str, Alarm] | None:
        key = self._selected_key()
        alarm = self._rows.get(key or "")
        return (key, alarm) if key and alarm else None

    def _selected_cause(self) -> Cause | None:
        return self._cause_rows.get(self._selected_key() or "")

    @on(DataTable.RowHighlighted)
    def _show_detail(self) -> None:
        cause = self._selected_cause()
        if cause is not None:
            text = Text()
            text.append(f"{cause.cause}: ", style="bold")
            text.append(strip_controls(cause.title) + "\n")
            for line in cause.evidence:
                text.append("  · " + strip_controls(line) + "\n", style="dim")
            text.append("If nothing is done: ", style="bold")
            text.append(strip_controls(cause.consequence) + "\n")
            text.append("What to do: ", style="bold")
            text.append(strip_controls(cause.action), style="italic")
            self._detail.update(text)
            return
        chosen = self._selected()
        if chosen is None:
            self._detail.update(Text("No alarms.", style="green"))
            return
        _key, alarm = chosen
        text = Text()
        text.append(f"{alarm.key}\n", style="dim")
        text.append(strip_controls(alarm.detail) + "\n")
        text.append("What to do: ", style="bold")
        text.append(strip_controls(alarm.hint or "-"), style="italic")
        ack = self.store.ack_for(alarm)
        if ack is not None:
            text.append(f"\nAcknowledged {format_time(ack.acked_at, zone=True)}: ", style="bold")
            text.append(strip_controls(ack.note or "(no note)"))
        self._detail.update(text)

    def action_acknowledge(self) -> None:
        cause = self._selected_cause()
        if cause is not None:
            folded = explained_by(list(self._active()), cause)
            loud = [a for a in folded if self.store.ack_for(a) is None]
            if not loud:
                self.notify("Nothing to acknowledge under this cause", severity="warning")
                return
            self._acknowledge(loud, cause.title)
            return
        chosen = self._selected()
        if chosen is None or not chosen[0].startswith("active:"):
            self.notify("Choose an active alarm to acknowledge", severity="warning")
            return
        alarm = chosen[1]
        if alarm.severity is not Severity.OK:
            self._acknowledge([alarm], alarm.title)

    def _acknowledge(self, alarms: list[Alarm], title: str) -> None:
        """Ask for one note, then acknowledge these alarms (a cause's: every
        one it explains that nobody acknowledged) with it."""

        def done(note: str | None) -> None:
            if note is None:
                return
            # The alarms as they are now: one may have grown while the note
            # was typed (7 rules stuck became 8), and an acknowledgement of
            # the 7 would be void at once; one that cleared is left out.
            now = {self.store.occurrence(a): a for a in self._active()}
            wanted = (self.store.occurrence(a) for a in alarms)
            current = [now[o] for o in wanted if o in now]
            if not current:
                self.notify(f"Cleared meanwhile, nothing acknowledged: {title}")
                return
            for alarm in current:
                self.store.acknowledge(alarm, note)
            self.refresh_rows()
            if self.store.save_error:
                self.notify(
                    f"Acknowledged in this console only, {self.store.save_error}",
                    severity="error",
                    timeout=15,
                )
            elif len(alarms) == 1:
                self.notify(f"Acknowledged: {current[0].title}")
            else:
                self.notify(f"Acknowledged {len(current)} alarms: {title}")

        self.app.push_screen(NoteScreen(title), done)

    def action_unacknowledge(self) -> None:
        cause = self._selected_cause()
        chosen = self._selected()
        if cause is not None:
            alarms = explained_by(list(self._active()), cause)
        elif chosen is not None:
            alarms = [chosen[1]]
        else:
            return
        for alarm in alarms:
            self.store.unacknowledge(alarm)
        self.refresh_rows()
        if self.store.save_error:
            self.notify(
                f"Withdrawn in this console only, {self.store.save_error}",
                severity="error",
                timeout=15,
            )

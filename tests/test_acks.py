"""Alarm acknowledgements: scoped to one occurrence, kept across restarts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends.analysis.alarms import Alarm, Severity
from backends.model import Kind
from console.acks import AckStore
from console.screens.alarms import AlarmsScreen, NoteScreen
from tests.screen import screen_lines, screen_text
from tests.simapp import simulator_app, wait_settled

T0 = datetime(2017, 11, 15, 12, 0, tzinfo=UTC)


def alarm(key: str = "tape.failures", since: datetime | None = T0) -> Alarm:
    return Alarm(
        key, Severity.CRITICAL, Kind.TAPE, "3 tape uploads failed", "detail", since, "hint"
    )


def test_ack_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "acks.json"
    store = AckStore(path)
    a = alarm()
    store.observe([a], T0)
    store.acknowledge(a, "  on it, ticket 42  ")
    again = AckStore(path)
    ack = again.ack_for(a)
    assert ack is not None and ack.note == "on it, ticket 42"
    assert again.load_error is None


def test_a_new_occurrence_is_not_hidden_by_an_old_ack(tmp_path: Path) -> None:
    store = AckStore(tmp_path / "acks.json")
    first = alarm(since=T0)
    store.acknowledge(first, "known")
    assert store.ack_for(first) is not None
    newer = alarm(since=T0 + timedelta(hours=3))  # a newer failure moved `since`
    assert store.ack_for(newer) is None
    assert store.ack_for(alarm(key="tape.checksum", since=T0)) is None  # other identity


def test_alarms_without_since_are_scoped_by_when_they_were_first_seen(tmp_path: Path) -> None:
    path = tmp_path / "acks.json"
    store = AckStore(path)
    a = alarm("buffer.uplink", since=None)
    store.observe([a], T0)
    store.acknowledge(a, "uplink work planned")
    store.observe([a], T0 + timedelta(minutes=5))  # still the same occurrence
    assert store.ack_for(a) is not None
    assert AckStore(path).ack_for(a) is not None  # and after a restart
    store.observe([], T0 + timedelta(minutes=10))  # cleared...
    store.observe([a], T0 + timedelta(minutes=20))  # ...and fired again
    assert store.ack_for(a) is None


def test_a_corrupt_state_file_is_set_aside_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "acks.json"
    path.write_text("{not json")
    store = AckStore(path)
    assert store.acks == {}
    assert store.load_error and "moved aside" in store.load_error
    assert (tmp_path / "acks.corrupt").read_text() == "{not json"
    store.acknowledge(alarm(), "fresh start")
    assert json.loads(path.read_text())["version"] == 1


def test_an_unwritable_state_dir_is_reported_not_fatal(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    store = AckStore(blocker / "acks.json")  # parent is a file: cannot be created
    store.acknowledge(alarm(), "still works in memory")
    assert store.ack_for(alarm()) is not None
    assert store.save_error and "cannot save" in store.save_error


async def test_acknowledging_in_the_alarms_screen_quiets_the_strip(tmp_path: Path) -> None:
    path = tmp_path / "acks.json"
    app = simulator_app("held-jobs")
    app.acks = AckStore(path)
    bells: list[int] = []
    app.bell = lambda: bells.append(1)  # type: ignore[method-assign]
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_settled(pilot)
        assert bells == [1]  # a new critical alarm rang once
        strip = "\n".join(screen_lines(app)[1:3])
        assert "CRITICAL" in strip and "◆ site MWT2 holds its jobs [2]" in strip
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, AlarmsScreen)
        assert "└ 770 held jobs" in screen_text(app)  # folded under its cause
        await pilot.press("down", "a")  # acknowledge the worst alarm, under the cause
        await pilot.pause()
        assert isinstance(app.screen, NoteScreen)
        await pilot.press(*"on it", "enter")
        await pilot.pause()
        assert "acknowledged" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause(1.2)  # the strip redraws every second
        counts, detail = screen_lines(app)[1:3]
        assert "770 jobs held" not in detail
        assert "CRITICAL  1 (acked)" in counts  # muted, but still its severity
        # The cause stays loud for the alarm nobody acknowledged (DAGs stalled).
        assert "◆ site MWT2 holds its jobs [1]" in counts
        assert bells == [1]
    # a restart keeps the acknowledgement and rings no bell for it
    app2 = simulator_app("held-jobs")
    app2.acks = AckStore(path)
    bells2: list[int] = []
    app2.bell = lambda: bells2.append(1)  # type: ignore[method-assign]
    async with app2.run_test(size=(160, 50)) as pilot:
        await wait_settled(pilot)
        worst = app2.alarms[0]
        assert app2.is_acked(worst)
        assert app2.acks.ack_for(worst).note == "on it"
        # the other critical alarm (stalled DAGs, if critical) may still ring;
        # the acknowledged one must not be among those that did
        assert app2.acks.occurrence(worst) not in app2.book.ringing


async def test_acknowledging_a_cause_acknowledges_its_alarms_with_one_note(
    tmp_path: Path,
) -> None:
    app = simulator_app("rse-outage+held-jobs")
    app.acks = AckStore(tmp_path / "acks.json")
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_settled(pilot)
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, AlarmsScreen)
        text = screen_text(app)
        # The detail of the selected cause: its evidence, consequence, action.
        assert "site-holding-jobs: site MWT2 holds its jobs" in text
        assert "· 770 of 770 held jobs there" in text
        assert "If nothing is done: the runs processed there wait" in text
        assert "What to do: open a ticket with MWT2" in text
        await pilot.press("a")  # the first row: the most severe cause
        await pilot.pause()
        assert isinstance(app.screen, NoteScreen)
        await pilot.press(*"ticket 42", "enter")
        await pilot.pause()
        notes = {a.key: app.acks.ack_for(a) for a in app.alarms}
        assert {k for k, ack in notes.items() if ack is not None} == {
            "jobs.held",
            "jobs.dags_stalled",
        }
        assert {ack.note for ack in notes.values() if ack is not None} == {"ticket 42"}
        await pilot.press("u")  # withdrawn for the cause, every alarm again
        await pilot.pause()
        assert all(app.acks.ack_for(a) is None for a in app.alarms)
        await pilot.press("a")
        await pilot.pause()
        await pilot.press(*"ticket 42", "enter")
        await pilot.press("escape")
        await pilot.pause(1.2)
        counts = screen_lines(app)[1]
        # The quiet cause leaves the strip; the RSE's, not acknowledged, leads.
        assert "site MWT2" not in counts
        assert counts.index("CRITICAL  1 (acked)") < counts.index("◆ RSE NIKHEF_USERDISK down")


def test_an_alarm_that_gets_worse_is_loud_again(tmp_path: Path) -> None:
    store = AckStore(tmp_path / "acks.json")
    warning = Alarm(
        "buffer.fill", Severity.WARNING, Kind.BUFFER, "buffer 85 % full", "d", None, "h"
    )
    store.observe([warning], T0)
    store.acknowledge(warning, "purge planned")
    critical = Alarm(
        "buffer.fill", Severity.CRITICAL, Kind.BUFFER, "buffer 96 % full", "d", None, "h"
    )
    store.observe([critical], T0 + timedelta(hours=1))
    assert store.ack_for(critical) is None


def test_two_consoles_do_not_overwrite_each_others_acks(tmp_path: Path) -> None:
    path = tmp_path / "acks.json"
    first, second = AckStore(path), AckStore(path)
    first.acknowledge(alarm("tape.failures"), "first console")
    second.acknowledge(alarm("rse.CNAF_USERDISK.stuck"), "second console")
    second.observe([alarm("jobs.held")], T0)
    again = AckStore(path)
    assert again.ack_for(alarm("tape.failures")).note == "first console"
    assert again.ack_for(alarm("rse.CNAF_USERDISK.stuck")).note == "second console"
    first.unacknowledge(alarm("tape.failures"))
    assert AckStore(path).ack_for(alarm("tape.failures")) is None  # not revived by the merge


async def test_a_restart_keeps_acks_of_alarms_without_since(tmp_path: Path) -> None:
    path = tmp_path / "acks.json"
    for attempt in range(2):
        app = simulator_app("uplink-down")
        app.acks = AckStore(path)
        # the second console starts ten minutes later: still the same outage
        app.sources.for_kind(Kind.BUFFER).advance(600 * attempt)
        async with app.run_test(size=(160, 50)) as pilot:
            await wait_settled(pilot)
            await pilot.pause(1.1)  # a tick of the alarms
            uplink = next(a for a in app.alarms if a.key == "buffer.uplink")
            assert uplink.since is None
            if attempt == 0:
                app.acks.acknowledge(uplink, "network team on it")
            else:
                assert app.is_acked(uplink)


# ------------------------------------------------- broken files (issue 14)

CORRUPT = {
    "random bytes": bytes(range(256)) * 3,
    "UTF-16 with a BOM": '{"version": 1, "acks": []}'.encode("utf-16"),
    "invalid UTF-8": b'{"version": 1, "acks": [{"note": "\xff\xfe"}]}',
    "nested too deep": b"[" * 100_000,
    "markup in a value": b'{"version": "[/]", "acks": "[link=http://x]y[/link]"}',
    "wrong shapes": b'{"version": 1, "acks": [1, 2], "open": [3]}',
    "too large": b'{"version": 1, "acks": [], "pad": "' + b"x" * (1 << 20) + b'"}',
}


def test_any_content_of_the_file_is_a_warning_and_a_file_moved_aside(tmp_path: Path) -> None:
    for name, content in CORRUPT.items():
        path = tmp_path / name.replace(" ", "-") / "acks.json"
        path.parent.mkdir()
        path.write_bytes(content)
        store = AckStore(path)
        assert store.acks == {}, name
        assert store.load_error and "moved aside" in store.load_error, name
        assert (path.parent / "acks.corrupt").read_bytes() == content, name
        store.acknowledge(alarm(), "fresh start")
        assert store.save_error is None
        assert json.loads(path.read_text())["version"] == 1, name


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(content=st.binary(max_size=2000))
def test_any_bytes_load_without_a_traceback(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "acks.json"
    path.write_bytes(content)
    store = AckStore(path)  # must not raise
    assert store.load_error is None or len(store.load_error.splitlines()) == 1
    path.unlink(missing_ok=True)
    (tmp_path / "acks.corrupt").unlink(missing_ok=True)


def test_an_unreadable_file_is_never_replaced(tmp_path: Path) -> None:
    path = tmp_path / "acks.json"
    path.mkdir()  # not a file: cannot be read (permissions do not stop root)
    (path / "keep").write_text("x")
    store = AckStore(path)
    assert store.load_error and "in memory only" in store.load_error
    store.acknowledge(alarm(), "on it")
    assert store.ack_for(alarm()) is not None  # in memory
    assert store.save_error and store.save_error.startswith("not saved: cannot read")
    assert (path / "keep").read_text() == "x"


def test_a_corrupt_file_that_cannot_be_moved_aside_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "acks.json"
    path.write_bytes(b"{not json")
    (tmp_path / "acks.corrupt").mkdir()
    (tmp_path / "acks.corrupt" / "x").write_text("")  # os.replace onto it fails
    store = AckStore(path)
    assert store.load_error and "could not be moved aside" in store.load_error
    store.acknowledge(alarm(), "on it")
    assert store.save_error and "not saved" in store.save_error
    assert path.read_bytes() == b"{not json"


async def test_a_failed_save_says_so_on_screen_and_markup_is_text(tmp_path: Path) -> None:
    """The screen said "Acknowledged" while nothing was saved; and a file
    content of ``[/]`` crashed Textual through the warning's markup."""
    path = tmp_path / "acks.json"
    path.write_bytes(b'{"version": "[/]", "acks": "[link=x]y"}')
    (tmp_path / "acks.corrupt").mkdir()
    (tmp_path / "acks.corrupt" / "x").write_text("")
    app = simulator_app("held-jobs")
    app.acks = AckStore(path)
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_settled(pilot)
        await pilot.pause()
        assert any("could not be moved aside" in n.message for n in app._notifications)
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, AlarmsScreen)
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, NoteScreen)
        await pilot.press(*"[/] on it", "enter")
        await pilot.pause()
        messages = [n.message for n in app._notifications]
        assert any(m.startswith("Acknowledged in this console only, not saved") for m in messages)
        assert not any(m.startswith("Acknowledged:") for m in messages)


async def test_a_toast_with_markup_in_it_is_text() -> None:
    """``[/]`` in a toast (a file name, a note, an alarm title) raised a
    MarkupError out of Textual and stopped the console."""
    app = simulator_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.notify("acks.json [/] and [link=http://x]y[/link] \x1b[2J")
        await pilot.pause(0.2)
        assert app.is_running
        [toast] = list(app._notifications)
        assert toast.message == "acks.json [/] and [link=http://x]y[/link] " and not toast.markup
        await pilot.press("5")  # and the console goes on
        await pilot.pause()
        assert app.is_running


async def test_an_alarm_that_grew_while_the_note_was_typed_is_acknowledged_as_it_is(
    tmp_path: Path,
) -> None:
    """'7 rules stuck' was acknowledged while the list already said 8: the
    acknowledgement covered 7 and the alarm stayed loud."""
    from dataclasses import replace

    app = simulator_app("held-jobs")
    app.acks = AckStore(tmp_path / "acks.json")
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_settled(pilot)
        await pilot.press("a")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, AlarmsScreen)
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, NoteScreen)
        before = list(screen._active())
        grown = [replace(a, count=(a.count or 0) + 1) for a in before]
        screen._active = lambda: iter(grown)  # type: ignore[method-assign]
        await pilot.press(*"on it", "enter")
        await pilot.pause()
        chosen = before[0].key  # the cursor's row: the worst alarm
        worst = next(a for a in screen._rows.values() if a.key == chosen)
        assert worst.count == (before[0].count or 0) + 1
        assert app.acks.ack_for(worst) is not None
        assert app.acks.ack_for(worst).count == worst.count  # type: ignore[union-attr]

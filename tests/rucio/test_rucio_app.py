"""The TUI with its transfers pane on the real Rucio server, driven by Pilot.

The other panes stay on the frozen simulator. What is asserted is what the
terminal shows: the server's counts per RSE, the stuck rule's hostile error
as literal text, STALE with the error while the server is stopped, and
recovery once it is back; the password is never on screen.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from textual.widgets import DataTable

from backends.model import Kind
from console.app import XenonConsole
from console.config import load_config
from console.fetching import Backends
from tests.rucio.conftest import RucioBed
from tests.rucio.populate import ACCOUNT, ACCOUNT_PASSWORD
from tests.screen import screen_text
from tests.screen import wait_for as wait_until

WAIT_S = 60.0


def write_config(bed: RucioBed, path: Path) -> Path:
    lines = [
        "[panes]",
        'transfers = "rucio"',
        "",
        "[backends.simulator]",
        "speed = 0",
        "",
        "[backends.rucio]",
        'type = "rucio"',
    ]
    lines += [f"{k} = {json.dumps(v)}" for k, v in bed.backend_options().items()]
    lines += [
        "",
        "[intervals]",
        "transfers = 0.5",
        "",
        "[timeouts]",
        "transfers = 20",
        "",
        "[ui]",
        "bell_on_critical = false",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


async def wait_for(pilot, predicate, what: str = "the condition", timeout: float = WAIT_S) -> None:  # type: ignore[no-untyped-def]
    await wait_until(pilot, predicate, what, timeout=timeout, step=0.1)


def cell_text(table: DataTable, row: str, column: int) -> str:
    return str(table.get_row(row)[column]).strip()


async def test_the_transfers_pane_shows_the_server_then_stale_then_recovers(
    running: RucioBed, tmp_path: Path
) -> None:
    config = load_config(write_config(running, tmp_path / "config.toml"))
    app = XenonConsole(config, Backends(config))
    truth = list(running.server.root_client().list_replication_rules({"account": ACCOUNT}))
    counts = Counter((r["rse_expression"], r["state"]) for r in truth)
    async with app.run_test(size=(160, 50)) as pilot:
        pane = app.pane(Kind.TRANSFERS)
        await wait_for(pilot, lambda: pane.snapshot is not None, "pane.snapshot is not None")
        await pilot.pause()
        table = pane.query_one("#rse-table", DataTable)
        for rse in {r["rse_expression"] for r in truth}:
            assert cell_text(table, rse, 2) == str(counts[(rse, "OK")]), rse
            assert cell_text(table, rse, 3) == str(counts[(rse, "REPLICATING")]), rse
            assert cell_text(table, rse, 4) == str(counts[(rse, "STUCK")]), rse
        assert cell_text(table, "NIKHEF_USERDISK", 4) == "7"
        assert cell_text(table, "NIKHEF_USERDISK", 5) == "36.0 h"  # stuck_at of the oldest
        text = screen_text(app)
        # The oldest stuck rule's error, shown literally: no markup, no escapes.
        assert "[bold red]FAKE[/]" in text
        assert "\x1b" not in text and "\x07" not in text
        assert ACCOUNT_PASSWORD not in text

        running.server.stop()
        try:
            await wait_for(pilot, lambda: pane.error is not None, "pane.error is not None")
            await pilot.pause()
            assert pane.has_class("-stale")
            assert pane.snapshot is not None  # the last good data stays
            text = screen_text(app)
            assert "STALE" in text
            assert "SourceError: Cannot connect" in text  # the line is cut at the pane width
            assert (
                f"Cannot connect to the Rucio server. (ServerConnectionException; "
                f"rucio poll at {running.server.url})"
            ) in (pane.error or "")
            assert ACCOUNT_PASSWORD not in text
            assert cell_text(table, "NIKHEF_USERDISK", 4) == "7"
            assert app.pane(Kind.BUFFER).error is None  # the rest goes on
        finally:
            running.server.start()
        await wait_for(pilot, lambda: pane.error is None, "pane.error is None")
        assert not pane.has_class("-stale")
        assert cell_text(table, "NIKHEF_USERDISK", 4) == "7"

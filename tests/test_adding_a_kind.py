"""A sixth kind, added as the README's "Adding a pane" says: every layer takes it.

The example kind (``tests/example_kind``) is four modules and two ``register``
calls; nothing in ``backends/`` or ``console/`` is edited. The console then
polls it, shows it under key 6, raises its alarms, reports it in ``report``,
``report --json`` and ``check``, records and replays it; without a backend it
is "no source configured".
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from backends.codec import decode, encode
from backends.model import Kind
from backends.registry import create_backend
from backends.sources import Backend
from console import specs
from console.cli import main
from console.config import load_config
from console.fetching import Backends, fetch_all
from console.report import check_line, report_data
from tests import example_kind
from tests.screen import screen_text, wait_for

#: What the README's recipe names: one file per layer.
RECIPE = {"data", "render", "pane", "spec"}


@pytest.fixture
def uplink() -> Iterator[Any]:
    example_kind.install()
    from tests.example_kind import data

    try:
        yield data
    finally:
        example_kind.uninstall()


def backend_factory(data: Any, errors: int = 0):  # type: ignore[no-untyped-def]
    class UplinkBackend(Backend, data.UplinkSource):
        name = "uplink-meter"

        def fetch_uplink(self) -> Any:
            return data.UplinkSnapshot(datetime(2017, 11, 15, 12, tzinfo=UTC), 2.5e8, errors)

    def factory(type_name: str, options: Mapping[str, Any]) -> Backend:
        if type_name == "uplink-meter":
            return UplinkBackend(options)
        return create_backend(type_name, options)

    return factory


def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        '[backends.meter]\ntype = "uplink-meter"\n[panes]\nuplink = "meter"\n'
        "[backends.simulator]\nspeed = 0\n"
    )
    return path


def test_the_kind_is_the_recipes_four_files(uplink: Any) -> None:
    spec = specs.pane_spec(uplink.UPLINK)
    registered_in = next(
        name for name, module in sys.modules.items() if getattr(module, "SPEC", None) is spec
    )
    modules = {
        uplink.UplinkSnapshot.__module__,
        uplink.UplinkSource.__module__,
        uplink.SPEC.alarms.__module__,
        spec.to_json.__module__,
        spec.load_pane().__module__,
        registered_in,
    }
    assert {name.rsplit(".", 1)[1] for name in modules} == RECIPE
    assert [s.kind.value for s in specs.pane_specs()][-1] == "uplink"


async def test_the_console_polls_shows_and_alarms_the_new_kind(uplink: Any, tmp_path: Path) -> None:
    from console.app import XenonConsole

    config = load_config(config_file(tmp_path))
    app = XenonConsole(config, Backends(config, backend_factory(uplink, errors=3)))
    async with app.run_test(size=(160, 50)) as pilot:
        pane = app.pane(uplink.UPLINK)
        await wait_for(pilot, lambda: pane.snapshot is not None, "the uplink's first data")
        await pilot.press("6")
        await pilot.pause()
        assert app.active_kind is uplink.UPLINK
        text = screen_text(app)
        assert "6 Uplink (LNGS)" in text
        assert "Out 250.0 MB/s  Errors 3" in text
        await wait_for(
            pilot,
            lambda: any(a.key == "uplink.errors" for a in app.alarms),
            "the uplink's alarm",
        )


async def test_without_a_backend_the_new_pane_says_so(uplink: Any) -> None:
    from console.app import XenonConsole

    config = load_config(None, speed=0)  # the simulator serves no uplink
    app = XenonConsole(config, Backends(config), clock=lambda: 0.0)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("6")
        await pilot.pause(0.5)
        assert "no source configured" in screen_text(app)
        assert app.pane(uplink.UPLINK).snapshot is None


def test_report_check_and_recording_take_the_new_kind(
    uplink: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = load_config(config_file(tmp_path))
    sources = Backends(config, backend_factory(uplink))
    try:
        results = fetch_all(sources, config)
    finally:
        sources.close()
    data = report_data(results, config)
    assert data["uplink"]["out_bps"] == 2.5e8 and data["uplink"]["source"] == "meter"
    status, line = check_line(results, config)
    assert status.name == "OK"
    assert "uplink_out=250000000B" in line and "uplink_errors=0c" in line
    snapshot = results[Kind("uplink")].snapshot
    assert decode(json.loads(json.dumps(encode(snapshot)))) == snapshot
    # Unassigned, the report says so rather than failing.
    assert main(["report", "--json", "--speed", "0"]) == 0
    assert json.loads(capsys.readouterr().out)["uplink"]["error"] == "no source configured"


def test_an_unknown_pane_is_still_a_one_line_error(tmp_path: Path) -> None:
    from console.config import ConfigError

    path = tmp_path / "config.toml"
    path.write_text('[panes]\nuplink = "simulator"\n')
    with pytest.raises(ConfigError, match=r"unknown pane 'uplink' \(known: buffer, .*runs\)"):
        load_config(path)

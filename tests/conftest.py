"""Shared test set-up: no test reads the user's own config or state."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.nats_testbed import NatsServer


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.setenv("CONDOR_CONFIG", "/dev/null")
    return home


#: Fixtures that start a real server (secantusd, Rucio on gunicorn, Prometheus,
#: Alertmanager, NATS) or need one's tools (promtool).
SERVER_FIXTURES = frozenset(
    {
        "secantus",
        "server_uri",
        "own_server",
        "silent_server",
        "rucio_bed",
        "running",
        "prometheus",
        "exporter",
        "nats_server",
        "monitoring",
        "promtool",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by what it needs, so a failure says where to look:
    ``server`` (a real server), ``app`` (the TUI driven by Pilot), else ``unit``.
    ``make test-fast`` leaves out ``server`` (and ``slow``); CI runs all."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & SERVER_FIXTURES:
            item.add_marker(pytest.mark.server)
        elif "snap_compare" in fixtures or _is_coroutine(item):
            item.add_marker(pytest.mark.app)
        else:
            item.add_marker(pytest.mark.unit)


def _is_coroutine(item: pytest.Item) -> bool:
    import inspect

    return inspect.iscoroutinefunction(getattr(item, "function", None))


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A NATS server with JetStream of this test's own, on loopback."""
    from tests.nats_testbed import NatsServer

    server = NatsServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()

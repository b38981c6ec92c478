"""Shared test set-up: no test reads the user's own config or state."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.nats_testbed import NatsServer
    from tests.serve_testbed import Browser, Serve

#: The seeded world the browser tests look at (unsafe runs exist in it).
SERVED_OPTIONS = ("--scenario", "uplink-down", "--seed", "1", "--speed", "0")
#: The token of the ``guarded`` serve (at least 16 characters), and a
#: secret in its environment that no session may see.
GUARDED_TOKEN = "tok-3b1f0c9e5d7a4e2f8c6b"
GUARDED_SECRET = "mongo-pw-never-in-a-session"


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
        # `serve` in a real process, read by a real headless Chromium
        # (tests/serve_testbed.py, tests/testbeds/chromium/setup.sh).
        "served",
        "guarded",
        "serve_factory",
        "browser",
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


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    """``serve`` on loopback, no token, the seeded uplink-down world (one per
    module: its sessions are the module's tabs)."""
    from tests.serve_testbed import Serve

    server = Serve(tmp_path_factory.mktemp("served"), *SERVED_OPTIONS).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    """``serve`` on every address (0.0.0.0; the tests reach it on loopback)
    with a token file, and secrets in its environment: the token again and
    MONGO_PASSWORD."""
    from tests.serve_testbed import Serve

    workdir = tmp_path_factory.mktemp("guarded")
    token_file = workdir / "token"
    token_file.write_text(GUARDED_TOKEN + "\n")
    server = Serve(
        workdir,
        "--token-file", str(token_file), *SERVED_OPTIONS,
        host="0.0.0.0",
        env={"XENON_CONSOLE_SERVE_TOKEN": GUARDED_TOKEN, "MONGO_PASSWORD": GUARDED_SECRET},
    ).start()  # fmt: skip
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def serve_factory(tmp_path: Path) -> Iterator[Callable[..., Serve]]:
    """Start a ``serve`` of this test's own (``serve_factory(*options)``);
    every one is stopped at the end."""
    from tests.serve_testbed import Serve

    started: list[Serve] = []

    def start(*options: str, config_text: str | None = None) -> Serve:
        server = Serve(tmp_path / f"serve{len(started)}", *options, config_text=config_text)
        started.append(server)
        return server.start()

    try:
        yield start
    finally:
        for server in started:
            server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, one per module."""
    from tests.serve_testbed import Browser

    chromium = Browser()
    try:
        yield chromium
    finally:
        chromium.quit()

"""The prometheus backend against a real Prometheus (Debian's package, on loopback).

Prometheus scrapes, every second, an exporter in this process serving
node_exporter filesystem metrics the test sets. What the exporter serves must
reach the backend, ``report --json`` and the buffer pane; a change must show
after the next scrape; the fill rate must come out of Prometheus' stored
history; and the pane must go STALE when Prometheus goes away and recover by
itself when it is back. If Prometheus cannot start, these tests fail with its
log (tests/testbeds/prometheus/setup.sh installs it).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from backends.analysis.buffer import buffer_forecast
from backends.model import TB, BufferSnapshot, Kind
from backends.prometheus import PrometheusBackend
from console.app import XenonConsole
from console.cli import main
from console.config import load_config
from console.fetching import Backends
from tests.prometheus_testbed import Exporter, PrometheusServer
from tests.screen import screen_text
from tests.screen import wait_for as wait_until

#: Generous: the machine is shared, and a scrape can come a little late.
CHANGE_TIMEOUT = 30.0


@pytest.fixture(scope="session")
def exporter() -> Iterator[Exporter]:
    exp = Exporter()
    yield exp
    exp.close()


def start_server(workdir: Path, exporter: Exporter) -> PrometheusServer:
    server = PrometheusServer(workdir, exporter.port)
    try:
        server.start()
    except RuntimeError as exc:
        pytest.fail(f"Prometheus could not start: {exc}", pytrace=False)
    return server


@pytest.fixture(scope="session")
def prometheus(
    tmp_path_factory: pytest.TempPathFactory, exporter: Exporter
) -> Iterator[PrometheusServer]:
    server = start_server(tmp_path_factory.mktemp("prometheus"), exporter)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _known_values(exporter: Exporter) -> None:
    exporter.set(50e12, 20e12)


def backend(server: PrometheusServer, **options: object) -> PrometheusBackend:
    return PrometheusBackend({"url": server.url, "mountpoint": "/data", "timeout": 10, **options})


def until(
    fetch: Callable[[], BufferSnapshot], ok: Callable[[BufferSnapshot], bool]
) -> BufferSnapshot:
    deadline = time.monotonic() + CHANGE_TIMEOUT
    while True:
        snap = fetch()
        if ok(snap) or time.monotonic() > deadline:
            return snap
        time.sleep(0.2)


def test_backend_reads_what_the_exporter_serves(prometheus: PrometheusServer) -> None:
    b = backend(prometheus)
    snap = until(b.fetch_buffer, lambda s: s.used_bytes == 30 * TB)
    assert snap.total_bytes == 50 * TB
    assert snap.used_bytes == 30 * TB and snap.free_bytes == 20 * TB
    assert snap.history, "the range query returned Prometheus' stored samples"
    assert snap.history[-1].used_bytes == 30 * TB


def test_a_change_shows_after_the_next_scrape(
    exporter: Exporter, prometheus: PrometheusServer
) -> None:
    b = backend(prometheus)
    until(b.fetch_buffer, lambda s: s.used_bytes == 30 * TB)
    exporter.set(50e12, 12.5e12)
    snap = until(b.fetch_buffer, lambda s: s.used_bytes == 37.5 * TB)
    assert snap.used_bytes == 37.5 * TB
    assert snap.fill_fraction == 0.75


def test_fill_rate_comes_from_prometheus_history(
    exporter: Exporter, prometheus: PrometheusServer
) -> None:
    # Free space falls 100 GB per second of wall time from now on.
    exporter.set(50e12, 20e12, fall_bps=100e9)
    time.sleep(5.5)  # five scrapes of the falling disk
    # A window that only holds samples taken since the fall began.
    b = backend(prometheus, history_hours=4 / 3600, step_seconds=0.5)
    snap = b.fetch_buffer()
    assert len(snap.history) >= 7
    rate = buffer_forecast(snap, window=b.history).fill_rate_bps
    assert rate is not None
    print(f"fill rate from Prometheus history: {rate / 1e9:.1f} GB/s (exporter: 100 GB/s)")
    assert rate == pytest.approx(100e9, rel=0.25)
    # with nothing changing the rate is zero, not a guess
    exporter.set(50e12, 20e12)
    time.sleep(5.5)
    flat = buffer_forecast(b.fetch_buffer(), window=b.history)
    assert flat.fill_rate_bps == pytest.approx(0.0, abs=1.0)
    assert flat.time_to_full is None


def test_an_empty_result_from_a_real_server(prometheus: PrometheusServer) -> None:
    b = backend(prometheus, mountpoint="/nowhere")
    with pytest.raises(Exception, match="returned no data: no series matches now"):
        b.fetch_buffer()
    bad = backend(prometheus, size_query="node_filesystem_size_bytes{")
    with pytest.raises(Exception, match=r"Prometheus refused query .*\(HTTP 400\): bad_data"):
        bad.fetch_buffer()


CONFIG = """
[panes]
buffer = "lngs"

[backends.lngs]
type = "prometheus"
url = "{url}"
mountpoint = "/data"
timeout = 5

[backends.simulator]
speed = 0

[intervals]
buffer = 0.2

[timeouts]
buffer = 8

[ui]
bell_on_critical = false
"""


def write_config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.replace("{url}", url))
    return path


def test_report_json_shows_what_the_exporter_serves(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], prometheus: PrometheusServer
) -> None:
    until(backend(prometheus).fetch_buffer, lambda s: s.used_bytes == 30 * TB)
    assert main(["--config", str(write_config(tmp_path, prometheus.url)), "report", "--json"]) in (
        0,
        1,
        2,
    )
    buffer = json.loads(capsys.readouterr().out)["buffer"]
    assert buffer["source"] == "lngs"
    assert buffer["error"] is None
    assert buffer["total_bytes"] == 50 * TB
    assert buffer["used_bytes"] == 30 * TB
    assert buffer["free_bytes"] == 20 * TB
    assert buffer["fill_percent"] == 60.0
    assert buffer["mount"] == "/data"


async def wait_for(pilot, predicate, what: str = "the condition", timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    await wait_until(pilot, predicate, what, timeout=timeout, step=0.1)


async def test_pane_goes_stale_when_prometheus_goes_away_and_recovers(
    tmp_path: Path, exporter: Exporter, tmp_path_factory: pytest.TempPathFactory
) -> None:
    server = start_server(tmp_path_factory.mktemp("prometheus-flaky"), exporter)
    try:
        config = load_config(write_config(tmp_path, server.url))
        app = XenonConsole(config, Backends(config))
        async with app.run_test(size=(160, 50)) as pilot:
            pane = app.pane(Kind.BUFFER)
            await wait_for(pilot, lambda: pane.snapshot is not None, "pane.snapshot is not None")
            await pilot.pause()
            assert "60.0%" in screen_text(app)
            assert "30.0 TB" in screen_text(app)

            server.stop()
            await wait_for(pilot, lambda: pane.error is not None, "pane.error is not None")
            await pilot.pause(1.1)  # the status line's 1 s tick
            assert pane.has_class("-stale")
            text = screen_text(app)
            assert "STALE" in text
            assert f"cannot reach Prometheus at {server.url}" in text
            assert "60.0%" in text  # the last good data stays

            exporter.set(50e12, 10e12)
            server.start()
            await wait_for(
                pilot,
                lambda: (
                    pane.error is None
                    and pane.snapshot is not None
                    and pane.snapshot.used_bytes == 40 * TB
                ),
            )
            await pilot.pause()
            assert not pane.has_class("-stale")
            assert "80.0%" in screen_text(app)
    finally:
        server.stop()

"""`xenon-console serve` in a real headless Chromium: the page, the keys, the
drill-down, the token's cookie, and every closed tab's process ended.

One ``serve`` (loopback, the seeded uplink-down world, a frozen clock) and
one browser serve the whole module; what the screen shows is read from
xterm.js' buffer (tests/serve_testbed.py) and compared with ``report --json``
of the same options. A screenshot of the drill-down is kept as a PNG in
``$XENON_SERVE_SCREENSHOTS`` (else pytest's tmp dir).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import GUARDED_TOKEN, SERVED_OPTIONS
from tests.nats_testbed import start_collector
from tests.serve_testbed import ROOT, Browser, FakePrometheus, Serve, panes_shown, wait_until

if TYPE_CHECKING:
    from tests.nats_testbed import NatsServer


@pytest.fixture(scope="module")
def report() -> dict:
    """``report --json`` of the world ``served`` serves."""
    done = subprocess.run(
        [sys.executable, "-m", "console.cli", "report", "--json", *SERVED_OPTIONS],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
        env={**os.environ, "CONDOR_CONFIG": "/dev/null"},
    )  # fmt: skip
    return json.loads(done.stdout)


#: A row of the runs table: its run number and its safety verdict.
ROW = re.compile(r"^│\s*(\d{5}) \S+\s+\S+\s+[\d-]+ [\d:]+ (\S+)", re.MULTILINE)


def screenshot_dir(tmp_path: Path) -> Path:
    given = os.environ.get("XENON_SERVE_SCREENSHOTS")
    where = Path(given) if given else tmp_path
    where.mkdir(parents=True, exist_ok=True)
    return where


def test_the_console_in_a_browser(
    served: Serve, browser: Browser, report: dict, tmp_path: Path
) -> None:
    """The five panes, `5` `/unsafe` Enter filters the runs to the unsafe
    ones (as many as `report --json` counts), Enter opens the drill-down of
    the run under the cursor; the page says what it is; a screenshot."""
    browser.open(served.url + "/")
    assert "XENON" in browser.driver.title
    browser.wait_panes()
    runs = report["runs"]
    count = f"{runs['count']} of {runs['count']} runs"
    # Every pane's first data, not only the first pane's (CI read the
    # screen when the runs pane had not drawn its count yet).
    screen = browser.wait_screen(
        lambda s: count in s and "Uplink " in s, f"{count!r} and the buffer's uplink"
    )
    used = re.search(r"Used (\S+ TB)", screen)
    assert used is not None, screen
    assert "Uplink DOWN" in screen  # the scenario, as report says
    assert report["buffer"]["uplink_up"] is False

    # Keys as a person types them: each once the screen shows the last one
    # took (all at once, `/` can reach the pane before `5` has focused it).
    browser.keys("5")
    browser.wait_screen(lambda s: "/ Filter" in s, "the runs pane focused (its keys in the footer)")
    browser.keys("/")
    browser.wait_screen(lambda s: "▔▔▔▔" in s, "the filter box")
    browser.keys("unsafe")
    browser.wait_screen(lambda s: "unsafe" in s, "'unsafe' in the filter box")
    browser.keys("\n")
    unsafe = runs["unsafe"]
    assert 0 < unsafe < runs["count"]
    browser.wait_screen(
        lambda s: f"{unsafe} of {runs['count']} runs" in s,
        f"'{unsafe} of {runs['count']} runs' after /unsafe",
    )
    # At 1400x900 the grid leaves the runs pane two rows: zoom it (`z`).
    browser.keys("z")
    screen = browser.wait_screen(lambda s: len(ROW.findall(s)) >= 10, "the zoomed runs pane")
    rows = ROW.findall(screen)
    assert all(verdict.startswith(("MISS", "wait", "FAIL")) for _, verdict in rows), rows
    first = rows[0][0]

    browser.keys("\n")
    screen = browser.wait_screen(
        lambda s: "Copies in the runs database" in s and first in s,
        f"the drill-down of run {first}",
    )
    assert "What to do" in screen

    shot = screenshot_dir(tmp_path) / "serve-drilldown.png"
    assert browser.driver.save_screenshot(str(shot))
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000


def test_the_token_once_then_its_cookie(guarded: Serve, browser: Browser) -> None:
    """Without the token the page is a 401 that says what to do and no
    process starts; ``?token=`` once leaves the address bar for an HttpOnly
    cookie, with which the page and its websocket work."""
    browser.driver.delete_all_cookies()
    url = f"http://127.0.0.1:{guarded.port}/"
    browser.open(url)
    assert "access token needed" in browser.body_text()
    assert guarded.app_pids() == []

    browser.open(url + "?token=" + GUARDED_TOKEN)
    assert GUARDED_TOKEN not in browser.driver.current_url
    browser.wait_panes()
    cookies = browser.driver.get_cookies()
    assert [c["httpOnly"] for c in cookies] == [True]
    assert GUARDED_TOKEN not in json.dumps(cookies)
    assert len(guarded.app_pids()) == 1
    browser.open("about:blank")
    guarded.wait_no_apps()


async def _websocket_sessions(url: str, count: int, *, wait_output: bool) -> int:
    """Open ``count`` sessions at once as a tab's websocket does, then close
    them: at once, or after the app's first output. The sessions that got
    output."""
    import aiohttp

    origin = url
    ws_url = url.replace("http:", "ws:") + "/ws?width=120&height=40"

    async def one(session: aiohttp.ClientSession) -> bool:
        async with session.ws_connect(ws_url, headers={"Origin": origin}) as ws:
            if not wait_output:
                return False
            message = await asyncio.wait_for(ws.receive(), 30)
            return message.type == aiohttp.WSMsgType.BINARY

    async with aiohttp.ClientSession() as session:
        got = await asyncio.gather(*(one(session) for _ in range(count)))
    return sum(got)


def test_twenty_tabs_opened_and_closed_leave_no_process(served: Serve, browser: Browser) -> None:
    """Closing a tab ends its app; after 20 opens and closes (3 real tabs,
    17 websocket sessions, some closed before their app had drawn anything)
    no app process of this serve is left, and serve has no child."""
    served.wait_no_apps()
    first = browser.driver.current_window_handle
    browser.open("about:blank")
    for _ in range(3):
        browser.new_tab(served.url + "/")
        browser.wait_panes()
        (pid,) = served.wait_apps(1)
        browser.close_tab(first)
        wait_until(lambda pid=pid: pid not in served.app_pids(), f"app {pid} ending with its tab")
    drew = 0
    for count, wait_output in ((10, True), (7, False)):
        drew += asyncio.run(_websocket_sessions(served.url, count, wait_output=wait_output))
        served.wait_no_apps()
    assert drew == 10
    # serve logs a session's end once it has reaped the app, a moment after
    # the process is gone (wait_no_apps looks at the processes).
    wait_until(
        lambda: (
            served.log_text().count("session ended") == served.log_text().count(" started: pid ")
        ),
        "every session's end logged",
    )
    log = served.log_text()
    assert log.count("session ended") == log.count(" started: pid ") >= 20, log
    from tests.serve_testbed import children_of

    assert children_of(served.pid) == []


def test_tabs_of_a_nats_fed_console_cost_the_backends_nothing(
    nats_server: NatsServer, serve_factory: Callable[..., Serve], browser: Browser, tmp_path: Path
) -> None:
    """The recommended set-up: one collector polls (here a Prometheus that
    counts its requests, and the simulator), serve serves a console whose
    panes all read NATS. Three tabs show the collector's data, and the
    Prometheus sees not one request more than the collector's."""
    prometheus = FakePrometheus()
    collector = None
    try:
        collector = start_collector(
            COLLECTOR_CONFIG.format(prometheus=prometheus.url), tmp_path, nats_server.url,
            published=5,
        )  # fmt: skip
        wait_until(lambda: prometheus.total() >= 3, "the collector's poll of Prometheus")
        polled = prometheus.total()
        serve = serve_factory(config_text=FED_CONFIG.format(url=nats_server.url))
        first = browser.driver.current_window_handle
        tabs = [browser.new_tab(serve.url + "/") for _ in range(3)]
        for tab in tabs:
            browser.driver.switch_to.window(tab)
            browser.wait_screen(
                lambda s: "Used 10.0 TB  Free 30.0 TB  of 40.0 TB" in s and "720 of 720 runs" in s,
                "the collector's buffer (the counting Prometheus) and runs",
            )
            assert panes_shown(browser.screen())
        assert len(serve.app_pids()) == 3
        assert prometheus.total() == polled, prometheus.requests
        for _ in tabs:
            browser.driver.switch_to.window(browser.driver.window_handles[-1])
            browser.close_tab(first)
        serve.wait_no_apps()
        assert prometheus.total() == polled, prometheus.requests
    finally:
        if collector is not None:
            collector.close()
        prometheus.close()


COLLECTOR_CONFIG = """
[panes]
buffer = "prom"
transfers = "sim"
tape = "sim"
jobs = "sim"
runs = "sim"

[backends.prom]
type = "prometheus"
url = "{prometheus}"

[backends.sim]
type = "simulator"
scenario = "uplink-down"
seed = 1
speed = 0

[intervals]
buffer = 3600   # one poll in this test: any later request is a console's
"""

FED_CONFIG = """
[backends.feed]
type = "nats"
url = "{url}"

[panes]
buffer = "feed"
transfers = "feed"
tape = "feed"
jobs = "feed"
runs = "feed"
"""

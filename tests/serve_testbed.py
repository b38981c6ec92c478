"""`xenon-console serve` in a real process, and a real headless Chromium to read it.

``Serve`` starts ``python -m console.cli serve --port 0 ...`` from the repo
root (so this checkout's code is served), waits for the line that says where
it listens, and knows the app processes of its sessions: every process whose
command line holds its own config file (a unique path), so an app that
outlived its tab is found wherever it was re-parented. ``Browser`` drives
Debian's Chromium through chromedriver (tests/testbeds/chromium/setup.sh)
and reads the terminal's text from xterm.js' own buffer: a script run
before the page's (``HOOK``) keeps the page's ``Terminal`` object as
``window.__xenonTerminal`` when textual-serve's client makes it (xterm
draws to a canvas, so there is no DOM text to read). ``FakePrometheus``
answers the buffer pane's queries and counts them: a backend outside the
consoles' processes, whose requests say who polled.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
START_TIMEOUT = 30.0
#: The five pane titles, as their borders say them.
PANE_TITLES = ("Buffer disk", "Transfers", "Tape", "Jobs", "Runs")

HOOK = r"""
Object.defineProperty(Object.prototype, "fitAddon", {
  configurable: true,
  set(value) {
    Object.defineProperty(this, "fitAddon", {
      value, writable: true, configurable: true, enumerable: true,
    });
    if (this.terminal) { window.__xenonTerminal = this.terminal; }
  },
});
"""

SCREEN_JS = """
const t = window.__xenonTerminal;
if (!t) { return null; }
const b = t.buffer.active;
const lines = [];
for (let i = 0; i < t.rows; i++) {
  const line = b.getLine(b.viewportY + i);
  lines.push(line ? line.translateToString(true) : "");
}
return lines.join("\\n");
"""


def process_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process, from /proc."""
    table: dict[int, tuple[int, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] == "Z":
            cmdline = cmdline or "<zombie>"
        table[int(entry.name)] = (int(fields[1]), cmdline.strip())
    return table


def children_of(pid: int) -> list[int]:
    return sorted(p for p, (parent, _) in process_table().items() if parent == pid)


def pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rindex(")") + 2] != "Z"


def wait_until(
    check: Callable[[], Any], what: str, timeout: float = 20.0, every: float = 0.1
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            said = what() if callable(what) else what
            raise AssertionError(f"gave up after {timeout:g} s waiting for {said}")
        time.sleep(every)


class Serve:
    """One ``serve`` process on a free loopback port (or the host given)."""

    def __init__(
        self,
        workdir: Path,
        *args: str,
        config_text: str | None = None,
        env: dict[str, str] | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.config = workdir / "served.toml"
        # A config of its own (a unique path) names this serve's apps.
        self.config.write_text(config_text or "# the simulator for every pane\n")
        self.log = workdir / "serve.log"
        self.args = ["--host", host, "--port", "0", "--config", str(self.config), *args]
        home = workdir / "home"
        # No served console reads or writes the user's own config or state.
        isolated = {
            f"XDG_{d}_HOME": str(home / d.lower()) for d in ("CONFIG", "DATA", "STATE", "CACHE")
        }
        self.env = {**os.environ, **isolated, "CONDOR_CONFIG": "/dev/null", **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> Serve:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "console.cli", "serve", *self.args],
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            match = re.search(r"serving the console on (\S+)/ ", self.log_text())
            if match:
                self.url = match.group(1)
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"serve did not start:\n{self.log_text()}")

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def app_pids(self) -> list[int]:
        """Every live process running this serve's console (not serve itself)."""
        marker = str(self.config)
        return sorted(
            pid
            for pid, (_, cmdline) in process_table().items()
            if marker in cmdline and " serve " not in cmdline and pid_alive(pid)
        )

    def wait_apps(self, count: int, timeout: float = 20.0) -> list[int]:
        """The app pids once there are exactly ``count`` of them."""

        def ready() -> list[int] | None:
            pids = self.app_pids()
            return pids if len(pids) == count and pids else None

        if count == 0:
            return self.wait_no_apps(timeout)
        return wait_until(
            ready,
            lambda: f"{count} app processes (have {self.app_pids()}); log:\n{self.log_text()}",
            timeout,
        )

    def wait_no_apps(self, timeout: float = 20.0) -> list[int]:
        wait_until(
            lambda: not self.app_pids(),
            lambda: f"no app process left (still: {self.app_pids()}); log:\n{self.log_text()}",
            timeout,
        )
        return []

    def stop(self) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        code = self.process.returncode
        self.process = None
        for pid in self.app_pids():  # never leave one behind, even on a failure
            os.kill(pid, signal.SIGKILL)
        return code


class Browser:
    """Headless Chromium (Debian's), 1400x900, reading xterm.js' buffer."""

    def __init__(self) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in (
            "--headless=new",
            "--window-size=1400,900",
            "--no-sandbox",  # root in CI
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
        ):
            options.add_argument(argument)
        if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
            raise RuntimeError(
                f"{CHROMIUM} or {CHROMEDRIVER} missing: run tests/testbeds/chromium/setup.sh"
            )
        self.driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
        self.driver.set_page_load_timeout(30)
        self._hook()

    def _hook(self) -> None:
        self.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": HOOK})

    def open(self, url: str) -> None:
        self.driver.get(url)

    def new_tab(self, url: str) -> str:
        """Open ``url`` in a new tab (it becomes the current one); its handle."""
        self.driver.switch_to.new_window("tab")
        self._hook()  # the hook is per tab
        self.driver.get(url)
        return self.driver.current_window_handle

    def close_tab(self, back_to: str) -> None:
        self.driver.close()
        self.driver.switch_to.window(back_to)

    def screen(self) -> str:
        return self.driver.execute_script(SCREEN_JS) or ""

    def wait_screen(self, check: Callable[[str], bool], what: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        seen = ""
        while time.monotonic() < deadline:
            seen = self.screen()
            if seen and check(seen):
                return seen
            time.sleep(0.1)
        raise AssertionError(f"gave up after {timeout:g} s waiting for {what}; the screen:\n{seen}")

    def wait_panes(self, timeout: float = 30.0) -> str:
        return self.wait_screen(
            lambda s: all(t in s for t in PANE_TITLES) and "as of" in s,
            "the five panes, populated",
            timeout,
        )

    def keys(self, *keys: str) -> None:
        from selenium.webdriver.common.by import By

        box = self.driver.find_element(By.CSS_SELECTOR, "textarea.xterm-helper-textarea")
        for key in keys:
            box.send_keys(key)

    def body_text(self) -> str:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.TAG_NAME, "body").text

    def quit(self) -> None:
        self.driver.quit()


def panes_shown(screen: str) -> bool:
    return all(title in screen for title in PANE_TITLES)


class FakePrometheus:
    """Prometheus' query API for the buffer pane: a 40 TB disk with 30 TB
    free, no history; every request counted by path."""

    SIZE = 40e12
    AVAIL = 30e12

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                fake.requests[parts.path] += 1
                query = parse_qs(parts.query).get("query", [""])[0]
                now = time.time()
                if parts.path == "/api/v1/query":
                    value = fake.AVAIL if "avail" in query else fake.SIZE
                    data: dict[str, Any] = {
                        "resultType": "vector",
                        "result": [{"metric": {}, "value": [now, f"{value:.0f}"]}],
                    }
                elif parts.path == "/api/v1/query_range":
                    data = {"resultType": "matrix", "result": []}
                else:
                    self.send_error(404)
                    return
                body = json.dumps({"status": "success", "data": data}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def total(self) -> int:
        return sum(self.requests.values())

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def count_lines(text: str, words: Iterable[str]) -> dict[str, int]:
    return {word: len(re.findall(word, text)) for word in words}

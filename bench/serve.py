"""What a browser tab of `xenon-console serve` costs, against a floor measured
in the same run: a bare Textual app (``bench/bare_app.py``, one Static)
served by plain textual-serve, in the same headless Chromium.

    .venv/bin/python bench/serve.py [--pairs 5] [--runs 720] [--markdown]

Per tab, in interleaved pairs (console tab, bare tab; a fresh tab each):

- first populated frame: from the page's navigation start to the first
  screen with the five pane titles, each pane's "as of" and the runs count
  (the bare app: its "hello"), as ``performance.now()`` in the page when the
  poll of xterm.js' buffer (every 20 ms) first sees it;
- the tab's app process resident memory (VmRSS), 2 s after its first frame.

Min and median of the pairs, with the ratios to the floor. The console
runs on the simulator (nominal, default seed, clock frozen), as
``serve --speed 0``. Needs Debian's chromium and chromedriver
(tests/testbeds/chromium/setup.sh) and the test extra (selenium). These
machines are shared and noisy: compare ratios within one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from terminal import memory_mb  # noqa: E402

from tests.serve_testbed import (  # noqa: E402
    HOOK,
    PANE_TITLES,
    SCREEN_JS,
    Browser,
    Serve,
    process_table,
)

TIMED_JS = "return [(() => {" + SCREEN_JS + "})(), performance.now()];"


class BareServe(Serve):
    """Plain textual-serve (its own ``Server``) serving bench/bare_app.py."""

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.marker = str(ROOT / "bench" / "bare_app.py")
        script = (
            "import sys, socket\n"
            "from textual_serve.server import Server\n"
            "s = socket.socket(); s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]; s.close()\n"
            "print(f'serving the console on http://127.0.0.1:{port}/ ', file=sys.stderr,"
            " flush=True)\n"
            f"Server({sys.executable + ' ' + self.marker!r}, host='127.0.0.1', port=port).serve()\n"
        )
        self.script = workdir / "bare_serve.py"
        self.script.write_text(script)

    def start(self) -> BareServe:
        import subprocess

        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(self.script)], cwd=ROOT, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, env=self.env,
            )  # fmt: skip
        deadline = time.monotonic() + 30
        import re

        while time.monotonic() < deadline:
            match = re.search(r"serving the console on (\S+)/ ", self.log_text())
            if match:
                self.url = match.group(1)
                time.sleep(0.5)  # the bind after the probe
                return self
            time.sleep(0.05)
        raise RuntimeError(self.log_text())

    def app_pids(self) -> list[int]:
        return sorted(
            pid
            for pid, (_, cmdline) in process_table().items()
            if cmdline.startswith(sys.executable) and self.marker in cmdline
        )


def console_ready(screen: str) -> bool:
    return (
        all(title in screen for title in PANE_TITLES)
        and screen.count("as of") >= 5
        and " runs · " in screen
    )


def bare_ready(screen: str) -> bool:
    return "hello" in screen


def one_tab(browser: Browser, serve: Serve, ready, timeout: float = 60.0) -> tuple[float, float]:
    """(ms from navigation start to the first ready frame, app RSS MB)."""
    first = browser.driver.current_window_handle
    before = set(serve.app_pids())
    browser.driver.switch_to.new_window("tab")
    browser.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": HOOK})
    browser.driver.get(serve.url + "/")
    deadline = time.monotonic() + timeout
    while True:
        screen, now_ms = browser.driver.execute_script(TIMED_JS)
        if screen and ready(screen):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"no ready frame in {timeout} s:\n{screen}")
        time.sleep(0.02)
    time.sleep(2.0)
    new = sorted(set(serve.app_pids()) - before)
    rss = memory_mb(new[-1]) if new else float("nan")
    browser.driver.close()
    browser.driver.switch_to.window(first)
    end = time.monotonic() + 20
    while set(serve.app_pids()) - before and time.monotonic() < end:
        time.sleep(0.1)
    return now_ms, rss


def describe(name: str, values: list[float], floor: list[float], unit: str, digits: int) -> str:
    med, low = statistics.median(values), min(values)
    fmed, flow = statistics.median(floor), min(floor)
    return (
        f"{name}: median {med:.{digits}f} {unit} ({med / fmed:.2f}x the bare app's "
        f"{fmed:.{digits}f}), min {low:.{digits}f} {unit} ({low / flow:.2f}x its {flow:.{digits}f})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--runs", type=int, default=720)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("CONDOR_CONFIG", "/dev/null")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        os.environ["HOME"] = str(workdir)
        console = Serve(workdir / "console", "--speed", "0", "--runs", str(args.runs)).start()
        bare = BareServe(workdir / "bare").start()
        browser = Browser()
        try:
            one_tab(browser, console, console_ready)  # warm the disk cache, both
            one_tab(browser, bare, bare_ready)
            frames: dict[str, list[float]] = {"console": [], "bare": []}
            rss: dict[str, list[float]] = {"console": [], "bare": []}
            for pair in range(args.pairs):
                for name, serve, ready in (
                    ("console", console, console_ready),
                    ("bare", bare, bare_ready),
                ):
                    ms, mb = one_tab(browser, serve, ready)
                    frames[name].append(ms)
                    rss[name].append(mb)
                print(
                    f"pair {pair + 1}: console {frames['console'][-1]:.0f} ms "
                    f"{rss['console'][-1]:.1f} MB, bare {frames['bare'][-1]:.0f} ms "
                    f"{rss['bare'][-1]:.1f} MB",
                    file=sys.stderr,
                )
        finally:
            browser.quit()
            console.stop()
            bare.stop()
    print(f"{args.pairs} interleaved pairs, {args.runs} runs, headless Chromium 1400x900")
    print(describe("first populated frame", frames["console"], frames["bare"], "ms", 0))
    print(describe("tab's app RSS", rss["console"], rss["bare"], "MB", 1))
    if args.markdown:
        fc, fb = statistics.median(frames["console"]), statistics.median(frames["bare"])
        rc, rb = statistics.median(rss["console"]), statistics.median(rss["bare"])
        print("\n| figure | bare app (floor) | console | ratio |\n|---|---|---|---|")
        print(f"| first populated frame, median | {fb:.0f} ms | {fc:.0f} ms | {fc / fb:.2f}x |")
        mc, mb_ = min(frames["console"]), min(frames["bare"])
        print(f"| first populated frame, min | {mb_:.0f} ms | {mc:.0f} ms | {mc / mb_:.2f}x |")
        print(f"| RSS of a tab's app, median | {rb:.1f} MB | {rc:.1f} MB | {rc / rb:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

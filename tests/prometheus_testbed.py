"""A real Prometheus on loopback, scraping a small exporter the test controls.

``Exporter`` serves node_exporter-style filesystem metrics from values the
test sets (and, for trends, lets the free space fall at a set rate with wall
time). ``PrometheusServer`` runs Debian's ``prometheus`` binary (installed by
tests/testbeds/prometheus/setup.sh) with a 1 s scrape interval and a
throw-away storage dir, waits until a query answers with the exporter's data,
and can be stopped and started again on the same port and storage, as a
server that goes away and comes back. If it cannot start, ``start`` raises
with the server's log: the tests then fail, they never skip.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

START_TIMEOUT = 90.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Exporter:
    """Serves ``/metrics`` with the buffer disk's size and free space."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.size = 0.0
        self.avail = 0.0
        self.fall_bps = 0.0  # free space falls this fast (bytes/s of wall time)
        self.since = time.time()
        self.set(50e12, 20e12)
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = exporter.metrics().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def set(self, size: float, avail: float, fall_bps: float = 0.0) -> None:
        with self.lock:
            self.size, self.avail, self.fall_bps = size, avail, fall_bps
            self.since = time.time()

    def metrics(self) -> str:
        with self.lock:
            avail = self.avail - self.fall_bps * (time.time() - self.since)
            size = self.size
        labels = 'device="/dev/md0",fstype="xfs",mountpoint="/data"'
        root = 'device="/dev/sda1",fstype="ext4",mountpoint="/"'
        return (
            "# HELP node_filesystem_size_bytes Filesystem size in bytes.\n"
            "# TYPE node_filesystem_size_bytes gauge\n"
            f"node_filesystem_size_bytes{{{labels}}} {size!r}\n"
            f"node_filesystem_size_bytes{{{root}}} 1e+11\n"
            "# HELP node_filesystem_avail_bytes Filesystem space available to non-root users "
            "in bytes.\n"
            "# TYPE node_filesystem_avail_bytes gauge\n"
            f"node_filesystem_avail_bytes{{{labels}}} {avail!r}\n"
            f"node_filesystem_avail_bytes{{{root}}} 5e+10\n"
        )

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


#: What ``PrometheusServer.start`` waits for by default: the test exporter's data.
READY = 'node_filesystem_size_bytes{mountpoint="/data"}'


class _Daemon:
    """A server binary on loopback with a log: started, waited for, stopped."""

    name = "server"

    def __init__(self, binary: str, workdir: Path, setup: str) -> None:
        found = shutil.which(binary) or f"/usr/bin/{binary}"
        if not Path(found).exists():
            raise RuntimeError(f"{binary} is not installed: run {setup} (make testbeds)")
        self.binary = found
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"{self.name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def answers(self) -> bool:
        """Whether the server is ready (``start`` waits for it)."""
        raise NotImplementedError

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            if self.answers():
                return
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(
            f"{self.name} was not ready within {START_TIMEOUT:g} s:\n{self.log_tail()}"
        )

    def get(self, path: str) -> Any:
        """The JSON of an API path (``/api/v1/alerts``), None when it does not answer."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=2) as answer:
                return json.load(answer)
        except (OSError, ValueError):
            return None

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


class PrometheusServer(_Daemon):
    name = "prometheus"

    def __init__(
        self,
        workdir: Path,
        exporter_port: int | None = None,
        *,
        config: str | None = None,
        ready: str = READY,
    ) -> None:
        """Scrapes the ``Exporter`` on ``exporter_port``, or runs with the
        given ``config`` (YAML text); ``start`` waits until ``ready`` (a
        query) has an answer."""
        super().__init__("prometheus", workdir, "tests/testbeds/prometheus/setup.sh")
        self.config = workdir / "prometheus.yml"
        self.storage = workdir / "data"
        self.ready = ready
        self.config.write_text(
            config
            if config is not None
            else "global:\n"
            "  scrape_interval: 1s\n"
            "  evaluation_interval: 1s\n"
            "scrape_configs:\n"
            "  - job_name: buffer\n"
            "    scrape_interval: 1s\n"
            "    scrape_timeout: 1s\n"
            "    static_configs:\n"
            f"      - targets: ['127.0.0.1:{exporter_port}']\n"
        )

    def command(self) -> list[str]:
        return [
            self.binary,
            f"--config.file={self.config}",
            f"--storage.tsdb.path={self.storage}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--storage.tsdb.retention.time=1h",
        ]

    def answers(self) -> bool:
        return bool(self.query(self.ready))

    def query(self, promql: str) -> list:
        answer = self.get("/api/v1/query?" + urllib.parse.urlencode({"query": promql}))
        try:
            return list(answer["data"]["result"])
        except (TypeError, KeyError):
            return []


class AlertmanagerServer(_Daemon):
    """Debian's ``prometheus-alertmanager`` (tests/testbeds/alertmanager),
    clustering off, throw-away storage, one receiver that goes nowhere."""

    name = "alertmanager"

    def __init__(self, workdir: Path) -> None:
        super().__init__("prometheus-alertmanager", workdir, "tests/testbeds/alertmanager/setup.sh")
        self.config = workdir / "alertmanager.yml"
        self.storage = workdir / "alertmanager"
        self.config.write_text(
            "route:\n"
            "  receiver: shift\n"
            "  group_by: [alertname, alarm]\n"
            "receivers:\n"
            "  - name: shift\n"
        )

    def command(self) -> list[str]:
        return [
            self.binary,
            f"--config.file={self.config}",
            f"--storage.path={self.storage}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--cluster.listen-address=",
        ]

    def answers(self) -> bool:
        return self.alerts() is not None

    def alerts(self) -> list | None:
        """``/api/v2/alerts``, None when it does not answer."""
        answer = self.get("/api/v2/alerts")
        return answer if isinstance(answer, list) else None

"""A real NATS server with JetStream on loopback, for the collector's tests.

``NatsServer`` runs Debian's ``nats-server`` (installed by
tests/testbeds/nats/setup.sh) with ``-js`` and a throw-away store, on a free
port, optionally with a user and password; it can be stopped and started
again on the same port and store, as a server that goes away and comes
back. If it cannot start, ``start`` raises with the server's log: the tests
then fail, they never skip.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def binary() -> str:
    for candidate in ("nats-server", "/usr/sbin/nats-server", "/usr/bin/nats-server"):
        found = shutil.which(candidate)
        if found:
            return found
    raise RuntimeError(
        "nats-server is not installed: run tests/testbeds/nats/setup.sh (make testbeds)"
    )


class NatsServer:
    def __init__(self, workdir: Path, *, user: str | None = None, password: str | None = None):
        self.workdir = workdir
        self.store = workdir / "store"
        self.log = workdir / "nats.log"
        self.port = free_port()
        self.user, self.password = user, password
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        argv = [binary(), "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.store)]
        if self.user is not None:
            argv += ["--user", self.user, "--pass", str(self.password)]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    if s.recv(4096).startswith(b"INFO"):
                        return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nats-server did not start:\n{self.log.read_text(errors='replace')}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

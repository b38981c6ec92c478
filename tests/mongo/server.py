"""A real server speaking the MongoDB protocol, on loopback, for the tests.

``secantusd-py`` (the ``secantusdb`` package, a test dependency) starts in
about two seconds. The suite starts it, waits until pymongo can ping it, and
stops it; a server that does not come up fails the run with its output. With
a storage directory its data outlives a restart on the same port, which is
how the loss-of-server tests bring it back.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pymongo
import pytest

START_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _executable() -> str:
    beside = Path(sys.executable).parent / "secantusd-py"
    found = str(beside) if beside.exists() else shutil.which("secantusd-py")
    if not found:
        pytest.fail("secantusd-py not found: install the test extra (pip install -e '.[test]')")
    return found


class SecantusServer:
    """One ``secantusd-py`` process; ``stop`` and ``start`` again keep the port."""

    def __init__(self, workdir: Path, *, persistent: bool = False) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.storage = str(workdir / "data") if persistent else ":memory:"
        self.log = workdir / "secantusd.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    def start(self) -> None:
        if self.storage != ":memory:":
            Path(self.storage).mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    _executable(),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--storage-path",
                    self.storage,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        client = pymongo.MongoClient(self.uri, serverSelectionTimeoutMS=500, connectTimeoutMS=500)
        try:
            while True:
                if self.process.poll() is not None:
                    self._fail(f"exited with code {self.process.returncode}")
                try:
                    client.admin.command("ping")
                    return
                except pymongo.errors.PyMongoError:
                    if time.monotonic() > deadline:
                        self.stop()
                        self._fail(f"did not answer a ping within {START_TIMEOUT_S:g} s")
                    time.sleep(0.1)
        finally:
            client.close()

    def _fail(self, why: str) -> None:
        output = self.log.read_text(errors="replace")[-4000:]
        pytest.fail(f"secantusd-py on port {self.port} {why}; its output:\n{output}", pytrace=False)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
        # The port must be free before a restart binds it again.
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()

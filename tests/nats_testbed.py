"""A real NATS server with JetStream on loopback, for the collector's tests.

``NatsServer`` runs Debian's ``nats-server`` (installed by
tests/testbeds/nats/setup.sh) with ``-js`` and a throw-away store, on a free
port, optionally with a user and password; it can be stopped and started
again on the same port and store, as a server that goes away and comes
back. If it cannot start, ``start`` raises with the server's log: the tests
then fail, they never skip.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.prometheus_testbed import free_port

START_TIMEOUT = 30.0


def binary() -> str:
    for candidate in ("nats-server", "/usr/sbin/nats-server", "/usr/bin/nats-server"):
        found = shutil.which(candidate)
        if found:
            return found
    raise RuntimeError(
        "nats-server is not installed: run tests/testbeds/nats/setup.sh (make testbeds)"
    )


class NatsServer:
    def __init__(
        self,
        workdir: Path,
        *,
        user: str | None = None,
        password: str | None = None,
        config: str | None = None,
        env: dict[str, str] | None = None,
        tls: tuple[Path, Path] | None = None,
    ):
        """``config``: a server config file's text; its ``listen`` and
        ``store_dir`` are replaced by this server's."""
        self.workdir = workdir
        self.store = workdir / "store"
        self.log = workdir / "nats.log"
        self.port = free_port()
        self.user, self.password = user, password
        self.config = config
        self.env = env
        #: (certificate, key): the server speaks TLS only.
        self.tls = tls
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        argv = [binary(), "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.store)]
        if self.user is not None:
            argv += ["--user", self.user, "--pass", str(self.password)]
        if self.tls is not None:
            argv += ["--tls", "--tlscert", str(self.tls[0]), "--tlskey", str(self.tls[1])]
        if self.config is not None:
            text = re.sub(r"(?m)^listen:.*$", f"listen: 127.0.0.1:{self.port}", self.config)
            text = re.sub(r'store_dir: "[^"]*"', f'store_dir: "{self.store}"', text)
            path = self.workdir / "nats.conf"
            path.write_text(text)
            argv = [binary(), "-c", str(path)]
        env = {**os.environ, **(self.env or {})}
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
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


def make_certificates(workdir: Path) -> tuple[Path, Path, Path]:
    """(CA certificate, server certificate, server key) for 127.0.0.1, made
    with ``openssl`` (installed with the test bed)."""
    ca_key, ca, key, csr, cert = (
        workdir / n for n in ("ca.key", "ca.pem", "s.key", "s.csr", "s.pem")
    )
    ext = workdir / "san.ext"
    ext.write_text("subjectAltName = IP:127.0.0.1\n")

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca),
        "-days", "2", "-subj", "/CN=xenon-test-ca")  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
        "-subj", "/CN=127.0.0.1")  # fmt: skip
    run("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
        "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(ext))  # fmt: skip
    return ca, cert, key


def start_collector(
    config_text: str,
    workdir: Path,
    url: str,
    *,
    factory: Any = None,
    published: int = 1,
    metrics: tuple[str, int] | None = None,
) -> Any:
    """A collector on ``url`` for the config ``config_text`` (heartbeats every
    0.5 s), once it has published ``published`` snapshots; the caller closes
    it. Its log is in the error when it publishes nothing."""
    import io

    from backends.natsfeed.link import NatsOptions
    from console.collector import Collector
    from console.config import load_config
    from console.fetching import Backends

    path = workdir / "collector.toml"
    path.write_text(config_text)
    config = load_config(path)
    log = io.StringIO()
    collector = Collector(
        config, Backends(config, factory), NatsOptions.from_options({"url": url}),
        heartbeat_every=0.5, log=log, metrics=metrics,
    )  # fmt: skip
    collector.start()
    deadline = time.monotonic() + 60
    while collector.published < published:
        if time.monotonic() > deadline:
            collector.close()
            raise AssertionError(f"the collector published nothing:\n{log.getvalue()}")
        time.sleep(0.1)
    return collector

"""A real Rucio server on loopback, for the tests and the benchmark.

The server package (``rucio`` 41.5.1) lives in its own virtual environment,
``.venv-rucio-server`` (installed by ``tests/testbeds/rucio/setup.sh``), never
in the app's: the server and ``rucio-clients`` both install the ``rucio``
module. ``RucioServer`` writes a ``rucio.cfg`` into a private RUCIO_HOME
(SQLite database, userpass root, tokens kept in that directory), bootstraps the
database, serves it with gunicorn on a free port and runs snippets of the
server's own core (``server_python``) for what the REST API cannot do, such as
marking a transfer failed. If the server does not come up, ``start`` raises
with the gunicorn log, so a test run fails instead of skipping.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVER_VENV = Path(os.environ.get("RUCIO_SERVER_VENV", ROOT / ".venv-rucio-server"))
ROOT_PASSWORD = "root-secret-Pa55"
START_TIMEOUT_S = 90.0
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child: SIGTERM when the process that started it dies (Linux).

    A test run killed before its teardown (a CI timeout, Ctrl-C twice) must
    not leave a server running on a shared machine.
    """
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RucioServer:
    """One Rucio server with its own RUCIO_HOME, database and port."""

    def __init__(self, home: Path, venv: Path = SERVER_VENV) -> None:
        self.home = home
        self.venv = venv
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = home / "gunicorn.log"
        self.pid_path = home / "gunicorn.pid"
        self._process: subprocess.Popen[bytes] | None = None
        self._configure()

    # ------------------------------------------------------------- set-up

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RUCIO_", "X509_"))}
        env["RUCIO_HOME"] = str(self.home)
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def _configure(self) -> None:
        if not self.python.exists():
            raise RuntimeError(
                f"no Rucio server venv at {self.venv}: run tests/testbeds/rucio/setup.sh"
            )
        etc = self.home / "etc"
        etc.mkdir(parents=True, exist_ok=True)
        (self.home / "token").mkdir(exist_ok=True)
        site = subprocess.run(
            [str(self.python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        (etc / "alembic.ini").write_text(
            textwrap.dedent(f"""\
            [alembic]
            sqlalchemy.url = sqlite:///{self.home}/rucio.db
            script_location = {site}/rucio/db/sqla/migrate_repo/

            [loggers]
            keys = root

            [handlers]
            keys = console

            [formatters]
            keys = generic

            [logger_root]
            level = WARN
            handlers = console

            [handler_console]
            class = StreamHandler
            args = (sys.stderr,)
            formatter = generic

            [formatter_generic]
            format = %%(levelname)s [%%(name)s] %%(message)s
            """)
        )
        (etc / "rucio.cfg").write_text(
            textwrap.dedent(f"""\
            [common]
            loglevel = WARNING

            [database]
            default = sqlite:///{self.home}/rucio.db

            [bootstrap]
            userpass_identity = root
            userpass_pwd = {ROOT_PASSWORD}
            userpass_email = root@localhost

            [client]
            rucio_host = {self.url}
            auth_host = {self.url}
            auth_type = userpass
            username = root
            password = {ROOT_PASSWORD}
            account = root
            auth_token_file_path = {self.home}/token/root

            [policy]
            permission = generic
            schema = generic
            lfn2pfn_algorithm_default = hash

            [monitor]
            enable_metrics = False

            [alembic]
            cfg = {etc}/alembic.ini
            """)
        )

    def bootstrap(self) -> None:
        """Create the schema, the default VO and the root account (about 3 s)."""
        self.server_python("""
            from rucio.db.sqla.util import build_database, create_base_vo, create_root_account
            build_database()
            create_base_vo()
            create_root_account()
        """)

    def server_python(self, code: str, timeout: float = 300.0) -> str:
        """Run Python in the server's venv with this RUCIO_HOME; its stdout."""
        done = subprocess.run(
            [str(self.python), "-c", textwrap.dedent(code)],
            env=self._env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"server-side Python failed:\n{done.stderr[-4000:]}")
        return done.stdout

    # ----------------------------------------------------------- lifecycle

    def start(self) -> None:
        """Start gunicorn and wait for /ping; raise with its log if it does not answer."""
        if self._process is not None and self._process.poll() is None:
            return
        log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            [
                str(self.venv / "bin" / "gunicorn"),
                "-b",
                f"127.0.0.1:{self.port}",
                "-w",
                "1",
                "--threads",
                "4",
                "--timeout",
                "120",
                "--pid",
                str(self.pid_path),
                "rucio.web.rest.flaskapi.v1.main:application",
            ],
            env=self._env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            if self.ping():
                return
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(
            f"Rucio server did not answer /ping on {self.url} within {START_TIMEOUT_S:g} s;"
            f" gunicorn log:\n{self.log()}"
        )

    def ping(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/ping", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        """Stop the gunicorn this object started (its own process group only)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-6000:]
        except OSError:
            return "(no log)"

    def table_digests(self, ignore: tuple[str, ...] = ("tokens",)) -> dict[str, str]:
        """A digest of every table's rows, read straight from the SQLite file.

        For "the console never writes": compare before and after a session.
        ``tokens`` is left out: logging in stores a token, which is Rucio's
        authentication, not a change to the data being watched.
        """
        db = sqlite3.connect(f"file:{self.home}/rucio.db?mode=ro", uri=True)
        try:
            names = [
                row[0]
                for row in db.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
                )
            ]
            out = {}
            for name in names:
                if name in ignore:
                    continue
                rows = sorted(repr(row) for row in db.execute(f'SELECT * FROM "{name}"'))
                out[name] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
            return out
        finally:
            db.close()

    # -------------------------------------------------------------- clients

    def client_config(self) -> Path:
        """The rucio.cfg a client in the app's venv can point RUCIO_CONFIG at."""
        return self.home / "etc" / "rucio.cfg"

    def root_client(self):  # type: ignore[no-untyped-def]
        """A read-write client as root, for populating and inspecting the server."""
        from rucio.client import Client

        return Client(
            rucio_host=self.url,
            auth_host=self.url,
            account="root",
            auth_type="userpass",
            creds={"username": "root", "password": ROOT_PASSWORD},
            timeout=60,
        )


def main() -> None:  # pragma: no cover - manual use: start a server and wait
    import tempfile

    home = Path(tempfile.mkdtemp(prefix="rucio-home-"))
    server = RucioServer(home)
    server.bootstrap()
    server.start()
    print(server.url, home, flush=True)
    try:
        signal.pause()
    finally:
        server.stop()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

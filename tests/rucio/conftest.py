"""One real Rucio server for the session, filled from the simulator.

Started once (bootstrap about 3 s, gunicorn about 3 s, population about
15 s) and stopped at the end. If it cannot start, every test using it fails
with the server's log: the suite never skips a real-server test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.rucio.populate import ACCOUNT, ACCOUNT_PASSWORD, Population, populate
from tests.rucio.testbed import RucioServer


@dataclass
class RucioBed:
    server: RucioServer
    population: Population
    token_dir: Path

    def backend_options(self, **overrides: Any) -> dict[str, Any]:
        """Options of the console's backend: the experiment's (non-admin) account."""
        options: dict[str, Any] = {
            "host": self.server.url,
            "account": ACCOUNT,
            "auth_type": "userpass",
            "username": ACCOUNT,
            "password": ACCOUNT_PASSWORD,
            "token_dir": str(self.token_dir),
            "timeout": 5,
        }
        options.update(overrides)
        return options


@pytest.fixture(scope="session")
def rucio_bed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RucioBed]:
    home = tmp_path_factory.mktemp("rucio-home")
    server = RucioServer(home)
    server.bootstrap()
    server.start()  # raises with the gunicorn log if /ping does not answer
    try:
        population = populate(server)
        yield RucioBed(server, population, home / "console-token")
    finally:
        server.stop()


@pytest.fixture
def running(rucio_bed: RucioBed) -> RucioBed:
    """The session's server, started again if a test left it stopped."""
    rucio_bed.server.start()
    return rucio_bed

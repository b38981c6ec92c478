"""The real htcondor2 bindings against addresses where nothing listens.

No HTCondor daemon can run on these machines, but what a shifter sees when a
schedd or the collector is gone can be tested for real: the bindings must
fail by themselves (a CEDAR error, not the backend's own timeout, which is
set far out of reach here), the error must be reported per schedd, and the
other schedds must go on.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from backends.condor import CondorBackend
from backends.condor.classad_text import history_text, queue_text
from backends.condor.transport import Htcondor2Transport, ScheddRef
from backends.simulator import SCHEDD, SimulatorBackend
from backends.sources import SourceError
from console.cli import main
from tests.condor_text_transport import TextTransport


@pytest.fixture
def dead_port() -> int:
    """A loopback port that was free a moment ago: connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Routing:
    """The simulator's schedd from text; every other schedd through htcondor2."""

    def __init__(self, text: TextTransport, real: Htcondor2Transport) -> None:
        self.text, self.real = text, real

    def _for(self, schedd: ScheddRef) -> Any:
        return self.text if schedd.name in self.text.schedds else self.real

    def locate_schedds(self) -> list[ScheddRef]:
        return self.real.locate_schedds()

    def locate(self, name: str) -> ScheddRef:
        return (self.text if name in self.text.schedds else self.real).locate(name)

    def query(
        self, schedd: ScheddRef, constraint: str, projection: Sequence[str]
    ) -> list[Mapping[str, Any]]:
        return list(self._for(schedd).query(schedd, constraint, projection))

    def history(
        self, schedd: ScheddRef, since: str | None, constraint: str, projection: Sequence[str]
    ) -> list[Mapping[str, Any]]:
        return list(self._for(schedd).history(schedd, since, constraint, projection))


def test_unreachable_schedd_fails_fast_and_the_other_goes_on(dead_port: int) -> None:
    sim = SimulatorBackend({"scenario": "held-jobs", "speed": 0}).fetch_jobs()
    text = TextTransport()
    text.set_text(SCHEDD, queue_text(sim), history_text(sim))
    dead = f"<127.0.0.1:{dead_port}>"
    backend = CondorBackend(
        {"schedds": [SCHEDD, dead], "timeout": 120, "history_hours": 48},
        transport=Routing(text, Htcondor2Transport(None)),
        clock=lambda: sim.taken_at,
    )
    try:
        snap = backend.fetch_jobs()
    finally:
        backend.close()
    ((name, error),) = snap.schedd_errors
    assert name == dead
    assert error.startswith(
        "HTCondorException: Failed to fetch ads from schedd, "
        f"errmsg=CEDAR:6001:Failed to connect to <127.0.0.1:{dead_port}>"
    )
    assert error.endswith("(no data yet)") and "no answer within" not in error
    assert len(snap.jobs) == 1284 and {j.schedd for j in snap.jobs} == {SCHEDD}


def test_only_schedd_unreachable_raises_the_cedar_error(dead_port: int) -> None:
    backend = CondorBackend({"schedds": [f"127.0.0.1:{dead_port}"], "timeout": 120})
    try:
        with pytest.raises(SourceError) as info:
            backend.fetch_jobs()
    finally:
        backend.close()
    assert str(info.value).startswith(
        f"no schedd could be read: 127.0.0.1:{dead_port}: HTCondorException: "
        "Failed to fetch ads from schedd, errmsg=CEDAR:6001:Failed to connect"
    )


def test_unreachable_collector_is_one_line(dead_port: int) -> None:
    pool = f"127.0.0.1:{dead_port}"
    for options in ({"pool": pool}, {"pool": pool, "schedds": ["xenon-submit"]}):
        backend = CondorBackend({**options, "timeout": 120})
        try:
            with pytest.raises(SourceError) as info:
                backend.fetch_jobs()
        finally:
            backend.close()
        assert "HTCondorException" in str(info.value) and "\n" not in str(info.value)
        assert str(info.value).startswith(
            f"collector {pool}: "
            if "schedds" not in options
            else "no schedd could be read: xenon-submit: HTCondorException"
        )


def test_report_json_shows_the_jobs_error_and_the_other_panes(
    dead_port: int, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f"""
[panes]
jobs = "condor"

[backends.condor]
schedds = ["<127.0.0.1:{dead_port}>"]
timeout = 60

[backends.simulator]
speed = 0
""")
    main(["--config", str(config), "report", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert report["jobs"]["source"] == "condor"
    assert report["jobs"]["error"].startswith(
        f"SourceError: no schedd could be read: <127.0.0.1:{dead_port}>: HTCondorException"
    )
    assert report["buffer"]["error"] is None and report["runs"]["error"] is None


def test_the_bindings_accept_the_history_since_expressions(dead_port: int) -> None:
    """The ``since`` and projection the backend sends get as far as the network."""
    import htcondor2

    from backends.condor.ads import projection
    from backends.condor.aggregate import AdsRead
    from backends.condor.history import HistoryWindow

    window = HistoryWindow(3 * 3600)
    first = window.since(datetime(2017, 11, 15, 12, tzinfo=UTC))
    read = AdsRead()
    read.first_id = (4211319, 0)
    window.add(read, datetime(2017, 11, 15, 12, tzinfo=UTC))
    later = window.since(datetime(2017, 11, 15, 12, 5, tzinfo=UTC))
    assert later.startswith("(ClusterId == 4211319 && ProcId == 0) || ")
    transport = Htcondor2Transport(None)
    dead = ScheddRef(f"<127.0.0.1:{dead_port}>", f"<127.0.0.1:{dead_port}>")
    for since in (first, later):
        with pytest.raises(htcondor2.HTCondorException, match="Failed to connect"):
            transport.history(
                dead,
                since,
                'Owner == "xenon"',
                projection(("MATCH_EXP_JOB_GLIDEIN_Site",), "RunNumber"),
            )

"""Twenty consoles on one collector cost the runs database one collector's reads."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from backends.model import Kind
from backends.mongo import MongoBackend
from backends.registry import create_backend
from backends.sources import Backend
from console.config import load_config
from console.fetching import Backends, fetch_all
from tests.mongo.test_server import Commands, export
from tests.nats_testbed import NatsServer, start_collector


def test_twenty_consoles_read_the_runs_database_nothing(
    server_uri: str, db_name: str, nats_server: NatsServer, tmp_path: Path
) -> None:
    assert export(server_uri, db_name) == 0
    commands = Commands()

    def factory(type_name: str, options: Mapping[str, Any]) -> Backend:
        if type_name == "mongo":  # the collector's one client, its commands counted
            return MongoBackend(options, client_options={"event_listeners": [commands]})
        return create_backend(type_name, options)

    collector = start_collector(
        f'[backends.db]\ntype = "mongo"\nuri = "{server_uri}"\ndatabase = "{db_name}"\n'
        '[panes]\nruns = "db"\ntape = "db"\nbuffer = false\ntransfers = false\njobs = false\n'
        "[intervals]\nruns = 3600\ntape = 3600\n",  # no second poll during the test
        tmp_path,
        nats_server.url,
        factory=factory,
        published=2,
    )
    try:
        asked = len(commands.names)
        assert "find" in commands.names
        feed = tmp_path / "feed.toml"
        feed.write_text(
            f'[backends.feed]\ntype = "nats"\nurl = "{nats_server.url}"\n'
            '[panes]\nruns = "feed"\ntape = "feed"\nbuffer = false\ntransfers = false\n'
            "jobs = false\n"
        )
        fed = load_config(feed)
        for _ in range(20):
            sources = Backends(fed)
            try:
                results = fetch_all(sources, fed)
            finally:
                sources.close()
            assert all(r.error is None for r in results.values()), results
            assert len(results[Kind.RUNS].snapshot.runs) == 720  # type: ignore[union-attr]
        assert len(commands.names) == asked  # the database saw the collector's reads alone
    finally:
        collector.close()

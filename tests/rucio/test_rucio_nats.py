"""Twenty consoles on one collector cost the real Rucio server one collector's polls."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from backends.model import Kind
from console.config import load_config
from console.fetching import Backends, fetch_all
from tests.nats_testbed import NatsServer, start_collector
from tests.rucio.conftest import RucioBed


def _toml(options: dict[str, object]) -> str:
    return "\n".join(
        f"{k} = {v!r}" if not isinstance(v, str) else f'{k} = "{v}"' for k, v in options.items()
    )


def test_twenty_consoles_ask_rucio_nothing(
    running: RucioBed, nats_server: NatsServer, tmp_path: Path
) -> None:
    collector = start_collector(
        f'[backends.rucio]\ntype = "rucio"\n{_toml(running.backend_options())}\n'
        '[panes]\ntransfers = "rucio"\nbuffer = false\ntape = false\njobs = false\nruns = false\n'
        "[intervals]\ntransfers = 3600\n",  # no second poll during the test
        tmp_path,
        nats_server.url,
    )
    try:
        rucio = collector.sources.instances()["rucio"]
        asked = Counter(rucio.requests_sent)  # type: ignore[attr-defined]
        asked.pop("GET auth/userpass", None)
        assert asked == {"GET rses": 1, "GET rules": 1, "GET rses/*/usage": 7}
        feed = tmp_path / "feed.toml"
        feed.write_text(
            f'[backends.feed]\ntype = "nats"\nurl = "{nats_server.url}"\n'
            '[panes]\ntransfers = "feed"\nbuffer = false\ntape = false\njobs = false\n'
            "runs = false\n"
        )
        fed = load_config(feed)
        snapshots = []
        for _ in range(20):
            sources = Backends(fed)
            try:
                result = fetch_all(sources, fed)[Kind.TRANSFERS]
            finally:
                sources.close()
            assert result.error is None, result.error
            snapshots.append(result.snapshot)
        assert all(s == snapshots[0] for s in snapshots)
        assert len(snapshots[0].rules) == 88  # type: ignore[union-attr]
        after = Counter(rucio.requests_sent)  # type: ignore[attr-defined]
        after.pop("GET auth/userpass", None)
        assert after == asked  # the server saw the collector's one poll, nothing more
    finally:
        collector.close()

"""``/metrics`` for Prometheus: the console's figures, alarms and source health.

An ``Exporter`` is a front end of the polling core (``console.polling``),
like the TUI and the collector: ``xenon-console exporter --listen`` polls
the backends itself, ``xenon-console collect --metrics`` adds it to a
collector. When a poll comes back, the exporter computes that kind's metric
families (``console.metrics``) in the polling thread and keeps them; a
scrape only formats what is kept, plus each source's health and the alarms
counted by severity (the alarms are the ones the TUI would show now: each
poll's content alarms and each source's health at scrape time).

It is a ``prometheus_client`` custom collector, served from its own
registry with the library's process metrics.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import IO, Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from backends.analysis.alarms import Alarm, Severity, sort_alarms, source_alarm, stale_after
from backends.analysis.run_index import RunTable
from backends.model import Kind, Snapshot
from console.config import Config
from console.fetching import Backends, describe_error, fetch_one
from console.metrics import PREFIX, Family, merged, snapshot_metrics, source_metrics
from console.polling import (
    Derived,
    Event,
    Health,
    Polled,
    Poller,
    change_line,
    derive,
    healths,
    log_line,
)


class Exporter(Collector):
    """The newest metric families of every kind a ``Poller`` delivers."""

    def __init__(
        self,
        config: Config,
        sources: Backends,
        *,
        clock: Callable[[], float] = time.time,
        log: IO[str] | None = None,
    ) -> None:
        """``log``: where to say, one line each, when a source fails or is
        back (None: nowhere; a collector says it itself)."""
        self.config = config
        self.clock = clock
        self._log = log
        self._lock = threading.Lock()
        self._health: dict[Kind, Health] = healths(sources, config)
        self._families: dict[Kind, list[Family]] = {}
        self._content: dict[Kind, list[Alarm]] = {}
        self._snapshots: dict[Kind, Snapshot] = {}
        #: The runs table the runs' figures are of (the newest delivered).
        self._runs_table: RunTable | None = None

    # ------------------------------------------------------- from the polls

    def deliver(self, event: Event) -> None:
        """The polling core's callback (in a polling thread)."""
        if isinstance(event, Polled):
            with self._lock:
                health = self._health.get(event.result.kind)
                if health is None:
                    return
                changed = health.record(event.result, self.clock())
                if event.result.snapshot is not None:
                    self._snapshots[event.result.kind] = event.result.snapshot
            if changed and self._log is not None:
                log_line(self._log, "exporter", change_line(event.result))
        elif isinstance(event, Derived):
            if event.snapshot is not None:
                self._derived(event)
            if event.then is not None:
                self.deliver(event.then)

    def _derived(self, event: Derived) -> None:
        kind = event.kind
        table = event.table if kind is Kind.RUNS else None
        if table is not None:
            with self._lock:
                # The transfers poll derived the runs again meanwhile (Rucio's
                # new word): an older table's figures and alarms are stale.
                if not table.newer_than(self._runs_table):
                    return
                self._runs_table = table
        broken = event.error
        families: list[Family] = []
        if broken is None and event.snapshot is not None:
            try:
                families = snapshot_metrics(
                    kind, event.snapshot, self.config.thresholds, self.config.policy, table
                )
            except Exception as exc:  # garbage from a backend: say it, keep the rest
                broken = f"bad data: {describe_error(exc)}"
        with self._lock:
            health = self._health.get(kind)
            if health is None:
                return
            if broken is not None:  # as the TUI: the data is kept, and stale
                health.error = broken
            self._families[kind] = families
            if event.alarms is not None:
                self._content[kind] = list(event.alarms)

    # -------------------------------------------------------------- reading

    def alarms(self) -> list[Alarm]:
        """The alarms the TUI would show now, most severe first."""
        with self._lock:
            content = [a for alarms in self._content.values() for a in alarms]
            health = {kind: _copy(h) for kind, h in self._health.items()}
            snapshots = dict(self._snapshots)
        now = self.clock()
        limits = self.config.thresholds
        found = list(content)
        for kind, h in health.items():
            snapshot = snapshots.get(kind)
            limit = stale_after(limits, h.interval)
            age = None if h.ok_at is None else max(0.0, now - h.ok_at)
            data_now = (
                snapshot.taken_at + timedelta(seconds=age or 0.0)
                if snapshot is not None
                else datetime.now(UTC)
            )
            alarm = source_alarm(kind, snapshot, h.error, data_now, limit, age=age)
            if alarm is not None:
                found.append(alarm)
        return sort_alarms(found)

    def families(self) -> list[Family]:
        """Every family of a scrape, in kind order, then the sources and alarms."""
        with self._lock:
            groups = [self._families[k] for k in self._health if k in self._families]
            health = {kind: _copy(h) for kind, h in self._health.items()}
        out = merged([*groups, source_metrics(health, self.clock())])
        counts: dict[Severity, int] = {s: 0 for s in Severity if s is not Severity.OK}
        for alarm in self.alarms():
            counts[alarm.severity] += 1
        out.append(
            Family(
                PREFIX + "alarms",
                "Alarms the console raises now, by severity (as check and the TUI count them).",
                ("severity",),
                tuple(((s.name.lower(),), float(n)) for s, n in counts.items()),
            )
        )
        return out

    def collect(self) -> Iterator[Metric]:
        """``prometheus_client``'s hook: the kept families, formatted."""
        for family in self.families():
            yield _metric(family)

    def poll_once(self, sources: Backends) -> None:
        """Poll every kind of ``sources`` once, in this thread, and keep what
        came back, as the polling core would deliver it (tests, benches)."""
        derived = derive(self.config, sources.kinds())
        for kind in sources.kinds():
            result = fetch_one(sources, kind)
            self.deliver(Polled(result, time.monotonic()))
            self.deliver(derived(result))

    def registry(self) -> CollectorRegistry:
        """A registry with this exporter and the process's own metrics."""
        from prometheus_client import PlatformCollector, ProcessCollector

        registry = CollectorRegistry(auto_describe=False)
        registry.register(self)
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        return registry


def _copy(health: Health) -> Health:
    return Health(health.backend, health.interval, health.error, health.ok_at, health.polls)


def _metric(family: Family) -> Metric:
    metric: Any
    if family.type == "counter":
        metric = CounterMetricFamily(
            family.name.removesuffix("_total"), family.help, labels=family.labels
        )
    else:
        metric = GaugeMetricFamily(family.name, family.help, labels=family.labels)
    for labels, value in family.samples:
        metric.add_metric(list(labels), value)
    return metric


# ---------------------------------------------------------------- serving


class ListenError(ValueError):
    """A ``--listen`` / ``--metrics`` address that is not HOST:PORT."""


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[v6]:PORT`` or ``:PORT`` (every address) to (host, port)."""
    host, sep, port_text = text.strip().rpartition(":")
    if not sep or not port_text:
        raise ListenError(f"{text!r} is not HOST:PORT (e.g. 127.0.0.1:9108 or :9108)")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ListenError(f"{text!r}: write an IPv6 address in brackets, [::1]:9108")
    try:
        port = int(port_text)
    except ValueError:
        raise ListenError(f"{text!r}: the port {port_text!r} is not a number") from None
    if not 0 < port < 65536:
        raise ListenError(f"{text!r}: the port must be 1-65535")
    return host or "0.0.0.0", port


class MetricsServer:
    """``/metrics`` of an exporter over HTTP, in a thread."""

    def __init__(self, exporter: Exporter, host: str, port: int) -> None:
        from prometheus_client import start_http_server

        self.host = host
        try:
            self._server, self._thread = start_http_server(
                port, addr=host, registry=exporter.registry()
            )
        except OSError as exc:
            raise ListenError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        self.port = int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


@contextlib.contextmanager
def serve_metrics(
    config: Config, sources: Backends, host: str, port: int, *, log: IO[str] | None = None
) -> Iterator[MetricsServer]:
    """``xenon-console exporter``: poll ``sources`` and serve their metrics
    until the block ends (then everything is stopped and closed)."""
    exporter = Exporter(config, sources, log=log)
    poller = Poller(sources, config, exporter.deliver, derive(config, sources.kinds()))
    try:
        server = MetricsServer(exporter, host, port)
    except BaseException:
        sources.close()
        raise
    poller.start()
    try:
        yield server
    finally:
        poller.stop()
        server.close()
        sources.close()

"""The exporter, the alert rules and the lab's monitoring, with real components.

Without a server: the metrics of every simulator scenario agree with the
console's own figures (perfdata, ``report --json``) and its alarms; hostile
label values stay one escaped line; the rules file is the one generated from
the default thresholds. With Debian's ``promtool``: the rules check and pass
their unit tests (tests/alerts/xenon.rules.test.yml). With a real Prometheus
and a real Alertmanager on loopback: Prometheus scrapes an exporter per
scenario (and the ``exporter`` command itself), evaluates the rules, and the
alerts firing for each scenario are exactly the console's alarms (alarm key
and severity), ``nominal`` none; they arrive in Alertmanager.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from backends.analysis.alarms import Thresholds
from backends.analysis.run_index import tabled
from backends.analysis.safety import verdict_word
from backends.model import Kind, RseStatus, Snapshot, TransfersSnapshot
from backends.simulator import SCENARIOS
from console.alert_rules import rules_yaml
from console.cli import main
from console.config import Config, load_config
from console.exporter import Exporter, ListenError, MetricsServer, parse_listen
from console.fetching import Backends, fetch_all, fetch_one
from console.polling import Derived, Polled, Poller, derive
from console.report import alarms_for, report_data
from tests.nats_testbed import NatsServer, start_collector
from tests.prometheus_testbed import AlertmanagerServer, PrometheusServer, free_port

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "alerts" / "xenon.rules.yml"
RULE_TESTS = ROOT / "tests" / "alerts" / "xenon.rules.test.yml"
#: Generous: the machine is shared; Prometheus scrapes and evaluates every second.
FIRING_TIMEOUT = 60.0


def simulator(scenario: str) -> Config:
    return load_config(None, scenario=scenario, seed=1, speed=0)


def fed(config: Config) -> tuple[Exporter, Backends]:
    """An exporter fed one poll of every kind, as the polling core would."""
    sources = Backends(config)
    exporter = Exporter(config, sources)
    exporter.poll_once(sources)
    return exporter, sources


def samples(exporter: Exporter) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, parsed back from the exposition text."""
    text = generate_latest(exporter.registry()).decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(found: dict, name: str, **labels: str) -> float:
    return found[(name, tuple(sorted(labels.items())))]


def alarm_set(alarms) -> set[tuple[str, str]]:
    return {(a.key, a.severity.name.lower()) for a in alarms}


# ------------------------------------------------------------- no server


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_metrics_agree_with_the_report_and_check(scenario: str) -> None:
    config = simulator(scenario)
    exporter, sources = fed(config)
    try:
        results = fetch_all(sources, config)
    finally:
        sources.close()
    found = samples(exporter)
    report = report_data(results, config)
    perf = {
        p.split("=")[0]: p.split("=")[1].split(";")[0] for p in _perfdata(results, config).split()
    }
    assert value(found, "xenon_buffer_used_ratio") * 100 == pytest.approx(
        float(perf["buffer_fill"].rstrip("%")), abs=0.05
    )
    assert value(found, "xenon_tape_failures", kind="upload") == float(perf["tape_failed"])
    held = sum(v for (name, labels), v in found.items() if name == "xenon_jobs" and
               ("state", "held") in labels)  # fmt: skip
    assert held == float(perf["jobs_held"])
    runs = sum(v for (name, _), v in found.items() if name == "xenon_runs")
    assert runs == report["runs"]["count"] == (720 if scenario == "nominal" else runs)
    assert value(found, "xenon_runs_unsafe_overdue") == report["runs"]["unsafe_old"]
    assert verdicts(found) == slow_verdicts(results[Kind.RUNS].snapshot, config)
    stuck = sum(
        v for (name, labels), v in found.items()
        if name == "xenon_rucio_rules" and ("state", "STUCK") in labels
    )  # fmt: skip
    assert stuck == float(perf["rules_stuck"])
    # The alarms the exporter counts are check's, one for one.
    assert alarm_set(exporter.alarms()) == alarm_set(alarms_for(results, config))
    by_severity = {s: 0.0 for s in ("warning", "critical", "unknown")}
    for _, severity in alarm_set(exporter.alarms()):
        by_severity[severity] += 1
    for severity, count in by_severity.items():
        assert value(found, "xenon_alarms", severity=severity) == count


def verdicts(found: dict) -> dict[tuple[str, str], float]:
    """``xenon_runs`` by (science, verdict)."""
    return {
        (dict(labels)["science"], dict(labels)["verdict"]): v
        for (name, labels), v in found.items()
        if name == "xenon_runs"
    }


def slow_verdicts(snapshot, config: Config) -> Counter:
    """Each run's verdict word, the slow way: run by run, as the runs pane says it."""
    hours = config.thresholds.unsafe_after_hours
    before = (snapshot.taken_at - timedelta(hours=hours)).timestamp()
    return Counter(
        (f.science_run or "none", verdict_word(f.verdict, f.overdue(before)))
        for f in tabled(snapshot.runs, config.policy).facts
    )


def test_verdict_counts_split_waiting_from_overdue_runs(tmp_path: Path) -> None:
    """With the uplink down for 36 h and copies due after 6 h, runs miss
    copies: each is counted once, as ``miss``, not ``wait``."""
    path = tmp_path / "config.toml"
    path.write_text("[thresholds]\nunsafe_after_hours = 6\n")
    config = load_config(path, scenario="uplink-down", seed=1, speed=0)
    exporter, sources = fed(config)
    try:
        snapshot = fetch_one(sources, Kind.RUNS).snapshot
    finally:
        sources.close()
    counted = verdicts(samples(exporter))
    assert counted == slow_verdicts(snapshot, config)
    assert counted[("SR1", "miss")] > 0 and counted[("SR1", "wait")] > 0


def _perfdata(results, config) -> str:
    from console.report import check_line

    return check_line(results, config)[1].partition(" | ")[2]


def test_known_figures_of_the_seeded_scenarios() -> None:
    """The numbers the README's check table gives, as metrics."""
    full, sources = fed(simulator("buffer-full"))
    sources.close()
    found = samples(full)
    assert round(value(found, "xenon_buffer_used_ratio"), 3) == 0.964
    assert value(found, "xenon_buffer_time_to_full_seconds") / 86400 == pytest.approx(2.6, 0.02)
    outage, sources = fed(simulator("rse-outage"))
    sources.close()
    found = samples(outage)
    assert value(found, "xenon_rucio_rules", rse="NIKHEF_USERDISK", state="STUCK") == 7
    assert value(found, "xenon_rucio_rse_available", rse="NIKHEF_USERDISK") == 0
    assert value(found, "xenon_rucio_rse_available", rse="CNAF_USERDISK") == 1
    held, sources = fed(simulator("held-jobs"))
    sources.close()
    found = samples(held)
    assert sum(v for (n, labels), v in found.items()
               if n == "xenon_jobs" and ("state", "held") in labels) == 770  # fmt: skip
    assert value(found, "xenon_dags_stalled") == 7


def test_names_and_units_follow_the_prometheus_guidelines() -> None:
    exporter, sources = fed(simulator("nominal"))
    sources.close()
    text = generate_latest(exporter.registry()).decode()
    families = [f for f in text_string_to_metric_families(text) if f.name.startswith("xenon_")]
    assert len(families) > 30
    for family in families:
        assert family.documentation, family.name
        if family.type == "counter":
            assert all(s.name.endswith("_total") for s in family.samples), family.name
        else:
            assert not family.name.endswith("_total"), family.name
        assert "percent" not in family.name, family.name
        for sample in family.samples:
            assert "run" not in sample.labels and "number" not in sample.labels


def test_hostile_label_values_stay_one_escaped_line() -> None:
    config = simulator("nominal")
    exporter = Exporter(config, Backends(config))
    name = 'EVIL"} 1\nxenon_fake 666\x1b[31m\u202e'
    snapshot = TransfersSnapshot(
        taken_at=exporter_time(), rses=(RseStatus(name, 1, 2, available=False),), rules=()
    )
    _deliver(exporter, Kind.TRANSFERS, snapshot)
    text = generate_latest(exporter.registry()).decode()
    assert "xenon_fake" not in {f.name for f in text_string_to_metric_families(text)}
    assert "\x1b" not in text and "\u202e" not in text
    (label,) = [
        s.labels["rse"]
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == "xenon_rucio_rse_available"
    ]
    assert "\n" not in label and label.startswith('EVIL"}')
    assert [a.key for a in exporter.alarms()] == [f"rse.{name}.unavailable"]


def exporter_time():
    from datetime import UTC, datetime

    return datetime(2017, 11, 15, tzinfo=UTC)


def _deliver(exporter: Exporter, kind: Kind, snapshot: Snapshot) -> None:
    from console.fetching import Result

    result = Result(kind, "simulator", snapshot, None, 0.0)
    exporter.deliver(Polled(result, 0.0))
    exporter.deliver(derive(exporter.config)(result))


def test_garbage_a_metric_cannot_digest_makes_the_source_stale_not_the_scrape_fail() -> None:
    config = simulator("nominal")
    exporter, sources = fed(config)
    sources.close()
    good = samples(exporter)
    bad = replace(
        exporter._snapshots[Kind.TRANSFERS],  # type: ignore[arg-type]
        rules=("not a rule",),
    )
    result_kind = Kind.TRANSFERS
    from console.fetching import Result

    result = Result(result_kind, "simulator", bad, None, 0.0)
    exporter.deliver(Polled(result, 0.0))
    exporter.deliver(Derived(result_kind, bad, [], 0))
    found = samples(exporter)
    assert value(found, "xenon_source_up", kind="transfers", backend="simulator") == 0
    assert ("source.transfers.stale", "warning") in alarm_set(exporter.alarms())
    assert value(found, "xenon_buffer_used_ratio") == value(good, "xenon_buffer_used_ratio")


def test_a_source_that_never_answered_is_unknown() -> None:
    config = simulator("nominal")
    sources = Backends(config)
    exporter = Exporter(config, sources)
    sources.close()
    from console.fetching import Result

    exporter.deliver(Polled(Result(Kind.RUNS, "simulator", None, "refused", 1.0), 0.0))
    exporter.deliver(Derived(Kind.RUNS, None, None))
    found = samples(exporter)
    assert value(found, "xenon_source_up", kind="runs", backend="simulator") == 0
    assert ("xenon_source_last_success_timestamp_seconds",
            (("backend", "simulator"), ("kind", "runs"))) not in found  # fmt: skip
    assert alarm_set(exporter.alarms()) == {("source.runs.down", "unknown")}
    assert value(found, "xenon_alarms", severity="unknown") == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:9108", ("127.0.0.1", 9108)),
        (":9108", ("0.0.0.0", 9108)),
        ("[::1]:9108", ("::1", 9108)),
        ("localhost:1", ("localhost", 1)),
    ],
)
def test_listen_addresses(text: str, expected: tuple[str, int]) -> None:
    assert parse_listen(text) == expected


@pytest.mark.parametrize("text", ["9108", "host:", "::1:9108", "h:0", "h:65536", "h:x"])
def test_bad_listen_addresses(text: str) -> None:
    with pytest.raises(ListenError):
        parse_listen(text)


def test_exporter_command_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exporter", "--listen", "nine"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not HOST:PORT" in err
    busy = MetricsServer(fed(simulator("nominal"))[0], "127.0.0.1", 0)
    try:
        assert main(["exporter", "--listen", f"127.0.0.1:{busy.port}"]) == 2
        assert "cannot listen on" in capsys.readouterr().err
    finally:
        busy.close()


def test_the_rules_file_is_the_one_generated_from_the_default_thresholds() -> None:
    assert RULES.read_text() == rules_yaml(Thresholds())


def test_alert_rules_follow_the_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[thresholds]\nbuffer_warning_percent = 70\nrule_stuck_warning_hours = 2\n")
    assert main(["alert-rules", "--config", str(config)]) == 0
    text = capsys.readouterr().out
    assert '"xenon_buffer_used_ratio >= 0.7 < 0.9"' in text
    assert '"xenon_rucio_oldest_stuck_seconds >= 7200 < 86400"' in text
    assert f"from the [thresholds] of {config}" in text
    out = tmp_path / "rules.yml"
    assert main(["alert-rules", "--config", str(config), "-o", str(out)]) == 0
    assert out.read_text() == text
    assert main(["alert-rules", "-o", str(tmp_path / "no" / "such.yml")]) == 2
    assert "No such file" in capsys.readouterr().err


# -------------------------------------------------------------- promtool


@pytest.fixture(scope="session")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is missing: run tests/testbeds/prometheus/setup.sh", pytrace=False)
    return path


def test_promtool_checks_the_rules(promtool: str, tmp_path: Path) -> None:
    done = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 28 rules found" in done.stdout


def test_promtool_unit_tests_of_the_rules(promtool: str) -> None:
    done = subprocess.run(
        [promtool, "test", "rules", RULE_TESTS.name],
        cwd=RULE_TESTS.parent,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


# ------------------------------------------------- Prometheus, Alertmanager


@dataclass
class Bed:
    prometheus: PrometheusServer
    alertmanager: AlertmanagerServer
    #: The in-process exporter of each scenario, by Prometheus job name.
    exporters: dict[str, Exporter]


@pytest.fixture(scope="module")
def monitoring(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bed]:
    workdir = tmp_path_factory.mktemp("monitoring")
    started: list = []
    stack = contextlib.ExitStack()
    exporters: dict[str, Exporter] = {}
    targets: dict[str, int] = {}
    try:
        for scenario in SCENARIOS:
            config = simulator(scenario)
            sources = Backends(config)
            exporter = Exporter(config, sources)
            poller = Poller(sources, config, exporter.deliver, derive(config))
            server = MetricsServer(exporter, "127.0.0.1", 0)
            poller.start()
            started += [poller, server, sources]
            exporters[scenario] = exporter
            targets[scenario] = server.port
        # And the command itself, as a site runs it.
        port = free_port()
        log = stack.enter_context((workdir / "exporter.log").open("wb"))
        command = subprocess.Popen(
            [sys.executable, "-m", "console.cli", "exporter", "--listen", f"127.0.0.1:{port}",
             "--scenario", "buffer-full", "--seed", "1", "--speed", "0"],
            cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=log,
        )  # fmt: skip
        started.append(command)
        targets["command"] = port
        alertmanager = AlertmanagerServer(workdir)
        alertmanager.start()
        started.append(alertmanager)
        scrapes = "".join(
            f"  - job_name: {job}\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
            for job, port in targets.items()
        )
        prometheus = PrometheusServer(
            workdir,
            config=(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                "  evaluation_interval: 1s\n"
                f"rule_files: ['{RULES}']\n"
                "alerting:\n  alertmanagers:\n    - static_configs:\n"
                f"        - targets: ['127.0.0.1:{alertmanager.port}']\n"
                f"scrape_configs:\n{scrapes}"
            ),
            ready='count(xenon_source_up{job="command"}) == 5',
        )
        try:
            prometheus.start()
        except RuntimeError as exc:
            pytest.fail(f"Prometheus could not start: {exc}", pytrace=False)
        started.append(prometheus)
        yield Bed(prometheus, alertmanager, exporters)
    finally:
        for thing in reversed(started):
            if isinstance(thing, Poller):
                thing.stop()
            elif isinstance(thing, subprocess.Popen):
                thing.terminate()
                thing.wait(20)
            elif isinstance(thing, PrometheusServer | AlertmanagerServer):
                thing.stop()
            else:
                thing.close()
        stack.close()


def firing(bed: Bed) -> dict[str, set[tuple[str, str]]]:
    """The alerts Prometheus has firing, by job: (alarm, severity)."""
    answer = bed.prometheus.get("/api/v1/alerts")
    out: dict[str, set[tuple[str, str]]] = {job: set() for job in [*bed.exporters, "command"]}
    for alert in answer["data"]["alerts"] if isinstance(answer, dict) else ():
        if alert["state"] == "firing":
            labels = alert["labels"]
            out.setdefault(labels["job"], set()).add((labels["alarm"], labels["severity"]))
    return out


def test_prometheus_fires_exactly_the_console_alarms(monitoring: Bed) -> None:
    expected = {job: alarm_set(e.alarms()) for job, e in monitoring.exporters.items()}
    expected["command"] = expected["buffer-full"]
    assert expected["nominal"] == set()
    assert expected["buffer-full"] == {
        ("buffer.fill", "critical"),
        ("buffer.time_to_full", "warning"),
    }
    deadline = time.monotonic() + FIRING_TIMEOUT
    while (got := firing(monitoring)) != expected and time.monotonic() < deadline:
        time.sleep(0.5)
    assert got == expected, monitoring.prometheus.log_tail()


def test_the_alerts_reach_alertmanager(monitoring: Bed) -> None:
    def arrived() -> list[dict]:
        return [
            a for a in monitoring.alertmanager.alerts() or []
            if a["labels"].get("job") in ("buffer-full", "nominal")
        ]  # fmt: skip

    deadline = time.monotonic() + FIRING_TIMEOUT
    while len(arrived()) < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
    alerts = {(a["labels"]["alarm"], a["labels"]["severity"]): a for a in arrived()}
    assert set(alerts) == {("buffer.fill", "critical"), ("buffer.time_to_full", "warning")}
    fill = alerts[("buffer.fill", "critical")]
    assert fill["labels"]["alertname"] == "XenonBufferFill"
    assert fill["annotations"]["summary"] == "buffer 96.44% full"
    assert fill["annotations"]["hint"].startswith("check that uploads to Rucio and tape keep up")
    assert fill["status"]["state"] == "active"


def test_a_scrape_reads_what_the_polls_computed(monitoring: Bed) -> None:
    """The exporter's own figures, as Prometheus stored them."""

    def stored(promql: str) -> float:
        deadline = time.monotonic() + FIRING_TIMEOUT
        while not (result := monitoring.prometheus.query(promql)):
            assert time.monotonic() < deadline, f"{promql}: no answer"
            time.sleep(0.5)
        return float(result[0]["value"][1])

    assert round(stored('xenon_buffer_used_ratio{job="command"}'), 4) == 0.9644
    assert stored('sum(xenon_runs{job="nominal"})') == 720
    assert json.dumps(monitoring.prometheus.query("xenon_fake")) == "[]"


def test_collect_serves_the_metrics_of_what_it_publishes(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    """``collect --metrics``: the collector's polls, as metrics, beside NATS."""
    port = free_port()
    collector = start_collector(
        '[backends.simulator]\ntype = "simulator"\nscenario = "rse-outage"\nspeed = 0\n',
        tmp_path, nats_server.url, published=5, metrics=("127.0.0.1", port),
    )  # fmt: skip
    try:
        assert collector.metrics_server.url == f"http://127.0.0.1:{port}/metrics"
        deadline = time.monotonic() + FIRING_TIMEOUT
        while collector.exporter.alarms() == [] and time.monotonic() < deadline:
            time.sleep(0.2)
        with urllib.request.urlopen(collector.metrics_server.url, timeout=5) as answer:
            text = answer.read().decode()
        found = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(text)
            for s in f.samples
        }
        assert value(found, "xenon_rucio_rules", rse="NIKHEF_USERDISK", state="STUCK") == 7
        assert value(found, "xenon_alarms", severity="warning") == 2
        assert value(found, "xenon_source_polls_total", kind="runs", backend="simulator") >= 1
    finally:
        collector.close()
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2)


def test_collect_metrics_address_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["collect", "--nats", "nats://127.0.0.1:1", "--metrics", "x"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--metrics 'x' is not HOST:PORT" in err


def test_every_alarm_has_a_rule_and_every_rule_reads_exported_metrics() -> None:
    """Each alarm of ``alarms.HINTS`` (every alarm the console raises has its
    hint there) is raised by a rule at each severity it can have, and each
    metric a rule reads is one the exporter serves."""
    import re

    from backends.analysis.alarms import HINTS
    from console.alert_rules import alert_rules

    rules = alert_rules(Thresholds())
    patterns = {re.sub(r"\{\{ \$labels\.\w+ \}\}", "*", r.alarm) for r in rules}
    assert patterns == set(HINTS)
    exported: set[str] = set()
    for scenario in SCENARIOS:
        exporter, sources = fed(simulator(scenario))
        sources.close()
        exported |= {f.name for f in exporter.families()}
    read = {name for r in rules for name in re.findall(r"\bxenon_\w+", r.expr)}
    assert read <= exported, read - exported


def test_the_exporter_says_once_when_a_source_fails_and_when_it_is_back() -> None:
    import io

    from console.fetching import Result

    config = simulator("nominal")
    sources = Backends(config)
    log = io.StringIO()
    exporter = Exporter(config, sources, log=log)
    good = fetch_one(sources, Kind.RUNS)
    sources.close()
    password_error = "SourceError: refused at mongodb://reader:s3cret@db:27017/"
    for result in (
        good,
        Result(Kind.RUNS, "simulator", None, password_error, 1.0),
        Result(Kind.RUNS, "simulator", None, password_error, 1.0),
        good,
    ):
        exporter.deliver(Polled(result, 0.0))
    lines = log.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert lines[0].endswith(
        "exporter: runs: SourceError: refused at mongodb://reader:***@db:27017/"
    )
    assert lines[1].endswith("exporter: runs: back (simulator)")

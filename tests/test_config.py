"""Config loading (one-line errors) and building/fetching sources from it."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import pytest

from backends.analysis.alarms import Thresholds
from backends.model import (
    BufferSnapshot,
    JobsSnapshot,
    Kind,
    RunsSnapshot,
    TapeSnapshot,
    TransfersSnapshot,
)
from backends.sources import (
    Backend,
    BackendConfigError,
    BufferSource,
    JobsSource,
    RunsSource,
    TapeSource,
    TransfersSource,
)
from console import fetching
from console.config import ConfigError, load_config
from console.fetching import Backends, fetch_all, fetch_one

NOW = datetime(2017, 6, 1, 12, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _no_user_config(tmp_path, monkeypatch):
    """Never read the real user's config file."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


# ------------------------------------------------------------------ config


def test_defaults_use_the_simulator_everywhere():
    config = load_config()
    assert set(config.panes) == set(Kind)
    assert set(config.panes.values()) == {"simulator"}
    assert config.backends["simulator"].type == "simulator"
    assert dict(config.backends["simulator"].options) == {}
    assert config.intervals[Kind.BUFFER] == 5 and config.intervals[Kind.RUNS] == 10
    assert set(config.timeouts.values()) == {10}
    assert config.thresholds == Thresholds()
    assert config.bell_on_critical is True
    assert config.source_path is None


def test_user_config_dir_is_used_when_present(tmp_path):
    user = tmp_path / "xdg" / "xenon-console"
    user.mkdir(parents=True)
    (user / "config.toml").write_text("[intervals]\nbuffer = 2\n")
    config = load_config()
    assert config.intervals[Kind.BUFFER] == 2
    assert config.source_path == user / "config.toml"


def test_full_config(tmp_path):
    path = write(
        tmp_path,
        """
[panes]
buffer = "lab"
tape = "lab"

[backends.lab]
type = "simulator"
scenario = "rse-outage"
seed = 7

[backends.spare]
type = "rucio"
account = "xenon"

[intervals]
buffer = 1.5
runs = 60

[timeouts]
jobs = 3

[thresholds]
buffer_warning_percent = 70
held_jobs_critical = 5

[ui]
bell_on_critical = false
""",
    )
    config = load_config(path)
    assert config.panes[Kind.BUFFER] == "lab" and config.panes[Kind.JOBS] == "simulator"
    assert dict(config.backends["lab"].options) == {"scenario": "rse-outage", "seed": 7}
    assert config.backends["spare"].type == "rucio"
    assert [s.name for s in config.backends_in_use()] == ["lab", "simulator"]
    assert config.intervals[Kind.BUFFER] == 1.5 and config.intervals[Kind.TAPE] == 10
    assert config.timeouts[Kind.JOBS] == 3
    assert config.thresholds.buffer_warning_percent == 70
    assert config.thresholds.held_jobs_critical == 5
    assert config.bell_on_critical is False
    assert config.source_path == path


def test_cli_overrides_apply_to_every_simulator_instance(tmp_path):
    path = write(
        tmp_path,
        """
[panes]
buffer = "lab"
[backends.lab]
type = "simulator"
scenario = "nominal"
speed = 60
""",
    )
    config = load_config(path, scenario="buffer-full", seed=3, speed=0.0, runs=None)
    assert dict(config.backends["lab"].options) == {
        "scenario": "buffer-full",
        "speed": 0.0,
        "seed": 3,
    }
    assert dict(config.backends["simulator"].options) == {
        "scenario": "buffer-full",
        "seed": 3,
        "speed": 0.0,
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[intervals]\nbuffer = 'fast'",
            "[intervals] buffer must be a positive number of seconds, "
            "at most 86,400 (a day), got 'fast'",
        ),
        ("[intervals]\nbuffer = 0", "[intervals] buffer must be a positive number"),
        ("[intervals]\nbuffer = true", "[intervals] buffer must be a positive number"),
        ("[timeouts]\ndisk = 3", "[timeouts] unknown pane 'disk' (known: buffer, transfers,"),
        ("[panes]\nbuffer = 'rucio'", "[panes] buffer = 'rucio' names no [backends.rucio] section"),
        ("[panes]\nlogs = 'simulator'", "[panes] unknown pane 'logs'"),
        ("[panes]\nbuffer = 3", "[panes] buffer must be a backend name or false, got 3 (int)"),
        ("[colours]\na = 1", "unknown section [colours]"),
        ("panes = 3", "[panes] must be a table, got 3 (int)"),
        ("[thresholds]\nbuffer_warning = 80", "[thresholds] unknown key 'buffer_warning'"),
        (
            "[thresholds]\nheld_jobs_warning = 1.5",
            "[thresholds] held_jobs_warning must be a non-negative whole number "
            "of at most 1,000,000, got 1.5 (float)",
        ),
        (
            "[thresholds]\nbuffer_warning_percent = -1",
            "[thresholds] buffer_warning_percent must be a non-negative number",
        ),
        ("[ui]\nbell_on_critical = 'yes'", "[ui] bell_on_critical must be true or false"),
        ("[ui]\ncolour = true", "[ui] unknown key 'colour'"),
        ("[backends.lab]\ntype = 5", "[backends.lab] type must be a backend type name"),
        ("[backends]\nlab = 5", "[backends.lab] must be a table"),
        ("[intervals\nbuffer = 1", "invalid TOML"),
        ("[rses]\nsdsc_userdisk = 'US'", "[rses] 'sdsc_userdisk' is not an RSE name"),
        ("[rses]\n'A B' = 'US'", "[rses] 'A B' is not an RSE name"),
        (
            "[rses]\nSDSC_USERDISK = 'Asia'",
            '[rses] SDSC_USERDISK must be a region ("US", "Europe", "LNGS") or false to '
            "remove it, got 'Asia'",
        ),
        ("[rses]\nSDSC_USERDISK = true", "[rses] SDSC_USERDISK must be a region"),
        ("[rses]\ndefaults = 'no'", "[rses] defaults must be true or false, got 'no'"),
        (
            "[rses]\nLNGS_USERDISK = 'Europe'",
            "[rses] LNGS_USERDISK is in LNGS by the policy itself and cannot move to Europe",
        ),
        (
            "[rses]\nUC_OSG_USERDISK = 'Europe'",
            "[rses] UC_OSG_USERDISK is in US by the policy itself and cannot move to Europe",
        ),
    ],
)
def test_config_errors_are_one_line_naming_file_and_key(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    assert text.startswith(f"{path}: ")
    assert message in text
    assert "\n" not in text


def test_toml_syntax_error_names_the_line(tmp_path):
    path = write(tmp_path, "[intervals]\nbuffer = 1\nruns = = 2\n")
    with pytest.raises(ConfigError, match=r"line 3"):
        load_config(path)


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(binary)


def test_overrides_without_a_simulator_are_an_error(tmp_path):
    lines = [f'{k.value} = "rucio"' for k in Kind]
    path = write(tmp_path, "[panes]\n" + "\n".join(lines) + "\n[backends.rucio]\n")
    assert load_config(path).backends_in_use()[0].type == "rucio"
    with pytest.raises(ConfigError, match="--scenario given but no pane is served by a simulator"):
        load_config(path, scenario="nominal")


# ----------------------------------------------------------------- sources


class FakeBackend(Backend, BufferSource, TransfersSource, TapeSource, JobsSource, RunsSource):
    """Serves every kind; option ``<kind> = "fail" | "hang" | "wrong"`` misbehaves."""

    name = "fake"
    instances: ClassVar[list[FakeBackend]] = []

    def __init__(self, options):
        super().__init__(options)
        if "bad" in options:
            raise BackendConfigError("option 'bad' is not allowed")
        self.closed = 0
        self.release = threading.Event()
        FakeBackend.instances.append(self)

    def _serve(self, kind: str, snapshot):
        mode = self.options.get(kind, "ok")
        if mode == "fail":
            raise ConnectionError("mongodb://xenon:hunter2@db:27017 refused\nretry later")
        if mode == "hang":
            self.release.wait(5)
        if mode == "wrong":
            return TapeSnapshot(NOW, ())
        return snapshot

    def fetch_buffer(self):
        return self._serve("buffer", BufferSnapshot(NOW, 100, 50))

    def fetch_transfers(self):
        return self._serve("transfers", TransfersSnapshot(NOW, (), ()))

    def fetch_tape(self):
        return self._serve("tape", TapeSnapshot(NOW, ()))

    def fetch_jobs(self):
        return self._serve("jobs", JobsSnapshot(NOW, (), ()))

    def fetch_runs(self):
        return self._serve("runs", RunsSnapshot(NOW, ()))

    def close(self):
        self.closed += 1


class TapeOnly(Backend, TapeSource):
    def fetch_tape(self):
        return TapeSnapshot(NOW, ())


def fake_factory(type_name, options):
    if type_name in ("fake", "simulator"):
        return FakeBackend(options)
    if type_name == "tapeonly":
        return TapeOnly(options)
    raise BackendConfigError(f"unknown backend type {type_name!r}")


def fake_config(tmp_path, extra: str = "", **options):
    opts = "\n".join(f"{k} = {v!r}" for k, v in options.items())
    panes = "\n".join(f'{k.value} = "f"' for k in Kind)
    return load_config(
        write(
            tmp_path,
            f"""
[panes]
{panes}
[backends.f]
type = "fake"
{opts}
{extra}
""",
        )
    )


def test_sources_share_one_instance_per_section_and_close_it(tmp_path):
    FakeBackend.instances.clear()
    sources = Backends(fake_config(tmp_path), fake_factory)
    assert len(FakeBackend.instances) == 1
    assert all(sources.for_kind(k) is FakeBackend.instances[0] for k in Kind)
    assert sources.backend_name(Kind.TAPE) == "f"
    result = fetch_one(sources, Kind.BUFFER)
    assert (result.kind, result.source, result.error) == (Kind.BUFFER, "f", None)
    assert result.snapshot == BufferSnapshot(NOW, 100, 50)
    assert result.elapsed >= 0
    sources.close()
    assert FakeBackend.instances[0].closed == 1


def test_a_backend_that_does_not_serve_its_pane_is_refused(tmp_path):
    FakeBackend.instances.clear()
    config = load_config(
        write(
            tmp_path,
            """
[panes]
buffer = "t"
tape = "t"
[backends.t]
type = "tapeonly"
""",
        )
    )
    with pytest.raises(
        BackendConfigError, match=r"\[panes\] buffer = 't': backend type 'tapeonly' does not serve"
    ):
        Backends(config, fake_factory)


def test_backend_config_error_names_the_section(tmp_path):
    with pytest.raises(
        BackendConfigError, match=r"config\.toml: \[backends\.f\] option 'bad' is not allowed$"
    ):
        Backends(fake_config(tmp_path, bad=1), fake_factory)


def test_a_backend_crashing_at_start_becomes_a_config_error(tmp_path):
    def crash(type_name, options):
        raise OSError("password=hunter2 rejected")

    with pytest.raises(
        BackendConfigError,
        match=r"config\.toml: \[backends\.f\] could not start: OSError: password=\*\*\*",
    ):
        Backends(fake_config(tmp_path), crash)


def test_registry_is_looked_up_at_call_time(tmp_path, monkeypatch):
    monkeypatch.setattr(fetching, "create_backend", fake_factory)
    assert isinstance(Backends(fake_config(tmp_path)).for_kind(Kind.BUFFER), FakeBackend)


def test_fetch_errors_are_one_redacted_line(tmp_path):
    result = fetch_one(Backends(fake_config(tmp_path, buffer="fail"), fake_factory), Kind.BUFFER)
    assert result.snapshot is None
    assert result.error == "ConnectionError: mongodb://xenon:***@db:27017 refused retry later"


def test_wrong_snapshot_type_is_an_error(tmp_path):
    result = fetch_one(Backends(fake_config(tmp_path, buffer="wrong"), fake_factory), Kind.BUFFER)
    assert result.error == "TypeError: backend 'f' returned TapeSnapshot for buffer"


def test_collect_once_times_out_a_hung_fetch_without_blocking_others(tmp_path):
    config = fake_config(tmp_path, "[timeouts]\nbuffer = 0.3\n", buffer="hang", runs="fail")
    sources = Backends(config, fake_factory)
    start = time.monotonic()
    try:
        results = fetch_all(sources, config)
    finally:
        sources.for_kind(Kind.BUFFER).release.set()
    assert time.monotonic() - start < 2
    assert set(results) == set(Kind)
    assert results[Kind.BUFFER].error == "timed out after 0.3 s"
    assert results[Kind.BUFFER].elapsed == 0.3
    assert results[Kind.RUNS].error.startswith("ConnectionError: mongodb://xenon:***@")
    for kind in (Kind.TRANSFERS, Kind.TAPE, Kind.JOBS):
        assert results[kind].error is None and results[kind].snapshot is not None


def test_infinite_or_nan_numbers_are_refused(tmp_path) -> None:
    import pytest as _pytest

    from console.config import ConfigError, load_config

    for text in (
        "[intervals]\nbuffer = inf\n",
        "[thresholds]\nbuffer_critical_percent = nan\n",
        "[timeouts]\nruns = inf\n",
        "[ui]\ntrend_hours = inf\n",
    ):
        path = tmp_path / "c.toml"
        path.write_text(text)
        with _pytest.raises(ConfigError):
            load_config(path)


def test_rse_catalogue_defaults_to_the_papers_sites(tmp_path) -> None:
    from backends.analysis.safety import Region

    rses = load_config(None).policy.rses
    assert rses.names(Region.EUROPE) == (
        "NIKHEF_USERDISK",
        "SURFSARA_USERDISK",
        "CNAF_USERDISK",
        "CCIN2P3_USERDISK",
        "WEIZMANN_USERDISK",
    )
    assert rses.names(Region.US) == ("UC_OSG_USERDISK",)
    assert rses.names(Region.LNGS) == ("LNGS_USERDISK",)


def test_rses_section_adds_moves_and_removes_sites(tmp_path) -> None:
    from backends.analysis.safety import Region, data_safety
    from backends.model import DataCopy, Run

    path = write(
        tmp_path,
        "[rses]\nSDSC_USERDISK = 'europe'\nCNAF_USERDISK = false\nWEIZMANN_USERDISK = 'US'\n",
    )
    config = load_config(path)
    rses = config.policy.rses
    assert rses.region("SDSC_USERDISK") is Region.EUROPE
    assert rses.region("CNAF_USERDISK") is None
    assert rses.region("WEIZMANN_USERDISK") is Region.US
    tape = DataCopy("raw", "tsm-server", "transferred", checksum="a")

    def run(rse: str) -> Run:
        return Run(
            1,
            "r",
            NOW,
            NOW,
            "tpc",
            "LED",
            (),
            None,
            None,
            copies=(tape, DataCopy("raw", "rucio-catalogue", "transferred", rse=rse)),
        )

    assert data_safety(run("SDSC_USERDISK"), config.policy).safe
    assert not data_safety(run("SDSC_USERDISK")).safe  # not one of the paper's sites
    removed = data_safety(run("CNAF_USERDISK"), config.policy)
    assert not removed.safe
    assert removed.reason == (
        "non-science run: missing European RSE (RSE 'CNAF_USERDISK' is not a known RSE)"
    )

    only = load_config(write(tmp_path, "[rses]\ndefaults = false\nX1_DISK = 'LNGS'\n"))
    assert only.policy.rses.entries == (("X1_DISK", Region.LNGS),)

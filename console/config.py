"""The console's TOML config: which backend serves each pane, and how often.

Every mistake is reported as one ``ConfigError`` line that names the file,
the key and what is wrong, because the people reading it are on shift and the
console must not greet them with a traceback. Backend options themselves are
checked by the backend when it is created (``BackendConfigError``).
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import platformdirs

from backends import kinds
from backends.analysis.alarms import Thresholds
from backends.analysis.policy import (
    ANY_TYPE,
    DEFAULT_POLICY,
    DEFAULT_RSES,
    PROFILES,
    RSE_NAME,
    SLOT_FORMS,
    PurgeRule,
    Region,
    Requirement,
    RseCatalogue,
    SafetyPolicy,
    Slot,
    SlotError,
    SlotKind,
    parse_slot,
)
from backends.model import CHICAGO_RSE, LNGS_RSE, Kind

APP_NAME = "xenon-console"
SIMULATOR = "simulator"

DEFAULT_TIMEOUT = 10.0

SECTIONS = (
    "panes",
    "backends",
    "intervals",
    "timeouts",
    "thresholds",
    "ui",
    "rses",
    "policy",
    "collector",
)
#: ``[rses] defaults = false`` starts the catalogue empty instead of the paper's sites.
RSES_DEFAULTS_KEY = "defaults"
#: RSEs the policy names: a copy at LNGS never allows a purge, the Chicago
#: copy is never the European one, whatever the catalogue says.
FIXED_REGIONS = {LNGS_RSE: Region.LNGS, CHICAGO_RSE: Region.US}
UI_KEYS: dict[str, type | tuple[type, ...]] = {
    "bell_on_critical": bool,
    "trend_hours": (int, float),
    "name": str,
}
DEFAULT_TREND_HOURS = 24.0
POLICY_KEYS = ("profile", "require", "purge", "rucio_check")
REQUIRE_KEYS = ("name", "copies", "data_type", "science", "tags", "detectors", "sources")
PURGE_KEYS = ("copies", "data_type")
RAW_TYPE = "raw"
#: A host name, or a pattern of them (``eb*``: every event builder).
HOST_NAME = re.compile(r"[A-Za-z0-9*?][A-Za-z0-9._*?-]{0,99}")
DATA_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,39}")


class ConfigError(ValueError):
    """One line naming the file, the key and the problem."""


@dataclass(frozen=True)
class BackendSpec:
    name: str
    type: str
    options: Mapping[str, Any]


@dataclass(frozen=True)
class Config:
    #: The backend instance of each assigned pane (an unassigned one is absent).
    panes: Mapping[Kind, str]
    #: The panes named in ``[panes]``: one the simulator cannot serve by default
    #: is left unassigned, one named explicitly must be served.
    explicit_panes: frozenset[Kind]
    backends: Mapping[str, BackendSpec]
    intervals: Mapping[Kind, float]
    timeouts: Mapping[Kind, float]
    thresholds: Thresholds
    bell_on_critical: bool
    source_path: Path | None
    #: How much history the panes' trends keep.
    trend_hours: float = DEFAULT_TREND_HOURS
    #: What the data-safety verdicts are decided against (``[rses]``).
    policy: SafetyPolicy = DEFAULT_POLICY
    #: ``[collector]``: where ``collect`` publishes (``backends.natsfeed.link``
    #: checks the keys when it runs).
    collector: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    #: ``[ui] name``: who acknowledges, on shared acknowledgements (default:
    #: the OS user).
    ack_name: str | None = None

    def backends_in_use(self) -> list[BackendSpec]:
        """The backend instances some pane reads from, in pane order, once each."""
        names = dict.fromkeys(self.panes.values())
        return [self.backends[name] for name in names]


def default_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def _describe(value: object) -> str:
    return repr(value) if isinstance(value, str) else f"{value!r} ({type(value).__name__})"


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class _Reader:
    def __init__(self, origin: str) -> None:
        self.origin = origin

    def error(self, message: str) -> ConfigError:
        return ConfigError(f"{self.origin}: {message}")

    def table(self, data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
        value = data.get(name, {})
        if not isinstance(value, dict):
            raise self.error(f"[{name}] must be a table, got {_describe(value)}")
        return value

    def kind(self, section: str, key: str) -> Kind:
        if key in Kind and Kind(key) in kinds.kinds():
            return Kind(key)
        known = ", ".join(k.value for k in kinds.kinds())
        raise self.error(f"[{section}] unknown pane {key!r} (known: {known})")

    def seconds(self, section: str, data: Mapping[str, Any], defaults: Mapping[Kind, float]):
        out = dict(defaults)
        for key, value in data.items():
            kind = self.kind(section, key)
            if (
                not _is_number(value)
                or not math.isfinite(value)
                or value <= 0
                or value > MAX_SECONDS
            ):
                raise self.error(
                    f"[{section}] {key} must be a positive number of seconds, "
                    f"at most {MAX_SECONDS:,.0f} (a day), got {_describe(value)}"
                )
            out[kind] = float(value)
        return MappingProxyType(out)

    def thresholds(self, data: Mapping[str, Any]) -> Thresholds:
        fields = {f.name: f for f in dataclasses.fields(Thresholds)}
        values: dict[str, Any] = {}
        for key, value in data.items():
            field = fields.get(key)
            if field is None:
                raise self.error(f"[thresholds] unknown key {key!r}")
            wants_int = field.type in ("int", int)
            ok = isinstance(value, int) if wants_int else _is_number(value)
            if (
                isinstance(value, bool)
                or not ok
                or not math.isfinite(value)
                or value < 0
                or value > MAX_THRESHOLD
            ):
                what = "a non-negative whole number" if wants_int else "a non-negative number"
                raise self.error(
                    f"[thresholds] {key} must be {what} of at most {MAX_THRESHOLD:,.0f}, "
                    f"got {_describe(value)}"
                )
            values[key] = value if wants_int else float(value)
        return Thresholds(**values)

    def rses(self, data: Mapping[str, Any]) -> RseCatalogue:
        """``[rses]``: ``NAME = "US" | "Europe" | "LNGS"`` adds an RSE or moves
        it to another region, ``NAME = false`` removes it; ``defaults = false``
        starts from an empty catalogue instead of the paper's sites."""
        start = data.get(RSES_DEFAULTS_KEY, True)
        if not isinstance(start, bool):
            raise self.error(
                f"[rses] {RSES_DEFAULTS_KEY} must be true or false, got {_describe(start)}"
            )
        regions = {r.value.lower(): r for r in Region}
        known = ", ".join(f'"{r.value}"' for r in Region)
        changes: dict[str, Region | None] = {}
        for key, value in data.items():
            if key == RSES_DEFAULTS_KEY:
                continue
            if not RSE_NAME.fullmatch(key):
                raise self.error(
                    f"[rses] {key!r} is not an RSE name (upper-case letters, "
                    "digits, '_' or '-' between them)"
                )
            if value is False:
                changes[key] = None
            elif isinstance(value, str) and value.lower() in regions:
                region = regions[value.lower()]
                fixed = FIXED_REGIONS.get(key)
                if fixed is not None and region is not fixed:
                    raise self.error(
                        f"[rses] {key} is in {fixed.value} by the policy itself and cannot "
                        f"move to {region.value} (remove it with false instead)"
                    )
                changes[key] = region
            else:
                raise self.error(
                    f"[rses] {key} must be a region ({known}) or false to "
                    f"remove it, got {_describe(value)}"
                )
        base = DEFAULT_RSES if start else RseCatalogue(())
        return base.with_changes(changes)

    def policy(
        self, data: Mapping[str, Any], rses: RseCatalogue, profile: str = "xenon1t"
    ) -> SafetyPolicy:
        """``[policy]``: ``profile`` the base (``xenon1t``, or ``xenonnt``; by
        default the runs pane's ``mongo`` backend's profile), and
        ``[[policy.require]]`` replaces its requirements, ``[policy.purge."HOST"]``
        its purge rules, ``rucio_check`` its Rucio confirmation."""
        for key in data:
            if key not in POLICY_KEYS:
                raise self.error(f"[policy] unknown key {key!r} (known: {', '.join(POLICY_KEYS)})")
        profile_name = data.get("profile", profile)
        if profile_name not in PROFILES:
            raise self.error(
                f"[policy] profile must be one of {', '.join(map(repr, PROFILES))}, "
                f"got {_describe(profile_name)}"
            )
        base = PROFILES[profile_name]
        rucio_check = data.get("rucio_check", base.rucio_check)
        if not isinstance(rucio_check, bool):
            raise self.error(
                f"[policy] rucio_check must be true or false, got {_describe(rucio_check)}"
            )
        require: tuple[Requirement, ...] = base.require
        if "require" in data:
            entries = data["require"]
            if not isinstance(entries, list) or not entries:
                raise self.error(
                    "[[policy.require]] must be one or more tables (a rule each), "
                    f"got {_describe(entries)}"
                )
            require = tuple(
                self.requirement(index, entry, rses) for index, entry in enumerate(entries, 1)
            )
            names = [r.name for r in require]
            for name in names:
                if names.count(name) > 1:
                    raise self.error(f"[[policy.require]] two rules are named {name!r}")
        purge: tuple[PurgeRule, ...] = base.purge
        if "purge" in data:
            hosts = data["purge"]
            if not isinstance(hosts, dict) or not hosts:
                raise self.error(
                    '[policy.purge] must hold a table per buffer host ([policy.purge."HOST"]), '
                    f"got {_describe(hosts)}"
                )
            purge = tuple(self.purge_rule(host, rule, rses) for host, rule in hosts.items())
        return SafetyPolicy(
            rses=rses, require=require, purge=purge, rucio_check=rucio_check, profile=profile_name
        )

    def requirement(self, index: int, entry: object, rses: RseCatalogue) -> Requirement:
        where = f"[[policy.require]] {index}"
        if not isinstance(entry, dict):
            raise self.error(f"{where} must be a table, got {_describe(entry)}")
        for key in entry:
            if key not in REQUIRE_KEYS:
                raise self.error(f"{where}: unknown key {key!r} (known: {', '.join(REQUIRE_KEYS)})")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 60:
            raise self.error(
                f"{where}: name must be text of 1 to 60 characters, got "
                f"{_describe(name) if 'name' in entry else 'none'}"
            )
        where = f"[[policy.require]] {index} ({name})"
        science = entry.get("science")
        if science is not None and not isinstance(science, bool):
            raise self.error(f"{where}: science must be true or false, got {_describe(science)}")
        return Requirement(
            name=name,
            copies=self.slots(where, entry, rses),
            data_type=self.data_type(where, entry),
            science=science,
            tags=self.names(where, entry, "tags"),
            detectors=self.names(where, entry, "detectors"),
            sources=self.names(where, entry, "sources"),
        )

    def purge_rule(self, host: str, entry: object, rses: RseCatalogue) -> PurgeRule:
        where = f"[policy.purge.{json.dumps(host)}]"
        if not HOST_NAME.fullmatch(host):
            raise self.error(
                f"{where}: not a host name or pattern (letters, digits, '.', '-', '_', '*')"
            )
        if not isinstance(entry, dict):
            raise self.error(f"{where} must be a table (copies = [...]), got {_describe(entry)}")
        for key in entry:
            if key not in PURGE_KEYS:
                raise self.error(f"{where}: unknown key {key!r} (known: {', '.join(PURGE_KEYS)})")
        return PurgeRule(
            host, self.slots(where, entry, rses), self.data_type(where, entry, purge=True)
        )

    def slots(self, where: str, entry: Mapping[str, Any], rses: RseCatalogue) -> tuple[Slot, ...]:
        values = entry.get("copies")
        if not isinstance(values, list) or not values:
            raise self.error(
                f"{where}: copies must be a list of one or more slots ({SLOT_FORMS}), got "
                f"{_describe(values) if 'copies' in entry else 'none'}"
            )
        out: list[Slot] = []
        for value in values:
            if not isinstance(value, str):
                raise self.error(
                    f"{where}: copies: {_describe(value)} is not a slot ({SLOT_FORMS})"
                )
            try:
                slot = parse_slot(value)
            except SlotError as exc:
                raise self.error(f"{where}: copies: {exc}") from None
            if slot in out:
                raise self.error(f"{where}: copies: {value!r} is listed twice")
            if slot.kind is SlotKind.RSE and rses.region(slot.rse) is None:
                raise self.error(
                    f"{where}: copies: {value!r} names an RSE the catalogue does not have "
                    "(add it to [rses])"
                )
            if slot.kind is SlotKind.REGION and not rses.names(slot.region):
                raise self.error(
                    f"{where}: copies: {value!r}: the RSE catalogue has no RSE in "
                    f"{slot.region.value if slot.region else '?'}"
                )
            out.append(slot)
        return tuple(out)

    def data_type(self, where: str, entry: Mapping[str, Any], *, purge: bool = False) -> str:
        """A rule's ``data_type``; a purge rule's may be ``"*"`` (each data
        type the host holds)."""
        value = entry.get("data_type", RAW_TYPE)
        if purge and value == ANY_TYPE:
            return value
        if not isinstance(value, str) or not DATA_TYPE.fullmatch(value):
            raise self.error(
                f"{where}: data_type must be a data type name (letters, digits, '_'), "
                f"got {_describe(value)}"
            )
        return value

    def names(self, where: str, entry: Mapping[str, Any], key: str) -> frozenset[str]:
        value = entry.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.error(f"{where}: {key} must be a list of names, got {_describe(value)}")
        return frozenset(value)


def load_config(
    path: Path | None = None,
    *,
    scenario: str | None = None,
    seed: int | None = None,
    speed: float | None = None,
    runs: int | None = None,
) -> Config:
    """Read ``path``, else the user's config file if it exists, else the defaults.

    The simulator overrides apply to every backend instance of type simulator.
    """
    source_path: Path | None = None
    data: dict[str, Any] = {}
    if path is None and default_path().is_file():
        path = default_path()
    if path is not None:
        source_path = Path(path)
        origin = str(path)
        text = _read_config(source_path, origin)
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{origin}: invalid TOML: {exc}") from None
        except RecursionError:
            raise ConfigError(f"{origin}: invalid TOML: nested too deep") from None
    reader = _Reader(str(path) if path is not None else "defaults")
    return _build(reader, data, source_path, scenario=scenario, seed=seed, speed=speed, runs=runs)


#: The largest threshold (hours, counts, percent): beyond, a typo that would
#: overflow the alarms' time arithmetic.
MAX_THRESHOLD = 1_000_000.0
#: A config file larger than this is refused (a real one is a few kB).
MAX_CONFIG_BYTES = 1 << 20
#: Poll intervals and timeouts: at most a day (a longer one is a typo, and
#: would overflow the waits of ``check`` and ``report``).
MAX_SECONDS = 86_400.0


def _read_config(path: Path, origin: str) -> str:
    """The text of a config file: a regular file, at most 1 MB, UTF-8.

    A FIFO would block the start for ever and ``/dev/zero`` would be read
    until memory ran out: anything but a regular file is refused.
    """
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ConfigError(f"{origin}: config file not found") from None
    except OSError as exc:
        raise ConfigError(f"{origin}: cannot read config file: {exc.strerror or exc}") from None
    if stat.S_ISDIR(mode):
        raise ConfigError(f"{origin}: is a directory, not a config file")
    if not stat.S_ISREG(mode):
        raise ConfigError(f"{origin}: not a regular file (a FIFO, a device?), not a config file")
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{origin}: cannot read config file: {exc.strerror or exc}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{origin}: larger than {MAX_CONFIG_BYTES // 1024} kB, not a config file")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{origin}: cannot read config file: {exc}") from None


def _build(reader: _Reader, data: Mapping[str, Any], source_path: Path | None, **overrides):
    for section in data:
        if section not in SECTIONS:
            raise reader.error(
                f"unknown section [{section}] (known: {', '.join(f'[{s}]' for s in SECTIONS)})"
            )

    backends: dict[str, BackendSpec] = {}
    for name, section in reader.table(data, "backends").items():
        if not isinstance(section, dict):
            raise reader.error(f"[backends.{name}] must be a table, got {_describe(section)}")
        options = dict(section)
        type_name = options.pop("type", name)
        if not isinstance(type_name, str) or not type_name:
            raise reader.error(
                f"[backends.{name}] type must be a backend type name, got {_describe(type_name)}"
            )
        backends[name] = BackendSpec(name, type_name, options)

    # Every pane the simulator by default; `NAME = false` leaves one unassigned
    # ("no source configured"), as does a default the simulator cannot serve.
    panes: dict[Kind, str] = dict.fromkeys(kinds.kinds(), SIMULATOR)
    explicit: set[Kind] = set()
    for key, value in reader.table(data, "panes").items():
        kind = reader.kind("panes", key)
        explicit.add(kind)
        if value is False:
            del panes[kind]
            continue
        if not isinstance(value, str) or not value:
            raise reader.error(
                f"[panes] {key} must be a backend name or false, got {_describe(value)}"
            )
        if value not in backends and value != SIMULATOR:
            known = ", ".join(sorted({*backends, SIMULATOR}))
            raise reader.error(
                f"[panes] {key} = {value!r} names no [backends.{value}] section (known: {known})"
            )
        panes[kind] = value
    if SIMULATOR in panes.values() and SIMULATOR not in backends:
        backends[SIMULATOR] = BackendSpec(SIMULATOR, SIMULATOR, {})

    intervals = reader.seconds(
        "intervals", reader.table(data, "intervals"), kinds.default_intervals()
    )
    timeouts = reader.seconds(
        "timeouts", reader.table(data, "timeouts"), dict.fromkeys(kinds.kinds(), DEFAULT_TIMEOUT)
    )
    thresholds = reader.thresholds(reader.table(data, "thresholds"))
    rses = reader.rses(reader.table(data, "rses"))
    runs_backend = backends.get(panes.get(Kind.RUNS, ""))
    profile = runs_backend.options.get("profile") if runs_backend is not None else None
    policy = reader.policy(
        reader.table(data, "policy"), rses, str(profile) if profile in PROFILES else "xenon1t"
    )

    ui = reader.table(data, "ui")
    for key, value in ui.items():
        wanted = UI_KEYS.get(key)
        if wanted is None:
            raise reader.error(f"[ui] unknown key {key!r} (known: {', '.join(UI_KEYS)})")
        if wanted is bool and not isinstance(value, bool):
            raise reader.error(f"[ui] {key} must be true or false, got {_describe(value)}")
        if wanted is str:
            if not isinstance(value, str) or not value.strip() or len(value) > 100:
                raise reader.error(
                    f"[ui] {key} must be a name of 1 to 100 characters, got {_describe(value)}"
                )
            continue
        if wanted is not bool and (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or not 0 < value <= 24 * 30
        ):
            raise reader.error(
                f"[ui] {key} must be a number of hours between 0 and 720, got {_describe(value)}"
            )
    bell = ui.get("bell_on_critical", True)
    trend_hours = float(ui.get("trend_hours", DEFAULT_TREND_HOURS))

    given = {k: v for k, v in overrides.items() if v is not None}
    if given:
        used = set(panes.values())
        simulators = [n for n, s in backends.items() if s.type == SIMULATOR and n in used]
        if not simulators:
            flags = ", ".join(f"--{k}" for k in given)
            raise reader.error(f"{flags} given but no pane is served by a simulator backend")
        for name in simulators:
            spec = backends[name]
            backends[name] = BackendSpec(name, spec.type, {**spec.options, **given})

    frozen = {
        name: BackendSpec(s.name, s.type, MappingProxyType(dict(s.options)))
        for name, s in backends.items()
    }
    return Config(
        panes=MappingProxyType(panes),
        explicit_panes=frozenset(explicit),
        backends=MappingProxyType(frozen),
        intervals=intervals,
        timeouts=timeouts,
        thresholds=thresholds,
        bell_on_critical=bell,
        source_path=source_path,
        trend_hours=trend_hours,
        policy=policy,
        collector=MappingProxyType(dict(reader.table(data, "collector"))),
        ack_name=ui["name"].strip() if "name" in ui else None,
    )

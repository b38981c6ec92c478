"""Command line: the TUI by default, ``report`` and ``check`` for scripts and Nagios.

User mistakes (bad options, a broken config, an unknown scenario) end with one
line on stderr starting ``xenon-console: error:`` and exit code 2, never a
traceback. ``check`` follows the Nagios plugin convention instead: any such
problem, and any failure of its own, is ``XENON UNKNOWN - ...`` on stdout and
exit code 3.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from rich.console import Console

from backends.analysis.alarms import Severity
from backends.registry import available
from backends.sources import BackendConfigError
from console.config import MAX_SECONDS, Config, ConfigError, default_path, load_config
from console.ranges import Range, RangeError, parse_range
from console.safe_text import json_text, redact_secrets, strip_controls

if TYPE_CHECKING:
    from console.report import CheckOptions

PROG = "xenon-console"
EXIT_USAGE = 2
#: The driver textual-serve runs each session's app with.
WEB_DRIVER = "textual.drivers.web_driver:WebDriver"
#: Width of a report written to a file or a pipe (COLUMNS overrides it).
REPORT_WIDTH = 120


class UsageError(Exception):
    """A mistake on the command line (argparse's errors, routed here)."""


class _Parser(argparse.ArgumentParser):
    #: Builds the epilog when the help is shown (``check``'s lists the
    #: figures, which takes the pane registry: no other command pays for it).
    epilog_factory: Callable[[], str] | None = None

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)

    def format_help(self) -> str:
        if self.epilog_factory is not None:
            self.epilog = self.epilog_factory()
        return super().format_help()


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text!r}")
    return value


def _speed(text: str) -> float:
    """``--speed``: simulated seconds a second, 0 (frozen) to a year a second."""
    from backends.simulator import MAX_SPEED

    value = _non_negative_float(text)
    if value > MAX_SPEED:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_SPEED:,}, got {text!r}")
    return value


#: ``replay --speed``: faster than this, a whole night passes between frames.
MAX_REPLAY_SPEED = 100_000.0


def _replay_speed(text: str) -> float:
    value = _non_negative_float(text)
    if value == 0 or value > MAX_REPLAY_SPEED:
        raise argparse.ArgumentTypeError(
            f"must be a number > 0 and at most {MAX_REPLAY_SPEED:,.0f}, got {text!r}"
        )
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a whole number > 0, got {text!r}")
    return value


def _timeout(text: str) -> float:
    """``check -t``: seconds, > 0 and at most a day (as ``[timeouts]``)."""
    value = _non_negative_float(text)
    if value == 0 or value > MAX_SECONDS:
        raise argparse.ArgumentTypeError(
            f"must be a number of seconds > 0 and at most {MAX_SECONDS:,.0f}, got {text!r}"
        )
    return value


def _figure_names() -> str:
    from console.specs import figure_specs

    return ", ".join(figure_specs())


def _threshold(text: str) -> tuple[str, Range]:
    """``check -w/-c FIGURE=RANGE``: a figure's label and its range."""
    from console.specs import figure_specs

    name, equals, range_text = text.rpartition("=")
    if not equals or not name:
        raise argparse.ArgumentTypeError(
            f"{text[:40]!r}: give FIGURE=RANGE, e.g. buffer_fill=90 (the figures: "
            f"{_figure_names()})"
        )
    if name not in figure_specs():
        raise argparse.ArgumentTypeError(
            f"unknown figure {name[:40]!r}; the figures: {_figure_names()}"
        )
    try:
        return name, parse_range(range_text)
    except RangeError as exc:
        # "~:10" unquoted in a shell is "/home/you:10".
        tilde = " (a ~ the shell made a home directory? quote the range)" if "/" in text else ""
        raise argparse.ArgumentTypeError(f"{name}: {exc}{tilde}") from None


def _check_epilog() -> str:
    from console.specs import figure_specs

    figures = figure_specs().values()
    width = max((len(f.label) for f in figures), default=0)
    rows = "\n".join(
        f"  {f.label:<{width}}  {f.uom or '-':<2} {f.alarms or '-':<20} {f.what}" for f in figures
    )
    return (
        "Ranges (the monitoring-plugins syntax; endpoints belong to the range):\n"
        "  10       alert if < 0 or > 10\n"
        "  10:      alert if < 10\n"
        "  ~:10     alert if > 10 (~ is minus infinity)\n"
        "  10:20    alert if < 10 or > 20\n"
        "  @10:20   alert if >= 10 and <= 20\n"
        "A figure given -w or -c is judged by its ranges (one not given is the config's "
        "limit, as its perfdata shows); that verdict replaces the alarm it stands for.\n\n"
        "Figures (perfdata label, unit, the alarm a range on it replaces):\n"
        f"{rows}\n\n"
        "Exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (a source that cannot be read, "
        "a timeout, a bad option or config)."
    )


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


def _version() -> str:
    # Imported here: importlib.metadata and its scan of the installed
    # packages cost every start-up some 30 ms (the version is rarely asked).
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("xenon-console")
    except PackageNotFoundError:
        return "unknown"


class _Version(argparse._VersionAction):
    """``--version``, the version read when asked for, not at every start."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        self.version = f"{PROG} {_version()}"
        super().__call__(parser, namespace, values, option_string)


def _common_options() -> _Parser:
    """Options accepted before and after the subcommand.

    Defaults are SUPPRESS so that a subcommand's parser does not overwrite a
    value given before the subcommand.
    """
    common = _Parser(add_help=False)
    group = common.add_argument_group("configuration")
    S = argparse.SUPPRESS
    group.add_argument(
        "--config",
        metavar="FILE",
        default=S,
        help=f"TOML config file (default: {default_path()} if it exists, "
        "else the simulator for every pane)",
    )
    group.add_argument(
        "--scenario",
        metavar="NAME",
        default=S,
        help="simulator scenario, for every simulator backend (see --list-scenarios)",
    )
    group.add_argument("--seed", metavar="N", type=_int, default=S, help="simulator random seed")
    group.add_argument(
        "--speed",
        metavar="X",
        type=_speed,
        default=S,
        help="simulated seconds per real second (0 freezes the clock)",
    )
    group.add_argument(
        "--runs",
        metavar="N",
        type=_positive_int,
        default=S,
        help="number of runs the simulator invents",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common_options()
    parser = _Parser(
        prog=PROG,
        parents=[common],
        description="Operations console for the XENON1T computing chain: LNGS buffer, "
        "Rucio transfers, tape, processing jobs and the runs database. Without a "
        "subcommand it starts the terminal UI.",
        epilog="Exit codes: 0 ok; 2 a usage or config error (one line on stderr). "
        "'check' follows the Nagios plugin convention: 0 OK, 1 WARNING, 2 CRITICAL, "
        "3 UNKNOWN, and a usage or config error is UNKNOWN (3) with its reason on stdout.",
    )
    parser.add_argument("--version", action=_Version)
    parser.add_argument(
        "--list-backends", action="store_true", help="list installed backend types and exit"
    )
    parser.add_argument(
        "--list-scenarios", action="store_true", help="list the simulator's scenarios and exit"
    )
    parser.add_argument(
        "--record",
        metavar="FILE",
        help="write every snapshot the console receives to FILE (play it back with 'replay FILE')",
    )
    sub = parser.add_subparsers(
        dest="command",
        metavar="{report,check,audit,replay,drill,collect,exporter,serve,alert-rules,sim}",
        parser_class=_Parser,
    )
    report = sub.add_parser(
        "report",
        parents=[common],
        help="print one snapshot of every pane and exit",
        description="Fetch every pane once and print it (Rich tables; "
        "no colour when stdout is not a terminal).",
    )
    report.add_argument("--json", action="store_true", help="print JSON instead of tables")
    _add_check(sub, common)
    audit = sub.add_parser(
        "audit",
        parents=[common],
        help="the data-safety verdict of every run, one line each",
        description="Read the runs once and write one line per run of the whole history: "
        "number, name, science, policy_met, missing, purge_allowed, reasons, malformed, "
        "overdue, failed. Lines are written as they are decided (the history is never held twice). "
        "A summary goes to stderr when it is a terminal.",
        epilog="Exit codes: 0 every run whose copies are due meets the policy; 1 some run "
        "ended more than unsafe_after_hours ago does not, or a copy failed its checksum; "
        "2 a usage or config error; 3 the runs could not be read.",
    )
    formats = audit.add_mutually_exclusive_group()
    formats.add_argument(
        "--json",
        action="store_const",
        dest="format",
        const="json",
        help="JSON Lines (control characters escaped)",
    )
    formats.add_argument(
        "--csv", action="store_const", dest="format", const="csv", help="CSV with a header line"
    )
    audit.add_argument(
        "--unsafe-only", action="store_true", help="only the runs that do not meet the policy"
    )
    replay = sub.add_parser(
        "replay",
        help="play a recording back in the console's screens",
        description="Play back a recording made with --record: space pauses, n steps, "
        "[ and ] seek a minute, { and } ten minutes, + and - change the speed. A truncated "
        "or damaged recording plays up to the damage and says so.",
    )
    replay.add_argument("file", metavar="FILE", help="the recording")
    replay.add_argument(
        "--speed",
        metavar="X",
        type=_replay_speed,
        default=1.0,
        help="playback speed: recorded seconds per real second (default 1)",
    )
    replay.add_argument("--paused", action="store_true", help="start paused at the beginning")
    _add_drill(sub)
    replay.add_argument(
        "--config",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="config whose thresholds the alarms use (default as for the TUI)",
    )
    collect = sub.add_parser(
        "collect",
        parents=[common],
        help="poll the backends for every console and publish to NATS JetStream",
        description="Poll the configured backends as the console does (same intervals, "
        "timeouts and back-off) and publish every snapshot and a heartbeat to a NATS "
        "JetStream key-value bucket; consoles read it with a backend of type 'nats'. "
        "The URL, bucket and credentials may also come from the config's [collector] "
        "section. Runs until Ctrl-C or SIGTERM; one line on stderr per change of state.",
    )
    collect.add_argument(
        "--nats",
        metavar="URL",
        help="NATS server URL, e.g. nats://127.0.0.1:4222 (default: [collector] url)",
    )
    collect.add_argument(
        "--bucket",
        metavar="NAME",
        help="key-value bucket (default: [collector] bucket, else xenon-console)",
    )
    collect.add_argument(
        "--metrics",
        metavar="HOST:PORT",
        help="also serve Prometheus metrics at http://HOST:PORT/metrics (:PORT: every address)",
    )
    exporter = sub.add_parser(
        "exporter",
        parents=[common],
        help="poll the backends and serve Prometheus metrics (no NATS needed)",
        description="Poll the configured backends as the console does and serve the "
        "console's figures, alarms and source health as Prometheus metrics at "
        "http://HOST:PORT/metrics. Runs until Ctrl-C or SIGTERM.",
    )
    exporter.add_argument(
        "--listen",
        metavar="HOST:PORT",
        required=True,
        help="address to serve /metrics on, e.g. 127.0.0.1:9108 (:9108: every address)",
    )
    _add_serve(sub, common)
    rules = sub.add_parser(
        "alert-rules",
        parents=[common],
        help="print Prometheus alerting rules equal to the console's alarms",
        description="Print a Prometheus rules file (YAML) whose alerts are the console's "
        "alarms at the thresholds of the config's [thresholds] (alerts/xenon.rules.yml "
        "is the output for the defaults).",
    )
    rules.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of stdout")
    _add_sim(sub)
    return parser


def _port(text: str) -> int:
    value = _int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be 0 to 65535 (0: any free port), got {text!r}")
    return value


def _add_serve(sub: argparse._SubParsersAction, common: _Parser) -> None:
    """``serve``: the same console in a web browser, one app process per tab."""
    from console.serve_options import DEFAULT_MAX_SESSIONS, DEFAULT_PORT, TOKEN_ENV

    serve = sub.add_parser(
        "serve",
        parents=[common],
        help="serve the console to web browsers (one console process per tab)",
        description="Serve this console to web browsers with textual-serve: each tab "
        "gets its own console process, with every key and screen of the TUI. Loopback "
        f"only unless an access token is given (--token-file or {TOKEN_ENV}); with one, "
        "every request needs it (?token= once, then a cookie; or Authorization: Bearer). "
        "Runs until Ctrl-C or SIGTERM, which end every session.",
    )
    serve.add_argument(
        "--host",
        metavar="ADDRESS",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; any other than loopback needs a token)",
    )
    serve.add_argument(
        "--port",
        metavar="N",
        type=_port,
        default=DEFAULT_PORT,
        help=f"port to listen on (default {DEFAULT_PORT}; 0: any free port)",
    )
    serve.add_argument(
        "--token-file",
        metavar="FILE",
        help=f"file holding the access token (else the {TOKEN_ENV} environment variable)",
    )
    serve.add_argument(
        "--max-sessions",
        metavar="N",
        type=_positive_int,
        default=DEFAULT_MAX_SESSIONS,
        help=f"most tabs served at once (default {DEFAULT_MAX_SESSIONS})",
    )
    serve.add_argument(
        "--public-url",
        metavar="URL",
        help="the address browsers use, behind a reverse proxy (e.g. https://ops.example/xenon)",
    )


def _add_drill(sub: argparse._SubParsersAction) -> None:
    """``drill``: the console on a hidden scenario; the trainee diagnoses it."""
    S = argparse.SUPPRESS
    drill = sub.add_parser(
        "drill",
        help="a shift drill: the console on a hidden scenario, diagnose it with d",
        description="Start the console on the simulator on a scenario picked at random "
        "(single or combined, or nothing wrong at all), its name hidden. Explore with every "
        "key, then press d to give your diagnosis: the causes and, optionally, the first "
        "action. The score, what was injected and what the diagnosis engine says follow, "
        "and one JSON line is appended to the drills log.",
    )
    drill.add_argument(
        "--seed",
        metavar="N",
        type=_int,
        default=S,
        help="drill seed: the same seed plays the same drill (default: a random one)",
    )
    drill.add_argument(
        "--config",
        metavar="FILE",
        default=S,
        help="config (thresholds, intervals); every pane must be on the simulator",
    )
    drill.add_argument(
        "--speed",
        metavar="X",
        type=_speed,
        default=S,
        help="simulated seconds per real second (0 freezes the clock)",
    )
    drill.add_argument(
        "--log",
        metavar="FILE",
        help="append the result to FILE (default: $XDG_DATA_HOME/xenon-console/drills.jsonl)",
    )


def _add_check(sub: argparse._SubParsersAction, common: _Parser) -> None:
    """``check``: a Nagios/Icinga plugin (the monitoring-plugins guidelines)."""
    check = sub.add_parser(
        "check",
        parents=[common],
        help="Nagios/Icinga plugin: one status line, exit code 0/1/2/3",
        description="Fetch every pane once, evaluate the alarms and print one "
        "line 'XENON <STATUS> - <summary> | <perfdata>' (the causes first; with -v, one "
        "line per cause and per alarm after it). Exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.epilog_factory = _check_epilog
    check.add_argument(
        "-w",
        "--warning",
        metavar="FIGURE=RANGE",
        action="append",
        type=_threshold,
        help="a figure's warning range, e.g. buffer_fill=80 (repeatable, one per figure)",
    )
    check.add_argument(
        "-c",
        "--critical",
        metavar="FIGURE=RANGE",
        action="append",
        type=_threshold,
        help="a figure's critical range, e.g. buffer_fill=90 (repeatable, one per figure)",
    )
    check.add_argument(
        "-t",
        "--timeout",
        metavar="SECONDS",
        type=_timeout,
        help="seconds every source has to answer, else UNKNOWN naming those that did not "
        "(default: each pane's [timeouts] entry, 10 s unless set)",
    )
    check.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="long output: one line per alarm after the first line",
    )
    check.add_argument("-V", "--version", action=_Version)


def _check_options(args: argparse.Namespace) -> CheckOptions:
    """``check``'s -w/-c/-t/-v; a figure given twice the same option is a usage error."""
    from console.report import CheckOptions

    ranges: list[dict[str, Range]] = []
    for option, given in (("-w/--warning", args.warning), ("-c/--critical", args.critical)):
        by_figure: dict[str, Range] = {}
        for name, limit in given or ():
            if name in by_figure:
                raise UsageError(f"argument {option}: {name} given twice")
            by_figure[name] = limit
        ranges.append(by_figure)
    return CheckOptions(ranges[0], ranges[1], verbose=args.verbose, timeout=args.timeout)


def _add_sim(sub: argparse._SubParsersAction) -> None:
    """``sim``: put the simulator's history into a real service, to try a backend on it."""
    sim = sub.add_parser(
        "sim",
        help="write the simulator's data into a real service",
        description="Write the simulator's runs into a real service, in "
        "the experiment's own format, to try a backend on a copy.",
    )
    tools = sim.add_subparsers(
        dest="sim_command", metavar="{export-mongo}", parser_class=_Parser, required=True
    )
    export = tools.add_parser(
        "export-mongo",
        help="write the simulated runs into a MongoDB as XENON1T (or XENONnT) run documents",
        description="Insert every simulated run as a XENON1T run document (XENONnT's "
        "with --profile xenonnt, and each event builder's heartbeats into daq.eb_monitor). "
        "The collections must be empty unless --drop is given. A password may come from "
        "MONGO_PASSWORD instead of the URI.",
    )
    export.add_argument("uri", metavar="URI", help="mongodb://[user[:password]@]host[:port]/")
    export.add_argument("--database", default="run", help="database (default: run)")
    export.add_argument(
        "--collection",
        default=None,
        help="collection (default: runs_new; runs with --profile xenonnt)",
    )
    export.add_argument(
        "--profile",
        choices=("xenon1t", "xenonnt"),
        default="xenon1t",
        help="document shape: XENON1T's (default) or XENONnT's",
    )
    export.add_argument(
        "--heartbeat-database",
        default="daq",
        help="XENONnT: the database of the event builders' heartbeats (default: daq)",
    )
    export.add_argument(
        "--heartbeat-collection",
        default="eb_monitor",
        help="XENONnT: their collection (default: eb_monitor)",
    )
    export.add_argument(
        "--drop",
        action="store_true",
        help="drop the collection (and, XENONnT, the heartbeats' collection) first "
        "(else it must be empty)",
    )
    S = argparse.SUPPRESS
    export.add_argument("--scenario", metavar="NAME", default=S, help="simulator scenario")
    export.add_argument("--seed", metavar="N", type=_int, default=S, help="simulator seed")
    export.add_argument(
        "--runs", metavar="N", type=_positive_int, default=S, help="number of runs to simulate"
    )


def _sim(args: argparse.Namespace) -> int:
    from backends.mongo.connection import COLLECTIONS
    from backends.mongo.export import ExportError, export_simulated_runs

    beats: list[str] = []
    try:
        written = export_simulated_runs(
            args.uri,
            database=args.database,
            collection=args.collection,
            drop=args.drop,
            profile=args.profile,
            scenario=getattr(args, "scenario", "nominal"),
            seed=getattr(args, "seed", 1),
            runs=getattr(args, "runs", None),
            heartbeat_database=args.heartbeat_database,
            heartbeat_collection=args.heartbeat_collection,
            heartbeats_done=lambda n, where: beats.append(f"wrote {n:,} heartbeats to {where}"),
        )
    except (BackendConfigError, ExportError) as exc:
        return _fail(f"export-mongo: {exc}")
    except KeyboardInterrupt:
        return 130
    collection = args.collection or COLLECTIONS[args.profile]
    print(f"wrote {written:,} runs to {args.database}.{collection}")
    for line in beats:
        print(line)
    return 0


def _fail(message: str) -> int:
    print(f"{PROG}: error: {strip_controls(redact_secrets(message))}", file=sys.stderr)
    return EXIT_USAGE


def _unknown(message: str) -> int:
    print(f"XENON UNKNOWN - {strip_controls(redact_secrets(message))}")
    return int(Severity.UNKNOWN)


def _list_backends() -> int:
    eps = available()
    if not eps:
        print("no backends installed")
    for name in sorted(eps):
        print(f"{name:<16} {eps[name].value}")
    return 0


def _list_scenarios() -> int:
    try:
        from backends.simulator import SCENARIOS
    except ImportError as exc:
        return _fail(f"the simulator is not available: {exc}")
    width = max((len(n) for n in SCENARIOS), default=0)
    for name, description in SCENARIOS.items():
        print(f"{name:<{width}}  {description}")
    return 0


def _load(args: argparse.Namespace) -> Config:
    return load_config(
        getattr(args, "config", None),
        scenario=getattr(args, "scenario", None),
        seed=getattr(args, "seed", None),
        speed=getattr(args, "speed", None),
        runs=getattr(args, "runs", None),
    )


def _one_shot(args: argparse.Namespace, config: Config) -> int:
    from console.fetching import Backends, fetch_all
    from console.report import check_line, render_report, report_data

    options = _check_options(args) if args.command == "check" else None
    sources = Backends(config)
    try:
        results = fetch_all(sources, config, timeout=options.timeout if options else None)
    finally:
        sources.close()
    if options is not None:
        status, output = check_line(results, config, options)
        print(output)
        return int(status)
    if args.json:
        print(json_text(report_data(results, config), indent=2))
        return 0
    console = Console(highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(highlight=False, width=REPORT_WIDTH)
    render_report(results, config, console)
    return 0


def _audit(args: argparse.Namespace, config: Config) -> int:
    from backends.model import Kind, RunsSnapshot
    from console.audit import EXIT_UNREADABLE, run_audit
    from console.fetching import Backends, fetch_all

    # With a policy that asks Rucio, the transfers pane gives its word.
    kinds = (Kind.RUNS, Kind.TRANSFERS) if config.policy.rucio_check else (Kind.RUNS,)
    sources = Backends(config, kinds=kinds)
    try:
        result = fetch_all(sources, config, kinds=kinds)[Kind.RUNS]
        snapshot = result.snapshot
        if snapshot is None:
            print(
                f"{PROG}: error: audit: cannot read the runs from {strip_controls(result.source)}: "
                f"{strip_controls(redact_secrets(result.error or 'no answer'))}",
                file=sys.stderr,
            )
            return EXIT_UNREADABLE
        assert isinstance(snapshot, RunsSnapshot)
        return run_audit(
            snapshot.runs,
            snapshot.taken_at,
            config.policy,
            config.thresholds.unsafe_after_hours,
            args.format or "text",
            unsafe_only=args.unsafe_only,
        )
    finally:
        sources.close()


def _collect(args: argparse.Namespace, config: Config) -> int:
    import signal

    from backends.natsfeed.link import NatsOptions
    from console.collector import Collector
    from console.exporter import ListenError
    from console.fetching import Backends

    options = dict(config.collector)
    if args.nats is not None:
        options["url"] = args.nats
    if args.bucket is not None:
        options["bucket"] = args.bucket
    if "url" not in options:
        return _fail("collect: no NATS server: give --nats URL or [collector] url in the config")
    try:
        nats_options = NatsOptions.from_options(options, what="[collector]")
    except BackendConfigError as exc:
        origin = f"{config.source_path}: " if config.source_path is not None else ""
        return _fail(f"{origin}[collector] {exc}")
    listen = _listen_address(args.metrics, "--metrics") if args.metrics else None
    collector = Collector(
        config, Backends(config), nats_options, version=_version(), metrics=listen
    )
    signal.signal(signal.SIGTERM, lambda *_: collector.stop())
    try:
        collector.run()
    except ListenError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        collector.close()
    return 0


def _listen_address(text: str, option: str) -> tuple[str, int]:
    from console.exporter import ListenError, parse_listen

    try:
        return parse_listen(text)
    except ListenError as exc:
        raise ConfigError(f"{option} {exc}") from None


def _exporter(args: argparse.Namespace, config: Config) -> int:
    import signal
    import threading

    from console.exporter import ListenError, serve_metrics
    from console.fetching import Backends
    from console.polling import log_line

    host, port = _listen_address(args.listen, "--listen")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with serve_metrics(config, Backends(config), host, port, log=sys.stderr) as server:
            log_line(sys.stderr, "exporter", f"serving {server.url}")
            while not stop.wait(0.5):
                pass
    except ListenError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130
    return 0


def _serve(args: argparse.Namespace, config: Config) -> int:
    """Check everything (token, address, port) before anything is bound or spawned."""
    from console.serve_options import (
        ServeError,
        bind,
        check_public_url,
        is_loopback,
        read_token,
        served_command,
        withheld,
    )

    try:
        token = read_token(args.token_file, os.environ)
        if token is None and not is_loopback(args.host):
            raise ServeError(
                f"--host {args.host} is not a loopback address: give an access token "
                "(--token-file FILE or XENON_CONSOLE_SERVE_TOKEN) to serve beyond this machine"
            )
        public_url = check_public_url(args.public_url) if args.public_url else None
        options: list[str] = []
        if config.source_path is not None:
            options += ["--config", str(Path(config.source_path).resolve())]
        for name in ("scenario", "seed", "speed", "runs"):
            if hasattr(args, name):
                options += [f"--{name}", str(getattr(args, name))]
        sock = bind(args.host, args.port, loopback_only=token is None)
    except ServeError as exc:
        return _fail(f"serve: {exc}")
    from console.polling import log_line
    from console.serve import ConsoleServer

    if hidden := withheld(os.environ):
        log_line(
            sys.stderr,
            "serve",
            "left out of every session's environment (a secret goes in the config "
            f"or a file): {', '.join(hidden)}",
        )
    server = ConsoleServer(
        served_command(options),
        sock=sock,
        token=token,
        max_sessions=args.max_sessions,
        public_url=public_url,
    )
    server.serve()
    return 0


def _alert_rules(args: argparse.Namespace, config: Config) -> int:
    from console.alert_rules import rules_yaml

    origin = (
        f"the [thresholds] of {config.source_path}"
        if config.source_path is not None
        else "the default thresholds"
    )
    text = rules_yaml(config.thresholds, origin=origin)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        Path(args.output).write_text(text, encoding="utf-8")
    except OSError as exc:
        return _fail(f"--output {args.output}: {exc.strerror or exc}")
    return 0


def _no_terminal() -> str | None:
    """Why the TUI cannot run here, or None: it needs a terminal on stdin.

    Without one (``</dev/null``, a pipe, cron) Textual draws the screen,
    reads end-of-file for ever and spins a core.
    """
    if os.environ.get("TEXTUAL_DRIVER") == WEB_DRIVER:
        return None  # a session of `serve`: the terminal is the browser's
    stdin = sys.__stdin__
    try:
        if stdin is not None and os.isatty(stdin.fileno()):
            return None
    except (AttributeError, ValueError, OSError):
        pass
    return (
        "the console needs a terminal on stdin (it is not one here); "
        f"for scripts use `{PROG} report` or `{PROG} check`"
    )


def _run_tui(config: Config, record: Path | None = None) -> int:
    from console.fetching import Backends

    if record is not None:
        if record.is_dir():
            raise ConfigError(f"--record {record}: is a directory")
        if not record.parent.is_dir():
            raise ConfigError(f"--record {record}: directory {record.parent} does not exist")
        if record.exists():
            raise ConfigError(
                f"--record {record}: the file exists; a recording is never "
                "overwritten, choose another name"
            )
    if (why := _no_terminal()) is not None:
        return _fail(why)
    # The backends before the screen's imports (a fifth of a second): a long
    # simulated history is planned meanwhile, by a process of its own.
    # Meanwhile the garbage collector is off: the imports make a few hundred
    # thousand objects that live as long as the console (modules, classes,
    # functions) and next to no garbage, which collections made meanwhile
    # walked again and again (40 ms of a first frame of 570 at 26,762 runs).
    # Then they are frozen: no later collection walks them either.
    gc.disable()
    try:
        sources = Backends(config)
        from console.app import run_app
    finally:
        gc.freeze()
        gc.enable()
    return run_app(config, sources, record=record)


def _drill(args: argparse.Namespace) -> int:
    from console.drill import default_log_path, new_seed, pick_drill, prepare_log

    for option in ("scenario", "runs"):
        if hasattr(args, option):
            return _fail(f"drill: --{option}: a drill picks its own scenario and history")
    if args.log == "":
        return _fail("drill: --log needs a file name")
    log = Path(args.log) if args.log else default_log_path()
    seed = args.seed if hasattr(args, "seed") else new_seed()
    drill = pick_drill(seed)
    config = load_config(
        getattr(args, "config", None),
        scenario=drill.scenario,
        seed=drill.sim_seed,
        speed=getattr(args, "speed", None),
    )
    for kind, name in config.panes.items():
        spec = config.backends.get(name)
        if spec is None or spec.type != "simulator":
            return _fail(
                f"drill: the {kind.value} pane is on {name!r}, not the simulator; "
                "a drill needs the simulator on every pane"
            )
    try:
        prepare_log(log)
    except OSError as exc:
        return _fail(f"drill: cannot write the drills log {log}: {exc.strerror or exc}")
    if (why := _no_terminal()) is not None:
        return _fail(why)
    from console.drill_app import drill_app

    return drill_app(config, drill, log)


def _replay(args: argparse.Namespace, config: Config) -> int:
    from console.app import replay_app
    from console.recording import RecordingError, read_recording

    try:
        recording = read_recording(args.file)
    except RecordingError as exc:
        return _fail(str(exc))
    if not recording.frames:
        detail = f": {recording.damage}" if recording.damage else ""
        return _fail(f"{args.file}: the recording holds no snapshots{detail}")
    if (why := _no_terminal()) is not None:
        return _fail(why)
    return replay_app(config, recording, speed=args.speed, paused=args.paused)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    is_check = "check" in argv
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command == "check":
            _check_options(args)
    except UsageError as exc:
        if is_check:
            return _unknown(f"usage: {exc}")
        return _fail(f"{exc} (see {PROG} --help)")
    if args.list_backends:
        return _list_backends()
    if args.list_scenarios:
        return _list_scenarios()
    if args.command == "sim":
        return _sim(args)
    if getattr(args, "config", None) is not None:
        args.config = Path(args.config)
    try:
        if getattr(args, "record", None) == "":
            return _fail("--record needs a file name")
        if getattr(args, "record", None) and args.command is not None:
            return _fail("--record goes with the console itself, not with a subcommand")
        if args.command == "replay":
            return _replay(args, load_config(getattr(args, "config", None)))
        if args.command == "drill":
            return _drill(args)
        config = _load(args)
        if args.command is None:
            return _run_tui(config, Path(args.record) if args.record else None)
        if args.command == "audit":
            return _audit(args, config)
        if args.command == "collect":
            return _collect(args, config)
        if args.command == "exporter":
            return _exporter(args, config)
        if args.command == "alert-rules":
            return _alert_rules(args, config)
        if args.command == "serve":
            return _serve(args, config)
        return _one_shot(args, config)
    except (ConfigError, BackendConfigError) as exc:
        if args.command == "check":
            return _unknown(f"config error: {exc}")
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if args.command != "check":
            raise
        # A traceback would exit 1, which Nagios reads as WARNING.
        from console.fetching import describe_error

        return _unknown(f"internal error: {describe_error(exc)}")


if __name__ == "__main__":
    sys.exit(main())

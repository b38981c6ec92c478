"""Layering rules that keep backends free of the terminal UI."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = ("textual", "rich")


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_backend_module_imports_the_ui() -> None:
    offenders = []
    files = sorted((ROOT / "backends").rglob("*.py"))
    assert len(files) >= 5, "backends package not found"
    for path in files:
        for name in _imported_modules(path):
            if name.split(".")[0] in FORBIDDEN or name.split(".")[0] == "console":
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offenders == []


def test_importing_every_backend_leaves_textual_unloaded() -> None:
    """The static check above misses dynamic imports; this one runs them.

    Only Textual is checked here: httpx loads Rich for its own command line
    (``httpx._main``) when Rich is installed, which is not our code using it;
    the static check keeps our backend code itself free of Rich.
    """
    code = (
        "import importlib, pkgutil, sys, backends\n"
        "for m in pkgutil.walk_packages(backends.__path__, 'backends.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] == 'textual')\n"
        "print(','.join(bad))\n"
    )
    assert _printed_by(code) == ""


def test_simulator_is_registered_as_an_entry_point() -> None:
    from backends.registry import available

    assert "simulator" in available()


def test_the_builtin_backends_are_the_package_entry_points() -> None:
    """The built-ins load without the metadata: the table must say what
    pyproject.toml says."""
    import tomllib

    from backends.registry import BUILTIN

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["xenon_console.backends"] == BUILTIN


def test_an_unknown_backend_type_names_the_known_ones() -> None:
    from backends.registry import load_backend_class
    from backends.sources import BackendConfigError

    known = r"unknown backend type 'nope' \(known: .*simulator"
    with pytest.raises(BackendConfigError, match=known):
        load_backend_class("nope")


def test_the_console_starts_without_reading_package_metadata() -> None:
    """Importing the TUI and building the simulator's backends reads no
    installed package's metadata, nor the recordings, the drill-down code, or
    NATS's client and shared acknowledgements (each cost the first frame;
    they load when first used)."""
    code = (
        "import sys\n"
        "from console import cli, app\n"
        "from console.config import load_config\n"
        "from console.fetching import Backends\n"
        "cli.build_parser()\n"
        "Backends(load_config(None)).close()\n"
        "from console.acks import AckStore, ack_store_for\n"
        "ack_store_for(load_config(None), lambda: AckStore(None))\n"
        "lazy = ['importlib.metadata', 'console.recording', 'console.replay',\n"
        "        'backends.analysis.drilldown', 'console.screens.run_details',\n"
        "        'console.shared_acks', 'backends.natsfeed']\n"
        "print(','.join(m for m in lazy if m in sys.modules))\n"
    )
    assert _printed_by(code) == ""


def _printed_by(code: str) -> str:
    """What ``code`` prints, run in a fresh interpreter (its own imports only)."""
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


@pytest.mark.slow
def test_every_worker_collects_the_same_tests() -> None:
    """``make test`` runs pytest-xdist, whose workers must collect the same
    test ids: an id built from the clock (``gzip.compress`` stamps the time)
    or from a set's order (hash randomization) stops the whole run."""
    import os
    import time

    root = Path(__file__).resolve().parents[1]

    def collected(seed: str) -> list[str]:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--collect-only"],
            cwd=root,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": seed, "CONDOR_CONFIG": "/dev/null"},
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        return [line for line in done.stdout.splitlines() if "::" in line]

    first = collected("1")
    time.sleep(1.1)  # a clock in an id changes by then
    second = collected("2")
    assert len(first) > 1000
    assert first == second, sorted(set(first) ^ set(second))[:5]

"""The figures of the README's cost table, as a shifter's terminal sees them.

Runs the console (simulator, default speed) in a real 120x40 pseudo-terminal
(``bench/terminal.py``: everything it writes is counted and fed to a terminal
emulator) for each history size, beside the floors measured in the same run:

- a bare Textual app (``bench/bare_app.py``: one Static) for the first frame,
  the time from a key to the screen and the memory;
- ``htop -d 10`` at the same size for the terminal bytes per second.

Console and bare app run in interleaved pairs; each figure is the median (and
the min) of the pairs, and a ratio to its floor. These machines are shared
and noisy: compare ratios within one run, not absolute figures across runs.

    .venv/bin/python bench/startup.py [--sizes 720,26762,267620] [--pairs 3]
                                      [--steady 60] [--against DIR]

What it measures, per size:

- first frame with every pane populated (from the process start);
- ``End``/``Home`` in the runs pane during the first 16 s (while the verdicts
  of every run are being derived): key to screen, p90;
- ``/unsafe`` + Enter once the verdicts are in: Enter to the filtered rows;
- ``s`` (sort by run number): key to the sorted rows;
- steady CPU (% of one core) and terminal bytes per second over ``--steady``
  seconds with every pane live (first pair only), beside the CPU of the bare
  app left alone and of ``htop -d 10`` over as long;
- peak RSS (VmHWM) at the end of the session.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from terminal import END, ENTER, HOME, Terminal

ROOT = Path(__file__).resolve().parents[1]
ESC = b"\x1b"
#: The window in which End/Home are timed (from the process start).
EARLY = 16.0


def env(home: str, root: Path = ROOT) -> dict[str, str]:
    return {"CONDOR_CONFIG": "/dev/null", "PYTHONPATH": str(root), "HOME": home}


@dataclass
class Figures:
    first_frame: list[float] = field(default_factory=list)
    keys: list[float] = field(default_factory=list)
    filter: list[float] = field(default_factory=list)
    sort: list[float] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)
    cpu: float | None = None
    bytes_per_s: float | None = None


# ----------------------------------------------------------------- screens


def populated(runs: int) -> Callable[[str], bool]:
    """Every pane shows data (the runs pane its count)."""
    need = ("Used ", "UC_OSG_USERDISK", "Verified ", "Progress")
    return lambda screen: all(n in screen for n in need) and bool(footer(screen, runs))


FOOTER = re.compile(r"[\d,]+ of ([\d,]+) runs")


def footer(screen: str, runs: int) -> str:
    """The runs pane's footer ("720 of 720 runs · ..."; new runs may come)."""
    for line in screen.splitlines():
        match = FOOTER.search(line)
        if match and int(match.group(1).replace(",", "")) >= runs:
            return line
    return ""


def detail_run(screen: str, runs: int) -> str:
    """The run number the runs pane's detail line is about (the cursor's)."""
    lines = screen.splitlines()
    for i, line in enumerate(lines):
        if footer(line, runs) and i + 1 < len(lines):
            match = re.match(r"\W*(\d+)", lines[i + 1])
            return match.group(1) if match else ""
    return ""


def settled(runs: int) -> Callable[[str], bool]:
    def ready(screen: str) -> bool:
        line = footer(screen, runs)
        return bool(line) and "on their way" not in line and "filtering" not in line

    return ready


def p90(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def measure_window(term: Terminal, seconds: float) -> tuple[float, float]:
    """(% of one core, bytes per second) over the next ``seconds``."""
    cpu0, bytes0, wall0 = term.cpu_seconds(), term.bytes, time.perf_counter()
    time.sleep(seconds)
    wall = time.perf_counter() - wall0
    return (term.cpu_seconds() - cpu0) / wall * 100, (term.bytes - bytes0) / wall


# -------------------------------------------------------------- sessions


#: The floor: a bare Textual app, one Static (it shows "hello").
BARE_APP = [sys.executable, str(ROOT / "bench" / "bare_app.py")]


def bare_session(home: str, figures: Figures) -> None:
    with Terminal(BARE_APP, env=env(home)) as term:
        term.wait(lambda s: "hello" in s)
        figures.first_frame.append(term.since_start())
        time.sleep(0.5)
        for n in range(1, 11):
            key = END if n % 2 else HOME
            name = "end" if n % 2 else "home"
            term.press(key)
            figures.keys.append(term.wait(lambda s, n=n, name=name: f"key {name} {n}" in s))
            time.sleep(0.1)
        figures.rss.append(term.peak_rss_mb())


def console_session(runs: int, home: str, figures: Figures, steady: float) -> None:
    argv = [sys.executable, "-m", "console.cli", "--runs", str(runs)]
    with Terminal(argv, env=env(home)) as term:
        term.wait(populated(runs), timeout=120)
        figures.first_frame.append(term.since_start())
        term.press("5")
        time.sleep(0.2)
        # End and Home while the verdicts of every run are derived.
        key = END
        while term.since_start() < EARLY:
            before = detail_run(term.text(), runs)
            term.press(key)
            figures.keys.append(
                term.wait(lambda s, b=before: detail_run(s, runs) not in ("", b), timeout=30)
            )
            key = HOME if key == END else END
            time.sleep(0.2)
        term.wait(settled(runs), timeout=600)
        if steady > 0:
            time.sleep(3)
            figures.cpu, figures.bytes_per_s = measure_window(term, steady)
        term.press("/unsafe")
        term.wait(lambda s: "filter: unsafe" in footer(s, runs))
        term.press(ENTER)
        figures.filter.append(
            term.wait(
                lambda s: (
                    "filter: unsafe" in (line := footer(s, runs))
                    and "filtering" not in line
                    and not re.search(r"\b([\d,]+) of \1 runs", line)
                ),
                timeout=120,
            )
        )
        term.press(ESC)  # the table has the focus: Esc clears the filter
        term.wait(
            lambda s: (
                "filter:" not in (line := footer(s, runs))
                and bool(re.search(r"\b([\d,]+) of \1 runs", line))
            )
        )
        time.sleep(0.3)
        term.press("s")
        figures.sort.append(
            term.wait(
                lambda s: "sorted by Run" in (line := footer(s, runs)) and "filtering" not in line,
                timeout=120,
            )
        )
        figures.rss.append(term.peak_rss_mb())


def first_frame_of(root: Path, runs: int, home: str) -> float:
    """The first populated frame of the build in ``root`` (``--against``)."""
    argv = [sys.executable, "-m", "console.cli", "--runs", str(runs)]
    # (in its tree: ``-m`` puts the working directory first on the path)
    with Terminal(argv, env=env(home, root), cwd=str(root)) as term:
        term.wait(populated(runs), timeout=120)
        return term.since_start()


def htop_window(home: str, seconds: float) -> tuple[float, float] | None:
    """(% of one core, bytes per second) of ``htop -d 10`` at the same size."""
    htop = shutil.which("htop")
    if htop is None:
        return None
    with Terminal([htop, "-d", "10"], env={"HOME": home}) as term:
        term.wait(lambda s: "Load average" in s or "Tasks" in s)
        time.sleep(3)
        return measure_window(term, seconds)


def bare_idle_cpu(home: str, seconds: float) -> float:
    """% of one core of the bare Textual app left alone: Textual's own price
    of being up (its input thread wakes ten times a second)."""
    with Terminal(BARE_APP, env=env(home)) as term:
        term.wait(lambda s: "hello" in s)
        time.sleep(3)
        return measure_window(term, seconds)[0]


# ----------------------------------------------------------------- report


def fmt_s(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="720,26762,267620")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--steady", type=float, default=60.0)
    parser.add_argument(
        "--against",
        type=Path,
        help="another build's tree (git archive REV | tar -x -C DIR): its first "
        "populated frame is measured in each pair too",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    home = tempfile.mkdtemp(prefix="xenon-bench-")
    bare = Figures()
    consoles = {n: Figures() for n in sizes}
    against: dict[int, list[float]] = {n: [] for n in sizes}
    htop = htop_window(home, args.steady) if args.steady > 0 else None
    htop_cpu, htop_rate = htop if htop is not None else (None, None)
    idle_cpu = bare_idle_cpu(home, args.steady) if args.steady > 0 else None
    for runs in sizes:
        for pair in range(args.pairs):
            print(f"  {runs:,} runs, pair {pair + 1}/{args.pairs}…", file=sys.stderr, flush=True)
            bare_session(home, bare)
            console_session(runs, home, consoles[runs], args.steady if pair == 0 else 0)
            if args.against is not None:
                against[runs].append(first_frame_of(args.against, runs, home))
    shutil.rmtree(home, ignore_errors=True)

    med = statistics.median
    key_floor = med(bare.keys)
    frame_floor = med(bare.first_frame)
    header = "| figure | floor | " + " | ".join(f"{n:,} runs" for n in sizes) + " |"
    print(
        f"xenon-console in a 120x40 pseudo-terminal, simulator, {args.pairs} interleaved "
        f"pairs (median, min); ratios to the floor of the same run; {os.cpu_count()} cores"
    )
    print()
    print(header)
    print("|" + "---|" * (2 + len(sizes)))

    def row(name: str, floor: str, cells: list[str]) -> None:
        print(f"| {name} | {floor} | " + " | ".join(cells) + " |")

    row(
        "first populated frame",
        f"bare app {fmt_s(frame_floor)}",
        [
            f"{fmt_s(med(f.first_frame))} ({med(f.first_frame) / frame_floor:.1f}x), "
            f"min {min(f.first_frame) / min(bare.first_frame):.1f}x"
            for f in consoles.values()
        ],
    )
    if args.against is not None:
        row(
            f"first populated frame, `{args.against}`",
            f"bare app {fmt_s(frame_floor)}",
            [
                f"{fmt_s(med(a))} ({med(a) / frame_floor:.1f}x), "
                f"min {min(a) / min(bare.first_frame):.1f}x"
                for a in against.values()
            ],
        )
    row(
        f"`End`/`Home` in the first {EARLY:.0f} s, p90",
        f"bare app {fmt_s(p90(bare.keys))}",
        [
            f"{fmt_s(p90(f.keys))} ({p90(f.keys) / p90(bare.keys):.1f}x), {len(f.keys)} keys"
            for f in consoles.values()
        ],
    )
    row(
        "`/unsafe` + Enter",
        f"bare key {fmt_s(key_floor)}",
        [f"{fmt_s(med(f.filter))}, min {fmt_s(min(f.filter))}" for f in consoles.values()],
    )
    row(
        "`s` sort",
        f"bare key {fmt_s(key_floor)}",
        [f"{fmt_s(med(f.sort))}, min {fmt_s(min(f.sort))}" for f in consoles.values()],
    )
    floors = []
    if idle_cpu is not None:
        floors.append(f"bare app idle {idle_cpu:.2f} %")
    if htop_cpu is not None:
        floors.append(f"`htop -d 10` {htop_cpu:.2f} %")
    row(
        f"steady CPU over {args.steady:.0f} s",
        ", ".join(floors) or "not measured (--steady 0)",
        [
            (
                f"{f.cpu:.1f} % of a core"
                + (f" ({f.cpu / idle_cpu:.1f}x the bare app)" if idle_cpu else "")
            )
            if f.cpu is not None
            else "-"
            for f in consoles.values()
        ],
    )
    row(
        "terminal bytes per second",
        (
            f"`htop -d 10` {htop_rate:,.0f} B/s"
            if htop_rate
            else "not measured (--steady 0)"
            if args.steady <= 0
            else "htop not installed"
        ),
        [
            (
                f"{f.bytes_per_s:,.0f} B/s"
                + (f" ({f.bytes_per_s / htop_rate:.1f}x)" if htop_rate else "")
            )
            if f.bytes_per_s is not None
            else "-"
            for f in consoles.values()
        ],
    )
    row(
        "peak RSS",
        f"bare app {med(bare.rss):.0f} MB",
        [f"{med(f.rss):.0f} MB ({med(f.rss) / med(bare.rss):.1f}x)" for f in consoles.values()],
    )


if __name__ == "__main__":
    main()

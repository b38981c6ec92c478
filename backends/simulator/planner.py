"""A long history planned on the machine's other core, while the console starts.

Planning 267,620 runs (``Catalogue``) is most of a second of pure Python; in
a thread it holds the GIL against the screen's own start (imports, layout,
the first paint), so the two add up before the first populated frame. A
``Planner`` starts a Python child at once (``main``, isolated), which
plans the same catalogue (the same code, the same seeded stream) and hands
it back pickled on its stdout (the plan is columns of arrays: 20 MB at
267,620 runs, 20 ms to load); the backend takes it at its first fetch.
Anything wrong with the child (it cannot start, it fails, it hands back
something else, it is silent ``WAIT_S``) and the backend plans in its own process, as it does for
short histories.

The pickle comes from a child this process started from its own code, over
its own pipe: no other party writes it.
"""

from __future__ import annotations

import gc
import json
import pickle
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path

from backends.simulator.catalogue import Catalogue

__all__ = ["Planner"]

#: The directory the ``backends`` package is in (the child imports it from there).
_ROOT = str(Path(__file__).resolve().parents[2])
#: The child's program, run isolated (``-I``: neither the current directory,
#: where another ``backends`` may be, nor ``PYTHON*`` variables on its path)
#: with this package's directory first: the child plans with this code.
_CHILD = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from backends.simulator.planner import main; sys.exit(main(sys.argv[2:]))"
)
#: A child that has not handed the plan back this long after it was asked
#: for is killed and the backend plans itself (1,000,000 runs take about 2 s).
WAIT_S = 60.0


def _args(
    seed: int, runs: int, now: float, destinations: Mapping[str, tuple[bool, str]] | None
) -> str:
    return json.dumps(
        {
            "seed": seed,
            "runs": runs,
            "now": now,
            "destinations": None if destinations is None else dict(destinations),
        }
    )


class Planner:
    """A ``Catalogue`` being planned by a child process."""

    def __init__(
        self,
        seed: int,
        runs: int,
        now: float,
        destinations: Mapping[str, tuple[bool, str]] | None = None,
    ) -> None:
        self._wanted = (seed, runs, now)
        self._process: subprocess.Popen[bytes] | None = None
        if not sys.executable:
            return
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-I", "-c", _CHILD, _ROOT, _args(*self._wanted, destinations)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                close_fds=True,
            )
        except OSError:
            self._process = None

    def result(self) -> Catalogue | None:
        """The plan (waiting for the child), or None if the child could not
        give it (or was stopped by ``close``): plan it here then."""
        process = self._process
        if process is None or process.stdout is None:
            return None
        deadline = threading.Timer(WAIT_S, process.kill)
        deadline.daemon = True
        deadline.start()
        try:
            # Loaded as it comes (not read whole first: the 20 MB would be
            # held twice at the peak), then the child must have ended well.
            with process.stdout:
                catalogue = pickle.load(process.stdout)
            if process.wait() != 0:
                return None
        except Exception:  # a child that died half-way: plan here
            process.kill()
            process.wait()
            return None
        finally:
            deadline.cancel()
            self._process = None
        if not isinstance(catalogue, Catalogue) or len(catalogue.history) != self._wanted[1]:
            return None
        return catalogue

    def close(self) -> None:
        """Stop the child if it is still planning (from any thread: a fetch
        waiting for it in ``result`` then gets None at once)."""
        process = self._process
        if process is not None:
            if process.poll() is None:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()


def main(argv: list[str]) -> int:
    """Plan the catalogue ``argv[0]`` asks for and write it pickled to stdout."""
    # This process makes the plan and nothing else: no collection is worth
    # its time (a tenth of the plan at 267,620 runs).
    gc.disable()
    options = json.loads(argv[0])
    asked = options["destinations"]
    destinations = None
    if asked is not None:
        destinations = {k: (bool(science), str(eu)) for k, (science, eu) in asked.items()}
    catalogue = Catalogue(
        int(options["seed"]), int(options["runs"]), float(options["now"]), destinations
    )
    try:
        pickle.dump(catalogue, sys.stdout.buffer, protocol=pickle.HIGHEST_PROTOCOL)
        sys.stdout.buffer.flush()
    except BrokenPipeError:  # the backend stopped waiting
        return 1
    return 0

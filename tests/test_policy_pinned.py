"""The XENON1T default policy, pinned: every verdict as it was before the
policy became configuration (issue 19).

The digests below were computed with the code of commit 03f4273, before the
policy moved into ``[[policy.require]]`` / ``[policy.purge]``: every data-safety
verdict (safe, required, present, missing, failed, reason), every purge
verdict (allowed, on the buffer, reason), each copy's problems, the runs
pane's copies label and the run's malformed notes, over

* the simulator's history of the paper's 26,762 runs (and the scenarios
  that make copies fail or go missing, at their default size), and
* the messy documents of the tests (``tests/mongo/test_verdicts.py``,
  ``tests/mongo/test_documents.py``) and a seeded corpus drawn from the
  grammar of ``tests/test_safety_properties.py``, read as the mongo backend
  reads them.

The default policy, written out as config or left out, must give the same
bytes.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import mongomock
import pytest
from bson import ObjectId

from backends.analysis.safety import (
    DEFAULT_POLICY,
    copies_label,
    copy_problems,
    data_safety,
    purge_verdict,
    run_problems,
)
from backends.model import Run
from backends.mongo import MongoBackend
from backends.simulator import SimulatorBackend
from console.config import load_config
from tests.mongo.test_documents import MESSY
from tests.mongo.test_verdicts import CASES

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2017, 11, 1, tzinfo=UTC)


def verdict_lines(runs: Iterable[Run], policy: Any = DEFAULT_POLICY) -> Iterable[str]:
    for run in runs:
        safety = data_safety(run, policy)
        purge = purge_verdict(run, policy)
        copies = [list(copy_problems(c, policy)) for doc in (run, *run.twins) for c in doc.copies]
        yield json.dumps(
            [
                run.number,
                [safety.safe, safety.required, safety.present, safety.missing, safety.failed],
                safety.reason,
                [purge.allowed, purge.on_buffer, purge.reason],
                copies,
                copies_label(run, policy),
                run_problems(run, policy),
            ],
            default=str,
        )


def digest(lines: Iterable[str]) -> tuple[int, str]:
    h = hashlib.sha256()
    n = 0
    for line in lines:
        h.update(line.encode() + b"\n")
        n += 1
    return n, h.hexdigest()[:32]


def simulated(scenario: str, runs: int | None = None) -> list[Run]:
    options: dict[str, Any] = {"scenario": scenario, "speed": 0}
    if runs is not None:
        options["runs"] = runs
    return list(SimulatorBackend(options).fetch_runs().runs)


# ------------------------------------------------------------ messy corpus

ODD = [None, 0, 1, 5.0, True, False, "", " ", [], {}, [1], "None"]
MISSING = object()
RSES = [
    "UC_OSG_USERDISK",
    "LNGS_USERDISK",
    "CCIN2P3_USERDISK",
    "CNAF_USERDISK",
    "NIKHEF_USERDISK",
    "SURFSARA_USERDISK",
    "WEIZMANN_USERDISK",
    "UC_OSG_USERDSK",
    "placeholder",
    "",
    "nikhef_userdisk",
    "SOME_OTHER_RSE",
]
VALUES: dict[str, list[Any]] = {
    "type": ["raw", "Raw", "raw ", "processed", "minitrees", MISSING, *ODD],
    "host": [
        "tsm-server",
        "rucio-catalogue",
        "xe1t-datamanager",
        "midway-login1",
        "login",
        "tsm-server ",
        "TSM-SERVER",
        MISSING,
        *ODD,
    ],
    "status": [
        "transferred",
        "Transferred",
        "transferring",
        "verifying",
        "error",
        "deleted",
        MISSING,
        *ODD,
    ],
    "checksum": ["adler32:0badc0de", "", "-", "null", MISSING, *ODD],
    "checksumproblem": [True, False, MISSING, "false", "true", 0, 1, None, [], "False"],
    "rse": [*RSES, *RSES, ["UC_OSG_USERDISK", "NIKHEF_USERDISK"], [1, "CNAF_USERDISK"], MISSING],
    "location": ["/data/x", "x1t:raw", MISSING, *ODD],
    "creation_time": [T0, "2017-11-01", MISSING, *ODD],
}
GOOD = [
    {"type": "raw", "host": "tsm-server", "status": "transferred", "checksum": "a"},
    {"type": "raw", "host": "rucio-catalogue", "status": "transferred", "rse": ["UC_OSG_USERDISK"]},
    {"type": "raw", "host": "rucio-catalogue", "status": "transferred", "rse": "CNAF_USERDISK"},
    {
        "type": "raw",
        "host": "rucio-catalogue",
        "status": "transferred",
        "rse": ["LNGS_USERDISK", "NIKHEF_USERDISK"],
    },
    {"type": "raw", "host": "rucio-catalogue", "status": "transferred", "rse": "LNGS_USERDISK"},
    {"type": "raw", "host": "xe1t-datamanager", "status": "transferred"},
]
TAGS: list[Any] = [
    [{"name": "_sciencerun1"}],
    [{"name": "_sciencerun0"}, {"name": "donotprocess"}],
    [],
    [{"name": "blinded"}],
    "_sciencerun1",
    ["_sciencerun1", 3],
    None,
    MISSING,
]


def _entry(rng: random.Random) -> Any:
    if rng.random() < 0.1:
        return rng.choice(ODD)
    if rng.random() < 0.2:
        entry = {k: rng.choice(v) for k, v in VALUES.items()}
    else:
        entry = dict(rng.choice(GOOD))
        for key in rng.sample(sorted(VALUES), rng.choice([0, 0, 0, 1, 2])):
            entry[key] = rng.choice(VALUES[key])
    return {k: v for k, v in entry.items() if v is not MISSING}


def messy_documents(n: int = 3000, seed: int = 19) -> list[dict[str, Any]]:
    """Seeded documents from the property test's grammar; numbers collide
    (twins), some are text."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        number: Any = rng.randrange(1, 2 * n)
        if rng.random() < 0.02:
            number = str(number)
        data: Any = [_entry(rng) for _ in range(rng.randrange(0, 8))]
        if rng.random() < 0.03:
            data = rng.choice([*ODD, MISSING])
        doc = {
            "number": number,
            "name": f"171101_{i:04d}",
            "start": T0 + timedelta(hours=i),
            "end": T0 + timedelta(hours=i + 1),
            "detector": "tpc",
            "source": {"type": "none"},
            "tags": rng.choice(TAGS),
            "data": data,
        }
        out.append({k: v for k, v in doc.items() if v is not MISSING})
    return out


def through_mongo(docs: list[dict[str, Any]]) -> list[Run]:
    """The runs the mongo backend shows for these documents (twins joined)."""
    client = mongomock.MongoClient(tz_aware=True)
    # Fixed ids: a document without a number is named by its _id.
    client.run.runs_new.insert_many(
        [{"_id": ObjectId(f"{i:024x}"), **d} for i, d in enumerate(docs)]
    )
    backend = MongoBackend(
        {"uri": "mongodb://db.example/run"}, client=client, clock=lambda: T0 + timedelta(days=400)
    )
    return list(backend.fetch_runs().runs)


def messy_runs() -> list[Run]:
    cases = [dict(d) for case in CASES for d in case.docs]
    return through_mongo(cases) + through_mongo(MESSY) + through_mongo(messy_documents())


# ------------------------------------------------------------------ pinned

#: Computed with the code before issue 19 (see the module doc).
PINNED_HISTORY = (26762, "e9967c9f6089e6a5c9e369e32125e807")
PINNED_SCENARIOS = {
    "tape-checksum": (720, "ab0f442ad53aca9291466595364d7727"),
    "rse-outage": (720, "112edf3cd31c247fee8f46d64d99e14a"),
    "uplink-down": (720, "d0ac6a70f98eb445f7799a1ed87c033e"),
}
PINNED_MESSY = (2408, "4ef5a97758753d53f8faf67f4e8c258d")


def test_the_default_policy_gives_the_xenon1t_verdicts_over_the_full_history() -> None:
    runs = simulated("nominal", 26762)
    assert digest(verdict_lines(runs)) == PINNED_HISTORY
    # A few of them in words, for whoever has to find what changed.
    reasons = Counter(data_safety(r).reason for r in runs)
    assert reasons["non-science run: 2 valid copies (European RSE, tape)"] == 20093
    assert reasons["science run: 3 valid copies (UC_OSG_USERDISK, European RSE, tape)"] == 6668
    newest = runs[-1]
    assert data_safety(newest).reason == (
        "science run: missing UC_OSG_USERDISK (none recorded), "
        "European RSE (none recorded), tape (none recorded)"
    )
    assert purge_verdict(newest).reason == (
        "no valid tape copy (none recorded) and no valid Rucio copy outside LNGS"
    )
    purges = Counter(purge_verdict(r).reason.split(" at ")[0] for r in runs)
    assert purges == {
        "already purged": 26268,
        "valid tape copy and Rucio copy": 493,
        "no valid tape copy (none recorded) and no valid Rucio copy outside LNGS": 1,
    }


@pytest.mark.parametrize("scenario", sorted(PINNED_SCENARIOS))
def test_the_default_policy_gives_the_xenon1t_verdicts_in_the_scenarios(scenario: str) -> None:
    assert digest(verdict_lines(simulated(scenario))) == PINNED_SCENARIOS[scenario]


def test_the_default_policy_gives_the_xenon1t_verdicts_of_messy_documents() -> None:
    runs = messy_runs()
    assert digest(verdict_lines(runs)) == PINNED_MESSY
    assert sum(data_safety(r).safe for r in runs) == 153
    assert sum(purge_verdict(r).allowed for r in runs) == 110
    assert sum(bool(data_safety(r).failed) for r in runs) == 394
    assert sum(bool(r.twins) for r in runs) == 538


def test_the_xenon1t_policy_written_out_as_config_gives_the_same_verdicts() -> None:
    policy = load_config(ROOT / "examples" / "policy-xenon1t.toml").policy
    assert policy is not DEFAULT_POLICY
    assert digest(verdict_lines(messy_runs(), policy)) == PINNED_MESSY
    scenario = "tape-checksum"
    assert digest(verdict_lines(simulated(scenario), policy)) == PINNED_SCENARIOS[scenario]

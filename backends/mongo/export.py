"""Write the simulator's runs into a MongoDB as XENON1T (or XENONnT) run documents.

So that a site can try the mongo backend on a copy before pointing it at the
real runs database, and the tests have realistic data in a real server. This
is the one place in the package that writes; the backend itself only reads.

XENONnT's export also writes the event builders' heartbeats into
``eb_monitor`` of the DAQ database (``daq.eb_monitor``, where the backend
reads them), as bootstrax's ``set_state`` does: the simulator's at export
time (in ``eb-silent``, eb4's stop 20 min before the newest).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from backends.model import Heartbeat
from backends.mongo.connection import (
    COLLECTIONS,
    PROFILES,
    make_client,
    parse_settings,
    source_error,
)
from backends.mongo.documents import run_to_document
from backends.mongo.xenonnt import run_to_nt_document
from backends.sources import SourceError

BATCH = 1000
#: Heartbeat documents written per event builder (its newest, 10 s apart):
#: the backend reads the newest with a date among a host's last five.
HEARTBEATS_EACH = 3


class ExportError(SourceError):
    """The export could not be done; the message is one line without secrets."""


def export_simulated_runs(
    uri: str,
    *,
    database: str = "run",
    collection: str | None = None,
    drop: bool = False,
    profile: str = "xenon1t",
    scenario: str = "nominal",
    seed: int = 1,
    runs: int | None = None,
    environ: Mapping[str, str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    heartbeat_database: str = "daq",
    heartbeat_collection: str = "eb_monitor",
    heartbeats_done: Callable[[int, str], None] | None = None,
) -> int:
    """Insert every simulated run; returns the number of documents written.

    Refuses to add to a collection that already holds documents unless
    ``drop`` (which empties it first), so an export never mixes two histories
    or touches a collection someone else fills. ``profile`` ``xenonnt``
    writes XENONnT documents (``backends.mongo.xenonnt``), by default into
    ``runs``, and each event builder's heartbeats into
    ``heartbeat_database.heartbeat_collection`` (``daq.eb_monitor``, which
    must be empty too unless ``drop``, which empties it as well), calling
    ``heartbeats_done(count, "daq.eb_monitor")`` once they are written.
    Raises ``BackendConfigError`` for bad options and ``ExportError`` when
    the server fails.
    """
    from backends.simulator import SimulatorBackend

    if profile not in PROFILES:
        raise ExportError(f"profile must be one of {', '.join(PROFILES)}, got {profile!r}")
    if collection is None:
        collection = COLLECTIONS[profile]
    to_document = run_to_nt_document if profile == "xenonnt" else run_to_document

    settings = parse_settings(
        {
            "uri": uri,
            "database": database,
            "collection": collection,
            "read_preference": "primary",
            "server_selection_timeout": 10,
            "socket_timeout": 120,
            "profile": profile,
            "heartbeat_database": heartbeat_database,
            "heartbeat_collection": heartbeat_collection,
        },
        environ,
    )
    sim_options: dict[str, Any] = {"scenario": scenario, "seed": seed, "speed": 0}
    if runs is not None:
        sim_options["runs"] = runs
    # The profile's simulation: XENONnT's sends raw data to its destinations.
    sim = SimulatorBackend({**sim_options, "profile": profile})
    history = sim.simulated_runs().runs
    nt = profile == "xenonnt"
    beats = sim.heartbeats(HEARTBEATS_EACH) if nt else ()
    where = f"{settings.heartbeat_database}.{settings.heartbeat_collection}"
    client = make_client(settings)
    doing = f"writing to {settings.target}"
    try:
        target = client[settings.database][settings.collection]
        monitor = client[settings.heartbeat_database][settings.heartbeat_collection]
        emptied = [(target, settings.target)]
        if nt:
            emptied.append((monitor, where))
        for coll, name in emptied:
            if drop:
                coll.drop()
            elif coll.find_one({}, {"_id": 1}) is not None:
                raise ExportError(f"{name} already holds documents; use --drop to replace them")
        total = len(history)
        written = 0
        for start in range(0, total, BATCH):
            batch = [to_document(run) for run in history[start : start + BATCH]]
            target.insert_many(batch, ordered=True)
            written += len(batch)
            if progress is not None:
                progress(written, total)
        target.create_index("number")
        if beats:
            doing = f"writing heartbeats to {where}"
            monitor.insert_many([heartbeat_document(b) for b in beats], ordered=True)
            monitor.create_index([("host", 1), ("time", -1)])
            if heartbeats_done is not None:
                heartbeats_done(len(beats), where)
        return written
    except ExportError:
        raise
    except Exception as exc:
        raise ExportError(str(source_error(exc, settings, doing))) from None
    finally:
        client.close()


#: The pid written in the simulated heartbeats (bootstrax writes its own).
SIMULATED_PID = 4242


def heartbeat_document(beat: Heartbeat) -> dict[str, Any]:
    """A heartbeat as bootstrax's ``set_state`` writes it (the fields the
    backend reads, and a few of the others)."""
    return {
        "host": beat.host,
        "pid": SIMULATED_PID,
        "time": beat.time,
        "state": beat.state,
        "production_mode": True,
    }

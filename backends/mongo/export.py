"""Write the simulator's runs into a MongoDB as XENON1T (or XENONnT) run documents.

So that a site can try the mongo backend on a copy before pointing it at the
real runs database, and the tests have realistic data in a real server. This
is the one place in the package that writes; the backend itself only reads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

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
) -> int:
    """Insert every simulated run; returns the number of documents written.

    Refuses to add to a collection that already holds documents unless
    ``drop`` (which empties it first), so an export never mixes two histories
    or touches a collection someone else fills. ``profile`` ``xenonnt``
    writes XENONnT documents (``backends.mongo.xenonnt``), by default into
    ``runs``. Raises ``BackendConfigError`` for bad options and
    ``ExportError`` when the server fails.
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
        },
        environ,
    )
    sim_options: dict[str, Any] = {"scenario": scenario, "seed": seed, "speed": 0}
    if runs is not None:
        sim_options["runs"] = runs
    # The profile's simulation: XENONnT's sends raw data to its destinations.
    history = SimulatorBackend({**sim_options, "profile": profile}).simulated_runs().runs
    client = make_client(settings)
    doing = f"writing to {settings.target}"
    try:
        target = client[settings.database][settings.collection]
        if drop:
            target.drop()
        elif target.find_one({}, {"_id": 1}) is not None:
            raise ExportError(
                f"{settings.target} already holds documents; use --drop to replace them"
            )
        total = len(history)
        written = 0
        for start in range(0, total, BATCH):
            batch = [to_document(run) for run in history[start : start + BATCH]]
            target.insert_many(batch, ordered=True)
            written += len(batch)
            if progress is not None:
                progress(written, total)
        target.create_index("number")
        return written
    except ExportError:
        raise
    except Exception as exc:
        raise ExportError(str(source_error(exc, settings, doing))) from None
    finally:
        client.close()

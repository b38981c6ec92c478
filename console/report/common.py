"""What the three reports share: the time they speak of, the alarms, their causes,
the context."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from backends import kinds
from backends.analysis.alarms import Alarm, data_time
from backends.analysis.diagnosis import Cause, diagnose
from backends.model import Kind
from console.config import Config
from console.fetching import Result
from console.render.common import Context
from console.render.eta import etas_json


def reference_time(results: Mapping[Kind, Result]) -> datetime:
    """The time the report speaks of (see ``alarms.data_time``)."""
    return data_time(r.snapshot for r in results.values())


def alarms_for(results: Mapping[Kind, Result], config: Config) -> list[Alarm]:
    snapshots = {kind: r.snapshot for kind, r in results.items()}
    errors = {kind: r.error for kind, r in results.items()}
    return kinds.evaluate(
        snapshots, errors, config.thresholds, reference_time(results), policy=config.policy
    )


def diagnosis_for(
    results: Mapping[Kind, Result], config: Config, alarms: list[Alarm]
) -> list[Cause]:
    """The causes of ``alarms`` (those ``alarms_for`` raised from the same results)."""
    return diagnose(
        {kind: r.snapshot for kind, r in results.items()},
        {kind: r.error for kind, r in results.items()},
        alarms,
        config.thresholds,
        reference_time(results),
        config.policy,
    )


def etas_for(results: Mapping[Kind, Result], config: Config) -> dict[str, Any]:
    """Every ETA of the results (``report --json``'s ``etas``), the buffer's
    over the alarms' rate window."""
    return etas_json(
        {kind: r.snapshot for kind, r in results.items()},
        timedelta(hours=config.thresholds.buffer_rate_window_hours),
        config.policy,
    )


def context(results: Mapping[Kind, Result], config: Config) -> Context:
    return Context(
        now=reference_time(results),
        thresholds=config.thresholds,
        policy=config.policy,
        snapshots={kind: r.snapshot for kind, r in results.items()},
    )

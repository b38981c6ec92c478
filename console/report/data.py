"""``report --json``: every kind's figures, the alarms, their causes, the ETAs,
the overall status."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backends.analysis.alarms import Alarm, overall
from backends.analysis.diagnosis import Cause
from backends.model import Kind
from console.config import Config
from console.fetching import Result
from console.render.common import iso
from console.report.common import alarms_for, context, diagnosis_for, etas_for
from console.specs import pane_specs


def alarm_json(alarm: Alarm) -> dict[str, Any]:
    return {
        "key": alarm.key,
        "severity": alarm.severity.name,
        "kind": alarm.kind.value if alarm.kind is not None else None,
        "title": alarm.title,
        "detail": alarm.detail,
        "since": iso(alarm.since),
        "hint": alarm.hint,
        #: How many things are wrong (runs, rules, jobs), when the alarm counts.
        "count": alarm.count,
    }


def cause_json(cause: Cause) -> dict[str, Any]:
    return {
        "cause": cause.cause,
        "title": cause.title,
        "evidence": list(cause.evidence),
        "consequence": cause.consequence,
        "action": cause.action,
        #: The keys of the alarms it explains (in ``alarms``).
        "explains": list(cause.explains),
    }


def _head(result: Result | None) -> dict[str, Any]:
    if result is None:
        return {"source": None, "taken_at": None, "error": "no source configured"}
    snapshot = result.snapshot
    return {
        "source": result.source,
        "taken_at": iso(snapshot.taken_at) if snapshot is not None else None,
        "error": result.error,
    }


def report_data(results: Mapping[Kind, Result], config: Config) -> dict[str, Any]:
    """The whole report as JSON-ready data (texts from backends as they came)."""
    ctx = context(results, config)
    alarms = alarms_for(results, config)
    data: dict[str, Any] = {"now": ctx.now.isoformat(), "status": overall(alarms).name}
    for spec in pane_specs():
        result = results.get(spec.kind)
        snapshot = result.snapshot if result is not None else None
        data[spec.kind.value] = {**_head(result), **spec.to_json(snapshot, ctx)}
    data["diagnosis"] = [cause_json(c) for c in diagnosis_for(results, config, alarms)]
    data["etas"] = etas_for(results, config)
    data["alarms"] = [alarm_json(a) for a in alarms]
    return data

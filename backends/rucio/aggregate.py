"""Turn what Rucio's REST API returns into the console's model, record by record.

Pure functions over the dicts ``rucio-clients`` yields, so they are tested
without a server. Every field is untrusted: a record that cannot be read
raises ``ValueError`` with a short reason, which the caller counts and
reports while keeping every other record.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from backends.model import Replica, RseStatus, Rule, RuleState, TransferRequest

#: The only format the REST filters ``updated_after``/``created_after`` take
#: (an ISO string gives an HTTP 500).
FILTER_TIME_FORMAT = "%a, %d %b %Y %H:%M:%S UTC"

#: Rucio's one-letter codes, as some API paths return them.
_STATE_LETTERS = {
    "O": RuleState.OK,
    "R": RuleState.REPLICATING,
    "S": RuleState.STUCK,
    "U": RuleState.SUSPENDED,
    "W": RuleState.WAITING_APPROVAL,
    "I": RuleState.INJECT,
}
_TIME_FORMATS = (
    FILTER_TIME_FORMAT,
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
)


def format_filter_time(moment: datetime) -> str:
    """``moment`` in the format Rucio's rule filters accept (UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime(FILTER_TIME_FORMAT)


def parse_time(value: object) -> datetime | None:
    """A timestamp from Rucio (datetime or one of its string forms), in UTC.

    Rucio's times are UTC without a zone; ``None`` stays ``None``.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        for fmt in _TIME_FORMATS:
            try:
                moment = datetime.strptime(value, fmt)
                break
            except ValueError:
                continue
        else:
            raise ValueError(f"unreadable time {value[:40]!r}")
    else:
        raise ValueError(f"time of type {type(value).__name__}")
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_state(value: object) -> RuleState:
    if isinstance(value, str):
        if value in RuleState.__members__:
            return RuleState[value]
        if value in _STATE_LETTERS:
            return _STATE_LETTERS[value]
    raise ValueError(f"unknown rule state {str(value)[:30]!r}")


class RunMatcher:
    """Which run a DID belongs to, from a regex with groups ``number``/``name``.

    It is matched (``re.search``) against ``scope:name``; a DID that does not
    match still counts, it just belongs to no run.
    """

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self._has_number = "number" in pattern.groupindex
        self._has_name = "name" in pattern.groupindex

    def match(self, scope: str, name: str) -> tuple[int | None, str | None]:
        found = self.pattern.search(f"{scope}:{name}")
        if found is None:
            return None, None
        number: int | None = None
        if self._has_number and found.group("number") is not None:
            try:
                number = int(found.group("number"))
            except ValueError:
                number = None
        run_name = found.group("name") if self._has_name else None
        return number, run_name


def _text(record: Mapping[str, Any], key: str) -> str:
    value = record.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"no {key}")
    return value


def _count(record: Mapping[str, Any], key: str) -> int:
    value = record.get(key, 0)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"bad {key} {str(value)[:20]!r}")
    return value


def _optional_text(record: Mapping[str, Any], key: str) -> str | None:
    value = record.get(key)
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def rule_from_dict(record: object, matcher: RunMatcher) -> Rule:
    """One rule of ``list_replication_rules``; ``ValueError`` if unreadable.

    The RSE is the rule's ``rse_expression`` (an RSE name for XENON's rules).
    Rucio leaves ``bytes`` empty until the rule's files are counted: 0 then.
    """
    if not isinstance(record, Mapping):
        raise ValueError(f"rule is a {type(record).__name__}, not a mapping")
    rule_id = _text(record, "id")
    try:
        scope = _text(record, "scope")
        name = _text(record, "name")
        created = parse_time(record.get("created_at"))
        updated = parse_time(record.get("updated_at"))
        if created is None or updated is None:
            raise ValueError("no created_at/updated_at")
        number, run_name = matcher.match(scope, name)
        return Rule(
            id=rule_id,
            scope=scope,
            name=name,
            rse=_text(record, "rse_expression"),
            state=parse_state(record.get("state")),
            locks_ok=_count(record, "locks_ok_cnt"),
            locks_replicating=_count(record, "locks_replicating_cnt"),
            locks_stuck=_count(record, "locks_stuck_cnt"),
            bytes=_count(record, "bytes"),
            created_at=created,
            updated_at=updated,
            run_number=number,
            expires_at=parse_time(record.get("expires_at")),
            stuck_since=parse_time(record.get("stuck_at")),
            error=_optional_text(record, "error"),
            run_name=run_name,
        )
    except ValueError as exc:
        raise ValueError(f"rule {rule_id[:40]}: {exc}") from None


def rse_status(
    info: Mapping[str, Any],
    usages: Iterable[Mapping[str, Any]] | None,
) -> RseStatus:
    """An RSE from ``list_rses`` with its usage from ``get_rse_usage``.

    Of the usage sources, ``storage`` (what the storage reports) wins over
    ``rucio`` (what Rucio's accounting counts). Available means it can be read
    and written, the two things a transfer needs.
    """
    name = _text(info, "rse")
    used: int | None = None
    total: int | None = None
    by_source = {u.get("source"): u for u in usages or () if isinstance(u, Mapping)}
    for source in ("storage", "rucio", *sorted(str(s) for s in by_source)):
        usage = by_source.get(source)
        if usage is None:
            continue
        u, free, tot = usage.get("used"), usage.get("free"), usage.get("total")
        if not isinstance(u, int) or isinstance(u, bool):
            continue
        used = u
        if isinstance(free, int) and not isinstance(free, bool):
            total = u + free
        elif isinstance(tot, int) and not isinstance(tot, bool) and tot > 0:
            total = tot
        break
    available = (
        info.get("availability_read", True) is not False
        and info.get("availability_write", True) is not False
    )
    region = info.get("region_code") or info.get("country_name") or ""
    return RseStatus(name, used, total, None, available, str(region))


def replica_states(records: Iterable[object]) -> list[Replica]:
    """File replicas per RSE from ``list_replicas(..., all_states=True)``."""
    out: list[Replica] = []
    for record in records:
        if not isinstance(record, Mapping):
            raise ValueError("replica record is not a mapping")
        scope, name = _text(record, "scope"), _text(record, "name")
        size = record.get("bytes")
        states = record.get("states") or {}
        if not isinstance(states, Mapping):
            raise ValueError(f"replica {scope}:{name}: states is not a mapping")
        for rse, state in sorted(states.items()):
            out.append(
                Replica(scope, name, str(rse), str(state), size if isinstance(size, int) else None)
            )
    return out


def request_from_dict(record: object) -> TransferRequest:
    if not isinstance(record, Mapping):
        raise ValueError("request record is not a mapping")
    state = record.get("state")
    return TransferRequest(
        id=_text(record, "id"),
        scope=_text(record, "scope"),
        name=_text(record, "name"),
        rse=_optional_text(record, "dest_rse") or _optional_text(record, "dest_rse_id") or "",
        state=str(getattr(state, "name", state)),
        created_at=parse_time(record.get("created_at")),
        error=_optional_text(record, "err_msg"),
    )

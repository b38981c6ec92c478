"""The account's rules, kept between polls so a poll reads only what changed.

The first poll lists every rule of the account; the next ones ask only for
rules updated since the newest update seen (``updated_after``), minus an
overlap for rules written while the previous poll was reading, and merge them
in. Deleted rules never show up in such a listing, so a full listing replaces
the cache every ``full_sync_s``. A listing that fails changes nothing: the
records are merged only once all of them were read.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from backends.model import Rule
from backends.rucio.aggregate import RunMatcher, format_filter_time, rule_from_dict


class RuleCache:
    def __init__(
        self, full_sync_s: float, overlap_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.full_sync_s = full_sync_s
        self.overlap = timedelta(seconds=overlap_s)
        self._clock = clock
        self._rules: dict[str, Rule] = {}
        self._malformed: dict[str, str] = {}
        self._newest: datetime | None = None
        self._last_full: float | None = None

    def next_filters(self, account: str | None) -> tuple[dict[str, Any], bool]:
        """The filters of the next listing, and whether it is a full one."""
        filters: dict[str, Any] = {} if account is None else {"account": account}
        if (
            self._last_full is None
            or self._newest is None
            or self._clock() - self._last_full >= self.full_sync_s
        ):
            return filters, True
        filters["updated_after"] = format_filter_time(self._newest - self.overlap)
        return filters, False

    def apply(
        self,
        records: Iterable[object],
        matcher: RunMatcher,
        full: bool,
        started: float | None = None,
    ) -> None:
        """Merge one complete listing (replace everything if ``full``)."""
        rules: dict[str, Rule] = {}
        malformed: dict[str, str] = {}
        for index, record in enumerate(records):
            try:
                rule = rule_from_dict(record, matcher)
            except ValueError as exc:
                key = record.get("id") if isinstance(record, dict) else None
                malformed[key if isinstance(key, str) else f"#{index}"] = str(exc)
                continue
            rules[rule.id] = rule
        if full:
            self._rules = rules
            self._malformed = malformed
            self._last_full = self._clock() if started is None else started
        else:
            self._rules.update(rules)
            for rule_id in rules:
                self._malformed.pop(rule_id, None)
            for key, reason in malformed.items():
                self._rules.pop(key, None)
                self._malformed[key] = reason
        newest = max((r.updated_at for r in rules.values()), default=None)
        if newest is not None and (self._newest is None or newest > self._newest):
            self._newest = newest
        if full and not rules:
            self._newest = None

    @property
    def rules(self) -> tuple[Rule, ...]:
        return tuple(self._rules.values())

    @property
    def malformed(self) -> tuple[str, ...]:
        return tuple(self._malformed.values())

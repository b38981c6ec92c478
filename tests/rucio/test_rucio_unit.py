"""The Rucio backend's pure parts, without a server: records, cache, options.

A fake client stands in for ``rucio-clients`` where the test needs records a
real server would never send (garbage), or a poll history to control.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from backends.model import RuleState
from backends.rucio import RucioBackend
from backends.rucio.aggregate import (
    RunMatcher,
    format_filter_time,
    parse_state,
    parse_time,
    rse_status,
    rule_from_dict,
)
from backends.rucio.options import DEFAULT_RUN_PATTERN, parse_options
from backends.rucio.rulecache import RuleCache
from backends.sources import BackendConfigError, SourceError

MATCHER = RunMatcher(re.compile(DEFAULT_RUN_PATTERN))
T0 = datetime(2017, 11, 15, 12, 0)


def record(rule_id: str, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": rule_id,
        "scope": "x1t_SR001_171115_1200_tpc",
        "name": "raw",
        "rse_expression": "NIKHEF_USERDISK",
        "state": "REPLICATING",
        "locks_ok_cnt": 1,
        "locks_replicating_cnt": 2,
        "locks_stuck_cnt": 0,
        "bytes": None,
        "created_at": T0,
        "updated_at": T0,
        "expires_at": None,
        "stuck_at": None,
        "error": None,
    }
    base.update(fields)
    return base


# ------------------------------------------------------------------ records


def test_a_rule_record_becomes_a_rule_with_its_run_name():
    rule = rule_from_dict(
        record(
            "a", state="STUCK", locks_stuck_cnt=2, error="timeout", stuck_at="2017-11-15T10:30:00"
        ),
        MATCHER,
    )
    assert rule.state is RuleState.STUCK
    assert (rule.locks_ok, rule.locks_total, rule.progress) == (1, 5, 0.2)
    assert rule.run_name == "171115_1200" and rule.run_number is None
    assert rule.stuck_since == datetime(2017, 11, 15, 10, 30, tzinfo=UTC)
    assert rule.bytes == 0 and rule.rse == "NIKHEF_USERDISK"


def test_a_pattern_with_a_number_group_gives_run_numbers():
    matcher = RunMatcher(re.compile(r"^xnt_(?P<number>\d{6}):raw$"))  # on scope:name
    rule = rule_from_dict(record("a", scope="xnt_012345"), matcher)
    assert rule.run_number == 12345 and rule.run_name is None
    other = rule_from_dict(record("b", scope="user.someone"), matcher)
    assert other.run_number is None  # counts, belongs to no run


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("OK", RuleState.OK),
        ("S", RuleState.STUCK),
        ("U", RuleState.SUSPENDED),
        ("WAITING_APPROVAL", RuleState.WAITING_APPROVAL),
    ],
)
def test_rule_states_by_name_or_letter(value, expected):
    assert parse_state(value) is expected


def test_times_in_every_form_rucio_sends_are_utc():
    expected = datetime(2017, 11, 15, 12, 0, tzinfo=UTC)
    assert parse_time("Wed, 15 Nov 2017 12:00:00 UTC") == expected
    assert parse_time("2017-11-15T12:00:00") == expected
    assert parse_time("2017-11-15T12:00:00.000000") == expected
    assert parse_time(datetime(2017, 11, 15, 12, 0)) == expected
    assert parse_time(None) is None
    assert format_filter_time(expected) == "Wed, 15 Nov 2017 12:00:00 UTC"


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"state": "BROKEN"}, "unknown rule state"),
        ({"locks_ok_cnt": -1}, "bad locks_ok_cnt"),
        ({"locks_ok_cnt": "3"}, "bad locks_ok_cnt"),
        ({"updated_at": "yesterday"}, "unreadable time"),
        ({"scope": None}, "no scope"),
        ({"rse_expression": 7}, "no rse_expression"),
    ],
)
def test_garbage_in_a_rule_is_a_value_error_naming_the_rule(fields, reason):
    with pytest.raises(ValueError, match=reason) as caught:
        rule_from_dict(record("rule-9", **fields), MATCHER)
    assert "rule-9" in str(caught.value)


def test_rse_usage_prefers_the_storage_source_and_marks_unavailable_rses():
    info = {"rse": "NIKHEF_USERDISK", "availability_write": False, "country_name": "NL"}
    usages = [
        {"source": "rucio", "used": 5, "free": None, "total": 0},
        {"source": "storage", "used": 40, "free": 60, "total": 100},
    ]
    status = rse_status(info, usages)
    assert (status.used_bytes, status.total_bytes, status.available) == (40, 100, False)
    assert status.region == "NL"
    rucio_only = rse_status(
        {"rse": "X"}, [{"source": "rucio", "used": 5, "free": None, "total": 0}]
    )
    assert (rucio_only.used_bytes, rucio_only.total_bytes) == (5, None)
    assert rse_status({"rse": "X"}, None).used_bytes is None


# -------------------------------------------------------------------- cache


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_the_cache_asks_for_changes_since_the_newest_update_minus_the_overlap():
    clock = Clock()
    cache = RuleCache(full_sync_s=600, overlap_s=120, clock=clock)
    filters, full = cache.next_filters("xenon")
    assert (filters, full) == ({"account": "xenon"}, True)
    cache.apply([record("a"), record("b", updated_at=datetime(2017, 11, 15, 12, 5))], MATCHER, full)
    filters, full = cache.next_filters("xenon")
    assert not full
    assert filters == {"account": "xenon", "updated_after": "Wed, 15 Nov 2017 12:03:00 UTC"}
    cache.apply(
        [
            record(
                "a",
                state="OK",
                locks_ok_cnt=3,
                locks_replicating_cnt=0,
                updated_at=datetime(2017, 11, 15, 12, 6),
            )
        ],
        MATCHER,
        full,
    )
    states = {r.id: r.state for r in cache.rules}
    assert states == {"a": RuleState.OK, "b": RuleState.REPLICATING}
    clock.t = 600.0
    assert cache.next_filters("xenon") == ({"account": "xenon"}, True)
    cache.apply([record("b")], MATCHER, True)  # a was deleted: the full listing drops it
    assert [r.id for r in cache.rules] == ["b"]


def test_garbage_records_are_reported_and_hide_no_other_rule():
    cache = RuleCache(600, 120)
    cache.apply([record("a"), record("bad", state="???"), "not a dict", record("c")], MATCHER, True)
    assert sorted(r.id for r in cache.rules) == ["a", "c"]
    assert len(cache.malformed) == 2
    assert any("bad" in m and "unknown rule state" in m for m in cache.malformed)
    # Once the rule reads well again, it is back and no longer reported.
    cache.apply([record("bad", state="OK")], MATCHER, False)
    assert sorted(r.id for r in cache.rules) == ["a", "bad", "c"]
    assert len(cache.malformed) == 1


# ------------------------------------------------------------- fake client


class FakeClient:
    """Just what a poll calls, with records the test chooses."""

    account = "xenon"

    def __init__(self, rules: list[object], fail: Exception | None = None) -> None:
        self.rules = rules
        self.fail = fail
        self.requests_sent: Counter[str] = Counter()
        self.filters: list[dict[str, Any]] = []

    def list_rses(self, expression: str):  # type: ignore[no-untyped-def]
        self.requests_sent["GET rses"] += 1
        return iter([{"rse": "NIKHEF_USERDISK"}, {"rse": "LNGS_USERDISK"}, "junk"])

    def list_replication_rules(self, filters: dict[str, Any]):  # type: ignore[no-untyped-def]
        self.requests_sent["GET rules"] += 1
        self.filters.append(dict(filters))
        if self.fail is not None:
            raise self.fail
        return iter(self.rules)

    def get_rse_usage(self, rse: str):  # type: ignore[no-untyped-def]
        self.requests_sent["GET rses/*/usage"] += 1
        return iter([{"source": "storage", "used": 1, "free": 2}])


def test_a_poll_with_garbage_keeps_the_good_rules_and_reports_the_bad(monkeypatch):
    client = FakeClient([record("a"), {"id": "b", "state": 5}, None, record("c", state="OK")])
    backend = RucioBackend({"host": "http://rucio.example"}, client_factory=lambda _o: client)
    snap = backend.fetch_transfers()
    assert sorted(r.id for r in snap.rules) == ["a", "c"]
    assert len(snap.malformed) == 2
    assert [s.name for s in snap.rses] == ["LNGS_USERDISK", "NIKHEF_USERDISK"]
    assert client.filters == [{"account": "xenon"}]
    backend.fetch_transfers()
    assert "updated_after" in client.filters[1]
    assert client.requests_sent == {"GET rses": 1, "GET rules": 2, "GET rses/*/usage": 4}


def test_a_failing_poll_is_one_line_with_secrets_masked_and_keeps_the_cache():
    secret = "s3cret-pw"
    good = FakeClient([record("a")])
    clients = [good, FakeClient([], fail=RuntimeError(f"boom\nDetails: password {secret}"))]
    backend = RucioBackend(
        {"host": "http://rucio.example", "password": secret},
        client_factory=lambda _o: clients.pop(0),
    )
    assert len(backend.fetch_transfers().rules) == 1
    good.fail = RuntimeError(f"server said\nno: {secret}")
    with pytest.raises(SourceError) as caught:
        backend.fetch_transfers()
    message = str(caught.value)
    assert "\n" not in message and secret not in message
    assert message.startswith("server said no: *** (RuntimeError; rucio poll at http://rucio")
    # The broken client was dropped; the next poll gets a new one.
    with pytest.raises(SourceError, match="boom"):
        backend.fetch_transfers()


def test_a_client_that_cannot_be_made_is_a_source_error_and_retried():
    calls = []

    def factory(_options):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionRefusedError("refused")
        return FakeClient([record("a")])

    backend = RucioBackend({"host": "http://rucio.example"}, client_factory=factory)
    with pytest.raises(SourceError, match=r"cannot connect to Rucio at http://rucio\.example"):
        backend.fetch_transfers()
    assert len(backend.fetch_transfers().rules) == 1


# ------------------------------------------------------------------ options


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"hots": "x"}, "unknown rucio option 'hots'"),
        ({"timeout": 0}, "'timeout' must be >= 0.1"),
        ({"timeout": True}, "'timeout' must be a number"),
        ({"admin": "yes"}, "'admin' must be true or false"),
        ({"auth_type": "kerberos"}, "'auth_type' must be one of"),
        ({"run_pattern": "x1t_("}, "'run_pattern' is not a valid regex"),
        ({"run_pattern": r"x1t_\d+"}, "named group 'number' and/or 'name'"),
        ({"source_rses": "LNGS"}, "'source_rses' must be a list"),
        ({"max_request_lookups": -1}, "'max_request_lookups' must be an integer >= 0"),
        ({"host": "rucio.example"}, "'host' must be an http(s)://host"),
    ],
)
def test_bad_options_are_one_line_naming_the_option(options, fragment):
    with pytest.raises(BackendConfigError) as caught:
        parse_options(options)
    assert fragment in str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_password_is_not_kept_in_plain_view():
    backend = RucioBackend(
        {"password": "hunter2", "host": "http://r.example"},
        client_factory=lambda _o: FakeClient([]),
    )
    assert "hunter2" not in repr(backend.options) + repr(backend.settings)
    with pytest.raises(BackendConfigError) as caught:
        parse_options({"auth_host": "https://xenon:hunter2@rucio.example"})
    assert "hunter2" not in str(caught.value)

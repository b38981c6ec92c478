"""The Rucio backend against a real Rucio server filled from the simulator.

What the backend and ``report --json`` show is compared with the server's own
state, read independently as root; the known numbers come from the seeded
simulator's ``rse-outage`` scenario (NIKHEF down: its rules STUCK).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from backends.analysis.transfers import summarize_transfers
from backends.model import LNGS_RSE, RuleState
from backends.rucio import ReadOnlyViolation, RucioBackend
from backends.rucio.client import make_client
from backends.rucio.options import parse_options
from backends.sources import BackendConfigError, SourceError
from console.cli import main
from tests.rucio.conftest import RucioBed
from tests.rucio.populate import (
    ACCOUNT,
    ACCOUNT_PASSWORD,
    EXPIRING_LNGS_RULES,
    HOSTILE_ERROR,
    STUCK_HOURS_FIRST,
    STUCK_HOURS_OTHERS,
)
from tests.rucio.testbed import ROOT_PASSWORD


def server_rules(bed: RucioBed) -> list[dict[str, Any]]:
    """The account's rules as root sees them: the truth to compare with."""
    return list(bed.server.root_client().list_replication_rules({"account": ACCOUNT}))


def server_usage(bed: RucioBed, rse: str) -> dict[str, Any]:
    usages = {u["source"]: u for u in bed.server.root_client().get_rse_usage(rse)}
    return usages["storage"]


def per_rse(rules: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for rule in rules:
        entry = out.setdefault(rule["rse_expression"], {"states": Counter(), "ok": 0, "all": 0})
        entry["states"][rule["state"]] += 1
        entry["ok"] += rule["locks_ok_cnt"]
        entry["all"] += (
            rule["locks_ok_cnt"] + rule["locks_replicating_cnt"] + rule["locks_stuck_cnt"]
        )
    return out


@pytest.fixture
def backend(running: RucioBed):
    backend = RucioBackend(running.backend_options())
    yield backend
    backend.close()


def test_the_backend_shows_the_servers_rules_usage_and_stuck_errors(
    running: RucioBed, backend: RucioBackend
) -> None:
    snap = backend.fetch_transfers()
    truth = server_rules(running)
    # The seeded scenario's numbers, as put on the server.
    assert len(truth) == 88
    counts = Counter((r["rse_expression"], r["state"]) for r in truth)
    assert counts[("NIKHEF_USERDISK", "STUCK")] == 7
    assert counts[("UC_OSG_USERDISK", "SUSPENDED")] == 1
    assert counts[("NIKHEF_USERDISK", "REPLICATING")] == 1
    # The backend shows exactly the server's state.
    assert len(snap.rules) == len(truth)
    assert snap.malformed == ()
    expected = per_rse(truth)
    summaries = {s.name: s for s in summarize_transfers(snap)}
    for rse, entry in expected.items():
        s = summaries[rse]
        assert {st.value: n for st, n in s.rules.items() if n} == dict(entry["states"]), rse
        assert (s.locks_ok, s.locks_total) == (entry["ok"], entry["all"]), rse
    for status in snap.rses:
        usage = server_usage(running, status.name)
        assert status.used_bytes == usage["used"]
        assert status.total_bytes == usage["used"] + usage["free"]
        assert status.available
    stuck = {r.id: r.error for r in snap.rules if r.state is RuleState.STUCK}
    assert stuck == {r["id"]: r["error"] for r in truth if r["state"] == "STUCK"}
    # Text from the server arrives as it is (the UI escapes it, tests/rucio/test_rucio_app).
    assert HOSTILE_ERROR in stuck.values()
    # The run is recognised from the scope: names, since the scope carries no number.
    by_scope = {r.scope: r for r in snap.rules}
    assert (
        by_scope[running.population.hostile_scope].run_name
        == (running.population.runs[running.population.hostile_scope])
    )


def test_the_root_accounts_rule_is_not_the_experiments(
    running: RucioBed, backend: RucioBackend
) -> None:
    every = list(running.server.root_client().list_replication_rules({}))
    assert len(every) == 89  # 88 of the experiment's account + 1 of root
    assert {r.id for r in backend.fetch_transfers().rules} == {
        r["id"] for r in every if r["account"] == ACCOUNT
    }


def test_lngs_rules_expiring_within_a_day_are_counted(
    running: RucioBed, backend: RucioBackend
) -> None:
    snap = backend.fetch_transfers()
    horizon = snap.taken_at + timedelta(hours=24)
    truth = [r for r in server_rules(running) if r["rse_expression"] == LNGS_RSE]
    soon = [
        r
        for r in truth
        if r["expires_at"] is not None and r["expires_at"].replace(tzinfo=UTC) <= horizon
    ]
    assert len(soon) == EXPIRING_LNGS_RULES == 10
    assert len(truth) == 30
    lngs = next(s for s in summarize_transfers(snap) if s.name == LNGS_RSE)
    assert lngs.expiring_soon == len(soon)


def test_one_poll_is_one_listing_plus_one_usage_per_rse_then_incremental(
    running: RucioBed, backend: RucioBackend
) -> None:
    backend.fetch_transfers()
    first = dict(backend.requests_sent)
    first.pop("GET auth/userpass", None)  # no login when a valid token is on disk
    assert first == {"GET rses": 1, "GET rules": 1, "GET rses/*/usage": 7}
    # A new rule of the account appears on the server...
    client = running.server.root_client()
    scope = running.population.hostile_scope
    taken = {
        r["rse_expression"]
        for r in client.list_replication_rules({"scope": scope, "name": "raw", "account": ACCOUNT})
    }
    rse = next(
        r for r in ("CNAF_USERDISK", "CCIN2P3_USERDISK", "WEIZMANN_USERDISK") if r not in taken
    )
    [rule_id] = client.add_replication_rule(
        [{"scope": scope, "name": "raw"}], 1, rse, account=ACCOUNT
    )
    try:
        snap = backend.fetch_transfers()
        second = Counter(backend.requests_sent) - Counter(first)
        second.pop("GET auth/userpass", None)
        # The RSE list is cached; the rules are asked for once, and only what changed.
        assert dict(second) == {"GET rules": 1, "GET rses/*/usage": 7}
        new = {r.id: r for r in snap.rules}[rule_id]
        assert (new.rse, new.state, new.locks_total) == (rse, RuleState.REPLICATING, 3)
        assert len(snap.rules) == 89
        # Deleting it through the API is soft: it expires within the hour.
        client.delete_replication_rule(rule_id)
        soft = {r.id: r for r in backend.fetch_transfers().rules}[rule_id]
        assert soft.expires_at is not None
        assert soft.expires_at - datetime.now(UTC) <= timedelta(hours=1)
    finally:
        running.server.server_python(f"""
            from rucio.core.rule import delete_rule
            delete_rule(rule_id={rule_id!r}, soft=False)
        """)
    # An incremental listing cannot see a rule that is gone; the periodic full one does.
    assert rule_id in {r.id for r in backend.fetch_transfers().rules}
    full = RucioBackend(running.backend_options(full_sync_minutes=0))
    try:
        full.fetch_transfers()
        assert len(full.fetch_transfers().rules) == 88
    finally:
        full.close()


def test_run_detail_has_rules_replicas_and_requests(
    running: RucioBed, backend: RucioBackend
) -> None:
    scope = running.population.suspended_scope
    assert scope is not None
    name = running.population.runs[scope]
    detail = backend.fetch_run_detail(0, run_name=name)
    assert {r.scope for r in detail.rules} == {scope}
    truth = list(running.server.root_client().list_replication_rules({"scope": scope}))
    assert sorted((r.rse, r.state.value) for r in detail.rules) == sorted(
        (r["rse_expression"], r["state"]) for r in truth
    )
    states = Counter((r.rse, r.state) for r in detail.replicas)
    assert states[(LNGS_RSE, "AVAILABLE")] == 3
    assert states[("UC_OSG_USERDISK", "AVAILABLE")] == 1
    assert states[("UC_OSG_USERDISK", "COPYING")] == 2
    # One request per file still on its way to a rule that is not OK.
    open_files = {
        (r.name, r.rse)
        for r in detail.replicas
        if r.state != "AVAILABLE"
        and r.rse in {x.rse for x in detail.rules if x.state is not RuleState.OK}
    }
    assert {(q.name, q.rse) for q in detail.requests} == open_files
    assert all(q.state == "QUEUED" for q in detail.requests)
    assert "GET requests/list" not in backend.requests_sent  # not an admin


def test_run_detail_without_a_name_says_why_it_found_nothing(backend: RucioBackend) -> None:
    detail = backend.fetch_run_detail(7000)
    assert detail.rules == ()
    assert "no 'number' group" in detail.notes[0]


def test_an_admin_account_lists_requests_in_bulk(running: RucioBed) -> None:
    scope = running.population.hostile_scope
    assert scope is not None
    admin = RucioBackend(
        running.backend_options(
            account="root",
            username="root",
            password=ROOT_PASSWORD,
            admin=True,
            rule_account=ACCOUNT,
        )
    )
    try:
        detail = admin.fetch_run_detail(0, run_name=running.population.runs[scope])
    finally:
        admin.close()
    failed = [q for q in detail.requests if q.rse == "NIKHEF_USERDISK"]
    assert len(failed) == 2
    assert {q.state for q in failed} == {"FAILED"}
    assert {q.error for q in failed} == {HOSTILE_ERROR}
    assert admin.requests_sent.get("GET requests/list", 0) >= 1
    assert "GET requests/*" not in admin.requests_sent


def test_report_json_equals_the_servers_state(
    running: RucioBed, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    options = running.backend_options()
    config = tmp_path / "config.toml"
    lines = ["[panes]", 'transfers = "rucio"', "", "[backends.rucio]", 'type = "rucio"']
    lines += [f"{key} = {json.dumps(value)}" for key, value in options.items()]
    lines += ["", "[timeouts]", "transfers = 60"]
    config.write_text("\n".join(lines) + "\n")
    main(["--config", str(config), "report", "--json"])
    out = capsys.readouterr().out
    assert ACCOUNT_PASSWORD not in out
    report = json.loads(out)["transfers"]
    assert report["error"] is None
    assert report["source"] == "rucio"
    truth = server_rules(running)
    expected = per_rse(truth)
    shown = {r["name"]: r for r in report["rses"]}
    assert set(shown) == set(expected)
    for rse, entry in expected.items():
        states = {k: v for k, v in shown[rse]["rules"].items() if v}
        assert states == dict(entry["states"]), rse
        assert (shown[rse]["locks_ok"], shown[rse]["locks_total"]) == (entry["ok"], entry["all"])
        assert shown[rse]["used_bytes"] == server_usage(running, rse)["used"]
    stuck_truth = {r["id"]: r for r in truth if r["state"] == "STUCK"}
    assert report["stuck_total"] == len(stuck_truth) == 7
    for listed in report["stuck_rules"]:
        rule = stuck_truth[listed["id"]]
        assert listed["rse"] == rule["rse_expression"]
        assert listed["error"] == rule["error"]
        assert (listed["locks_ok"], listed["locks_total"]) == (1, 3)
        # Stuck since the rule's stuck_at (36 h for the first, 3 h for the others).
        hours = STUCK_HOURS_FIRST if listed["error"] == HOSTILE_ERROR else STUCK_HOURS_OTHERS
        assert hours - 0.1 <= listed["stuck_hours"] <= hours + 0.5
    oldest = shown["NIKHEF_USERDISK"]["oldest_stuck"]
    assert oldest["id"] == next(r["id"] for r in truth if r["error"] == HOSTILE_ERROR)


def test_the_console_never_writes_to_rucio(running: RucioBed, backend: RucioBackend) -> None:
    before = running.server.table_digests()
    backend.fetch_transfers()
    backend.fetch_transfers()
    for scope in (running.population.suspended_scope, running.population.hostile_scope):
        assert scope is not None
        backend.fetch_run_detail(0, run_name=running.population.runs[scope])
    assert running.server.table_digests() == before
    assert not [
        route
        for route in backend.requests_sent
        if not route.startswith(("GET ", "POST replicas/list"))
    ]


def test_the_client_refuses_writes_before_sending_them(running: RucioBed) -> None:
    client = make_client(parse_options(running.backend_options()))
    before = running.server.table_digests()
    sent = dict(client.requests_sent)
    with pytest.raises(ReadOnlyViolation, match="never writes"):
        client.add_scope(ACCOUNT, "x1t_SR001_999999_0000_tpc")
    rule = server_rules(running)[0]
    with pytest.raises(ReadOnlyViolation):
        client.delete_replication_rule(rule["id"])
    with pytest.raises(ReadOnlyViolation):
        client.update_replication_rule(rule["id"], {"state": "SUSPENDED"})
    assert dict(client.requests_sent) == sent  # nothing left the process
    assert running.server.table_digests() == before


def test_a_wrong_password_is_one_line_without_the_password(
    running: RucioBed, tmp_path: Path
) -> None:
    wrong = "Wr0ng-pa55word-xyz"
    # A token dir of its own: with a valid token cached, Rucio would not log in.
    backend = RucioBackend(
        running.backend_options(password=wrong, token_dir=str(tmp_path / "tokens"))
    )
    with pytest.raises(SourceError) as caught:
        backend.fetch_transfers()
    message = str(caught.value)
    assert "\n" not in message
    assert "CannotAuthenticate" in message
    assert wrong not in message and ACCOUNT_PASSWORD not in message
    assert wrong not in repr(backend.options) and wrong not in repr(backend.settings)


def test_a_stopped_server_fails_the_poll_in_one_line_and_the_next_poll_recovers(
    running: RucioBed, backend: RucioBackend
) -> None:
    backend.fetch_transfers()
    running.server.stop()
    try:
        started = datetime.now(UTC)
        with pytest.raises(SourceError) as caught:
            backend.fetch_transfers()
        assert "\n" not in str(caught.value)
        assert running.server.url in str(caught.value)
        assert "ServerConnectionException" in str(caught.value)
        assert datetime.now(UTC) - started < timedelta(seconds=60)
    finally:
        running.server.start()
    snap = backend.fetch_transfers()
    assert len(snap.rules) == 88


def test_bad_options_are_one_line_naming_the_option() -> None:
    with pytest.raises(BackendConfigError, match="'timeout'"):
        RucioBackend({"timeout": "soon"})
    with pytest.raises(BackendConfigError, match="'host'") as caught:
        RucioBackend({"host": "http://xenon:hunter2@rucio.example"})
    assert "hunter2" not in str(caught.value)

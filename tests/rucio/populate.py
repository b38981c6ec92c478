"""Fill a test Rucio server with the experiment's data, taken from the simulator.

RSEs named as the experiment's (with a posix protocol, account limits and a
storage usage), one scope and one ``raw`` dataset per run, its files
registered at LNGS_USERDISK, and rules of the experiment's account to the RSEs
the simulator replicated the run to. Nothing transfers on a server without
FTS, so the states are made by hand: OK by declaring the destination replicas
available (``update_replicas_states``), STUCK through the server's own core
(``rucio.core.lock.failed_transfer``, run in the server's venv, which also
marks their requests FAILED from LNGS as the conveyor would), SUSPENDED by
updating the rule. Every step is a bulk call (a call costs about 70 ms here).

Muon-veto runs are left out: their simulated scopes
(``x1t_SR001_171115_1200_muon_veto``) are longer than Rucio's 25 characters.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from backends.model import ALL_RSES, LNGS_RSE, Rule, RuleState
from backends.simulator import SimulatorBackend
from tests.rucio.testbed import RucioServer

ACCOUNT = "xenon"
ACCOUNT_PASSWORD = "xenon-Secret-77"
FILES_PER_RUN = 3
#: Text a hostile or broken FTS could put in a rule's error.
HOSTILE_ERROR = "[bold red]FAKE[/] \x1b[2J\x1b]0;pwned\x07 transfer failed"
#: Two LNGS lifetimes: rules expiring within a day, and the rest.
SHORT_LIFETIME = timedelta(hours=10)
LONG_LIFETIME = timedelta(days=3)
EXPIRING_LNGS_RULES = 10
#: How long the STUCK rules have been stuck (``stuck_at``): the hostile one
#: longest, past the 24 h critical threshold.
STUCK_HOURS_FIRST = 36
STUCK_HOURS_OTHERS = 3


@dataclass
class Population:
    """What was put on the server, for the tests to check against."""

    runs: dict[str, str] = field(default_factory=dict)  # scope -> run name
    numbers: dict[str, int] = field(default_factory=dict)  # run name -> run number
    rules: list[Rule] = field(default_factory=list)  # the simulator's rules used
    suspended_scope: str | None = None
    hostile_scope: str | None = None


def simulator_rules(max_runs: int) -> list[Rule]:
    """The rules of the newest ``max_runs`` TPC runs, plus every run with a non-OK rule."""
    sim = SimulatorBackend({"speed": 0, "scenario": "rse-outage"})
    rules = [r for r in sim.fetch_transfers().rules if len(r.scope) <= 25]
    busy = {r.scope for r in rules if r.state is not RuleState.OK}
    newest = sorted({r.scope for r in rules}, key=lambda s: s.split("_")[2:4])[-max_runs:]
    keep = busy | set(newest)
    return [r for r in rules if r.scope in keep]


def _files(scope: str, total_bytes: int) -> list[dict[str, object]]:
    size = max(1, total_bytes // FILES_PER_RUN)
    return [
        {"scope": scope, "name": f"raw-{i:03d}.zip", "bytes": size, "adler32": "0cc737eb"}
        for i in range(FILES_PER_RUN)
    ]


def populate(server: RucioServer, max_runs: int = 30) -> Population:
    client = server.root_client()
    pop = Population()
    rules = simulator_rules(max_runs)
    pop.rules = rules
    sim_status = {s.name: s for s in SimulatorBackend({"speed": 0}).fetch_transfers().rses}

    client.add_account(ACCOUNT, "USER", "xenon@localhost")
    client.add_identity(
        account=ACCOUNT,
        identity=ACCOUNT,
        authtype="USERPASS",
        email="xenon@localhost",
        password=ACCOUNT_PASSWORD,
    )
    for rse in ALL_RSES:
        client.add_rse(rse)
        client.add_protocol(
            rse,
            {
                "scheme": "file",
                "hostname": "localhost",
                "port": 0,
                "prefix": f"/tmp/{rse}/",
                "impl": "rucio.rse.protocols.posix.Default",
                "domains": {
                    "lan": {"read": 1, "write": 1, "delete": 1},
                    "wan": {
                        "read": 1,
                        "write": 1,
                        "delete": 1,
                        "third_party_copy_read": 1,
                        "third_party_copy_write": 1,
                    },
                },
            },
        )
        for account in ("root", ACCOUNT):
            client.set_local_account_limit(account, rse, 10**18)
        status = sim_status[rse]
        used = status.used_bytes or 0
        client.set_rse_usage(rse, "storage", used, (status.total_bytes or used) - used)

    by_scope: dict[str, list[Rule]] = defaultdict(list)
    for rule in rules:
        by_scope[rule.scope].append(rule)
    files: dict[str, list[dict[str, object]]] = {}
    for scope, scope_rules in by_scope.items():
        client.add_scope(ACCOUNT, scope)
        pop.runs[scope] = scope.split("_", 2)[2].rsplit("_", 1)[0]
        number = scope_rules[0].run_number
        if number is not None:
            pop.numbers[pop.runs[scope]] = number
        files[scope] = _files(scope, scope_rules[0].bytes)
    every_file = [f for fs in files.values() for f in fs]
    client.add_replicas(LNGS_RSE, every_file)
    client.add_dids([{"scope": s, "name": "raw", "type": "DATASET"} for s in files])
    client.attach_dids_to_dids(
        [
            {
                "scope": s,
                "name": "raw",
                "dids": [{"scope": f["scope"], "name": f["name"]} for f in fs],
            }
            for s, fs in files.items()
        ]
    )

    # Rules: one bulk call per RSE (and per LNGS lifetime).
    # The oldest runs' LNGS rules get little time left, the others more.
    lngs = sorted((r for r in rules if r.rse == LNGS_RSE), key=lambda r: r.scope.split("_")[2:4])
    expiring = {r.id for r in lngs[:EXPIRING_LNGS_RULES]}
    groups: dict[tuple[str, int | None], list[dict[str, str]]] = defaultdict(list)
    for rule in rules:
        lifetime = None
        if rule.rse == LNGS_RSE:
            left = SHORT_LIFETIME if rule.id in expiring else LONG_LIFETIME
            lifetime = int(left.total_seconds())
        groups[(rule.rse, lifetime)].append({"scope": rule.scope, "name": "raw"})
    for (rse, lifetime), dids in groups.items():
        client.add_replication_rule(
            dids, 1, rse, lifetime=lifetime, account=ACCOUNT, grouping="DATASET"
        )
    # A rule of another account, which the console must not count.
    first = next(iter(files))
    client.add_replication_rule(
        [{"scope": first, "name": "raw"}], 1, "CNAF_USERDISK", account="root"
    )

    # OK rules: their replicas available. REPLICATING: one file of three.
    available: dict[str, list[dict[str, object]]] = defaultdict(list)
    stuck: list[tuple[str, str, str, str]] = []
    for rule in rules:
        if rule.rse == LNGS_RSE:
            continue
        run_files = files[rule.scope]
        if rule.state is RuleState.OK:
            available[rule.rse].extend(run_files)
        elif rule.state is RuleState.REPLICATING:
            available[rule.rse].append(run_files[0])
        elif rule.state is RuleState.STUCK:
            available[rule.rse].append(run_files[0])
            error = rule.error or "transfer failed"
            if pop.hostile_scope is None:
                pop.hostile_scope = rule.scope
                error = HOSTILE_ERROR
            stuck.extend((rule.scope, str(f["name"]), rule.rse, error) for f in run_files[1:])
    for rse, rse_files in available.items():
        client.update_replicas_states(
            rse, [{"scope": f["scope"], "name": f["name"], "state": "A"} for f in rse_files]
        )
    if stuck:
        server.server_python(f"""
            import json
            from rucio.common.types import InternalScope
            from rucio.core.lock import failed_transfer
            from rucio.core.rse import get_rse_id
            from rucio.db.sqla import models
            from rucio.db.sqla.constants import RequestState
            from rucio.db.sqla.session import get_session
            stuck = json.loads({json.dumps(json.dumps(stuck))})
            for scope, name, rse, error in stuck:
                failed_transfer(scope=InternalScope(scope), name=name,
                                rse_id=get_rse_id(rse=rse), error_message=error)
            # What the conveyor would have left: FAILED requests from LNGS.
            session = get_session()
            lngs = get_rse_id(rse="LNGS_USERDISK")
            for scope, name, rse, error in stuck:
                session.query(models.Request).filter_by(
                    scope=InternalScope(scope), name=name, dest_rse_id=get_rse_id(rse=rse)
                ).update({{"source_rse_id": lngs, "state": RequestState.FAILED,
                          "err_msg": error[:4000]}})
            # Stuck since: the first (hostile) rule for a day and a half, the rest 3 h.
            from datetime import datetime, timedelta
            now = datetime.utcnow()
            for index, (scope, rse) in enumerate(dict.fromkeys((s, r) for s, _, r, _ in stuck)):
                hours = {STUCK_HOURS_FIRST} if index == 0 else {STUCK_HOURS_OTHERS}
                session.query(models.ReplicationRule).filter_by(
                    scope=InternalScope(scope), name="raw", rse_expression=rse
                ).update({{"stuck_at": now - timedelta(hours=hours)}})
            session.commit()
        """)
    # One REPLICATING rule suspended by hand.
    for rule in rules:
        if rule.state is RuleState.REPLICATING and rule.rse != LNGS_RSE:
            for found in client.list_replication_rules(
                {"scope": rule.scope, "name": "raw", "rse_expression": rule.rse}
            ):
                client.update_replication_rule(found["id"], {"state": "SUSPENDED"})
                pop.suspended_scope = rule.scope
            break
    return pop

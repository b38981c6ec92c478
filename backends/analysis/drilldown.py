"""One run, everything about it: merged from every source, with what to do.

The drill-down screen shows a run's copies, rules, replicas, tape uploads and
processing side by side, and the verdicts with their reasons. Where something
is wrong, :func:`hints` says what an operator would run to fix it, as text to
copy: the console itself never runs anything.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from backends.analysis.jobs import normalise_hold_reason
from backends.analysis.policy import Requirement
from backends.analysis.safety import (
    DEFAULT_POLICY,
    SLOT_TAPE,
    Region,
    SafetyPolicy,
    Slot,
    SlotKind,
    copies_overdue,
    data_safety,
    documents,
    missing_slots,
    purge_verdict,
    tape_checksum_problem,
)
from backends.model import (
    HOST_BUFFER,
    HOST_RUCIO,
    LNGS_RSE,
    RUN_STATUS_TROUBLE,
    Dag,
    Job,
    JobsSnapshot,
    JobStatus,
    Kind,
    Rule,
    RuleState,
    Run,
    RunDetail,
    RunsSnapshot,
    Snapshot,
    TapeSnapshot,
    TapeState,
    TapeUpload,
    TransfersSnapshot,
    xenonnt_did,
)


def detail_from_snapshots(
    run_number: int, snapshots: Mapping[Kind, Snapshot | None], now: datetime
) -> RunDetail:
    """What the console's own snapshots say about one run."""
    run = None
    runs = snapshots.get(Kind.RUNS)
    if isinstance(runs, RunsSnapshot):
        run = find_run(runs, run_number)
    rules: tuple[Rule, ...] = ()
    transfers = snapshots.get(Kind.TRANSFERS)
    if isinstance(transfers, TransfersSnapshot):
        # XENON1T's Rucio scopes carry the run's name, not its number.
        name = run.name if run is not None else None
        rules = tuple(
            r
            for r in transfers.rules
            if r.run_number == run_number or (name is not None and r.run_name == name)
        )
    tape = snapshots.get(Kind.TAPE)
    uploads: tuple[TapeUpload, ...] = ()
    if isinstance(tape, TapeSnapshot):
        uploads = tuple(u for u in tape.uploads if u.run_number == run_number)
    dags: tuple[Dag, ...] = ()
    jobs: tuple[Job, ...] = ()
    queue = snapshots.get(Kind.JOBS)
    if isinstance(queue, JobsSnapshot):
        dags = tuple(d for d in queue.dags if d.run_number == run_number)
        clusters = {d.cluster_id for d in dags}
        jobs = tuple(j for j in queue.jobs if j.dag_cluster_id in clusters)
    return RunDetail(now, run_number, run, rules, tape=uploads, dags=dags, jobs=jobs)


def find_run(snapshot: RunsSnapshot, number: int):  # type: ignore[no-untyped-def]
    """The run with this number, by bisection (runs are in ascending order)."""
    runs = snapshot.runs
    lo, hi = 0, len(runs)
    while lo < hi:
        mid = (lo + hi) // 2
        if runs[mid].number < number:
            lo = mid + 1
        else:
            hi = mid
    if lo < len(runs) and runs[lo].number == number:
        return runs[lo]
    return None


def merge_details(details: Sequence[RunDetail]) -> RunDetail:
    """One detail from several sources; later sources win on the same item."""
    if not details:
        raise ValueError("nothing to merge")
    number = details[0].run_number
    # Later sources win, but never with fewer of the run's documents: a source
    # that missed a twin must not hide the worse verdict the other one saw.
    runs = [d.run for d in details if d.run is not None]
    run = max(reversed(runs), key=lambda r: len(r.twins), default=None)
    return RunDetail(
        taken_at=max(d.taken_at for d in details),
        run_number=number,
        run=run,
        rules=_unique((r for d in details for r in d.rules), lambda r: r.id),
        replicas=_unique(
            (r for d in details for r in d.replicas), lambda r: (r.scope, r.name, r.rse)
        ),
        requests=_unique((r for d in details for r in d.requests), lambda r: r.id),
        tape=_unique(
            (u for d in details for u in d.tape), lambda u: (u.run_number, u.started_at, u.state)
        ),
        dags=_unique((g for d in details for g in d.dags), lambda g: (g.schedd, g.cluster_id)),
        jobs=_unique(
            (j for d in details for j in d.jobs), lambda j: (j.schedd, j.cluster_id, j.proc_id)
        ),
        notes=tuple(dict.fromkeys(n for d in details for n in d.notes)),
    )


def _unique(items: Iterable, key) -> tuple:  # type: ignore[no-untyped-def, type-arg]
    seen: dict[object, object] = {}
    for item in items:
        seen[key(item)] = item
    return tuple(seen.values())


@dataclass(frozen=True, slots=True)
class Hint:
    """Something wrong, in words, and the command an operator would run.

    A command is pasted into a shell: every value in it is checked to be
    what that tool takes (a DID, an RSE, a rule id, a run name) and quoted
    with ``shlex.quote``. A value that cannot be one gets no command at all
    (``command`` empty), and ``problem`` says why.
    """

    problem: str
    command: str


#: What each kind of value must look like to be put into a command. Rucio's
#: own schema: a scope and a name of letters, digits, ``_ . -``; rule ids are
#: 32 hex digits (a UUID, with or without dashes); RSE names letters, digits,
#: ``_ -``. Run and DAG batch names as the DAQ and the submit scripts write
#: them. Nothing may start with ``-`` (an option to the tool).
_VALUE = {
    "DID": re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}:[A-Za-z0-9][A-Za-z0-9_.\-]{0,249}"),
    "rule id": re.compile(r"[0-9a-fA-F]{32}|[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}"),
    "RSE": re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{0,99}"),
    "run name": re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}"),
    "DAG name": re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+\-]{0,199}"),
    "schedd": re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@:\-]{0,254}"),
}


class _Unsafe(ValueError):
    """A value that cannot go into a command."""


def _check(kind: str, value: object) -> str:
    """``value`` if it is a valid ``kind``; else ``_Unsafe``, saying so."""
    text = str(value)
    if not _VALUE[kind].fullmatch(text):
        shown = text if len(text) <= 40 else text[:40] + "…"
        raise _Unsafe(f"{kind} {shown!r} is not one a command can take")
    return text


def _arg(kind: str, value: object) -> str:
    """``value`` quoted for a shell, if it is a valid ``kind``; else ``_Unsafe``."""
    return shlex.quote(_check(kind, value))


def _hint(problem: str, build: Callable[..., str], *values: Any) -> Hint:
    """A hint whose command is ``build(*values)``; when a value in it is not
    what the tool takes, the hint says so instead of giving a command."""
    try:
        return Hint(problem, build(*values))
    except _Unsafe as why:
        return Hint(f"{problem} (no command given: {why})", "")


def _held_hints(held: Sequence[Job]) -> list[Hint]:
    """One hint per DAG with held jobs, covering all of them: the DAG's own
    constraint (``DAGManJobId``), never a list cut short; held jobs outside a
    DAG are named by every cluster."""
    if not held:
        return []
    groups: dict[tuple[str, int | None], list[Job]] = {}
    for job in held:
        groups.setdefault((job.schedd, job.dag_cluster_id), []).append(job)
    out = []
    for (schedd, dag), jobs in sorted(groups.items(), key=lambda g: (g[0][0], g[0][1] or 0)):
        if dag is not None:
            where = f"-constraint 'DAGManJobId == {int(dag)}'"
            whose = f"of DAG {dag}"
        else:
            where = " ".join(str(int(c)) for c in sorted({j.cluster_id for j in jobs}))
            whose = "outside a DAG"
        out.append(
            _hint(f"{len(jobs)} held jobs {whose}: {_reasons(jobs)}", _held_command, schedd, where)
        )
    return out


def _held_command(schedd: str, where: str) -> str:
    name = f" -name {_arg('schedd', schedd)}" if schedd else ""
    return f"condor_q{name} -hold {where}   # fix the cause, then: condor_release{name} {where}"


def _reasons(jobs: Sequence[Job], shown: int = 3) -> str:
    """The jobs' hold reasons, most common first; says how many it leaves out."""
    counts: dict[str, int] = {}
    for job in jobs:
        reason = normalise_hold_reason(job.hold_reason, job.hold_reason_code)
        counts[reason] = counts.get(reason, 0) + 1
    ranked = sorted(counts, key=lambda r: (-counts[r], r))
    text = "; ".join(f"{r} ({counts[r]})" for r in ranked[:shown])
    if len(ranked) > shown:
        text += f"; and {len(ranked) - shown} other reasons"
    return text


def _european(policy: SafetyPolicy, excluding: set[str]) -> str:
    """A Rucio RSE expression for the catalogue's European RSEs but
    ``excluding``, quoted for a shell."""
    names = [r for r in policy.rses.names(Region.EUROPE) if r not in excluding]
    return _expression(names, "European RSE", "other ")


def _moved_to(policy: SafetyPolicy, requirements: Sequence[Requirement], rse: str) -> str:
    """Where a copy stuck at ``rse`` may go instead, quoted: the other RSEs
    of the region (or outside) slot it fills, else the catalogue's other
    European RSEs."""
    for requirement in requirements:
        for slot in requirement.copies:
            if slot.kind in (SlotKind.REGION, SlotKind.OUTSIDE):
                names = _slot_rses(policy, slot)
                if rse in names:
                    others = [n for n in names if n != rse and n not in requirement.named_rses]
                    return _expression(others, slot.label, "other ")
    return _european(policy, {rse})


def _unavailable_hint(
    rule: Rule, policy: SafetyPolicy, requirements: Sequence[Requirement]
) -> Hint:
    """A rule STUCK because its RSE is down: move the copy to another RSE of
    its slot, unless the policy names that RSE itself (a copy moved elsewhere
    counts for nothing: the hint said it made the run safe)."""
    named = next((r for r in requirements if rule.rse in r.named_rses), None)
    if named is not None:
        return _hint(
            f"rule {rule.id} STUCK because {rule.rse} is unavailable: the policy's rule "
            f"{named.name!r} needs its copy at {rule.rse} itself, so the run stays "
            f"unsafe until {rule.rse} is back (a copy elsewhere does not count)",
            lambda rule: f"rucio rule show {_arg('rule id', rule.id)}",
            rule,
        )
    return _hint(
        f"rule {rule.id} STUCK because {rule.rse} is unavailable: move the copy to "
        "another RSE so the run becomes safe",
        lambda rule: (
            f"rucio rule move {_arg('rule id', rule.id)} "
            f"--rses {_moved_to(policy, requirements, rule.rse)}"
        ),
        rule,
    )


def _slot_rses(policy: SafetyPolicy, slot: Slot) -> list[str]:
    """The catalogue's RSEs a region or outside slot can be filled at."""
    if slot.kind is SlotKind.REGION:
        return list(policy.rses.names(slot.region))
    return [n for n, region in policy.rses.entries if region is not slot.region]


def _expression(names: Sequence[str], what: str, other: str = "") -> str:
    """A Rucio RSE expression for these RSEs, quoted for a shell."""
    if not names:
        raise _Unsafe(f"the RSE catalogue has no {other}{what}")
    return shlex.quote("|".join(_check("RSE", name) for name in names))


def did_of(detail: RunDetail) -> str:
    """The run's raw-data DID (scope:name) as its rules name it, or XENON1T's pattern."""
    for rule in detail.rules:
        return f"{rule.scope}:{rule.name}"
    for replica in detail.replicas:
        return f"{replica.scope}:{replica.name}"
    if detail.run is not None:
        period = detail.run.science_run or "SR000"
        period = "SR" + period[2:].zfill(3) if period.startswith("SR") else period
        return f"x1t_{period}_{detail.run.name}_{detail.run.detector}:raw"
    return f"<scope of run {detail.run_number}>:raw"  # not a DID: no command takes it


#: An event builder's copy ends in ``NNNNNN-<type>-<lineage hash>``.
_EB_LOCATION = re.compile(r"(\d{6})-([a-z0-9_]+)-([a-z0-9]+)/?$")


def _did_for(detail: RunDetail, data_type: str, raw_did: str) -> str:
    """The DID of the run's ``data_type`` for a rule: XENON1T's raw DID, or
    (XENONnT) the ``did`` a copy of that type records, else the one its
    event builder's location names; ``_Unsafe`` when none is recorded (a
    guessed DID would be a command that adds a rule to nothing)."""
    if data_type == "raw":
        return raw_did
    run = detail.run
    copies = [c for doc in documents(run) for c in doc.copies] if run is not None else []
    for copy in copies:
        if copy.type == data_type and copy.did and not copy.problems:
            return copy.did
    for copy in copies:
        match = _EB_LOCATION.search(copy.location) if copy.type == data_type else None
        if match and match[2] == data_type and int(match[1]) == detail.run_number:
            return xenonnt_did(detail.run_number, data_type, match[3])
    raise _Unsafe(f"no DID of {data_type} is recorded")


# ------------------------------------------------ XENONnT: the upload (admix)

#: Where admix uploads an event builder's dataset first (its ``upload_to``).
UPLOAD_TO = LNGS_RSE
#: The event builder's statuses of a dataset admix's upload manager takes up.
_EB_UPLOADABLE = ("", "transferred", "eb_ready_to_upload")
#: An upload whose rule at ``UPLOAD_TO`` moved no file for this long (or is
#: STUCK) was interrupted; a younger one is on its way.
INTERRUPTED_AFTER = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class _Upload:
    """What admix-showrun reads of one event builder's dataset."""

    did: str
    #: The event builder's status of it ("" when none is recorded).
    eb_status: str
    files: int
    #: Files of it Rucio has at ``UPLOAD_TO`` (the rule's OK locks, else the
    #: available file replicas the drill-down listed).
    at_upload: int
    rule_at_upload: bool
    #: That rule is STUCK, or was last updated ``INTERRUPTED_AFTER`` ago or more.
    upload_still: bool
    #: The runs database's Rucio entries for it at ``UPLOAD_TO``, and the status of the first.
    db_entries: int
    db_status: str
    #: The RSEs Rucio has a rule for it at.
    rules_at: frozenset[str]


def _uploads(detail: RunDetail, policy: SafetyPolicy) -> list[_Upload]:
    run = detail.run
    if run is None:
        return []
    out = []
    for doc in documents(run):
        for eb in doc.copies:
            if eb.host == HOST_BUFFER or not policy.on_buffer_host(eb) or eb.file_count is None:
                continue
            try:
                did = _check("DID", _did_for(detail, eb.type, ""))
            except _Unsafe:
                continue  # no DID recorded: nothing to say a command about
            rules = [r for r in detail.rules if f"{r.scope}:{r.name}" == did]
            at_upload = [r for r in rules if r.rse == UPLOAD_TO]
            scope, _, name = did.partition(":")
            replicas = sum(
                1
                for r in detail.replicas
                if r.rse == UPLOAD_TO
                and r.scope == scope
                and r.name.startswith(name + "-")
                and r.state == "AVAILABLE"
            )
            db = [
                c
                for c in doc.copies
                if c.host == HOST_RUCIO and c.did == did and c.rse == UPLOAD_TO
            ]
            out.append(
                _Upload(
                    did=did,
                    eb_status=eb.status,
                    files=eb.file_count,
                    at_upload=max([replicas, *(r.locks_ok for r in at_upload)]),
                    rule_at_upload=bool(at_upload),
                    upload_still=any(
                        r.state is RuleState.STUCK
                        or detail.taken_at - r.updated_at >= INTERRUPTED_AFTER
                        for r in at_upload
                    ),
                    db_entries=len(db),
                    db_status=db[0].status if db else "",
                    rules_at=frozenset(r.rse for r in rules),
                )
            )
    return out


def upload_hints(detail: RunDetail, policy: SafetyPolicy = DEFAULT_POLICY) -> list[Hint]:
    """admix-showrun's named cases of an event builder's dataset whose upload
    to LNGS_USERDISK stopped half way, each with admix-fix's command (every
    DID checked and quoted): files uploaded but no rule; uploaded, the runs
    database not updated; no rules abroad yet; the event builder's status
    blocking the upload; uploaded but not flagged transferred; an upload
    interrupted during the copy."""
    out: list[Hint] = []
    for u in _uploads(detail, policy):
        did = shlex.quote(u.did)
        complete = u.at_upload == u.files
        nowhere = u.db_entries == 0 and u.db_status == ""
        if complete and not u.rule_at_upload and nowhere and not u.rules_at:
            out.append(
                Hint(
                    f"{u.did}: files uploaded to {UPLOAD_TO} but no rule created: create it, "
                    "then let the upload go on",
                    f"rucio rule add {did} --copies 1 --rses {UPLOAD_TO}"
                    f" && admix-fix --fix_upload_db {did}"
                    f" && admix-fix --create_upload_rules {did}",
                )
            )
        elif complete and u.rule_at_upload and nowhere and len(u.rules_at) == 1:
            out.append(
                Hint(
                    f"{u.did}: upload complete, but the runs database is not updated and no "
                    "rules abroad are made",
                    f"admix-fix --fix_upload_db {did} && admix-fix --create_upload_rules {did}",
                )
            )
        elif (
            complete
            and u.rule_at_upload
            and u.db_entries == 1
            and u.db_status == "transferred"
            and len(u.rules_at) == 1
        ):
            out.append(
                Hint(
                    f"{u.did}: upload complete and recorded, but no rules abroad are made",
                    f"admix-fix --create_upload_rules {did}",
                )
            )
        elif (
            u.at_upload == 0
            and not u.rule_at_upload
            and nowhere
            and not u.rules_at
            and u.eb_status not in _EB_UPLOADABLE
        ):
            out.append(
                Hint(
                    f"{u.did}: the upload never started: the event builder's status "
                    f"{u.eb_status!r} keeps admix from uploading it",
                    f"admix-fix --set_eb_status {did} eb_ready_to_upload",
                )
            )
        elif (
            complete
            and u.rule_at_upload
            and u.db_entries == 1
            and u.db_status == "transferred"
            and len(u.rules_at) > 1
            and u.eb_status not in ("", "transferred")
        ):
            out.append(
                Hint(
                    f"{u.did}: uploaded with copies abroad, but the event builder's status is "
                    f"{u.eb_status!r}, not transferred",
                    f"admix-fix --set_eb_status {did} transferred",
                )
            )
        elif (
            not complete
            and u.upload_still
            and nowhere
            and len(u.rules_at) == 1
            and u.eb_status == "transferring"
        ):
            out.append(
                Hint(
                    f"{u.did}: the upload was interrupted during the copy "
                    f"({u.at_upload} of {u.files} files at {UPLOAD_TO})",
                    f"admix-fix --fix_upload {did}",
                )
            )
    return out


# ------------------------------------ XENONnT: the run status, the event builder

#: bootstrax retries a failed run at most this many times (its ``max_n_retry``).
BUILDER_MAX_RETRIES = 10


def _clock(moment: datetime, now: datetime | None) -> str:
    """``12:40`` on the day of ``now``, else ``2017-11-15 12:40`` (UTC)."""
    if now is not None and moment.date() == now.date():
        return f"{moment:%H:%M}"
    return f"{moment:%Y-%m-%d %H:%M}"


def run_status_text(run: Run) -> str | None:
    """XENONnT's run ``status`` in words (``transferring``; ``stuck (trouble)``),
    None for a run without one (XENON1T). Untrusted text: escape it to show it."""
    if run.status is None:
        return None
    return f"{run.status} (trouble)" if run.status in RUN_STATUS_TROUBLE else run.status


def builder_text(run: Run, now: datetime | None = None) -> str | None:
    """The event builder's state of the run in words, e.g. ``failed (3
    failures, next retry 12:40) on eb3.xenon.local``; None without one."""
    builder = run.builder
    if builder is None:
        return None
    parts = []
    if builder.n_failures:
        parts.append(f"{builder.n_failures} failure{'s' if builder.n_failures != 1 else ''}")
    if builder.state == "failed":
        if builder.n_failures is not None and builder.n_failures >= BUILDER_MAX_RETRIES:
            parts.append("no more retries")
        elif builder.next_retry is not None:
            parts.append(f"next retry {_clock(builder.next_retry, now)}")
    text = builder.state + (f" ({', '.join(parts)})" if parts else "")
    return text + (f" on {builder.host}" if builder.host else "")


def builder_hints(run: Run) -> list[Hint]:
    """A run bootstrax gave up on (failed ``BUILDER_MAX_RETRIES`` times): it
    must be processed by hand on an event builder, once the cause is fixed."""
    builder = run.builder
    if (
        builder is None
        or builder.state != "failed"
        or (builder.n_failures or 0) < BUILDER_MAX_RETRIES
    ):
        return []
    return [
        Hint(
            f"the event builder failed run {run.number} {builder.n_failures} times and will "
            "not retry it: read its error in the DAQ log, fix the cause, process it by hand",
            f"bootstrax --process {int(run.number)}   # on an event builder",
        )
    ]


def overdue(detail: RunDetail, overdue_before: datetime | None) -> bool:
    """Whether the run's copies should all be there by now.

    A run still being taken, or ended less than ``unsafe_after_hours`` ago, is
    not yet safe because its copies are on their way: Ruciax and the tape
    uploader will make them, and nobody should add rules by hand.
    """
    return detail.run is None or copies_overdue(detail.run, overdue_before)


def failing(detail: RunDetail, policy: SafetyPolicy = DEFAULT_POLICY) -> bool:
    """Whether a copy of the run failed (not merely not there yet)."""
    if detail.run is not None and (
        tape_checksum_problem(detail.run) or data_safety(detail.run, policy).failed
    ):
        return True
    return any(u.state is TapeState.FAILED for u in detail.tape) or any(
        r.state is RuleState.STUCK for r in detail.rules
    )


def hints(
    detail: RunDetail,
    overdue_before: datetime | None = None,
    unavailable_rses: frozenset[str] = frozenset(),
    policy: SafetyPolicy = DEFAULT_POLICY,
) -> list[Hint]:
    """What an operator would do about each problem of this run.

    Commands are those of the rucio-clients 41 command line, HTCondor's and
    the TSM client's; the console runs none of them.
    """
    out: list[Hint] = []
    did = did_of(detail)
    run = detail.run
    if run is not None:
        verdict = data_safety(run, policy)
        late = overdue(detail, overdue_before)
        rules_at = {r.rse for r in detail.rules if r.state is not RuleState.SUSPENDED}
        for requirement, slot in missing_slots(run, verdict, policy) if late else ():
            if slot.kind is SlotKind.RSE and slot.rse not in rules_at:
                out.append(
                    _hint(
                        f"no rule to {slot.rse} for a {requirement.name}",
                        lambda rse, dt: (
                            f"rucio rule add {_arg('DID', _did_for(detail, dt, did))} "
                            f"--copies 1 --rses {_arg('RSE', rse)}"
                        ),
                        slot.rse,
                        requirement.data_type,
                    )
                )
            elif slot.kind in (SlotKind.REGION, SlotKind.OUTSIDE) and not rules_at & set(
                _slot_rses(policy, slot)
            ):
                out.append(
                    _hint(
                        f"no rule to {'a' if slot.kind is SlotKind.REGION else 'an'} {slot.label}",
                        lambda slot, dt: (
                            f"rucio rule add {_arg('DID', _did_for(detail, dt, did))} "
                            "--copies 1 --rses "
                            + _expression(_slot_rses(policy, slot), slot.label, "other ")
                        ),
                        slot,
                        requirement.data_type,
                    )
                )
        if SLOT_TAPE in verdict.missing:
            failed = [u for u in detail.tape if u.state is TapeState.FAILED]
            name = run.name

            def folder(tail: str = "") -> str:
                # Quoted whole: dsmc expands the wildcard itself, not the shell.
                return shlex.quote(f"/data/xenon/raw/{_check('run name', name)}/{tail}")

            if tape_checksum_problem(run):
                out.append(
                    _hint(
                        "tape copy failed its restore test (checksum mismatch): the files on the "
                        "buffer are unchanged, so back them up again in full, then restore-test",
                        lambda: f"dsmc selective -subdir=yes {folder('*')}",
                    )
                )
            elif failed:
                out.append(
                    _hint(
                        f"tape upload failed (dsmc rc {failed[-1].return_code}): send what is "
                        "missing, then restore-test",
                        lambda: f"dsmc incremental -subdir=yes {folder()}",
                    )
                )
        purge = purge_verdict(run, policy)
        if purge.on_buffer and not purge.allowed and late:
            hosts = sorted(
                {c.host for doc in documents(run) for c in doc.copies if policy.on_buffer_host(c)}
            )
            where = "the LNGS buffer" if hosts == [HOST_BUFFER] else ", ".join(hosts)
            out.append(Hint(f"keep on {where}: {purge.reason}", "# do not purge this run yet"))
        out.extend(builder_hints(run))
    requirements = policy.requirements((run,)) if run is not None else ()
    for rule in detail.rules:
        if rule.state is RuleState.STUCK and rule.rse in unavailable_rses:
            out.append(_unavailable_hint(rule, policy, requirements))
        elif rule.state is RuleState.STUCK:
            out.append(
                _hint(
                    f"rule {rule.id} to {rule.rse} STUCK"
                    + (f": {rule.error}" if rule.error else ""),
                    lambda rule: (
                        f"rucio rule show {_arg('rule id', rule.id)}"
                        "   # then, once the cause is fixed: "
                        f"rucio rule update {_arg('rule id', rule.id)} --boost-rule"
                    ),
                    rule,
                )
            )
        elif rule.state is RuleState.SUSPENDED:
            out.append(
                _hint(
                    f"rule {rule.id} to {rule.rse} SUSPENDED",
                    lambda rule: f"rucio rule show {_arg('rule id', rule.id)}",
                    rule,
                )
            )
        elif (
            rule.rse == LNGS_RSE and rule.expires_at is not None and rule.state is not RuleState.OK
        ):
            out.append(
                _hint(
                    f"LNGS rule {rule.id} not OK and expires {rule.expires_at:%Y-%m-%d %H:%M}",
                    lambda rule: f"rucio rule update {_arg('rule id', rule.id)} --lifetime 345600",
                    rule,
                )
            )
    out.extend(upload_hints(detail, policy))
    out.extend(_held_hints([j for j in detail.jobs if j.status is JobStatus.HELD]))
    for dag in detail.dags:
        if dag.nodes_failed and not dag.finished:
            out.append(
                Hint(
                    f"DAG {dag.cluster_id} has {dag.nodes_failed} failed nodes",
                    f"condor_q -dag {int(dag.cluster_id)} -nobatch",
                )
            )
        elif dag.finished and dag.nodes_failed:
            out.append(
                _hint(
                    f"DAG {dag.cluster_id} finished with {dag.nodes_failed} failed nodes",
                    lambda dag: (
                        "condor_submit_dag "
                        f"{shlex.quote(_check('DAG name', dag.batch_name) + '.dag')}"
                        "   # DAGMan reruns what failed from the rescue DAG"
                    ),
                    dag,
                )
            )
    return out

"""The rules of a valid copy on the model, and how the runs pane shows a verdict."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from backends.analysis.safety import (
    DEFAULT_POLICY,
    Region,
    RseCatalogue,
    SafetyPolicy,
    copies_label,
    copy_problems,
    data_safety,
    purge_verdict,
    run_problems,
    verdict_word,
)
from backends.model import DataCopy, Run
from console.render.runs import build_row

NOW = datetime(2017, 11, 15, 12, tzinfo=UTC)
TAPE = DataCopy("raw", "tsm-server", "transferred", checksum="adler32:1")
BUF = DataCopy("raw", "xe1t-datamanager", "transferred")


def rucio(rse: str | None, **kw) -> DataCopy:
    return DataCopy("raw", "rucio-catalogue", "transferred", rse=rse, **kw)


def run(
    *copies: DataCopy, science: bool = True, ended: timedelta = timedelta(hours=1), number: int = 1
) -> Run:
    end = NOW - ended
    return Run(
        number,
        "171115_1100",
        end - timedelta(hours=1),
        end,
        "tpc",
        "none",
        ("_sciencerun1",) if science else (),
        20000,
        10**10,
        copies=copies,
    )


def test_every_rule_of_a_valid_copy_has_its_own_reason() -> None:
    assert copy_problems(TAPE) == ()
    assert copy_problems(rucio("NIKHEF_USERDISK")) == ()
    assert copy_problems(replace(TAPE, checksum=None)) == ("tape copy has no checksum",)
    assert copy_problems(replace(TAPE, checksum_problem=True)) == (
        "tape copy has a checksum problem",
    )
    assert copy_problems(replace(TAPE, status="verifying")) == (
        "tape copy is 'verifying', not transferred",
    )
    assert copy_problems(replace(TAPE, status="")) == ("tape copy has no status",)
    assert copy_problems(replace(TAPE, type="")) == ("tape copy has no type",)
    assert copy_problems(rucio("X")) == ("RSE 'X' is not a known RSE",)
    assert copy_problems(rucio(None)) == ("Rucio copy names no RSE",)
    assert copy_problems(replace(rucio("CNAF_USERDISK"), host="")) == (
        "Rucio copy at CNAF_USERDISK has no host",
    )
    assert copy_problems(replace(rucio("CNAF_USERDISK"), problems=("location is odd",))) == (
        "Rucio copy at CNAF_USERDISK is malformed: location is odd",
    )
    assert copy_problems(rucio("Y" * 200)) == (f"RSE '{'Y' * 39}…' is not a known RSE",)
    assert copy_problems(BUF) == ("not a raw-data copy on tape or in Rucio",)


def test_a_failed_checksum_is_red_at_once_never_wait() -> None:
    young = run(
        BUF, replace(TAPE, checksum_problem=True), rucio("UC_OSG_USERDISK"), rucio("CNAF_USERDISK")
    )
    overdue_before = NOW - timedelta(hours=48)
    verdict = data_safety(young)
    assert verdict.failed == ("tape",)
    assert verdict_word(verdict, overdue=False) == "fail"
    row = build_row(young, None, overdue_before)
    assert row.cells[4].plain == "FAIL: tape"
    assert "red" in str(row.cells[4].style)
    assert "unsafe fail checksum" in row.search and "missing" not in row.search
    # A copy merely on its way is yellow "wait" until it is overdue.
    on_its_way = run(
        BUF,
        replace(TAPE, status="transferring", checksum=None),
        rucio("UC_OSG_USERDISK"),
        rucio("CNAF_USERDISK"),
    )
    assert build_row(on_its_way, None, overdue_before).cells[4].plain == "wait: tape"
    late = replace(on_its_way, end=NOW - timedelta(hours=49))
    assert build_row(late, None, overdue_before).cells[4].plain == "MISS: tape"


def test_copies_label_shows_only_valid_copies() -> None:
    assert copies_label(run(BUF, TAPE, rucio("UC_OSG_USERDISK"), rucio("CNAF_USERDISK"))) == (
        "buf tape UC EU"
    )
    assert copies_label(run(BUF, replace(TAPE, checksum=None))) == "buf tape?"
    assert copies_label(run(BUF, replace(TAPE, checksum_problem=True))) == "buf tape!"
    assert (
        copies_label(run(rucio("UC_OSG_USERDISK", checksum_problem=True), rucio("UC_OSG_USERDSK")))
        == "-"
    )
    assert copies_label(run(rucio("LNGS_USERDISK"))) == "LN"


def test_twins_get_the_worst_verdict_and_the_worst_label() -> None:
    good = run(BUF, TAPE, rucio("UC_OSG_USERDISK"), rucio("CNAF_USERDISK"))
    bad = run(BUF, rucio("UC_OSG_USERDISK"))
    for first, second in ((good, bad), (bad, good)):
        joined = replace(first, twins=(second,), malformed=("2 documents with number 1",))
        verdict = data_safety(joined)
        assert not verdict.safe and verdict.missing == ("European RSE", "tape")
        assert not purge_verdict(joined).allowed
        assert copies_label(joined) == "buf UC"
        assert run_problems(joined)[0] == "2 documents with number 1"
    both_good = replace(good, twins=(good,), malformed=("2 documents with number 1",))
    assert data_safety(both_good).safe
    assert data_safety(both_good).reason.startswith("all 2 documents with number 1: ")
    assert purge_verdict(both_good).allowed


def test_an_earlier_twin_makes_the_run_overdue() -> None:
    young = run(BUF, ended=timedelta(hours=1))
    old = run(BUF, ended=timedelta(hours=60))
    joined = replace(young, twins=(old,))
    row = build_row(joined, None, NOW - timedelta(hours=48))
    assert row.cells[4].plain.startswith("MISS")


def test_purge_needs_a_catalogue_rse_outside_lngs() -> None:
    only_lngs = run(BUF, TAPE, rucio("LNGS_USERDISK"), science=False)
    assert purge_verdict(only_lngs).reason == "no valid Rucio copy outside LNGS"
    policy = SafetyPolicy(RseCatalogue((("LNGS_USERDISK", Region.EUROPE),)))
    # Declared European in a site's catalogue, it counts (and is no LNGS RSE).
    assert purge_verdict(only_lngs, policy).allowed
    assert not purge_verdict(only_lngs, DEFAULT_POLICY).allowed
    purged = run(TAPE, rucio("CNAF_USERDISK"), science=False)
    assert purge_verdict(purged).reason == "already purged"
    lost = run(rucio("CNAF_USERDISK", checksum_problem=True), science=False)
    assert purge_verdict(lost).reason == (
        "not on the buffer (already purged) and no valid tape copy (none recorded) and no "
        "valid Rucio copy outside LNGS (Rucio copy at CNAF_USERDISK has a checksum problem)"
    )


def test_twins_miss_every_slot_any_document_misses() -> None:
    failed_tape = run(
        BUF, replace(TAPE, checksum_problem=True), rucio("UC_OSG_USERDISK"), rucio("CNAF_USERDISK")
    )
    bare = run(BUF)
    joined = replace(failed_tape, twins=(bare,), malformed=("2 documents with number 1",))
    verdict = data_safety(joined)
    assert verdict.missing == ("UC_OSG_USERDISK", "European RSE", "tape")
    assert verdict.failed == ("tape",)
    assert verdict.reason.startswith("document 1 of 2 with number 1: science run: missing tape")
    assert "; document 2 of 2 with number 1: science run: missing UC_OSG_USERDISK" in (
        verdict.reason
    )
    row = build_row(joined, None, NOW - timedelta(hours=48))
    assert row.cells[4].plain == "FAIL: tape +UC EU"


def test_a_science_twin_makes_the_run_science() -> None:
    science = run(BUF, TAPE, rucio("CNAF_USERDISK"))
    other = replace(science, tags=())
    joined = replace(other, twins=(science,))
    verdict = data_safety(joined)
    assert not verdict.safe and verdict.missing == ("UC_OSG_USERDISK",)
    assert "science run: missing UC_OSG_USERDISK" in verdict.reason


def test_empty_entries_are_no_copy_recorded() -> None:
    from backends.mongo.documents import document_to_run

    doc = {"number": 1, "name": "r", "start": NOW, "data": [{}, {}]}
    assert purge_verdict(document_to_run(doc)).reason == "no copy recorded"


def test_placeholder_checksums_do_not_count() -> None:
    for value in (" ", "null", "-", "None", "n/a", "?"):
        copy = replace(TAPE, checksum=value)
        assert copy_problems(copy) == (f"tape copy has no checksum ({value!r})",), value
    assert copy_problems(replace(TAPE, checksum="adler32:0")) == ()


def test_one_copy_never_fills_two_slots() -> None:
    """Even a catalogue that puts UC_OSG_USERDISK in Europe (the config refuses it)."""
    rses = RseCatalogue((("UC_OSG_USERDISK", Region.EUROPE),))
    verdict = data_safety(run(TAPE, rucio("UC_OSG_USERDISK")), SafetyPolicy(rses))
    assert not verdict.safe and verdict.missing == ("European RSE",)


def test_a_rucio_checksum_failure_raises_an_alarm_at_once() -> None:
    from backends.analysis.alarms import Thresholds
    from backends.kinds import content_alarms
    from backends.model import RunsSnapshot

    young = run(BUF, TAPE, rucio("UC_OSG_USERDISK"), rucio("CNAF_USERDISK", checksum_problem=True))
    alarms = content_alarms(RunsSnapshot(NOW, (young,)), Thresholds(), NOW)
    assert [a.key for a in alarms] == ["rucio.checksum"]
    assert alarms[0].title == "1 Rucio copy failed checksum"
    assert "runs 1 (European RSE)" in alarms[0].detail


def test_a_run_number_in_other_digits_is_not_a_number() -> None:
    from backends.mongo.documents import document_to_run

    odd = document_to_run({"number": "²", "name": "r", "start": NOW, "data": []}, -1)
    assert odd.number == -1 and any("number is not a number" in m for m in odd.malformed)


def test_an_rse_on_a_copy_outside_rucio_is_not_read() -> None:
    from backends.mongo.documents import document_to_run

    doc = {
        "number": 1,
        "name": "r",
        "start": NOW,
        "data": [{"type": "raw", "host": "xe1t-datamanager", "status": "transferred", "rse": "X"}],
    }
    read = document_to_run(doc)
    assert read.copies[0].rse is None
    assert not any("RSE" in problem for problem in run_problems(read))
